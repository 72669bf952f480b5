package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// What the API shows is taken at once: a redial sent the moment the
// attempt's outcome shows no_answer is accepted, while the process is still
// writing its unanswered step (each step's write takes 5 s here).
func TestRedialTheMomentNoAnswerShows(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	e.at(2*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(30*time.Second, func() { e.ok(workflows.UpdateDialCallback, workflows.CallbackDialRequest{AgentID: "ann"}) })
	e.at(50*time.Second, func() {
		e.slowChange = 5 * time.Second
		e.event(cti.EventCallNoAnswer, "call-1")
	})
	var shown bool
	e.at(51*time.Second, func() {
		require.Equal(t, []string{store.AttemptNoAnswer}, e.outcomes(), "the attempt shows no answer")
		require.Equal(t, workflows.CallbackStepDialing, e.state().Step, "the process is still writing its next step")
		shown = true
		e.ok(workflows.UpdateDialCallback, workflows.CallbackDialRequest{AgentID: "ann"})
	})
	e.at(90*time.Second, func() {
		e.slowChange = 0
		e.event(cti.EventCallAnswered, "call-2")
	})
	e.at(91*time.Second, func() { e.event(cti.EventAgentLegAnswered, "leg-ann") })
	e.at(2*time.Minute, func() {
		e.ok(workflows.UpdateCloseCallback, workflows.CallbackCloseRequest{AgentID: "ann", Outcome: workflows.CloseCompleted})
	})
	e.at(2*time.Minute+time.Second, func() { e.event(cti.EventCallEnded, "call-2") })
	st := e.run(asap(store.CallbackAgentFirst))
	require.True(t, shown)
	require.Equal(t, store.CallbackCompleted, st.State)
	require.Len(t, e.dials, 2, "the redial sent as unanswered showed was placed")
}

// Customer-first (seed 002): the agent routing reserves is given no offer
// while the customer is dialled; the offer shows when they answer and is
// taken at once; a dial nobody answers frees the agent at once.
func TestCustomerFirstReservesTheAgentUntilTheCustomerAnswers(t *testing.T) {
	t.Run("answered", func(t *testing.T) {
		e := newCallbackEnv(t, "ann")
		e.at(2*time.Second, func() {
			require.Empty(t, e.presented, "no offer shown while dialling")
			require.Equal(t, "ann", e.last().AgentID, "the record names the reserved agent")
			e.refused(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}, "being dialled")
		})
		e.at(5*time.Second, func() { e.event(cti.EventCallAnswered, "call-1") })
		e.at(6*time.Second, func() {
			require.Len(t, e.presented, 1, "shown once the customer answered")
			e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"})
		})
		e.at(7*time.Second, func() { e.event(cti.EventAgentLegAnswered, "leg-ann") })
		e.at(time.Minute, func() { e.event(cti.EventCallEnded, "call-1") })
		st := e.run(asap(store.CallbackCustomerFirst))
		require.Equal(t, store.CallbackCompleted, st.State)
		require.Equal(t, cbStart.Add(5*time.Second), e.presentedAt[0].UTC(), "presented when the customer answered")
	})

	t.Run("not answered", func(t *testing.T) {
		e := newCallbackEnv(t, "ann", "ann")
		var freedAt time.Time
		e.at(20*time.Second, func() { e.event(cti.EventCallNoAnswer, "call-1") })
		e.at(30*time.Second, func() {
			require.Len(t, e.finished, 1, "the agent was freed")
			freedAt = e.Now()
		})
		e.at(10*time.Minute+40*time.Second, func() { e.event(cti.EventCallBusy, "call-2") })
		in := asap(store.CallbackCustomerFirst)
		in.MaxAttempts = 2
		st := e.run(in)
		require.Equal(t, store.CallbackFailed, st.State, st.Outcome)
		require.Empty(t, e.presented, "nothing was ever offered")
		require.False(t, freedAt.IsZero())
		require.Empty(t, e.closed, "not a time-out: the agent is not put on break")
	})
}

// Every dial carries the moment after which it may not be placed.
func TestDialsCarryTheirDeadline(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	e.at(5*time.Second, func() { e.event(cti.EventCallAnswered, "call-1") })
	e.at(6*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(7*time.Second, func() { e.event(cti.EventAgentLegAnswered, "leg-ann") })
	e.at(time.Minute, func() { e.event(cti.EventCallEnded, "call-1") })
	e.run(asap(store.CallbackCustomerFirst))
	require.Len(t, e.dials, 1)
	require.NotNil(t, e.dials[0].NotAfter)
	require.True(t, e.dialedAt[0].Add(30*time.Second).Equal(*e.dials[0].NotAfter), "30 s after the dial began")
}

// The API answers a request with the callback scheduled: a cancel sent the
// instant that answer arrives, before the process has recorded any step of
// its own, is taken.
func TestCancelTheInstantTheRequestAnswers(t *testing.T) {
	for _, mode := range []string{store.CallbackCustomerFirst, store.CallbackAgentFirst} {
		t.Run(mode, func(t *testing.T) {
			e := newCallbackEnv(t, "ann")
			e.slowChange = 5 * time.Second // the process's first write is still in flight
			e.at(0, func() {
				e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor", Reason: "sorted out"})
			})
			st := e.run(asap(mode))
			require.Equal(t, store.CallbackCancelled, st.State)
		})
	}
}
