package api_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

// A supervisor erases a contact; the answer counts what changed; an agent
// may not; an unknown contact is a 404.
func TestEraseContactRoute(t *testing.T) {
	c := newClient(t, api.Deps{})
	sup := c.as(issue(t, auth.RoleSupervisor, ""))
	tag := uuid.NewString()[:8]
	r := sup.do(http.MethodPost, "/v1/contacts", map[string]any{"name": "Ezra " + tag,
		"communication_options": []map[string]any{{"kind": "email", "value": "ezra." + tag + "@example.com"}}})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	var ezra store.Contact
	r.decode(t, &ezra)

	require.Equal(t, http.StatusForbidden, c.as(issue(t, auth.RoleAgent, "agent-erase")).do(http.MethodPost, "/v1/contacts/"+ezra.ID.String()+"/erase", nil).Code)
	r = sup.do(http.MethodPost, "/v1/contacts/"+ezra.ID.String()+"/erase", nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var e store.Erasure
	r.decode(t, &e)
	require.Equal(t, ezra.ID, e.ContactID)
	require.Equal(t, int64(1), e.Contact)
	require.Equal(t, int64(1), e.Options)

	r = sup.do(http.MethodGet, "/v1/contacts/"+ezra.ID.String(), nil)
	require.Equal(t, http.StatusOK, r.Code)
	var after store.Contact
	r.decode(t, &after)
	require.Equal(t, store.Erased, after.Name)
	require.Empty(t, after.CommunicationOptions)

	require.Equal(t, http.StatusNotFound, sup.do(http.MethodPost, "/v1/contacts/"+uuid.NewString()+"/erase", nil).Code)
}
