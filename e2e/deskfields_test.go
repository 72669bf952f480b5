package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// What a desk needs to act without knowing casehub's workflow ids: an offer
// names its interaction (or callback), a waiting call is found by the
// platform's call id, an ASAP callback says when it is due, and an
// agent-first callback at its attempt limit says to close it.
func TestADeskFindsWhatItActsOn(t *testing.T) {
	t.Run("an offer names its interaction; a call is found by its call id", func(t *testing.T) {
		queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "kit")
		kit := "kit-" + queue
		callID, n := ringIn(t, "+12025554301", queue, nil)
		eventually(t, func() bool { return do(t, "GET", "/v1/interactions/"+n, supervisor(), nil, nil) == http.StatusOK }, n+" recorded")
		found := listInteractions(t, url.Values{"call_id": {callID}})
		require.Equal(t, []string{n}, numbers(found), "the platform's call id finds the call")
		var me struct {
			PendingOffers []struct {
				Interaction string `json:"interaction"`
				CallbackID  string `json:"callback_id"`
			} `json:"pending_offers"`
		}
		eventually(t, func() bool {
			me.PendingOffers = nil
			return do(t, "GET", "/v1/agents/"+kit, tokens[kit], nil, &me) == http.StatusOK && len(me.PendingOffers) == 1
		}, "kit is offered the call")
		require.Equal(t, n, me.PendingOffers[0].Interaction)
		require.Empty(t, me.PendingOffers[0].CallbackID)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+me.PendingOffers[0].Interaction+"/accept", tokens[kit], map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[kit], map[string]any{}, nil)
	})

	t.Run("an ASAP callback says when it is due", func(t *testing.T) {
		queue, _ := setupQueue(t, callbackQueueSettings(map[string]any{}))
		var cb store.Callback
		before := time.Now()
		mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration],
			map[string]any{"number": customerNumber(), "queue": queue}, &cb)
		require.NotNil(t, cb.DueAt)
		require.WithinDuration(t, before, *cb.DueAt, time.Minute, "as soon as possible: now")
		mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/cancel", supervisor(), map[string]any{}, nil)
	})

	t.Run("an agent-first callback at its attempt limit says to close it", func(t *testing.T) {
		queue, tokens := setupQueue(t, callbackQueueSettings(map[string]any{"default_mode": "agent_first", "max_attempts": 1}), "lee")
		lee := "lee-" + queue
		customer := customerNumber()
		script(t, customer, "busy:100ms")
		var cb store.Callback
		mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration],
			map[string]any{"number": customer, "queue": queue}, &cb)
		d := waitCallback(t, cb.ID, step(workflows.CallbackStepOffered), "offered")
		require.Equal(t, []string{"accept", "reject"}, d.Process.Next)
		mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/accept", tokens[lee], map[string]any{}, nil)
		d = waitCallback(t, cb.ID, step(workflows.CallbackStepPreview), "preview")
		require.Equal(t, []string{"dial", "close"}, d.Process.Next)
		mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/dial", tokens[lee], nil, nil)
		d = waitCallback(t, cb.ID, step(workflows.CallbackStepUnanswered), "busy")
		require.Zero(t, d.Process.AttemptsLeft)
		require.Equal(t, []string{"close"}, d.Process.Next, "no dial left")
		require.Contains(t, d.Process.Note, "no attempts left")
		mustAPI(t, http.StatusConflict, "POST", "/v1/callbacks/"+cb.ID+"/dial", tokens[lee], nil, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/close", tokens[lee], map[string]any{"outcome": "failed"}, nil)
	})
}
