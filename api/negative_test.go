package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	temporalclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cti"
)

// The negative suite sends every /v1 route every kind of bad request and
// requires a 4xx problem for each, written before anything is changed.
// Bad input must be refused before a handler reaches Temporal: the server
// under test has no Temporal client, so reaching it is a 500 here. Unknown
// ids are the exception: whether a process exists only Temporal knows, so
// those requests go to a server whose Temporal answers "not found" for
// every workflow, as a real one does for ids it never saw.

const negativeSecret = "negative-suite-cti-secret"

// notFoundTemporal answers every call about a workflow as Temporal does for
// an id it does not know. Any other call panics (its Client is nil), which
// the API answers with a 500 and the suite reports.
type notFoundTemporal struct{ temporalclient.Client }

func (notFoundTemporal) QueryWorkflow(_ context.Context, id, _, _ string, _ ...any) (converter.EncodedValue, error) {
	return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
}

func (notFoundTemporal) UpdateWorkflow(_ context.Context, o temporalclient.UpdateWorkflowOptions) (temporalclient.WorkflowUpdateHandle, error) {
	return nil, serviceerror.NewNotFound("workflow not found for ID: " + o.WorkflowID)
}

func (notFoundTemporal) SignalWorkflow(_ context.Context, id, _, _ string, _ any) error {
	return serviceerror.NewNotFound("workflow not found for ID: " + id)
}

func (notFoundTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
}

func (notFoundTemporal) CancelWorkflow(_ context.Context, id, _ string) error {
	return serviceerror.NewNotFound("workflow not found for ID: " + id)
}

func (notFoundTemporal) TerminateWorkflow(_ context.Context, id, _, _ string, _ ...any) error {
	return serviceerror.NewNotFound("workflow not found for ID: " + id)
}

// route is one /v1 route with what openapi.yaml says about it.
type route struct {
	method, path string // Echo's path, with :params
	op           *openapi3.Operation
	params       openapi3.Parameters // the path item's and the operation's
	body         *openapi3.Schema    // the JSON request body, nil when none is documented
	bodyRequired bool
}

func (r route) String() string { return r.method + " " + r.path }

func v1Routes(t *testing.T, e *echo.Echo) []route {
	t.Helper()
	var out []route
	for _, r := range e.Routes() {
		switch {
		case !strings.HasPrefix(r.Path, "/v1/"), strings.HasSuffix(r.Path, "/*"), r.Method == echo.RouteNotFound:
			continue // ops routes (/healthz, /readyz, /openapi.yaml, /metrics) and Echo's catch-alls
		}
		item := doc.Paths.Find(toOpenAPIPath(r.Path))
		require.NotNil(t, item, "%s %s is not in openapi.yaml", r.Method, r.Path)
		op := item.GetOperation(r.Method)
		require.NotNil(t, op, "%s %s is not in openapi.yaml", r.Method, r.Path)
		rt := route{method: r.Method, path: r.Path, op: op, params: append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...)}
		if rb := op.RequestBody; rb != nil && rb.Value != nil {
			if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				rt.body, rt.bodyRequired = mt.Schema.Value, rb.Value.Required
			}
		}
		out = append(out, rt)
	}
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.String(), b.String()) })
	require.Greater(t, len(out), 30, "the suite found too few routes")
	return out
}

// negativeServer is one API under test and what it takes to call it.
type negativeServer struct {
	e      *echo.Echo
	tokens map[auth.Role]string
}

type answer struct {
	*httptest.ResponseRecorder
	req string
}

