package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

// An unknown member deep in a body is named where it sits, as a form would
// need to mark the right input.
func TestBindJSONNamesWhereAnUnknownMemberSits(t *testing.T) {
	type option struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	}
	type window struct {
		Open  string    `json:"open"`
		Since time.Time `json:"since"`
	}
	type inner struct {
		Windows []window `json:"windows"`
	}
	type embedded struct {
		Note string `json:"note"`
	}
	type body struct {
		embedded
		Name    string            `json:"name"`
		Options []option          `json:"communication_options"`
		Hours   *inner            `json:"hours"`
		ByName  map[string]option `json:"by_name"`
		Free    map[string]any    `json:"free"`
		Hidden  string            `json:"-"`
	}
	for _, tc := range []struct {
		name, body, field string
	}{
		{"at the top", `{"name":"a","nam":"b"}`, "nam"},
		{"in an array's object", `{"communication_options":[{"kind":"phone","value":"1"},{"kind":"email","lbl":"x"}]}`, "communication_options[1].lbl"},
		{"under a pointer and an array", `{"hours":{"windows":[{"open":"08:00","x":1}]}}`, "hours.windows[0].x"},
		{"in a map's value", `{"by_name":{"home":{"kind":"phone","extra":true}}}`, "by_name.home.extra"},
		{"a field json ignores", `{"Hidden":"x"}`, "Hidden"},
		{"another case of a known name is known", `{"NAME":"a","communication_options":[{"Kind":"phone","lbl":"x"}]}`, "communication_options[0].lbl"},
		{"an embedded struct's field is known", `{"note":"n","hours":{"y":2}}`, "hours.y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			c := echo.New().NewContext(req, httptest.NewRecorder())
			var dst body
			err := bindJSON(c, &dst)
			p, ok := err.(*Problem)
			require.True(t, ok, "%v", err)
			require.Equal(t, http.StatusUnprocessableEntity, p.Status)
			require.Equal(t, []FieldProblem{{Field: tc.field, Detail: "is not a known field"}}, p.Errors)
		})
	}

	// Members a free-form object takes are not unknown.
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"free":{"anything":{"at":"all"}}}`))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	var dst body
	require.NoError(t, bindJSON(echo.New().NewContext(req, httptest.NewRecorder()), &dst))
	require.Equal(t, map[string]any{"anything": map[string]any{"at": "all"}}, dst.Free)
}
