package workflows_test

import (
	"cmp"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// callbackEnv runs a callback workflow against activities that keep what
// they were asked, with routing scripted as in interactionEnv: each enqueue
// or requeue offers the item to the next agent in line.
type callbackEnv struct {
	*testsuite.TestWorkflowEnvironment
	t      *testing.T
	start  time.Time
	queue  activities.Queue
	agents []string

	changes      []activities.CallbackChange
	attempts     []activities.CallbackAttempt
	items        []activities.NewWorkItem
	enqueuedAt   []time.Time
	offers       []string
	closed       []activities.CloseOfferRequest
	finished     []activities.FinishWorkItemRequest
	dials        []cti.PlaceCallRequest
	dialedAt     []time.Time
	agentOffers  []cti.OfferRequest
	hangups      []cti.HangUpRequest
	bridged      int
	interactions []activities.OpenCallbackInteractionRequest
	itChanges    []activities.InteractionChange
	phoneLogs    []activities.PhoneLog
	linked       []string
	signals      []string
	presented    []string // offers shown to their agents
	presentedAt  []time.Time
	slowChange   time.Duration // how long a record write takes, on the workflow's clock
	offerAgent   map[string]string
	replaced     bool
	pending      int
	positions    map[string]int64 // place in line of each item enqueued
}

var cbStart = time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC) // a Friday, before the US daylight-saving change

func newCallbackEnv(t *testing.T, agents ...string) *callbackEnv {
	e := &callbackEnv{TestWorkflowEnvironment: newSuite().NewTestWorkflowEnvironment(), t: t, agents: agents, start: cbStart,
		positions: map[string]int64{}, offerAgent: map[string]string{},
		queue: activities.Queue{Name: "support", AcceptanceTimeoutS: 30, WrapUpTimeoutS: 60, OnReject: store.OnRejectReoffer,
			OutboundNumber: "+12025550100", Settings: json.RawMessage(`{}`)}}
	e.SetStartTime(cbStart)
	e.RegisterActivity(a)
	e.OnActivity(a.QueueSettings, mock.Anything, mock.Anything).Return(
		func(_ context.Context, name string) (activities.Queue, error) {
			q := e.queue
			q.Name = name
			return q, nil
		})
	e.OnActivity(a.ChangeCallback, mock.Anything, mock.Anything).Return(
		func(_ context.Context, c activities.CallbackChange) error {
			e.changes = append(e.changes, c)
			return nil
		}).
		AfterFn(func() time.Duration { return e.slowChange })
	e.OnActivity(a.RecordCallbackAttempt, mock.Anything, mock.Anything).Return(
		func(_ context.Context, at activities.CallbackAttempt) error {
			e.attempts = append(e.attempts, at)
			return nil
		}).Maybe()
	e.OnActivity(a.LinkCallbackInteraction, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _, number string) error { e.linked = append(e.linked, number); return nil }).Maybe()
	// Routing activities deliver their offers to the item's process and
	// tell the agent's process themselves, as package routing does.
	e.OnActivity(a.EnqueueWorkItem, mock.Anything, mock.Anything).Return(
		func(_ context.Context, n activities.NewWorkItem) ([]activities.Offer, error) {
			e.items, e.enqueuedAt = append(e.items, n), append(e.enqueuedAt, e.Now())
			e.positions[n.ID] = cmp.Or(n.Position, int64(100+len(e.items)))
			e.deliver(e.nextOffer(n.ID))
			return nil, nil
		}).Maybe()
	e.OnActivity(a.EnqueueCallbackItem, mock.Anything, mock.Anything).Return(
		func(_ context.Context, n activities.NewWorkItem) (activities.EnqueuedCallback, error) {
			e.items, e.enqueuedAt = append(e.items, n), append(e.enqueuedAt, e.Now())
			e.deliver(e.nextOffer(n.ID))
			return activities.EnqueuedCallback{Replaced: e.replaced}, nil
		}).Maybe()
	e.OnActivity(a.AckOffer, mock.Anything, mock.Anything).Return(nil).Maybe()
	e.OnActivity(a.PresentOffer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.PresentOfferRequest) (activities.PresentedOffer, error) {
			e.presented, e.presentedAt = append(e.presented, r.OfferID), append(e.presentedAt, e.Now())
			if c := r.Record.Callback; c != nil {
				e.changes = append(e.changes, *c)
			}
			return activities.PresentedOffer{Presented: activities.Presented{Presented: true, State: store.OfferPending}}, nil
		}).Maybe()
	e.OnActivity(a.AcceptOffer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, offerID string) (activities.Accepted, error) {
			return activities.Accepted{AgentID: e.offerAgent[offerID], AgentTold: true}, nil
		}).Maybe()
	e.OnActivity(a.CloseOffer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.CloseOfferRequest) ([]activities.Offer, error) {
			e.closed = append(e.closed, r)
			if r.Requeue {
				e.deliver(e.nextOffer(e.items[len(e.items)-1].ID))
			}
			return nil, nil
		}).Maybe()
	e.OnActivity(a.FinishWorkItem, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.FinishWorkItemRequest) (activities.FinishWorkItemResult, error) {
			e.finished = append(e.finished, r)
			res := activities.FinishWorkItemResult{Finished: activities.FinishedItem{Position: e.positions[r.ItemID]}, AgentTold: true}
			if len(e.offers) > 0 && r.WrapUp > 0 {
				res.Finished = activities.FinishedItem{AgentID: e.offers[len(e.offers)-1], WasAssigned: true, WrappingUp: true, Position: res.Finished.Position}
			}
			return res, nil
		}).Maybe()
	e.OnActivity(a.PlaceCall, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r cti.PlaceCallRequest, _ string) (cti.Call, error) {
			e.dials, e.dialedAt = append(e.dials, r), append(e.dialedAt, e.Now())
			return cti.Call{ID: "call-" + strconv.Itoa(len(e.dials)), State: cti.CallStateRinging}, nil
		}).Maybe()
	e.OnActivity(a.OfferToAgent, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r cti.OfferRequest, _ string) (cti.Call, error) {
			e.agentOffers = append(e.agentOffers, r)
			return cti.Call{ID: "leg-" + r.AgentID}, nil
		}).Maybe()
	e.OnActivity(a.Bridge, mock.Anything, mock.Anything).Return(func(context.Context, cti.BridgeRequest) error { e.bridged++; return nil }).Maybe()
	e.OnActivity(a.HangUp, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r cti.HangUpRequest) error { e.hangups = append(e.hangups, r); return nil }).Maybe()
	e.OnActivity(a.OpenCallbackInteraction, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.OpenCallbackInteractionRequest) (activities.Interaction, error) {
			e.interactions = append(e.interactions, r)
			return activities.Interaction{Number: "IMS0000100", State: r.Interaction.State, Version: 1}, nil
		}).Maybe()
	e.OnActivity(a.ChangeInteraction, mock.Anything, mock.Anything).Return(
		func(_ context.Context, c activities.InteractionChange) (activities.Interaction, error) {
			e.itChanges = append(e.itChanges, c)
			return activities.Interaction{Number: c.Number, State: c.State, Version: c.Version}, nil
		}).Maybe()
	e.OnActivity(a.RecordPhoneLog, mock.Anything, mock.Anything).Return(
		func(_ context.Context, l activities.PhoneLog) error { e.phoneLogs = append(e.phoneLogs, l); return nil }).Maybe()
	e.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_, workflowID, _, signal string, _ any) error {
			e.signals = append(e.signals, workflowID+" "+signal)
			return nil
		}).Maybe()
	return e
}

