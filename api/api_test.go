package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/store"
)

var (
	st     *store.Store
	doc    *openapi3.T
	router routers.Router
)

func TestMain(m *testing.M) {
	db := testenv.MustDatabase("api")
	st = db.Store
	var err error
	if doc, err = openapi3.NewLoader().LoadFromData(api.OpenAPI); err == nil {
		if err = doc.Validate(context.Background()); err == nil {
			router, err = legacy.NewRouter(doc)
		}
	}
	if err != nil {
		db.Close()
		panic("openapi.yaml: " + err.Error())
	}
	code := m.Run()
	db.Close()
	os.Exit(code)
}

// client drives the API in-process and checks every request and response
// against openapi.yaml.
type client struct {
	t     *testing.T
	e     *echo.Echo
	token string
}

func newClient(t *testing.T, deps api.Deps) *client {
	t.Helper()
	if deps.Store == nil {
		deps.Store = st
	}
	return &client{t: t, e: api.NewServer(deps)}
}

// as returns a client that sends token.
func (c *client) as(token string) *client {
	cp := *c
	cp.token = token
	return &cp
}

type response struct {
	*httptest.ResponseRecorder
}

func (r response) problem(t *testing.T) api.Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", r.Header().Get("Content-Type"), r.Body.String())
	var p api.Problem
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &p))
	require.Equal(t, r.Code, p.Status)
	require.NotEmpty(t, p.Title)
	require.NotEmpty(t, p.RequestID)
	return p
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), v), r.Body.String())
}

// do sends a request; body is marshalled unless it is a string (sent raw).
func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(c.t, err)
	}
	req := httptest.NewRequest(method, "http://localhost:8080"+path, bytes.NewReader(raw))
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	c.e.ServeHTTP(rec, req)
	c.checkAgainstSpec(method, path, raw, req.Header, rec)
	return response{rec}
}

func (c *client) checkAgainstSpec(method, path string, raw []byte, h http.Header, rec *httptest.ResponseRecorder) {
	c.t.Helper()
	req := httptest.NewRequest(method, "http://localhost:8080"+path, bytes.NewReader(raw))
	req.Header = h.Clone()
	route, params, err := router.FindRoute(req)
	if err == nil && hasEmptyParam(params) {
		// The document's router lets a path parameter be empty ("/v1/queues/"
		// matches /v1/queues/{name}); Echo does not, so that is no route.
		err = errors.New("empty path parameter")
	}
	if err != nil {
		// Only unknown routes may be missing from the document, and they must
		// be 404 (or 401 when the /v1 guard answers first).
		require.Contains(c.t, []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnauthorized}, rec.Code,
			"%s %s is not in openapi.yaml but answered %d", method, path, rec.Code)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	require.NoError(c.t, openapi3filter.ValidateResponse(context.Background(), out),
		"%s %s answered %d, which openapi.yaml does not allow: %s", method, path, rec.Code, rec.Body.String())
}

func issue(t testing.TB, role auth.Role, agent string) string {
	t.Helper()
	token, _, err := auth.Issue(context.Background(), st, role, agent, "api test")
	require.NoError(t, err)
	return token
}

func TestEveryRouteIsDocumented(t *testing.T) {
	e := api.NewServer(api.Deps{Store: st})
	seen := 0
	for _, r := range e.Routes() {
		if strings.HasSuffix(r.Path, "/*") || r.Path == "/v1" || r.Method == echo.RouteNotFound {
			continue // Echo's catch-alls for the group
		}
		path := toOpenAPIPath(r.Path)
		item := doc.Paths.Find(path)
		require.NotNil(t, item, "route %s %s is not in openapi.yaml", r.Method, path)
		require.NotNil(t, item.GetOperation(r.Method), "route %s %s is not in openapi.yaml", r.Method, path)
		seen++
	}
	require.Greater(t, seen, 10)

	// Every operation is named for what it does (clients generated from the
	// spec take their method names from it); the loader refuses duplicates.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotEmpty(t, op.OperationID, "%s %s has no operationId", method, path)
		}
	}

	// And every documented operation is served.
	served := map[string]bool{}
	for _, r := range e.Routes() {
		served[r.Method+" "+toOpenAPIPath(r.Path)] = true
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			require.True(t, served[method+" "+path], "openapi.yaml documents %s %s, which is not served", method, path)
		}
	}
}

