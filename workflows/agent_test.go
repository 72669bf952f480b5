package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// agentEnv runs an agent workflow whose presence activity answers what was
// asked (only-from rules applied to the test's own copy of the presence).
type agentEnv struct {
	*testsuite.TestWorkflowEnvironment
	t        *testing.T
	presence string
	// wrapItem and wrapUntil are the wrap-up PostgreSQL holds (with
	// presence wrap_up), as the finishing transaction set them.
	wrapItem  string
	wrapUntil *time.Time
	calls     []activities.SetPresenceRequest
	pending   int
	// seq counts presence changes, as agents.presence_seq does.
	seq int64
	// How long booking the agent's queues and changing its presence take.
	slowDispatch, slowPresence time.Duration
}

func newAgentEnv(t *testing.T) *agentEnv {
	e := &agentEnv{TestWorkflowEnvironment: newSuite().NewTestWorkflowEnvironment(), t: t, presence: store.PresenceOffline}
	e.RegisterActivity(a)
	e.OnActivity(a.SetAgentPresence, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.SetPresenceRequest) (activities.SetPresenceResult, error) {
			e.calls = append(e.calls, r)
			allowed := len(r.OnlyFrom) == 0
			for _, p := range r.OnlyFrom {
				allowed = allowed || p == e.presence
			}
			res := activities.SetPresenceResult{Changed: allowed}
			if allowed {
				if e.presence == store.PresenceWrapUp {
					res.EndedWrapUp = e.wrapItem
				}
				e.presence, e.wrapItem, e.wrapUntil = r.Presence, "", nil
				e.seq++
			}
			res.Presence, res.Seq = e.presence, e.seq
			return res, nil
		}).AfterFn(func() time.Duration { return e.slowPresence }).Maybe()
	e.OnActivity(a.AgentWrapUp, mock.Anything, mock.Anything).Return(
		func(context.Context, string) (activities.WrapUp, error) {
			return activities.WrapUp{Presence: e.presence, Item: e.wrapItem, Until: e.wrapUntil, Seq: e.seq}, nil
		}).Maybe()
	e.OnActivity(a.DispatchAgent, mock.Anything, mock.Anything).Return([]store.Offer(nil), nil).
		AfterFn(func() time.Duration { return e.slowDispatch }).Maybe()
	return e
}

func (e *agentEnv) at(d time.Duration, fn func()) { e.RegisterDelayedCallback(fn, d) }

// update sends an update; check runs with its answer (or refusal) once the
// workflow has handled it, and run fails the test if it never did.
func (e *agentEnv) update(name string, arg any, check func(workflows.AgentState, error)) {
	e.pending++
	done := func(st workflows.AgentState, err error) {
		e.pending--
		if check != nil {
			check(st, err)
		}
	}
	cb := &testsuite.TestUpdateCallback{
		OnReject: func(err error) { done(workflows.AgentState{}, err) },
		OnComplete: func(v any, err error) {
			st, _ := v.(workflows.AgentState)
			done(st, err)
		},
	}
	if arg == nil {
		e.UpdateWorkflow(name, "", cb)
	} else {
		e.UpdateWorkflow(name, "", cb, arg)
	}
}

func (e *agentEnv) state() workflows.AgentState {
	v, err := e.QueryWorkflow(workflows.QueryState)
	require.NoError(e.t, err)
	var st workflows.AgentState
	require.NoError(e.t, v.Get(&st))
	return st
}

func (e *agentEnv) run(until time.Duration) {
	e.at(until, func() { e.CancelWorkflow() })
	e.ExecuteWorkflow(workflows.Agent, workflows.AgentInput{AgentID: "ann"})
	require.True(e.t, e.IsWorkflowCompleted())
	require.Zero(e.t, e.pending, "every update was answered")
}