func (e *callbackEnv) nextOffer(item string) []activities.Offer {
	if len(e.agents) == 0 {
		return nil
	}
	agent := e.agents[0]
	e.agents = e.agents[1:]
	e.offers = append(e.offers, agent)
	id := "offer-" + uuid.NewString()
	e.offerAgent[id] = agent
	return []activities.Offer{{ID: id, ItemID: item, AgentID: agent, WorkflowID: selfID, Queue: "support", Channel: "voice"}}
}

// deliver signals offers to the process, as routing does after its commit.
func (e *callbackEnv) deliver(offers []activities.Offer) {
	for _, o := range offers {
		e.SignalWorkflow(workflows.SignalOffer, workflows.OfferSignal{OfferID: o.ID, ItemID: o.ItemID, AgentID: o.AgentID, Queue: o.Queue, Channel: o.Channel})
	}
}

func (e *callbackEnv) settings(s string) { e.queue.Settings = json.RawMessage(s) }

func (e *callbackEnv) at(d time.Duration, fn func()) { e.RegisterDelayedCallback(fn, d) }

func (e *callbackEnv) event(typ cti.EventType, callID string) {
	ev := cti.Event{ID: "ev-" + uuid.NewString(), Type: typ, CallID: callID, OccurredAt: e.Now()}
	if typ == cti.EventCallEnded {
		start, end, d := e.Now().Add(-time.Minute), e.Now(), 60
		ev.StartedAt, ev.EndedAt, ev.DurationSeconds = &start, &end, &d
	}
	e.SignalWorkflow(workflows.SignalCTIEvent, ev)
}

func (e *callbackEnv) update(name string, arg any, check func(error)) {
	e.pending++
	done := func(_ any, err error) {
		e.pending--
		if check != nil {
			check(err)
		}
	}
	e.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
		OnReject: func(err error) { done(nil, err) }, OnComplete: done,
	}, arg)
}

func (e *callbackEnv) ok(name string, arg any) {
	e.update(name, arg, func(err error) { require.NoError(e.t, err, name) })
}

func (e *callbackEnv) refused(name string, arg any, want string) {
	e.update(name, arg, func(err error) { require.ErrorContains(e.t, err, want, name) })
}

func (e *callbackEnv) state() workflows.CallbackState {
	v, err := e.QueryWorkflow(workflows.QueryState)
	require.NoError(e.t, err)
	var st workflows.CallbackState
	require.NoError(e.t, v.Get(&st))
	return st
}

