package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

// created posts body under a new Idempotency-Key, checks the 201's Location
// reads back with GET, and that the same request again replays the same
// Location.
func created(t *testing.T, path, token string, body any) string {
	t.Helper()
	key := uuid.NewString()
	post := func() *http.Response {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, sys.apiURL+path, bytes.NewReader(b))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	first := post()
	require.Equal(t, http.StatusCreated, first.StatusCode, path)
	require.NotEmpty(t, first.Header.Get("X-Request-Id"))
	loc := first.Header.Get("Location")
	require.NotEmpty(t, loc, "POST %s: 201 without Location", path)
	mustAPI(t, http.StatusOK, "GET", loc, token, nil, nil)

	again := post()
	require.Equal(t, http.StatusCreated, again.StatusCode)
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, loc, again.Header.Get("Location"), "the replay says where, too")
	return loc
}

// Every kind of 201 says where its record is read.
func TestCreatedRecordsHaveALocation(t *testing.T) {
	queue, tokens := setupQueue(t, callbackQueueSettings(nil), "ned")
	ned := tokens["ned-"+queue]
	require.Regexp(t, `^/v1/companies/`, created(t, "/v1/companies", supervisor(), map[string]any{"name": "Initech " + queue}))
	contact := created(t, "/v1/contacts", supervisor(), map[string]any{"name": "Ned " + queue})
	require.Regexp(t, `^/v1/contacts/`, contact)
	var ct store.Contact
	mustAPI(t, http.StatusOK, "GET", contact, supervisor(), nil, &ct)

	it := created(t, "/v1/interactions", ned, map[string]any{"channel": "walk_in", "queue": queue, "contact_id": ct.ID, "short_description": "Badge broken"})
	require.Regexp(t, `^/v1/interactions/IMS`, it)
	require.Equal(t, it, created(t, it+"/notes", ned, map[string]any{"body": "asked for a new badge"}))
	inc := created(t, it+"/escalate", ned, map[string]any{"kind": "incident", "short_description": "Badge printer broken"})
	require.Regexp(t, `^/v1/incidents/`, inc)
	require.Regexp(t, `^/v1/requests/`, created(t, it+"/escalate", ned, map[string]any{"kind": "request", "short_description": "New badge"}))
	require.Equal(t, inc, created(t, inc+"/notes", ned, map[string]any{"body": "printer ordered"}))
	process := created(t, it+"/processes", ned, map[string]any{"kind": "add_new_case"})
	require.Regexp(t, `^/v1/processes/`, process)
	t.Cleanup(func() {
		_ = sys.client.TerminateWorkflow(context.Background(), strings.TrimPrefix(process, "/v1/processes/"), "", "test over")
	})
	require.Regexp(t, `^/v1/callbacks/CB`, created(t, "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{"number": customerNumber(), "queue": queue}))
}
