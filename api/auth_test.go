package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

func TestEveryV1RouteNeedsAToken(t *testing.T) {
	c := newClient(t, api.Deps{})
	revoked := issue(t, auth.RoleSupervisor, "")
	require.NoError(t, st.RevokeToken(t.Context(), auth.TokenID(revoked)))

	for _, r := range c.e.Routes() {
		if len(r.Path) < 4 || r.Path[:4] != "/v1/" || r.Method == "echo_route_not_found" {
			continue
		}
		path := replaceParams(r.Path)
		for name, token := range map[string]string{"no token": "", "garbage": "chb_nope", "revoked": revoked} {
			resp := c.as(token).do(r.Method, path, map[string]any{})
			require.Equal(t, http.StatusUnauthorized, resp.Code, "%s %s with %s", r.Method, path, name)
			require.NotEmpty(t, resp.Header().Get("WWW-Authenticate"))
			resp.problem(t)
		}
	}
}

// replaceParams fills an Echo route's parameters with a UUID; an escaped
// colon ("\:") is a literal one.
func replaceParams(p string) string {
	out := []byte{}
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) && p[i+1] == ':' {
			out = append(out, ':')
			i++
			continue
		}
		if p[i] == ':' {
			out = append(out, "00000000-0000-0000-0000-000000000000"...)
			for i+1 < len(p) && p[i+1] != '/' {
				i++
			}
			continue
		}
		out = append(out, p[i])
	}
	return string(out)
}

func TestAuthorizationHeaderForms(t *testing.T) {
	c := newClient(t, api.Deps{})
	token := issue(t, auth.RoleIntegration, "")
	for _, h := range []string{"Basic " + token, "bearer", token} {
		r := c.do(http.MethodGet, "/v1/contacts", nil, "Authorization", h)
		require.Equal(t, http.StatusUnauthorized, r.Code, h)
	}
	r := c.do(http.MethodGet, "/v1/contacts", nil, "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, r.Code)
	var page struct{ Items []store.Contact }
	r.decode(t, &page)
}