func TestAgentWrapUpTimesOutToAvailable(t *testing.T) {
	e := newAgentEnv(t)
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, func(st workflows.AgentState, err error) {
			require.NoError(t, err)
			require.Equal(t, "available", st.Presence)
		})
	})
	e.at(10*time.Second, func() {
		e.presence = store.PresenceWrapUp // routing moved the agent in the finishing transaction
		e.SignalWorkflow(workflows.SignalItemFinished, workflows.ItemFinished{ItemID: "IMS1-1", Queue: "support", WrappingUp: true, WrapUp: time.Minute})
	})
	e.at(11*time.Second, func() { require.Equal(t, "wrap_up", e.state().Presence) })
	e.at(69*time.Second, func() { require.Equal(t, "wrap_up", e.state().Presence, "59 s into a 60 s wrap-up") })
	e.at(71*time.Second, func() {
		st := e.state()
		require.Equal(t, "available", st.Presence, "the post-processing timer returns the agent to available")
		require.Equal(t, "post-processing time over", st.Reason)
	})
	e.run(2 * time.Minute)
	last := e.calls[len(e.calls)-1]
	require.Equal(t, []string{store.PresenceWrapUp}, last.OnlyFrom, "the timer ends wrap-up only from wrap-up")
	require.Equal(t, "IMS1-1", last.ItemID)
}

func TestAgentEndsWrapUpEarlyWithDisposition(t *testing.T) {
	e := newAgentEnv(t)
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	e.at(2*time.Second, func() {
		e.presence = store.PresenceWrapUp
		e.SignalWorkflow(workflows.SignalItemFinished, workflows.ItemFinished{ItemID: "IMS2-1", WrappingUp: true, WrapUp: time.Minute})
	})
	e.at(5*time.Second, func() {
		e.update(workflows.UpdateEndWrapUp, workflows.EndWrapUpRequest{Disposition: "resolved"}, func(st workflows.AgentState, err error) {
			require.NoError(t, err)
			require.Equal(t, "available", st.Presence)
		})
	})
	e.run(3 * time.Minute)
	last := e.calls[len(e.calls)-1]
	require.Equal(t, "resolved", last.Disposition)
	require.Equal(t, "IMS2-1", last.ItemID)
	// No timer fired after the early end: available, then the end of wrap-up.
	require.Len(t, e.calls, 2)
}

func TestAgentWorkOfflineStopsTheCountdown(t *testing.T) {
	e := newAgentEnv(t)
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	e.at(2*time.Second, func() {
		e.presence = store.PresenceWrapUp
		e.SignalWorkflow(workflows.SignalItemFinished, workflows.ItemFinished{ItemID: "IMS3-1", WrappingUp: true, WrapUp: time.Minute})
	})
	e.at(30*time.Second, func() {
		e.update(workflows.UpdateWorkOffline, nil, func(st workflows.AgentState, err error) {
			require.NoError(t, err)
			require.True(t, st.WorkingOffline)
		})
	})
	e.at(10*time.Minute, func() {
		require.Equal(t, "wrap_up", e.state().Presence, "working offline keeps wrap-up past its timer")
	})
	e.at(11*time.Minute, func() {
		e.update(workflows.UpdateEndWrapUp, workflows.EndWrapUpRequest{}, func(st workflows.AgentState, err error) {
			require.NoError(t, err)
			require.Equal(t, "available", st.Presence)
		})
	})
	e.run(12 * time.Minute)
}

func TestAgentOfferTimeoutMeansBreak(t *testing.T) {
	e := newAgentEnv(t)
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	e.at(40*time.Second, func() {
		e.SignalWorkflow(workflows.SignalOfferTimedOut, workflows.OfferTimedOut{OfferID: "offer-1", ItemID: "IMS4-1"})
	})
	e.at(41*time.Second, func() {
		st := e.state()
		require.Equal(t, "on_break", st.Presence)
		require.Contains(t, st.Reason, "offer-1")
	})
	e.run(time.Minute)
}

func TestAgentValidatorsRefuseStepsOutOfPlace(t *testing.T) {
	e := newAgentEnv(t)
	e.at(time.Second, func() {
		e.update(workflows.UpdateEndWrapUp, workflows.EndWrapUpRequest{}, func(_ workflows.AgentState, err error) {
			require.ErrorContains(t, err, "not in wrap-up")
		})
		e.update(workflows.UpdateWorkOffline, nil, func(_ workflows.AgentState, err error) {
			require.ErrorContains(t, err, "not in wrap-up")
		})
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "busy"}, func(_ workflows.AgentState, err error) {
			require.ErrorContains(t, err, "presence")
		})
	})
	e.run(time.Minute)
	require.Empty(t, e.calls, "refused steps ran no activity")
}

