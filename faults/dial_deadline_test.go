//go:build faults

package faults

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// The telephony platform is down when a customer-first callback's first
// dial is due, and stays down longer than the dial's window (30 s from the
// attempt's start). The attempt fails and its call is never placed, not
// even once the platform is back; the agent reserved for it is freed; the
// callback goes on by its retry rules: the second attempt dials once the
// platform answers, and the callback is worked to completion.
func TestPlatformDownPastTheDialDeadline(t *testing.T) {
	s := newSystem(t)
	const down = 40 * time.Second // longer than the 30 s dial window
	q, ids, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 0, "outbound_number": "+12025550100",
		"settings": map[string]any{"callbacks": map[string]any{"default_mode": "customer_first", "retry_interval_seconds": 5, "max_attempts": 2}}},
		[]string{"ann"}, "ann")
	ann, tok := ids["ann"], tokens["ann"]

	s.sim.kill()
	stopped := time.Now()
	var cb store.Callback
	s.must(http.StatusCreated, "POST", "/v1/callbacks", s.integration, map[string]any{"number": "+12025551701", "queue": q}, &cb)
	require.Equal(t, store.CallbackCustomerFirst, cb.Mode)
	first, second := workflows.CallbackDialKey(cb.ID, 1), workflows.CallbackDialKey(cb.ID, 2)

	// Attempt 1 dials into the outage with Ann reserved for it.
	var d callbackDetail
	s.eventually(func() bool {
		d = s.callback(cb.ID)
		return len(d.Dials) == 1 && d.Dials[0].Outcome == store.AttemptDialing
	}, "the first attempt dials")
	require.Equal(t, ann, *d.Dials[0].AgentID)
	s.eventually(func() bool {
		a := s.desk(ann, tok)
		return len(a.ReservedFor) == 1 && a.ReservedFor[0].CallbackID == cb.ID && len(a.PendingOffers) == 0
	}, "Ann is reserved for the callback while it dials")

	// Past the window it fails, and the agent is freed at once, before the
	// retry books her again.
	s.eventually(func() bool {
		d = s.callback(cb.ID)
		return len(d.Dials) >= 1 && d.Dials[0].Outcome == store.AttemptFailed
	}, "the first attempt fails")
	a1 := d.Dials[0]
	require.NotNil(t, a1.EndedAt)
	require.Nil(t, a1.CallID, "no call for attempt 1")
	t.Logf("attempt 1 started %s, recorded failed %.1fs later", a1.StartedAt.Format(time.RFC3339Nano), a1.EndedAt.Sub(a1.StartedAt).Seconds())
	// Retried through the window (backoff up to 5 s; the last retry that
	// fits starts before the window ends), given up at its end.
	require.GreaterOrEqual(t, a1.EndedAt.Sub(a1.StartedAt), 20*time.Second, "the dial was retried, not given up at the first failure")
	require.LessOrEqual(t, a1.EndedAt.Sub(a1.StartedAt), 35*time.Second, "the dial was given up at the end of its window")
	s.eventually(func() bool {
		a := s.desk(ann, tok)
		return a.Presence == "available" && a.VoiceLoad == 0 && len(a.ReservedFor) == 0 && len(a.PendingOffers) == 0
	}, "Ann is freed when attempt 1 fails")
	d = s.callback(cb.ID)
	require.Equal(t, 1, d.Attempts, "she is freed before attempt 2: %+v", d.Dials)
	require.NotEqual(t, store.CallbackFailed, d.State, "one attempt is left")

	// Let the outage run past the window on purpose: a retry of attempt 1's
	// dial would reach the platform when it is back.
	time.Sleep(time.Until(stopped.Add(down)))
	s.startSim()

	// Attempt 2 dials once the platform answers, is answered, and Ann takes
	// it the instant it shows.
	s.eventually(func() bool { return len(s.simCalls(second)) == 1 }, "attempt 2 dials once the platform is back")
	s.eventually(func() bool {
		for _, o := range s.desk(ann, tok).PendingOffers {
			if strings.TrimPrefix(o.WorkflowID, workflows.CallbackWorkflowID("")) == cb.ID {
				return true
			}
		}
		return false
	}, "the answered callback is offered to Ann")
	s.must(http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/accept", tok, map[string]any{}, nil)
	s.eventually(func() bool {
		d = s.callback(cb.ID)
		return len(d.Dials) == 2 && d.Dials[1].Outcome == store.AttemptConnected
	}, "attempt 2 connects")
	calls := s.simCalls(second)
	require.Len(t, calls, 1)
	s.simPost("/sim/calls/"+calls[0].ID+"/hangup", map[string]any{}, nil)
	s.eventually(func() bool { d = s.callback(cb.ID); return d.State == store.CallbackCompleted }, "the callback completes")

	require.Equal(t, 2, d.Attempts)
	require.Len(t, d.Dials, 2)
	require.Equal(t, store.AttemptFailed, d.Dials[0].Outcome)
	require.Equal(t, store.AttemptConnected, d.Dials[1].Outcome)
	require.NotNil(t, d.Interaction)
	s.requireClean(*d.Interaction, 1)
	require.Empty(t, s.simCalls(first), "attempt 1's call was never placed")
	require.Len(t, s.simCalls(second), 1, "one call for attempt 2")
	require.Equal(t, 2, s.count(`SELECT count(*) FROM callback_attempts WHERE callback = $1`, cb.ID))
	s.eventually(func() bool {
		a := s.desk(ann, tok)
		return a.Presence == "available" && a.VoiceLoad == 0 && len(a.ReservedFor) == 0
	}, "Ann is free at the end")
}

type callbackDetail struct {
	store.Callback
	Dials []store.CallbackAttempt `json:"dials"`
}

func (s *system) callback(id string) callbackDetail {
	s.t.Helper()
	var d callbackDetail
	s.must(http.StatusOK, "GET", "/v1/callbacks/"+id, s.supervisor, nil, &d)
	return d
}
