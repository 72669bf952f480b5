package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/store"
)

// listInteractions lists interactions with the query given.
func listInteractions(t *testing.T, query url.Values) []store.Interaction {
	t.Helper()
	var page struct {
		Items []store.Interaction `json:"items"`
	}
	mustAPI(t, http.StatusOK, "GET", "/v1/interactions?"+query.Encode(), supervisor(), nil, &page)
	return page.Items
}

func numbers(list []store.Interaction) []string {
	out := []string{}
	for _, it := range list {
		out = append(out, it.Number)
	}
	return out
}

// Seed 003: "If required, select a disposition code". The code an agent
// gives when it ends a call or chat, or when it ends its wrap-up, is on the
// interaction's record, and interactions are listed by it.
func TestDispositionLandsOnTheRecord(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 300}, "hal")
	hal := "hal-" + queue
	tok := tokens[hal]
	code := "resolved-" + strings.ToLower(uuid.NewString()[:6])

	t.Run("given as the call ends", func(t *testing.T) {
		_, n := ringIn(t, "+12025554101", queue, nil)
		offeredTo(t, n, hal)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{"disposition": code}, nil)
		d := getInteraction(t, n)
		require.Equal(t, "closed_complete", d.State)
		require.NotNil(t, d.Disposition)
		require.Equal(t, code, *d.Disposition)
		require.Equal(t, []string{n}, numbers(listInteractions(t, url.Values{"disposition": {code}})))
		mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+hal+"/end-wrap-up", tok, map[string]any{}, nil)
	})

	t.Run("given as the wrap-up after a chat ends", func(t *testing.T) {
		var c struct{ ID string }
		sim(t, "/sim/chats", map[string]any{"email": "disp-" + uuid.NewString()[:6] + "@example.com", "name": "Customer", "queue": queue, "text": "hi"}, &c)
		n := interactionOf(t, c.ID, "the chat opens an interaction")
		offeredTo(t, n, hal)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{}, nil)
		require.Nil(t, getInteraction(t, n).Disposition, "none given yet")
		mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+hal+"/end-wrap-up", tok, map[string]any{"disposition": code + "-chat"}, nil)
		d := getInteraction(t, n)
		require.NotNil(t, d.Disposition, "given in wrap-up, on the record at once")
		require.Equal(t, code+"-chat", *d.Disposition)
		require.Equal(t, []string{n}, numbers(listInteractions(t, url.Values{"disposition": {code + "-chat"}})))
	})
}

// A queue can require a disposition: ending a call without one is a 422
// naming the field, and so is ending by hand a wrap-up whose call closed
// without one (the caller hung up); a wrap-up that runs out needs none.
func TestQueueRequiresADisposition(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 300, "disposition_required": true}, "ida")
	ida := "ida-" + queue
	tok := tokens[ida]
	var q store.Queue
	mustAPI(t, http.StatusOK, "GET", "/v1/queues/"+queue, supervisor(), nil, &q)
	require.True(t, q.DispositionRequired)

	_, n := ringIn(t, "+12025554102", queue, nil)
	offeredTo(t, n, ida)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
	var p api.Problem
	mustAPI(t, http.StatusUnprocessableEntity, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{}, &p)
	require.Equal(t, "disposition", p.Errors[0].Field)
	require.Equal(t, "work_in_progress", getInteraction(t, n).State, "refused: nothing changed")
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{"disposition": "sold"}, nil)
	require.Equal(t, "sold", *getInteraction(t, n).Disposition)
	mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+ida+"/end-wrap-up", tok, map[string]any{}, nil)

	// The caller hangs up: the call closes with no code, and the agent's
	// wrap-up ends by hand only with one.
	callID, m := ringIn(t, "+12025554103", queue, nil)
	offeredTo(t, m, ida)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+m+"/accept", tok, map[string]any{}, nil)
	sim(t, "/sim/calls/"+callID+"/hangup", map[string]any{}, nil)
	waitState(t, m, "closed_complete")
	eventually(t, func() bool {
		var a struct{ Presence string }
		return do(t, "GET", "/v1/agents/"+ida, tok, nil, &a) == http.StatusOK && a.Presence == store.PresenceWrapUp
	}, "ida in wrap-up")
	p = api.Problem{}
	mustAPI(t, http.StatusUnprocessableEntity, "POST", "/v1/agents/"+ida+"/end-wrap-up", tok, map[string]any{}, &p)
	require.Equal(t, "disposition", p.Errors[0].Field)
	mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+ida+"/end-wrap-up", tok, map[string]any{"disposition": "hung up"}, nil)
	require.Equal(t, "hung up", *getInteraction(t, m).Disposition)
}

// A contact's interactions: the contact_id filter lists only those opened
// for that contact.
func TestInteractionsListedByContact(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "jan")
	jan := "jan-" + queue
	caller, _ := callerNumber(t)
	c := seedContact(t, "Kim Contact", nil, caller)
	_, n := ringIn(t, caller, queue, nil)
	offeredTo(t, n, jan)
	require.Equal(t, c.ID, *getInteraction(t, n).ContactID)
	_, other := ringIn(t, fmt.Sprintf("+1202555%04d", 4200), queue, nil)
	require.Equal(t, []string{n}, numbers(listInteractions(t, url.Values{"contact_id": {c.ID.String()}})))
	require.NotContains(t, numbers(listInteractions(t, url.Values{"contact_id": {c.ID.String()}})), other)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[jan], map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[jan], map[string]any{}, nil)
}
