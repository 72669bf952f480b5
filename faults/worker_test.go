//go:build faults

package faults

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// The worker dies while an offer's acceptance timer runs, and stays dead
// past the timeout. A new worker finds the timer fired: the offer times
// out, the agent goes on break, the call goes to the next agent.
func TestWorkerKilledDuringAcceptanceTimer(t *testing.T) {
	s := newSystem(t)
	const acceptance = 5 * time.Second
	q, ids, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": int(acceptance.Seconds()), "wrapup_timeout_seconds": 0},
		[]string{"ann", "bob"}, "ann")
	_, n := s.ringIn("+12025550101", q)
	s.waitState(n, "pending_acceptance", ids["ann"])
	s.presence(ids["bob"], tokens["bob"], "available") // next in line, once Ann's offer is gone

	s.killWorkers()
	time.Sleep(acceptance + 3*time.Second) // the timer is due while no worker runs
	s.startWorker()

	s.waitState(n, "pending_acceptance", ids["bob"])
	s.eventually(func() bool { return s.agent(ids["ann"], tokens["ann"]).Presence == "on_break" }, "Ann is on break after her offer ran out")
	s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens["bob"], map[string]any{}, nil)
	s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens["bob"], map[string]any{"disposition": "done"}, nil)

	d := s.requireClean(n, 1)
	require.Equal(t, []string{"new", "pending_acceptance", "new", "pending_acceptance", "work_in_progress", "closed_complete"}, states(d))
	require.Equal(t, ids["bob"], *d.PhoneLogs[0].AgentID)
	var offers []struct {
		AgentID string `db:"agent_id"`
		State   string `db:"state"`
	}
	require.NoError(t, s.db.Select(&offers, `SELECT o.agent_id, o.state FROM offers o JOIN work_items i ON i.id = o.item_id
WHERE i.workflow_id = $1 ORDER BY o.offered_at`, workflows.InteractionWorkflowID(n)))
	require.Len(t, offers, 2, "one offer to each agent: %v", offers)
	require.Equal(t, ids["ann"], offers[0].AgentID)
	require.Equal(t, store.OfferTimedOut, offers[0].State)
	require.Equal(t, ids["bob"], offers[1].AgentID)
}

// The worker dies while the agent is in wrap-up: the wrap-up timer, due
// while no worker ran, still returns the agent to available.
func TestWorkerKilledDuringWrapUp(t *testing.T) {
	s := newSystem(t)
	const wrapUp = 3 * time.Second
	q, ids, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": int(wrapUp.Seconds())},
		[]string{"ann"}, "ann")
	ann, tok := ids["ann"], tokens["ann"]
	_, n := s.ringIn("+12025550102", q)
	s.waitState(n, "pending_acceptance", ann)
	s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
	s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{}, nil)
	s.eventually(func() bool { return s.agent(ann, tok).Presence == "wrap_up" }, "Ann is in wrap-up")

	s.killWorkers()
	time.Sleep(wrapUp + 2*time.Second)
	require.Equal(t, "wrap_up", s.agent(ann, tok).Presence, "no worker, so nothing moved her yet")
	s.startWorker()

	s.eventually(func() bool { return s.agent(ann, tok).Presence == "available" }, "the wrap-up timer returns Ann to available")
	s.requireClean(n, 1)

	// And she takes the next call.
	_, n2 := s.ringIn("+12025550103", q)
	s.waitState(n2, "pending_acceptance", ann)
}