func (e *callbackEnv) run(in workflows.CallbackInput) workflows.CallbackState {
	e.ExecuteWorkflow(workflows.Callback, in)
	require.True(e.t, e.IsWorkflowCompleted())
	require.NoError(e.t, e.GetWorkflowError())
	require.Zero(e.t, e.pending, "every update was answered")
	var st workflows.CallbackState
	require.NoError(e.t, e.GetWorkflowResult(&st))
	return st
}

func (e *callbackEnv) last() activities.CallbackChange { return e.changes[len(e.changes)-1] }

func (e *callbackEnv) outcomes() []string {
	final := map[int]string{}
	var order []int
	for _, at := range e.attempts {
		if _, ok := final[at.Attempt]; !ok {
			order = append(order, at.Attempt)
		}
		final[at.Attempt] = at.Outcome
	}
	out := []string{}
	for _, n := range order {
		out = append(out, final[n])
	}
	return out
}

func asap(mode string) workflows.CallbackInput {
	return workflows.CallbackInput{ID: "CB0000001", Queue: "support", Number: "+12025550143", Mode: mode, TimeZone: "UTC",
		ExpiresAt: cbStart.Add(24 * time.Hour), MaxAttempts: 3, Reason: "billing question", IVR: map[string]string{"lang": "en"},
		CaseNumber: "CS-000123", CallerID: "+12025550199", Horizon: 30 * 24 * time.Hour, CreatedBy: "integration"}
}

func TestCustomerFirstAnsweredAtOnce(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	e.at(2*time.Second, func() {
		require.Equal(t, workflows.CallbackStepDialing, e.state().Step)
		e.refused(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}, "being dialled")
		e.refused(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor"}, "being worked")
	})
	e.at(5*time.Second, func() { e.event(cti.EventCallAnswered, "call-1") })
	e.at(8*time.Second, func() { e.event(cti.EventAgentLegAnswered, "leg-ann") })
	e.at(10*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() {
		st := e.state()
		require.Equal(t, workflows.CallbackStepConnected, st.Step)
		require.Equal(t, "IMS0000100", st.Interaction)
	})
	e.at(3*time.Minute, func() { e.event(cti.EventCallEnded, "call-1") })
	st := e.run(asap(store.CallbackCustomerFirst))

	require.Equal(t, store.CallbackCompleted, st.State)
	require.Len(t, e.dials, 1)
	require.Equal(t, workflows.CallbackDialKey("CB0000001", 1), e.dials[0].IdempotencyKey)
	require.Equal(t, "+12025550143", e.dials[0].To)
	require.Equal(t, "+12025550100", e.dials[0].From, "from the queue's number")
	require.Equal(t, []string{"ann"}, e.offers, "ann was held while the customer was dialled")
	require.Len(t, e.agentOffers, 1)
	require.Equal(t, "call-1", e.agentOffers[0].CallID, "the answered call rings the agent")
	require.Equal(t, 1, e.bridged)
	require.Len(t, e.interactions, 1)
	it := e.interactions[0].Interaction
	require.Equal(t, store.InteractionWorkInProgress, it.State)
	require.Equal(t, "ann", it.AgentID)
	require.Equal(t, "call-1", it.CallID)
	require.Equal(t, store.DirectionOutbound, it.Direction)
	require.Equal(t, store.InteractionClosedComplete, e.itChanges[len(e.itChanges)-1].State)
	require.Len(t, e.phoneLogs, 1)
	require.Equal(t, "IMS0000100", e.phoneLogs[0].Interaction)
	require.Equal(t, []string{store.AttemptConnected}, e.outcomes())
	require.Equal(t, "CB0000001", e.attempts[0].Callback)
	require.Equal(t, "+12025550143", e.attempts[0].Number)
	require.Len(t, e.finished, 1)
	require.Equal(t, time.Minute, e.finished[0].WrapUp, "the agent goes to wrap-up")
	require.Equal(t, store.CallbackCompleted, e.last().State)
	require.Equal(t, "ann", e.last().AgentID)
}

func TestCustomerFirstNoAnswerUntilFailed(t *testing.T) {
	e := newCallbackEnv(t, "ann", "ann", "ann", "ann")
	// Dials at 0, 10m20s and 20m40s: each outcome 20 s after its dial, each
	// retry 10 minutes after the outcome.
	e.at(20*time.Second, func() { e.event(cti.EventCallNoAnswer, "call-1") })
	e.at(5*time.Minute, func() {
		st := e.state()
		require.Equal(t, workflows.CallbackStepScheduled, st.Step)
		require.Equal(t, cbStart.Add(10*time.Minute+20*time.Second), st.NextAttemptAt.UTC())
		require.Equal(t, 2, st.AttemptsLeft)
	})
	e.at(10*time.Minute+40*time.Second, func() { e.event(cti.EventCallBusy, "call-2") })
	e.at(21*time.Minute, func() { e.event(cti.EventCallVoicemail, "call-3") })
	st := e.run(asap(store.CallbackCustomerFirst))

	require.Equal(t, store.CallbackFailed, st.State)
	require.Contains(t, st.Outcome, "3 attempts")
	require.Len(t, e.dials, 3)
	for i, d := range e.dials {
		require.Equal(t, workflows.CallbackDialKey("CB0000001", i+1), d.IdempotencyKey)
	}
	require.Equal(t, []time.Time{cbStart, cbStart.Add(10*time.Minute + 20*time.Second), cbStart.Add(20*time.Minute + 40*time.Second)},
		[]time.Time{e.dialedAt[0].UTC(), e.dialedAt[1].UTC(), e.dialedAt[2].UTC()})
	require.Equal(t, []string{store.AttemptNoAnswer, store.AttemptBusy, store.AttemptVoicemail}, e.outcomes())
	require.Len(t, e.finished, 3, "each attempt's item left the queue and freed its agent")
	require.Empty(t, e.agentOffers, "no agent's phone rang")
	require.Empty(t, e.interactions, "nothing connected, no interaction")
	require.Equal(t, 3, e.last().Attempts)
}

