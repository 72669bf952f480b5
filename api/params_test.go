package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
)

// The parameter rules beyond what the negative suite sends every route:
// what stays accepted, the bounds, and the query strings Go's parser would
// otherwise drop without a word.
func TestParameterRules(t *testing.T) {
	base := newClient(t, api.Deps{})
	sup := base.as(issue(t, auth.RoleSupervisor, ""))
	tests := []struct {
		name   string
		c      *client
		method string
		path   string
		status int
		fields []string // every field the 422 names, in order
	}{
		{"documented parameters", sup, "GET", "/v1/contacts?name=x&limit=1&offset=0", 200, nil},
		{"empty query", sup, "GET", "/v1/contacts?", 200, nil},
		{"empty pairs", sup, "GET", "/v1/contacts?&&limit=1&", 200, nil},
		{"unknown parameter", sup, "GET", "/v1/contacts?nmae=x", 422, []string{"nmae"}},
		{"each unknown parameter once", sup, "GET", "/v1/contacts?a=1&b=2&a=3", 422, []string{"a", "b"}},
		{"checked before the token", base, "GET", "/v1/contacts?nmae=x", 422, []string{"nmae"}},
		{"ops route", base, "GET", "/healthz?verbose=1", 422, []string{"verbose"}},
		{"given twice", sup, "GET", "/v1/contacts?limit=1&limit=2", 422, []string{"limit"}},
		{"semicolon separator", sup, "GET", "/v1/contacts?name=a;limit=2", 422, []string{"name"}},
		{"escaped semicolon", sup, "GET", "/v1/contacts?name=a%3Bb", 200, nil},
		{"bad escape in a value", sup, "GET", "/v1/contacts?name=%zz", 422, []string{"name"}},
		{"bad escape in a name", sup, "GET", "/v1/contacts?na%zzme=x", 422, []string{"na%zzme"}},
		{"empty name", sup, "GET", "/v1/contacts?=x", 422, []string{"query"}},
		{"invalid UTF-8 name", sup, "GET", "/v1/contacts?%FF=1", 422, []string{"\uFFFD"}},
		{"long unknown name is cut", sup, "GET", "/v1/contacts?" + strings.Repeat("n", 5000) + "=1", 422, []string{strings.Repeat("n", 100) + "…"}},
		{"NUL behind an escaped slash", sup, "POST", "/v1/interactions/a%2F%00/accept", 422, []string{"number"}},
		{"path value at the bound", sup, "GET", "/v1/queues/" + strings.Repeat("q", 200), 404, nil},
		{"path value past the bound", sup, "GET", "/v1/queues/" + strings.Repeat("q", 201), 422, []string{"name"}},
		{"path bound in characters", sup, "GET", "/v1/queues/" + strings.Repeat("%C3%A9", 200), 404, nil},
		{"query value at the bound", sup, "GET", "/v1/contacts?name=" + strings.Repeat("x", 1000), 200, nil},
		{"query value past the bound", sup, "GET", "/v1/contacts?name=" + strings.Repeat("x", 1001), 422, []string{"name"}},
		{"path and query together", sup, "GET", "/v1/queues/%00?zz=1", 422, []string{"name", "zz"}},
		{"unknown route stays 404", sup, "GET", "/v1/nothing?zz=1", 404, nil},
		{"wrong method stays 405", sup, "DELETE", "/v1/contacts?zz=1", 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.method == http.MethodPost {
				body = map[string]any{}
			}
			r := tt.c.do(tt.method, tt.path, body)
			require.Equal(t, tt.status, r.Code, r.Body.String())
			if tt.status < 400 {
				return
			}
			p := r.problem(t)
			got := make([]string, len(p.Errors))
			for i, fe := range p.Errors {
				got[i] = fe.Field
			}
			require.Equal(t, len(tt.fields), len(got), "%+v", p)
			if tt.fields != nil {
				require.Equal(t, tt.fields, got, "%+v", p)
				require.Equal(t, "urn:casehub:problem:validation", p.Type)
			}
		})
	}
}