// Routing moves the agent to wrap-up in PostgreSQL a moment before the
// item-finished signal reaches its process: ending wrap-up in that moment
// works (PostgreSQL decides), and the late signal starts no countdown.
func TestAgentEndsWrapUpBeforeItsSignalArrives(t *testing.T) {
	e := newAgentEnv(t)
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	e.at(2*time.Second, func() {
		e.presence, e.wrapItem = store.PresenceWrapUp, "IMS9-1" // the finishing transaction, signal still on its way
		e.update(workflows.UpdateEndWrapUp, workflows.EndWrapUpRequest{Disposition: "sold"}, func(st workflows.AgentState, err error) {
			require.NoError(t, err)
			require.Equal(t, "available", st.Presence)
		})
	})
	e.at(3*time.Second, func() {
		e.SignalWorkflow(workflows.SignalItemFinished, workflows.ItemFinished{ItemID: "IMS9-1", WrappingUp: true, WrapUp: time.Minute})
	})
	e.at(4*time.Second, func() { require.Equal(t, "available", e.state().Presence, "no second wrap-up for the same item") })
	e.at(5*time.Second, func() {
		e.update(workflows.UpdateEndWrapUp, workflows.EndWrapUpRequest{}, func(_ workflows.AgentState, err error) {
			require.ErrorContains(t, err, "not in wrap-up", "PostgreSQL says available: nothing to end")
		})
	})
	e.run(3 * time.Minute)
	require.Len(t, e.calls, 3)
	require.True(t, e.calls[1].LastItem)
	require.Equal(t, "sold", e.calls[1].Disposition)
}

// The agent's process shows busy in the Temporal UI while the agent works
// on accepted items (two chats here), then wrap-up, then available.
func TestAgentShowsBusyWhileWorking(t *testing.T) {
	e := newAgentEnv(t)
	var shown []string
	e.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if s, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(workflows.SearchProcessState); ok {
			shown = append(shown, s)
		}
	}).Return(nil)
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	e.at(2*time.Second, func() {
		e.SignalWorkflow(workflows.SignalItemAssigned, workflows.ItemAssigned{ItemID: "IMS3-1", Queue: "chat"})
		e.SignalWorkflow(workflows.SignalItemAssigned, workflows.ItemAssigned{ItemID: "IMS4-1", Queue: "chat"})
		e.SignalWorkflow(workflows.SignalItemAssigned, workflows.ItemAssigned{ItemID: "IMS4-1", Queue: "chat"}) // repeated
	})
	e.at(3*time.Second, func() {
		st := e.state()
		require.Equal(t, "available", st.Presence, "PostgreSQL's presence is unchanged")
		require.Equal(t, []string{"IMS3-1", "IMS4-1"}, st.Items)
	})
	e.at(10*time.Second, func() {
		// One chat ends while the other goes on: no wrap-up yet.
		e.SignalWorkflow(workflows.SignalItemFinished, workflows.ItemFinished{ItemID: "IMS3-1", Queue: "chat"})
	})
	e.at(20*time.Second, func() {
		e.presence = store.PresenceWrapUp
		e.SignalWorkflow(workflows.SignalItemFinished, workflows.ItemFinished{ItemID: "IMS4-1", Queue: "chat", WrappingUp: true, WrapUp: time.Minute})
	})
	e.at(21*time.Second, func() { require.Empty(t, e.state().Items) })
	e.run(2 * time.Minute)
	require.Equal(t, []string{"offline", "available", "busy", "wrap_up", "available"}, shown)
}

// finishing is what the transaction that finished an item does to an
// available agent: wrap-up in PostgreSQL, until now + d.
func (e *agentEnv) finishing(item string, d time.Duration) workflows.ItemFinished {
	until := e.Now().Add(d)
	e.presence, e.wrapItem, e.wrapUntil = store.PresenceWrapUp, item, &until
	e.seq++
	return workflows.ItemFinished{ItemID: item, Queue: "support", WrappingUp: true, WrapUp: d, Until: &until, Seq: e.seq}
}