func TestCustomerFirstRejectOffersTheNextAgentWhileTheCustomerWaits(t *testing.T) {
	e := newCallbackEnv(t, "ann", "bob")
	e.at(5*time.Second, func() { e.event(cti.EventCallAnswered, "call-1") })
	e.at(10*time.Second, func() { e.ok(workflows.UpdateReject, workflows.DecisionRequest{AgentID: "ann", Reason: "lunch"}) })
	e.at(12*time.Second, func() { require.Equal(t, "bob", e.state().OfferedTo) })
	e.at(14*time.Second, func() { e.event(cti.EventAgentLegAnswered, "leg-bob") })
	e.at(15*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "bob"}) })
	e.at(2*time.Minute, func() { e.event(cti.EventCallEnded, "call-1") })
	st := e.run(asap(store.CallbackCustomerFirst))

	require.Equal(t, store.CallbackCompleted, st.State)
	require.Equal(t, "bob", st.AgentID)
	require.Len(t, e.dials, 1, "the customer was dialled once and waited on the line")
	require.Equal(t, []string{"ann", "bob"}, []string{e.agentOffers[0].AgentID, e.agentOffers[1].AgentID})
	require.Equal(t, store.OfferRejected, e.closed[0].State)
	require.True(t, e.closed[0].Exclude)
	require.Contains(t, e.hangups, cti.HangUpRequest{IdempotencyKey: e.closed[0].OfferID + "-withdraw", CallID: "leg-ann"}, "ann's phone stops ringing")
}

func TestCustomerFirstGivesUpAfterTooManyAgents(t *testing.T) {
	e := newCallbackEnv(t, "ann", "bob", "cat")
	e.settings(`{"callbacks": {"max_offers": 2, "max_attempts": 1}}`)
	e.at(5*time.Second, func() { e.event(cti.EventCallAnswered, "call-1") })
	// ann and bob let the offer run out (30 s each); cat is never offered it.
	in := asap(store.CallbackCustomerFirst)
	in.MaxAttempts = 1 // as the API reads it from the queue
	st := e.run(in)
	require.Equal(t, store.CallbackFailed, st.State)
	require.Equal(t, []string{store.AttemptNoAgent}, e.outcomes())
	require.Len(t, e.agentOffers, 2)
	require.Contains(t, e.hangups, cti.HangUpRequest{IdempotencyKey: workflows.CallbackDialKey("CB0000001", 1) + "-hangup", CallID: "call-1"},
		"the waiting customer is hung up on")
}

func TestScheduledInAnotherTimeZoneAcrossDaylightSaving(t *testing.T) {
	// Asked on Friday 6 March for Monday 9 March, 09:00 in New York: the
	// clocks go forward on Sunday, so that is 13:00Z, not 14:00Z.
	at, err := workflows.ResolveSchedule("2026-03-09T09:00", "America/New_York")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC), at)
	before, err := workflows.ResolveSchedule("2026-03-06T09:00:00", "America/New_York")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC), before)

	e := newCallbackEnv(t, "ann")
	in := asap(store.CallbackCustomerFirst)
	in.ScheduledAt, in.TimeZone, in.ExpiresAt = &at, "America/New_York", at.Add(24*time.Hour)
	e.at(time.Hour, func() {
		st := e.state()
		require.Equal(t, workflows.CallbackStepScheduled, st.Step)
		require.Equal(t, at, st.NextAttemptAt.UTC())
	})
	e.at(at.Sub(cbStart)+5*time.Second, func() { e.event(cti.EventCallAnswered, "call-1") })
	e.at(at.Sub(cbStart)+6*time.Second, func() { e.event(cti.EventAgentLegAnswered, "leg-ann") })
	e.at(at.Sub(cbStart)+10*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(at.Sub(cbStart)+time.Minute, func() { e.event(cti.EventCallEnded, "call-1") })
	st := e.run(in)
	require.Equal(t, store.CallbackCompleted, st.State)
	require.Len(t, e.enqueuedAt, 1)
	require.Equal(t, at, e.enqueuedAt[0].UTC(), "entered the queue at its time, by a durable timer")
	// The record said scheduled at that time from the request (version 1):
	// the process did not write it again, and its first change is the next
	// step, at version 2.
	require.NotEqual(t, store.CallbackScheduled, e.changes[0].State)
	require.Equal(t, 2, e.changes[0].Version)
}