// send sends body (raw; nil for none) as token. Events to /v1/cti/events are
// signed, so that the handler reaches the body.
func (s negativeServer) send(method, path, token string, body []byte) answer {
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, "http://localhost:8080"+path, rd)
	if body != nil {
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	if token != "" {
		req.Header.Set(echo.HeaderAuthorization, "Bearer "+token)
	}
	if p, _, _ := strings.Cut(path, "?"); p == "/v1/cti/events" {
		req.Header.Set(cti.SignatureHeader, cti.Sign([]byte(negativeSecret), body, time.Now()))
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	short := string(body)
	if len(short) > 80 {
		short = short[:80] + "..."
	}
	return answer{rec, fmt.Sprintf("%s %s %s", method, path, short)}
}

// requireProblem checks that a is a problem with status want (any 4xx when
// want is 0) and returns it.
func requireProblem(t *testing.T, a answer, want int) api.Problem {
	t.Helper()
	if want == 0 {
		require.True(t, a.Code >= 400 && a.Code < 500, "%s answered %d, want a 4xx: %s", a.req, a.Code, a.Body.String())
	} else {
		require.Equal(t, want, a.Code, "%s: %s", a.req, a.Body.String())
	}
	require.Equal(t, "application/problem+json", a.Header().Get(echo.HeaderContentType), "%s: %s", a.req, a.Body.String())
	var p api.Problem
	require.NoError(t, json.Unmarshal(a.Body.Bytes(), &p), a.req)
	require.Equal(t, a.Code, p.Status, a.req)
	require.NotEmpty(t, p.Title, a.req)
	require.NotEmpty(t, p.RequestID, "%s: a problem carries the request id", a.req)
	if a.Code == http.StatusUnprocessableEntity {
		require.NotEmpty(t, p.Errors, "%s: a 422 names the field: %s", a.req, a.Body.String())
		for _, fe := range p.Errors {
			require.NotEmpty(t, fe.Field, "%s: a 422 names the field: %s", a.req, a.Body.String())
		}
	}
	return p
}

// wrongValue is a JSON value of another type than s allows.
func wrongValue(s *openapi3.Schema) any {
	switch {
	case s.Type.Is("string"):
		return 123
	case s.Type.Is("integer"), s.Type.Is("number"):
		return "not a number"
	case s.Type.Is("boolean"):
		return "not a boolean"
	case s.Type.Is("array"):
		return map[string]any{"not": "an array"}
	case s.Type.Is("object"):
		return "not an object"
	}
	return nil
}

// plausible is a value of s's type that passes simple checks, for bodies
// that should get past validation to the lookup of an unknown id.
func plausible(s *openapi3.Schema) any {
	switch {
	case len(s.Enum) > 0:
		return s.Enum[0]
	case s.Default != nil:
		return s.Default
	case s.Type.Is("string") && s.Format == "uuid":
		return uuid.NewString()
	case s.Type.Is("string") && s.Format == "email":
		return "nobody@example.com"
	case s.Type.Is("string") && s.Format == "date-time":
		return time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	case s.Type.Is("string"):
		return "x"
	case s.Type.Is("integer"), s.Type.Is("number"):
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case s.Type.Is("boolean"):
		return false
	case s.Type.Is("array"):
		return []any{}
	}
	return map[string]any{}
}

func plausibleBody(s *openapi3.Schema) []byte {
	if s == nil {
		return nil
	}
	body := map[string]any{}
	for _, name := range s.Required {
		if p := s.Properties[name]; p != nil && p.Value != nil {
			body[name] = plausible(p.Value)
		}
	}
	b, _ := json.Marshal(body)
	return b
}

// tableStates is every table's row count and checksum, except those a
// refused request may touch (idempotency keys, the tokens' last use, the
// migration bookkeeping).
func tableStates(t *testing.T) map[string]string {
	t.Helper()
	var tables []string
	require.NoError(t, st.DB().Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'
		AND tablename NOT IN ('idempotency_keys', 'api_tokens', 'goose_db_version') ORDER BY tablename`))
	require.Subset(t, tables, []string{"contacts", "companies", "queues", "agents", "interactions", "cases"})
	out := map[string]string{}
	for _, table := range tables {
		out[table] = tableState(t, table)
	}
	return out
}

func TestNegativeEveryRoute(t *testing.T) {
	ctx := t.Context()
	tag := strings.ToLower(uuid.NewString()[:8])
	agentA, agentB := "neg-a-"+tag, "neg-b-"+tag
	for _, id := range []string{agentA, agentB} {
		_, err := st.UpsertAgent(ctx, id, id, 3)
		require.NoError(t, err)
	}
	tokens := map[auth.Role]string{
		auth.RoleSupervisor:  issue(t, auth.RoleSupervisor, ""),
		auth.RoleIntegration: issue(t, auth.RoleIntegration, ""),
		auth.RoleAgent:       issue(t, auth.RoleAgent, agentA),
	}
	quiet := slog.New(slog.DiscardHandler)
	deps := api.Deps{Store: st, Logger: quiet, BodyLimit: "1K", CTISecret: []byte(negativeSecret)}
	noTemporal := negativeServer{e: api.NewServer(deps), tokens: tokens}
	deps.Temporal = notFoundTemporal{}
	unknownIDs := negativeServer{e: api.NewServer(deps), tokens: tokens}

	before := tableStates(t)
	var undocumented []string
	for _, r := range v1Routes(t, noTemporal.e) {
		t.Run(r.String(), func(t *testing.T) {
			path := replaceParams(r.path)
			token := tokenFor(t, unknownIDs, r, path)
			check := func(t *testing.T, a answer, want int) api.Problem {
				t.Helper()
				if r.op.Responses.Status(a.Code) == nil {
					undocumented = append(undocumented, fmt.Sprintf("%s answers %d", r, a.Code))
				}
				return requireProblem(t, a, want)
			}

			t.Run("no token", func(t *testing.T) {
				a := noTemporal.send(r.method, path, "", plausibleBody(r.body))
				check(t, a, http.StatusUnauthorized)
				require.NotEmpty(t, a.Header().Get(echo.HeaderWWWAuthenticate))
			})

			if r.body != nil {
				t.Run("malformed JSON", func(t *testing.T) {
					check(t, noTemporal.send(r.method, path, token, []byte(`{"`)), http.StatusBadRequest)
				})
				t.Run("not an object", func(t *testing.T) {
					check(t, noTemporal.send(r.method, path, token, []byte(`["an array"]`)), http.StatusBadRequest)
				})
				if r.bodyRequired {
					t.Run("no body", func(t *testing.T) {
						check(t, noTemporal.send(r.method, path, token, []byte{}), http.StatusBadRequest)
					})
				}
				t.Run("unknown field", func(t *testing.T) {
					p := check(t, noTemporal.send(r.method, path, token, []byte(`{"zz_not_a_field":1}`)), http.StatusUnprocessableEntity)
					require.Equal(t, "zz_not_a_field", p.Errors[0].Field)
				})
				for _, name := range slices.Sorted(maps.Keys(r.body.Properties)) {
					prop := r.body.Properties[name].Value
					wrong := wrongValue(prop)
					if wrong == nil {
						continue
					}
					t.Run("wrong type of "+name, func(t *testing.T) {
						body, err := json.Marshal(map[string]any{name: wrong})
						require.NoError(t, err)
						p := check(t, noTemporal.send(r.method, path, token, body), http.StatusUnprocessableEntity)
						field := p.Errors[0].Field
						require.True(t, field == name || strings.HasPrefix(field, name+".") || strings.HasPrefix(field, name+"["),
							"%s with %s: the problem names %q: %+v", r, body, field, p)
					})
				}
				t.Run("oversized body", func(t *testing.T) {
					big := []byte(`{"zz":"` + strings.Repeat("a", 2048) + `"}`)
					check(t, noTemporal.send(r.method, path, token, big), http.StatusRequestEntityTooLarge)
				})
			}

			// An unknown id is a 4xx (404, or 409/422 where the route says
			// so); an upsert creates the resource instead.
			if strings.Contains(strings.ReplaceAll(r.path, `\:`, ""), ":") && !upserts[r.String()] {
				t.Run("unknown id", func(t *testing.T) {
					check(t, unknownIDs.send(r.method, path, token, plausibleBody(r.body)), 0)
					if !needsTemporalToKnowID[r.String()] {
						// The id is unknown to the database or malformed:
						// refused before Temporal is asked.
						check(t, noTemporal.send(r.method, path, token, plausibleBody(r.body)), 0)
					}
				})
			}

			for _, tc := range badParams(r) {
				t.Run(tc.what+" "+tc.param, func(t *testing.T) {
					a := noTemporal.send(r.method, tc.path, token, plausibleBody(r.body))
					p := check(t, a, http.StatusUnprocessableEntity)
					require.Equal(t, tc.param, p.Errors[0].Field, "%s: %s", a.req, a.Body.String())
				})
			}

			// Agent-scoped routes: another agent's token is refused (reading
			// an agent shows its offers, which name callers).
			if strings.HasPrefix(r.path, "/v1/agents/:id/") && r.method != http.MethodGet ||
				r.path == "/v1/agents/:id" && r.method == http.MethodGet {
				t.Run("another agent", func(t *testing.T) {
					p := strings.Replace(r.path, ":id", agentB, 1)
					check(t, noTemporal.send(r.method, p, tokens[auth.RoleAgent], plausibleBody(r.body)), http.StatusForbidden)
				})
			}
		})
	}
	require.Equal(t, before, tableStates(t), "a refused request changed a table")
	slices.Sort(undocumented)
	for _, u := range slices.Compact(undocumented) {
		t.Errorf("openapi.yaml does not document: %s", u)
	}
}