func toOpenAPIPath(p string) string {
	p = strings.ReplaceAll(p, `\:`, ":") // an escaped colon is a literal one
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func TestOpsEndpoints(t *testing.T) {
	c := newClient(t, api.Deps{})
	r := c.do(http.MethodGet, "/healthz", nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.NotEmpty(t, r.Header().Get(echo.HeaderXRequestID))

	// No Temporal client: not ready, and it says which part is missing.
	r = c.do(http.MethodGet, "/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Code)
	var h struct{ Checks map[string]string }
	r.decode(t, &h)
	require.Equal(t, "ok", h.Checks["postgres"])
	require.NotEqual(t, "ok", h.Checks["temporal"])

	r = c.do(http.MethodGet, "/openapi.yaml", nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.Contains(t, r.Body.String(), "openapi: 3")

	c.do(http.MethodGet, "/healthz", nil)
	r = c.do(http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.Contains(t, r.Body.String(), `casehub_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}`)
}

func hasEmptyParam(params map[string]string) bool {
	for _, v := range params {
		if v == "" {
			return true
		}
	}
	return false
}

// HEAD answers wherever GET does: the same status and headers, no body.
func TestHeadAnswersLikeGet(t *testing.T) {
	e := api.NewServer(api.Deps{Store: st})
	tok := issue(t, auth.RoleSupervisor, "")
	for _, path := range []string{"/healthz", "/openapi.yaml", "/v1/queues"} {
		get := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://localhost:8080"+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		e.ServeHTTP(get, req)
		head := httptest.NewRecorder()
		req = httptest.NewRequest(http.MethodHead, "http://localhost:8080"+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		e.ServeHTTP(head, req)
		require.Equal(t, http.StatusOK, get.Code, path)
		require.Equal(t, get.Code, head.Code, path)
		require.Equal(t, get.Header().Get("Content-Type"), head.Header().Get("Content-Type"), path)
		require.NotZero(t, get.Body.Len(), path)
		require.Zero(t, head.Body.Len(), path)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "http://localhost:8080/v1/queues", nil))
	require.Equal(t, http.StatusUnauthorized, rec.Code, "HEAD takes the same checks as GET")
}

// A body sent as something other than JSON is a 415 that says what to
// send, and writes nothing; no Content-Type at all is read as JSON.
func TestNonJSONBodiesAre415(t *testing.T) {
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleSupervisor, ""))
	name := "Plain " + uuid.NewString()[:8]
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		r := c.do(http.MethodPost, "/v1/companies", `{"name": "`+name+`"}`, "Content-Type", ct)
		require.Equal(t, http.StatusUnsupportedMediaType, r.Code, ct)
		require.Contains(t, r.problem(t).Detail, "application/json")
	}
	r := c.do(http.MethodGet, "/v1/companies?name="+url.QueryEscape(name), nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.NotContains(t, r.Body.String(), name, "nothing was written")

	r = c.do(http.MethodPost, "/v1/companies", `{"name": "`+name+`"}`, "Content-Type", "application/json; charset=utf-8")
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
}

// Every success declares the headers it is sent with: X-Request-Id always,
// Idempotent-Replayed on the API's POSTs (which take an Idempotency-Key),
// Location on a 201.
func TestResponseHeadersAreDeclared(t *testing.T) {
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, ref := range op.Responses.Map() {
				if code[0] != '2' {
					continue
				}
				r := ref.Value
				require.NotNil(t, r.Headers["X-Request-Id"], "%s %s %s: X-Request-Id not declared", method, path, code)
				if method == http.MethodPost && strings.HasPrefix(path, "/v1/") {
					require.NotNil(t, r.Headers["Idempotent-Replayed"], "%s %s %s: Idempotent-Replayed not declared", method, path, code)
				}
				if code == "201" {
					require.NotNil(t, r.Headers["Location"], "%s %s %s: Location not declared", method, path, code)
				}
			}
		}
	}
}