// A scheduled callback started as the API starts it (with the search
// attributes its record has at version 1) goes to its wait without writing
// its record or updating its search attributes again.
func TestScheduledCallbackWaitsInItsFirstTask(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	in := asap(store.CallbackAgentFirst)
	at := cbStart.Add(time.Hour)
	in.ScheduledAt, in.ExpiresAt = &at, at.Add(24*time.Hour)
	require.NoError(t, e.SetTypedSearchAttributesOnStart(workflows.CallbackStartAttributes(in)))
	upserts := 0
	e.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(mock.Arguments) { upserts++ }).Return(nil)
	e.at(30*time.Minute, func() {
		require.Zero(t, upserts, "the start's search attributes already say scheduled, due at its time")
		require.Empty(t, e.changes, "the record already says so")
		st := e.state()
		require.Equal(t, workflows.CallbackStepScheduled, st.Step)
		require.Equal(t, at, st.NextAttemptAt.UTC())
		e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "ops"})
	})
	st := e.run(in)
	require.Equal(t, store.CallbackCancelled, st.State)
	require.Equal(t, 2, e.changes[0].Version, "the next step is version 2")
}

// A callback that ends before it queues anything (cancelled while it
// waits) still answers the API's queued update, so its process ends.
func TestTheQueuedUpdateIsAnsweredWhenTheCallbackEndsFirst(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	in := asap(store.CallbackAgentFirst)
	at := cbStart.Add(time.Hour)
	in.ScheduledAt, in.ExpiresAt = &at, at.Add(24*time.Hour)
	var states []string
	e.at(time.Minute, func() {
		answered(t, e.TestWorkflowEnvironment, &e.pending, workflows.UpdateQueued, workflows.UpdateQueuedID, func(v any) {
			states = append(states, v.(workflows.CallbackState).State)
		})
	})
	e.at(30*time.Minute, func() { e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "ops"}) })
	st := e.run(in)
	require.Equal(t, store.CallbackCancelled, st.State)
	require.Equal(t, []string{store.CallbackCancelled}, states, "answered as the callback ended")
	require.Empty(t, e.items, "nothing was queued")
}