// upserts create what their path names.
var upserts = map[string]bool{"PUT /v1/queues/:name": true, "PUT /v1/agents/:id": true}

// needsTemporalToKnowID lists the routes whose id is well-formed for any
// agent and exists only as a workflow: an unknown one is found out by
// asking Temporal (which answers 404 through the stub).
var needsTemporalToKnowID = map[string]bool{
	"POST /v1/agents/:id/end-wrap-up":  true,
	"POST /v1/agents/:id/work-offline": true,
}

// tokenFor picks a token whose role the route allows: a supervisor's, or
// the one the route's 403 names.
func tokenFor(t *testing.T, s negativeServer, r route, path string) string {
	t.Helper()
	a := s.send(r.method, path, s.tokens[auth.RoleSupervisor], []byte(`{"`))
	if a.Code != http.StatusForbidden {
		return s.tokens[auth.RoleSupervisor]
	}
	var p api.Problem
	require.NoError(t, json.Unmarshal(a.Body.Bytes(), &p))
	for _, role := range []auth.Role{auth.RoleIntegration, auth.RoleAgent} {
		if strings.Contains(p.Detail, string(role)) {
			return s.tokens[role]
		}
	}
	t.Fatalf("%s refuses a supervisor: %s", r, a.Body.String())
	return ""
}

// badParam is a request to a route with one bad parameter.
type badParam struct {
	what, param, path string
}

// badParams gives every path and query parameter of r that openapi.yaml
// lists each bad value, and r one query parameter it does not list. The
// values are written as a client would escape them.
func badParams(r route) []badParam {
	values := []struct{ what, escaped string }{
		{"NUL", "a%00b"},
		{"invalid UTF-8", "%FF%FE"},
		{"10 KB", strings.Repeat("a", 10<<10)},
	}
	out := []badParam{{what: "unknown query parameter", param: "zz_not_a_param", path: replaceParams(r.path) + "?zz_not_a_param=1"}}
	for _, ref := range r.params {
		p := ref.Value
		for _, v := range values {
			switch p.In {
			case openapi3.ParameterInPath:
				path := strings.Replace(r.path, ":"+p.Name, v.escaped, 1)
				out = append(out, badParam{what: v.what + " in path", param: p.Name, path: replaceParams(path)})
			case openapi3.ParameterInQuery:
				out = append(out, badParam{what: v.what + " in query", param: p.Name, path: replaceParams(r.path) + "?" + p.Name + "=" + v.escaped})
			}
		}
	}
	return out
}