// The API showed wrap-up (PostgreSQL started it) before the item's signal
// reached the agent's process: working offline the instant it shows is
// taken, the process takes up the wrap-up PostgreSQL holds, and the late
// signal starts no second countdown.
func TestAgentWorkOfflineBeforeItsSignalArrives(t *testing.T) {
	e := newAgentEnv(t)
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	var finished workflows.ItemFinished
	e.at(10*time.Second, func() {
		finished = e.finishing("IMS8-1", time.Minute)
		e.update(workflows.UpdateWorkOffline, nil, func(st workflows.AgentState, err error) {
			require.NoError(t, err, "wrap-up shows in PostgreSQL: working offline is taken")
			require.Equal(t, store.PresenceWrapUp, st.Presence)
			require.True(t, st.WorkingOffline)
			require.Equal(t, "IMS8-1", st.WrapUpItem)
			require.True(t, finished.Until.Equal(*st.WrapUpUntil), "the wrap-up PostgreSQL holds")
		})
	})
	e.at(12*time.Second, func() { e.SignalWorkflow(workflows.SignalItemFinished, finished) })
	e.at(5*time.Minute, func() {
		st := e.state()
		require.Equal(t, store.PresenceWrapUp, st.Presence, "still working offline: no countdown ended it")
		require.True(t, st.WorkingOffline)
	})
	e.run(6 * time.Minute)
	require.Len(t, e.calls, 1, "nothing ended the wrap-up behind the agent's back")
}

// A signal and an update delivered together: the update is judged on the
// state after the signal, as PostgreSQL showed it to its sender.
func TestAgentTakesInSignalsBeforeJudgingAnUpdate(t *testing.T) {
	e := newAgentEnv(t)
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	e.at(10*time.Second, func() {
		e.SignalWorkflow(workflows.SignalItemFinished, e.finishing("IMS7-1", time.Minute))
		e.update(workflows.UpdateWorkOffline, nil, func(st workflows.AgentState, err error) {
			require.NoError(t, err)
			require.True(t, st.WorkingOffline)
			require.Equal(t, "IMS7-1", st.WrapUpItem)
		})
	})
	e.run(time.Minute)
}

// Continue-as-new carries all of the agent's state over, and takes in what
// arrives while it drains. Booking the agent's queues takes 5 s here and a
// presence change 10 s: the run's loop is booking (10-15 s) when a second
// queue change and an item signal arrive; the drain takes them in and books
// again (15-20 s); an update admitted meanwhile (16-26 s) is answered and in
// the new run's state, not cut off when the drain's booking ends.
func TestAgentContinueAsNewLosesNothing(t *testing.T) {
	e := newAgentEnv(t)
	e.slowDispatch = 5 * time.Second
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	e.at(2*time.Second, func() {
		// Ended before its signal: the late signal must start no wrap-up, in
		// this run or the next.
		e.presence, e.wrapItem = store.PresenceWrapUp, "IMS5-1"
		e.update(workflows.UpdateEndWrapUp, workflows.EndWrapUpRequest{}, nil)
	})
	e.at(10*time.Second, func() {
		e.SetContinueAsNewSuggested(true)
		e.SignalWorkflow(workflows.SignalQueuesChanged, nil)
	})
	e.at(12*time.Second, func() {
		e.SignalWorkflow(workflows.SignalQueuesChanged, nil)
		e.SignalWorkflow(workflows.SignalItemAssigned, workflows.ItemAssigned{ItemID: "IMS6-1", Queue: "support"})
	})
	e.at(16*time.Second, func() {
		e.slowPresence = 10 * time.Second
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "on_break", Reason: "coffee"}, func(_ workflows.AgentState, err error) {
			require.NoError(t, err, "an update that arrives during the drain is answered")
		})
		e.SignalWorkflow(workflows.SignalItemFinished, workflows.ItemFinished{ItemID: "IMS5-1", Queue: "support", WrappingUp: true, WrapUp: time.Minute})
	})
	e.ExecuteWorkflow(workflows.Agent, workflows.AgentInput{AgentID: "ann"})
	require.True(t, e.IsWorkflowCompleted())
	require.Zero(t, e.pending, "every update was answered")
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, e.GetWorkflowError(), &can)
	var next workflows.AgentInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.State)
	require.Equal(t, store.PresenceOnBreak, next.State.Presence, "the update taken during the drain")
	require.Equal(t, "coffee", next.State.Reason)
	require.Equal(t, []string{"IMS6-1"}, next.State.Items, "the signal taken before the drain")
	require.Contains(t, next.State.Settled, "IMS5-1", "the ended wrap-up is remembered in the next run")
}