func TestBusinessHoursWaitForTheNextOpening(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	e.settings(`{"callbacks": {"business_hours": {"time_zone": "Europe/Berlin",
		"windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "open": "09:00", "close": "17:00"}]}}}`)
	// Saturday 28 March 2026, 10:00Z; Europe goes to summer time on Sunday:
	// Monday 09:00 in Berlin is 07:00Z.
	start := time.Date(2026, 3, 28, 10, 0, 0, 0, time.UTC)
	e.SetStartTime(start)
	in := asap(store.CallbackCustomerFirst)
	in.ExpiresAt = start.Add(7 * 24 * time.Hour)
	opening := time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC)
	e.at(opening.Sub(start)+time.Minute, func() {
		e.refused(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor"}, "being worked")
	})
	e.at(opening.Sub(start)+2*time.Minute, func() { e.event(cti.EventCallNoAnswer, "call-1") })
	e.at(opening.Sub(start)+3*time.Minute, func() { e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor"}) })
	st := e.run(in)
	require.Equal(t, store.CallbackCancelled, st.State)
	require.Equal(t, opening, e.enqueuedAt[0].UTC())
	require.Equal(t, opening, e.changes[0].NextAttemptAt.UTC())
}

// A callback waiting in its queue when the queue closes leaves it, waits for
// the next opening and goes back in at the place it had.
func TestBusinessHoursCloseWhileQueued(t *testing.T) {
	e := newCallbackEnv(t) // no agent is free all day
	e.settings(`{"callbacks": {"business_hours": {"time_zone": "Europe/Berlin",
		"windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "open": "09:00", "close": "17:00"}]}}}`)
	start := time.Date(2026, 3, 25, 9, 0, 0, 0, time.UTC) // Wednesday 10:00 in Berlin
	e.SetStartTime(start)
	in := asap(store.CallbackCustomerFirst)
	in.ExpiresAt = start.Add(7 * 24 * time.Hour)
	closing := time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC) // 17:00 CET
	opening := time.Date(2026, 3, 26, 8, 0, 0, 0, time.UTC)  // Thursday 09:00 CET
	e.at(closing.Sub(start)+time.Minute, func() {
		st := e.state()
		require.Equal(t, workflows.CallbackStepScheduled, st.Step, "out of the queue while it is closed")
		require.Equal(t, opening, st.NextAttemptAt.UTC())
		require.Len(t, e.finished, 1, "the queued item left the queue")
		require.Equal(t, e.items[0].ID, e.finished[0].ItemID)
	})
	e.at(opening.Sub(start)+time.Minute, func() {
		require.Equal(t, workflows.CallbackStepQueued, e.state().Step)
		e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor"})
	})
	st := e.run(in)
	require.Equal(t, store.CallbackCancelled, st.State)
	require.Len(t, e.items, 2)
	require.Equal(t, []time.Time{start, opening}, []time.Time{e.enqueuedAt[0].UTC(), e.enqueuedAt[1].UTC()})
	require.Equal(t, e.positions[e.items[0].ID], e.items[1].Position, "back at the place it had")
	require.Empty(t, e.dials, "nobody was dialled")
}

func TestNextClosing(t *testing.T) {
	bh := workflows.BusinessHours{TimeZone: "Europe/Berlin", Windows: []workflows.HoursWindow{
		{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Open: "09:00", Close: "12:00"},
		{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Open: "12:00", Close: "17:00"},
		{Days: []string{"sat"}, Open: "18:00", Close: "24:00"},
		{Days: []string{"sun"}, Open: "00:00", Close: "06:00"},
	}}
	for _, tc := range []struct{ at, want string }{
		{"2026-03-25T10:00:00Z", "2026-03-25T16:00:00Z"}, // Wednesday 11:00 CET: the touching windows end at 17:00
		{"2026-03-25T16:30:00Z", ""},                     // closed
		{"2026-03-28T20:00:00Z", "2026-03-29T04:00:00Z"}, // Saturday night into Sunday, across the change to summer time
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		got := bh.NextClosing(at)
		if tc.want == "" {
			require.True(t, got.IsZero(), tc.at)
			continue
		}
		want, _ := time.Parse(time.RFC3339, tc.want)
		require.Equal(t, want, got.UTC(), tc.at)
	}
	always := workflows.BusinessHours{TimeZone: "UTC", Windows: []workflows.HoursWindow{
		{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Open: "00:00", Close: "24:00"}}}
	require.True(t, always.NextClosing(time.Date(2026, 3, 25, 10, 0, 0, 0, time.UTC)).IsZero(), "open all week never closes")
}

func TestNextOpening(t *testing.T) {
	bh := workflows.BusinessHours{TimeZone: "Europe/Berlin", Windows: []workflows.HoursWindow{
		{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Open: "09:00", Close: "12:00"},
		{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Open: "13:00", Close: "17:00"},
	}}
	for _, tc := range []struct{ at, want string }{
		{"2026-03-25T10:00:00Z", "2026-03-25T10:00:00Z"}, // Wednesday 11:00 CET: open
		{"2026-03-25T11:30:00Z", "2026-03-25T12:00:00Z"}, // lunch: 13:00 CET
		{"2026-03-25T16:00:00Z", "2026-03-26T08:00:00Z"}, // after 17:00: Thursday 09:00 CET
		{"2026-03-27T17:00:00Z", "2026-03-30T07:00:00Z"}, // Friday evening: Monday 09:00 CEST
		{"2026-10-24T08:00:00Z", "2026-10-26T08:00:00Z"}, // Saturday before winter time: Monday 09:00 CET
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		want, _ := time.Parse(time.RFC3339, tc.want)
		require.Equal(t, want, bh.NextOpening(at).UTC(), tc.at)
	}
	_, err := workflows.ParseCallbackSettings(json.RawMessage(`{"callbacks": {"business_hours": {"time_zone": "Mars/Olympus", "windows": []}}}`))
	require.ErrorContains(t, err, "time_zone")
	s, err := workflows.ParseCallbackSettings(json.RawMessage(`{}`))
	require.NoError(t, err)
	require.Equal(t, 3, s.MaxAttempts)
	require.Equal(t, 10*time.Minute, s.RetryInterval())
	require.Equal(t, 24*time.Hour, s.Expiry())
	require.Equal(t, store.CallbackCustomerFirst, s.DefaultMode)
	require.Equal(t, workflows.OnInboundCancel, s.OnInboundCall)
}

func TestCancelAScheduledCallback(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	in := asap(store.CallbackCustomerFirst)
	at := cbStart.Add(2 * time.Hour)
	in.ScheduledAt = &at
	e.at(time.Hour, func() {
		e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor", Reason: "solved by email"})
	})
	e.at(time.Hour+time.Second, func() {
		e.refused(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor"}, "closed")
	})
	st := e.run(in)
	require.Equal(t, store.CallbackCancelled, st.State)
	require.Equal(t, "cancelled by supervisor: solved by email", st.Outcome)
	require.Empty(t, e.items, "it never entered the queue")
	require.Empty(t, e.dials)
}

func TestRescheduleIsValidatedLikeANewRequest(t *testing.T) {
	e := newCallbackEnv(t) // nobody answers the queue
	in := asap(store.CallbackCustomerFirst)
	at := cbStart.Add(time.Hour)
	in.ScheduledAt = &at
	// Asked at 15:30Z for 10:00 in Tokyo the next day (01:00Z on the 7th).
	tokyo := time.Date(2026, 3, 7, 1, 0, 0, 0, time.UTC)
	e.at(30*time.Minute, func() {
		e.refused(workflows.UpdateRescheduleCallback, workflows.RescheduleRequest{ScheduledAt: "2026-03-01T10:00", TimeZone: "Asia/Tokyo"}, "in the past")
		e.refused(workflows.UpdateRescheduleCallback, workflows.RescheduleRequest{ScheduledAt: "2026-03-07T10:00", TimeZone: "Asia/Nowhere"}, "time_zone")
		e.refused(workflows.UpdateRescheduleCallback, workflows.RescheduleRequest{ScheduledAt: "2026-09-07T10:00", TimeZone: "Asia/Tokyo"}, "ahead")
		e.refused(workflows.UpdateRescheduleCallback, workflows.RescheduleRequest{ScheduledAt: "next tuesday"}, "scheduled_at")
		e.update(workflows.UpdateRescheduleCallback, workflows.RescheduleRequest{ScheduledAt: "2026-03-07T10:00", TimeZone: "Asia/Tokyo", By: "integration"},
			func(err error) {
				require.NoError(t, err)
				st := e.state()
				require.Equal(t, tokyo, st.ScheduledAt.UTC())
				require.Equal(t, "Asia/Tokyo", st.TimeZone)
				require.Equal(t, tokyo.Add(24*time.Hour), st.ExpiresAt.UTC(), "the expiry moves with it")
			})
	})
	e.at(tokyo.Sub(cbStart)+time.Hour, func() {
		require.Equal(t, workflows.CallbackStepQueued, e.state().Step, "waiting in the queue")
		// Rescheduling a queued callback takes it out of the queue again.
		e.ok(workflows.UpdateRescheduleCallback, workflows.RescheduleRequest{ScheduledAt: "2026-03-07T12:00:00Z"})
	})
	e.at(tokyo.Sub(cbStart)+2*time.Hour, func() { e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "integration"}) })
	st := e.run(in)
	require.Equal(t, store.CallbackCancelled, st.State)
	require.Len(t, e.enqueuedAt, 1, "not at the first time, once at the new time")
	require.Equal(t, tokyo, e.enqueuedAt[0].UTC())
	require.Len(t, e.finished, 1, "the reschedule took it out of the queue")
	require.Equal(t, "Asia/Tokyo", e.last().TimeZone)
}

