package workflows_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/workflows"
)

// answer sends an accept or reject at once and records when and how it was
// answered, on the workflow's clock.
type answer struct {
	at, answeredAt time.Time
	err            error
	done           bool
}

func (e *interactionEnv) answer(name, agent string) *answer {
	ans := &answer{at: e.Now()}
	e.pending++
	finish := func(_ any, err error) {
		e.pending--
		ans.answeredAt, ans.err, ans.done = e.Now(), err, true
	}
	e.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
		OnReject: func(err error) { finish(nil, err) }, OnComplete: finish,
	}, workflows.DecisionRequest{AgentID: agent})
	return ans
}

// refusedAtOnce: the answer was refused, with why, the moment it arrived.
func refusedAtOnce(t *testing.T, a *answer, why string) {
	t.Helper()
	require.True(t, a.done, "answered")
	require.ErrorContains(t, a.err, why)
	require.Equal(t, a.at, a.answeredAt, "refused at once, not after the step in flight")
}

func hangUp(e *interactionEnv) { e.event(cti.Event{Type: cti.EventCallerHungUp, CallID: "call-1"}) }

// Decisions that race the acceptance timer, the caller leaving, another
// agent or a withdrawal either succeed or are refused at once with the
// reason; none waits for an event that may never come, and every process
// completes. Each routing step takes 5 s here, so the race windows are wide.
func TestDecisionsThatRaceAlwaysEnd(t *testing.T) {
	const slow = 5 * time.Second
	t.Run("accept as the offer times out", func(t *testing.T) {
		e := newInteractionEnv(t, "ann") // nobody else: the item waits after the time-out
		e.slowClose = slow
		var late *answer
		e.at(31*time.Second, func() { late = e.answer(workflows.UpdateAccept, "ann") }) // the close runs 30-35 s
		e.at(33*time.Second, func() { hangUp(e) })
		st := e.run(inboundCall())
		refusedAtOnce(t, late, "the offer timed out")
		require.Equal(t, "abandoned", st.Outcome, "the process ends when the caller leaves")
	})

	t.Run("reject as the offer times out", func(t *testing.T) {
		e := newInteractionEnv(t, "ann")
		e.slowClose = slow
		var late *answer
		e.at(31*time.Second, func() { late = e.answer(workflows.UpdateReject, "ann") })
		e.at(33*time.Second, func() { hangUp(e) })
		e.run(inboundCall())
		refusedAtOnce(t, late, "the offer timed out")
	})

	t.Run("accept as the caller hangs up", func(t *testing.T) {
		e := newInteractionEnv(t, "ann")
		e.slowFinish = slow
		var late *answer
		e.at(10*time.Second, func() { hangUp(e) })
		e.at(11*time.Second, func() { late = e.answer(workflows.UpdateAccept, "ann") }) // the finish runs 10-15 s
		st := e.run(inboundCall())
		refusedAtOnce(t, late, "the customer has gone")
		require.Equal(t, "abandoned", st.Outcome)
	})

	t.Run("accept taken, then the caller hangs up while it is recorded", func(t *testing.T) {
		e := newInteractionEnv(t, "ann")
		e.slowAccept = slow
		var acc *answer
		e.at(10*time.Second, func() { acc = e.answer(workflows.UpdateAccept, "ann") })
		e.at(12*time.Second, func() { hangUp(e) }) // the accept runs 10-15 s
		st := e.run(inboundCall())
		require.True(t, acc.done)
		require.NoError(t, acc.err, "an accept taken before the hang-up succeeds")
		require.Equal(t, "completed", st.Outcome, "worked (briefly) and closed")
	})

	t.Run("a late answer after another agent took it", func(t *testing.T) {
		e := newInteractionEnv(t, "ann", "bob")
		var bob, ann, cara *answer
		e.at(40*time.Second, func() { bob = e.answer(workflows.UpdateAccept, "bob") })
		e.at(41*time.Second, func() {
			ann = e.answer(workflows.UpdateAccept, "ann")
			cara = e.answer(workflows.UpdateAccept, "cara")
		})
		e.at(2*time.Minute, func() { e.event(callEnded()) })
		e.run(inboundCall())
		require.NoError(t, bob.err)
		refusedAtOnce(t, ann, "the offer timed out")
		refusedAtOnce(t, cara, "another agent has taken it")
	})

	t.Run("the same agent answers twice at once", func(t *testing.T) {
		e := newInteractionEnv(t, "ann")
		e.slowAccept = slow
		var first, second, reject *answer
		e.at(10*time.Second, func() {
			first = e.answer(workflows.UpdateAccept, "ann")
			second = e.answer(workflows.UpdateAccept, "ann")
			reject = e.answer(workflows.UpdateReject, "ann")
		})
		e.at(time.Minute, func() { e.event(callEnded()) })
		e.run(inboundCall())
		require.NoError(t, first.err)
		refusedAtOnce(t, second, "already been answered")
		refusedAtOnce(t, reject, "already been answered")
	})

	t.Run("an accept sent while the offer is being shown", func(t *testing.T) {
		// The agent sees the offer the moment the present transaction commits,
		// before the activity reports back: the process takes the answer from
		// the moment it began to show it.
		e := newInteractionEnv(t, "ann")
		e.slowPresent = slow
		var acc *answer
		e.at(2*time.Second, func() { acc = e.answer(workflows.UpdateAccept, "ann") }) // the present runs 0-5 s
		e.at(time.Minute, func() { e.event(callEnded()) })
		st := e.run(inboundCall())
		require.NoError(t, acc.err)
		require.Equal(t, "completed", st.Outcome)
		require.Equal(t, []string{"new", "pending_acceptance", "work_in_progress", "closed_complete"}, e.states)
	})
}
