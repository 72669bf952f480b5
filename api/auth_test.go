package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
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

// The actions on an interaction read the token with the interaction's
// record: a token that does not hold is refused whether or not the
// interaction exists, and a good one is told when it does not, or when it is
// not theirs.
func TestActingOnAnInteractionChecksItsToken(t *testing.T) {
	it := openInteraction(t, "agent-acting", workflows.CallbackWorkflowID("CB0000078"))
	c := newClient(t, api.Deps{})
	good := issue(t, auth.RoleAgent, "agent-acting")
	revoked := issue(t, auth.RoleAgent, "agent-acting")
	require.NoError(t, st.RevokeToken(t.Context(), auth.TokenID(revoked)))
	wrongSecret := good[:len(good)-4] + "AAAA"
	if wrongSecret == good {
		wrongSecret = good[:len(good)-4] + "BBBB"
	}
	_, err := st.UpsertAgent(t.Context(), "agent-other", "agent-other", 1)
	require.NoError(t, err)
	other := issue(t, auth.RoleAgent, "agent-other")
	supervisor := issue(t, auth.RoleSupervisor, "")
	integration := issue(t, auth.RoleIntegration, "")
	number, err := st.NextInteractionNumber(t.Context())
	require.NoError(t, err)
	closed, err := st.CreateInteraction(t.Context(), store.NewInteraction{Number: number, Channel: "phone", Direction: "inbound",
		State: workflows.StateClosedComplete, WorkflowID: workflows.CallbackWorkflowID("CB0000080"), AgentID: "agent-acting"})
	require.NoError(t, err)
	const missing = "IMS9999999999"

	for _, tc := range []struct {
		name, token, number string
		want                int
	}{
		{"its agent", good, it.Number, http.StatusCreated},
		{"revoked", revoked, it.Number, http.StatusUnauthorized},
		{"wrong secret", wrongSecret, it.Number, http.StatusUnauthorized},
		{"garbage", "chb_nope", it.Number, http.StatusUnauthorized},
		{"another agent", other, it.Number, http.StatusForbidden},
		{"a supervisor", supervisor, it.Number, http.StatusCreated},
		{"an integration", integration, it.Number, http.StatusForbidden},
		{"closed", good, closed.Number, http.StatusConflict},
		{"no such interaction", good, missing, http.StatusNotFound},
		{"revoked, no such interaction", revoked, missing, http.StatusUnauthorized},
		{"wrong secret, no such interaction", wrongSecret, missing, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.as(tc.token).do(http.MethodPost, "/v1/interactions/"+tc.number+"/notes", map[string]any{"body": "asks about a refund"})
			require.Equal(t, tc.want, r.Code, r.Body.String())
			if tc.want != http.StatusCreated {
				r.problem(t)
			}
			if tc.want == http.StatusUnauthorized {
				require.Contains(t, r.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
			}
		})
	}
	notes, err := st.WorkNotes(t.Context(), it.Number)
	require.NoError(t, err)
	require.Len(t, notes, 2, "only its agent's and the supervisor's notes are written")
	notes, err = st.WorkNotes(t.Context(), closed.Number)
	require.NoError(t, err)
	require.Empty(t, notes)
}

// The record that says who may act is read once the body is in: an
// interaction closed while its request's body was on its way is refused as
// closed, and nothing is written.
func TestActingReadsTheRecordAfterTheBody(t *testing.T) {
	it := openInteraction(t, "agent-slow-body", workflows.CallbackWorkflowID("CB0000081"))
	c := newClient(t, api.Deps{})
	token := issue(t, auth.RoleAgent, "agent-slow-body")

	body, send := io.Pipe()
	req := httptest.NewRequest(http.MethodPost, "/v1/interactions/"+it.Number+"/notes", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.e.ServeHTTP(rec, req)
	}()

	_, err := st.ChangeInteraction(t.Context(), store.InteractionChange{Number: it.Number, Version: 2,
		State: workflows.StateClosedComplete, Actor: "agent-slow-body", Reason: "closed while the note was sent"})
	require.NoError(t, err)
	_, err = send.Write([]byte(`{"body":"sent slowly"}`))
	require.NoError(t, err)
	require.NoError(t, send.Close())
	<-done

	require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
	notes, err := st.WorkNotes(t.Context(), it.Number)
	require.NoError(t, err)
	require.Empty(t, notes)
}
