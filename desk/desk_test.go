package desk

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, e *echo.Echo, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestPagesAndAssetsAreServedWithTheirTypes(t *testing.T) {
	e := echo.New()
	Register(e)
	for path, want := range map[string]string{
		"/desk/":                     "text/html",
		"/desk/wall.html":            "text/html",
		"/desk/desk.css":             "text/css",
		"/desk/sse.js":               "text/javascript",
		"/desk/desk.js":              "text/javascript",
		"/desk/wall.js":              "text/javascript",
		"/desk/common.js":            "text/javascript",
		"/desk/vendor/alpine.min.js": "text/javascript",
	} {
		rec := get(t, e, path)
		require.Equal(t, http.StatusOK, rec.Code, path)
		require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), want), "%s: %s", path, rec.Header().Get("Content-Type"))
		require.NotEmpty(t, rec.Body.String(), path)
	}
	require.Equal(t, http.StatusNotFound, get(t, e, "/desk/nothing.js").Code)
}

func TestDeskAndWallRedirectKeepingTheQuery(t *testing.T) {
	e := echo.New()
	Register(e)
	for path, want := range map[string]string{
		"/desk":                "/desk/",
		"/wall":                "/desk/wall.html",
		"/wall?queues=support": "/desk/wall.html?queues=support",
	} {
		rec := get(t, e, path)
		require.Equal(t, http.StatusFound, rec.Code, path)
		require.Equal(t, want, rec.Header().Get("Location"), path)
	}
}

// Every script and stylesheet a page names is in the binary.
func TestPagesNameOnlyEmbeddedFiles(t *testing.T) {
	ref := regexp.MustCompile(`(?:src|href)="([^"#:]+)"`)
	for _, page := range []string{"static/index.html", "static/wall.html"} {
		html, err := files.ReadFile(page)
		require.NoError(t, err)
		refs := ref.FindAllStringSubmatch(string(html), -1)
		require.NotEmpty(t, refs, page)
		for _, m := range refs {
			_, err := files.ReadFile("static/" + m[1])
			require.NoError(t, err, "%s names %s", page, m[1])
		}
	}
}