func TestExpiredWhileWaiting(t *testing.T) {
	e := newCallbackEnv(t) // nobody available
	in := asap(store.CallbackAgentFirst)
	in.ExpiresAt = cbStart.Add(time.Hour)
	st := e.run(in)
	require.Equal(t, store.CallbackExpired, st.State)
	require.Len(t, e.items, 1)
	require.Len(t, e.finished, 1, "it left the queue")
	require.Equal(t, store.CallbackExpired, e.last().State)
}

func TestInboundCallFromTheNumber(t *testing.T) {
	t.Run("cancels", func(t *testing.T) {
		e := newCallbackEnv(t)
		in := asap(store.CallbackCustomerFirst)
		at := cbStart.Add(2 * time.Hour)
		in.ScheduledAt = &at
		e.at(10*time.Minute, func() {
			e.SignalWorkflow(workflows.SignalInboundCall, workflows.InboundCallSignal{Interaction: "IMS0000009", Action: workflows.OnInboundCancel})
		})
		st := e.run(in)
		require.Equal(t, store.CallbackCancelled, st.State)
		require.Contains(t, st.Outcome, "called in (IMS0000009)")
		require.Equal(t, []string{"IMS0000009"}, e.linked)
		require.Empty(t, e.items)
	})
	t.Run("links", func(t *testing.T) {
		e := newCallbackEnv(t)
		e.settings(`{"callbacks": {"on_inbound_call": "link"}}`)
		in := asap(store.CallbackCustomerFirst)
		at := cbStart.Add(2 * time.Hour)
		in.ScheduledAt = &at
		e.at(10*time.Minute, func() {
			e.SignalWorkflow(workflows.SignalInboundCall, workflows.InboundCallSignal{Interaction: "IMS0000009", Action: workflows.OnInboundLink})
		})
		e.at(20*time.Minute, func() {
			st := e.state()
			require.Equal(t, workflows.CallbackStepScheduled, st.Step, "still pending")
			require.Equal(t, []string{"IMS0000009"}, st.Linked)
			e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor"})
		})
		st := e.run(in)
		require.Equal(t, store.CallbackCancelled, st.State)
		require.Equal(t, []string{"IMS0000009"}, e.linked)
	})
}