// The worker dies right after the dial command reached the platform, while
// the customer's phone still rings. The new worker's retry of the dial
// carries the same idempotency key: one call, and the process completes.
func TestWorkerKilledDuringDial(t *testing.T) {
	s := newSystem(t)
	q, ids, tokens := s.queue(map[string]any{"outbound_number": "+12025550199"}, []string{"eve"})
	eve, tok := ids["eve"], tokens["eve"]
	customer := "+12025550131"
	s.script(customer, "answer:6s")

	var it store.Interaction
	s.must(http.StatusCreated, "POST", "/v1/interactions/outbound", tok, map[string]any{"to": customer, "queue": q}, &it)
	key := it.Number + "-dial"
	s.eventually(func() bool { return len(s.simCalls(key)) > 0 }, "the dial reaches the simulator")
	s.killWorkers()
	calls := s.simCalls(key)
	require.Len(t, calls, 1)
	require.Equal(t, "ringing", calls[0].State, "killed while the customer's phone rings")
	s.startWorker()

	s.eventually(func() bool { c := s.simCalls(key); return len(c) == 1 && c[0].State == "answered" }, "the customer answers")
	// The process knows the call (its leg is registered) before the agent hangs up.
	s.eventually(func() bool {
		wf, err := s.store.LegOwner(t.Context(), calls[0].ID)
		return err == nil && wf == it.WorkflowID
	}, "the call's leg belongs to the interaction")
	s.must(http.StatusOK, "POST", "/v1/interactions/"+it.Number+"/end", tok, map[string]any{}, nil)
	d := s.requireClean(it.Number, 1)
	require.Equal(t, eve, *d.PhoneLogs[0].AgentID)
	require.Len(t, s.simCalls(key), 1, "exactly one call was placed")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM cti_legs WHERE workflow_id = $1`, it.WorkflowID))
}

// The same for a customer-first callback: the worker dies right after the
// attempt's dial reached the platform. One call per attempt key, and the
// callback completes on that first attempt.
func TestWorkerKilledDuringCallbackDial(t *testing.T) {
	s := newSystem(t)
	q, _, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 0, "outbound_number": "+12025550100",
		"settings": map[string]any{"callbacks": map[string]any{"retry_interval_seconds": 2, "max_attempts": 3}}}, []string{"ann"}, "ann")
	customer := "+12025551501"
	s.script(customer, "answer:6s")

	var cb store.Callback
	s.must(http.StatusCreated, "POST", "/v1/callbacks", s.integration, map[string]any{"number": customer, "queue": q}, &cb)
	require.Equal(t, store.CallbackCustomerFirst, cb.Mode)
	key := workflows.CallbackDialKey(cb.ID, 1)
	s.eventually(func() bool { return len(s.simCalls(key)) > 0 }, "the first attempt's dial reaches the simulator")
	s.killWorkers()
	require.Equal(t, "ringing", s.simCalls(key)[0].State, "killed while the customer's phone rings")
	s.startWorker()

	s.eventually(func() bool {
		return s.do("POST", "/v1/callbacks/"+cb.ID+"/accept", tokens["ann"], map[string]any{}, nil) == http.StatusOK
	}, "Ann accepts the answered callback")
	var d struct {
		store.Callback
		Dials []store.CallbackAttempt `json:"dials"`
	}
	s.eventually(func() bool {
		return s.do("GET", "/v1/callbacks/"+cb.ID, s.supervisor, nil, &d) == http.StatusOK &&
			len(d.Dials) == 1 && d.Dials[0].Outcome == store.AttemptConnected
	}, "connected on the first attempt")
	calls := s.simCalls(key)
	require.Len(t, calls, 1, "one call for the attempt")
	s.simPost("/sim/calls/"+calls[0].ID+"/hangup", map[string]any{}, nil)
	s.eventually(func() bool {
		return s.do("GET", "/v1/callbacks/"+cb.ID, s.supervisor, nil, &d) == http.StatusOK && d.State == store.CallbackCompleted
	}, "the callback completes")
	require.Equal(t, 1, d.Attempts)
	require.NotNil(t, d.Interaction)
	s.requireClean(*d.Interaction, 1)
	require.Len(t, s.simCalls(key), 1, "one call for the attempt")
	require.Empty(t, s.simCalls(workflows.CallbackDialKey(cb.ID, 2)), "no second attempt")
}