// The agent's own "available" is applied before an older time-out's break
// reaches its process (the signal waited on a worker that died): the break
// is not applied over it, so the process keeps agreeing with PostgreSQL, and
// the next item's wrap-up is counted down as usual.
func TestAgentAppliesPresenceChangesInTheirOrder(t *testing.T) {
	e := newAgentEnv(t)
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	var timedOut workflows.OfferTimedOut
	e.at(40*time.Second, func() {
		// The time-out commits: on break, as change 2.
		e.presence, e.seq = store.PresenceOnBreak, e.seq+1
		timedOut = workflows.OfferTimedOut{OfferID: "offer-IMS1-1-1", ItemID: "IMS1-1", OnBreak: true, Seq: e.seq}
		// The agent, shown on break, comes back (change 3) before the signal.
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, func(st workflows.AgentState, err error) {
			require.NoError(t, err)
			require.Equal(t, store.PresenceAvailable, st.Presence)
		})
	})
	e.at(42*time.Second, func() { e.SignalWorkflow(workflows.SignalOfferTimedOut, timedOut) })
	e.at(43*time.Second, func() {
		require.Equal(t, store.PresenceAvailable, e.state().Presence, "the older break is not applied over the agent's return")
	})
	e.at(60*time.Second, func() { e.SignalWorkflow(workflows.SignalItemFinished, e.finishing("IMS2-1", 30*time.Second)) })
	e.at(61*time.Second, func() { require.Equal(t, store.PresenceWrapUp, e.state().Presence) })
	e.at(91*time.Second, func() {
		require.Equal(t, store.PresenceAvailable, e.state().Presence, "the wrap-up timer ended it")
		require.Equal(t, store.PresenceAvailable, e.presence, "and PostgreSQL agrees")
	})
	e.run(2 * time.Minute)
}

// The agent's own presence is written in the workflow task that takes in
// its update, keyed by the update: a task run again answers the first
// answer. An answer older than a change the process has already taken in
// (a task run again after a later signal) is not applied.
func TestAnAgentsPresenceIsSetInTheWorkflowTask(t *testing.T) {
	e := newAgentEnv(t)
	var local, remote []string
	e.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		local = append(local, info.ActivityType.Name+" "+args[0].(activities.SetPresenceRequest).Key)
	})
	e.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		remote = append(remote, info.ActivityType.Name)
	})
	answer := func(id string, want string) {
		answered(t, e.TestWorkflowEnvironment, &e.pending, workflows.UpdateSetPresence, id, func(v any) {
			require.Equal(t, want, v.(workflows.AgentState).Presence, id)
		}, workflows.SetPresenceRequest{Presence: "available"})
	}
	e.at(time.Second, func() { answer("presence-1", "available") })
	e.at(10*time.Second, func() {
		// Routing started a wrap-up as presence change 50: later than any
		// answer the mock gives (it counts from 1).
		e.SignalWorkflow(workflows.SignalItemFinished, workflows.ItemFinished{ItemID: "IMS9-1", Queue: "support", WrappingUp: true,
			WrapUp: time.Minute, Seq: 50})
	})
	e.at(11*time.Second, func() { answer("presence-2", "wrap_up") })
	e.run(30 * time.Second)
	require.Equal(t, []string{"SetAgentPresence presence-1", "SetAgentPresence presence-2"}, local)
	require.Empty(t, remote, "no presence waits for an activity task")
}