func TestAgentFirstPreviewDialRedialAndClose(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	e.at(2*time.Second, func() {
		require.Equal(t, workflows.CallbackStepOffered, e.state().Step)
		e.refused(workflows.UpdateDialCallback, workflows.CallbackDialRequest{AgentID: "ann"}, "cannot be dialled now")
		e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"})
	})
	e.at(5*time.Second, func() {
		require.Equal(t, workflows.CallbackStepPreview, e.state().Step)
		require.Empty(t, e.dials, "the agent dials, not the queue")
		e.refused(workflows.UpdateDialCallback, workflows.CallbackDialRequest{AgentID: "bob"}, "only the agent")
		e.ok(workflows.UpdateDialCallback, workflows.CallbackDialRequest{AgentID: "ann"})
	})
	e.at(30*time.Second, func() { e.event(cti.EventCallNoAnswer, "call-1") })
	e.at(40*time.Second, func() {
		require.Equal(t, workflows.CallbackStepUnanswered, e.state().Step)
		e.ok(workflows.UpdateDialCallback, workflows.CallbackDialRequest{AgentID: "ann"})
	})
	e.at(45*time.Second, func() { e.event(cti.EventCallAnswered, "call-2") })
	e.at(46*time.Second, func() { e.event(cti.EventAgentLegAnswered, "leg-ann") })
	e.at(2*time.Minute, func() {
		require.Equal(t, workflows.CallbackStepConnected, e.state().Step)
		e.refused(workflows.UpdateCloseCallback, workflows.CallbackCloseRequest{AgentID: "ann", Outcome: "great"}, "outcome")
		e.ok(workflows.UpdateCloseCallback, workflows.CallbackCloseRequest{AgentID: "ann", Outcome: workflows.CloseCompleted, Disposition: "resolved"})
	})
	e.at(2*time.Minute+time.Second, func() { e.event(cti.EventCallEnded, "call-2") })
	st := e.run(asap(store.CallbackAgentFirst))

	require.Equal(t, store.CallbackCompleted, st.State)
	require.Len(t, e.dials, 2)
	require.Equal(t, workflows.CallbackDialKey("CB0000001", 2), e.dials[1].IdempotencyKey)
	require.Equal(t, []string{store.AttemptNoAnswer, store.AttemptConnected}, e.outcomes())
	require.Equal(t, 1, e.bridged)
	require.Len(t, e.interactions, 1)
	require.Equal(t, "call-2", e.interactions[0].Interaction.CallID)
	require.Contains(t, e.hangups, cti.HangUpRequest{IdempotencyKey: workflows.CallbackDialKey("CB0000001", 2) + "-hangup", CallID: "call-2"})
	require.Equal(t, "resolved", *e.finished[0].Disposition)
	require.Len(t, e.phoneLogs, 1)
}

func TestAgentFirstAutoDialAndCloseUnreached(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	e.settings(`{"callbacks": {"auto_dial": true, "max_attempts": 1}}`)
	e.at(2*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(10*time.Second, func() { e.event(cti.EventCallBusy, "call-1") })
	e.at(20*time.Second, func() {
		e.refused(workflows.UpdateDialCallback, workflows.CallbackDialRequest{AgentID: "ann"}, "no attempts left")
		e.ok(workflows.UpdateCloseCallback, workflows.CallbackCloseRequest{AgentID: "ann", Outcome: workflows.CloseFailed})
	})
	in := asap(store.CallbackAgentFirst)
	in.MaxAttempts = 1
	st := e.run(in)
	require.Equal(t, store.CallbackFailed, st.State)
	require.Len(t, e.dials, 1, "dialled as soon as the agent accepted")
	require.Equal(t, []string{store.AttemptBusy}, e.outcomes())
	require.Empty(t, e.interactions)
}

func TestCallbackTakesTheWaitingCallsPlace(t *testing.T) {
	e := newCallbackEnv(t)
	e.replaced = true
	in := asap(store.CallbackCustomerFirst)
	in.ReplacesItem, in.ReplacesWorkflowID = "IMS0000007-1", workflows.InteractionWorkflowID("IMS0000007")
	e.at(time.Minute, func() { e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "integration"}) })
	var queued []string
	e.at(0, func() {
		answered(t, e.TestWorkflowEnvironment, &e.pending, workflows.UpdateQueued, workflows.UpdateQueuedID, func(v any) {
			queued = append(queued, v.(workflows.CallbackState).Step)
			require.Len(t, e.items, 1, "the answer comes once the item holds the call's place")
		})
	})
	e.run(in)
	require.Equal(t, "IMS0000007-1", e.items[0].ReplacesID)
	require.Contains(t, e.signals, "interaction-IMS0000007 "+workflows.SignalReplacedByCallback)
	require.Equal(t, []string{workflows.CallbackStepQueued}, queued, "the API's start waits for the place, then answers")
}

func TestInteractionReplacedByCallback(t *testing.T) {
	e := newInteractionEnv(t) // nobody available: the call waits
	e.at(20*time.Second, func() {
		e.SignalWorkflow(workflows.SignalReplacedByCallback, workflows.ReplacedByCallback{CallbackID: "CB0000001"})
	})
	e.at(25*time.Second, func() { e.event(callEnded()) })
	st := e.run(inboundCall())
	require.Equal(t, "abandoned", st.Outcome)
	require.Equal(t, []string{"new", "closed_complete"}, e.states)
	require.Len(t, e.finished, 1, "its item is finished (a no-op: the callback holds the place)")
}

func TestCallbackWorkflowIDCarriesNoNumber(t *testing.T) {
	require.Equal(t, "callback-CB0000042", workflows.CallbackWorkflowID("CB0000042"))
	require.False(t, strings.Contains(workflows.CallbackDialKey("CB0000042", 2), "+"))
}

func TestACallbackScheduledAheadStartsBelowLiveWork(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	later, past := now.Add(time.Hour), now.Add(-time.Minute)
	for _, tc := range []struct {
		name string
		at   *time.Time
		want int
	}{
		{"as soon as possible", nil, 0},
		{"scheduled ahead", &later, workflows.PriorityLater},
		{"scheduled for a time already past", &past, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := workflows.CallbackStartPriority(workflows.CallbackInput{ID: "cb-1", ScheduledAt: tc.at}, now)
			require.Equal(t, tc.want, p.PriorityKey)
		})
	}
}
