package workflows_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

const selfID = "default-test-workflow-id"

// interactionEnv runs an interaction workflow against activities that keep
// what they were asked, with routing scripted: each enqueue or requeue
// offers the item to the next agent in line.
type interactionEnv struct {
	*testsuite.TestWorkflowEnvironment
	t          *testing.T
	queue      activities.Queue
	agents     []string // the agents routing offers to, in turn
	candidates []activities.ContactRef
	noQueue    bool // the queue is not configured

	states      []string
	changes     []activities.InteractionChange // every ChangeInteraction, in order
	chatsEnded  []cti.EndChatRequest
	hangUps     []cti.HangUpRequest
	offers      []string // agent each offer went to
	closed      []activities.CloseOfferRequest
	finished    []activities.FinishWorkItemRequest
	accepts     []activities.AcceptOfferRequest
	items       []activities.NewWorkItem
	phoneLogs   []activities.PhoneLog
	transfers   []activities.Transfer
	escalations []activities.NewEscalation
	signals     []string // "<workflow id> <signal>"
	presented   []string // offers shown to their agents
	offerAgent  map[string]string
	// How long each routing step takes (on the workflow's clock), to race
	// the agent's answers against them.
	slowPresent, slowAccept, slowClose, slowFinish time.Duration
	slowOpen                                       time.Duration
	openOffers                                     []activities.Offer // booked by the open step
	offerSignals                                   int                // offers delivered as signals
	bridged                                        int
	pending                                        int
	rungAtPresent                                  []cti.OfferRequest // rings sent with PresentOffer
	ringFails                                      bool               // PresentOffer cannot ring
}

// presentAtOpen is what the open step does with PresentOwn: the offer shows
// with the record's Pending Acceptance, and rings, as PresentOffer would.
func (e *interactionEnv) presentAtOpen(p activities.OpenPresent, o activities.Offer) *activities.OpenPresented {
	e.presented = append(e.presented, o.ID)
	c := p.Record
	agent := o.AgentID
	c.AgentID, c.Reason = &agent, c.Reason+agent
	e.states, e.changes = append(e.states, c.State), append(e.changes, c)
	out := &activities.OpenPresented{OfferID: o.ID,
		PresentedOffer: activities.PresentedOffer{Presented: activities.Presented{Presented: true, State: store.OfferPending}}}
	if p.Ring != nil {
		ring := p.Ring.Offer
		ring.IdempotencyKey, ring.AgentID, ring.Queue = o.ID, o.AgentID, o.Queue
		e.rungAtPresent = append(e.rungAtPresent, ring)
		if e.ringFails {
			out.RingFailed = "platform unavailable"
		} else {
			out.Leg = &cti.Call{ID: "leg-" + o.AgentID}
		}
	}
	return out
}

func newInteractionEnv(t *testing.T, agents ...string) *interactionEnv {
	e := &interactionEnv{TestWorkflowEnvironment: newSuite().NewTestWorkflowEnvironment(), t: t, agents: agents, offerAgent: map[string]string{},
		queue: activities.Queue{Name: "support", AcceptanceTimeoutS: 30, WrapUpTimeoutS: 60, OnReject: store.OnRejectReoffer}}
	e.RegisterActivity(a)
	e.OnActivity(a.OpenInteraction, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.OpenInteractionRequest) (activities.OpenedInteraction, error) {
			e.states = append(e.states, r.Interaction.State)
			out := activities.OpenedInteraction{Interaction: activities.Interaction{Number: r.Interaction.Number}, Candidates: e.candidates}
			if len(e.candidates) > 0 {
				out.Interaction.ContactID = &e.candidates[0].ID
			}
			if r.ReadQueue && !e.noQueue {
				q := e.queue
				q.Name = r.Interaction.Queue
				out.Queue = &q
				if n := r.Enqueue; n != nil {
					e.items = append(e.items, *n)
					offers := e.nextOffer(n.ID, n.TargetAgent)
					if r.KeepOwnOffers {
						out.Offers = offers // all for this process: the answer carries them
						if p := r.PresentOwn; p != nil && len(offers) > 0 {
							out.Presented = e.presentAtOpen(*p, offers[0])
						}
					} else {
						e.deliver(offers)
					}
					e.openOffers = append(e.openOffers, offers...)
					out.Enqueued = true
				}
			}
			return out, nil
		}).AfterFn(func() time.Duration { return e.slowOpen })
	e.OnActivity(a.QueueSettings, mock.Anything, mock.Anything).Return(
		func(_ context.Context, name string) (activities.Queue, error) {
			q := e.queue
			q.Name = name
			return q, nil
		}).Maybe()
	// Routing activities deliver their offers to the item's process and
	// tell the agent's process themselves, as package routing does.
	e.OnActivity(a.EnqueueWorkItem, mock.Anything, mock.Anything).Return(
		func(_ context.Context, n activities.NewWorkItem) ([]activities.Offer, error) {
			e.items = append(e.items, n)
			e.deliver(e.nextOffer(n.ID, n.TargetAgent))
			return nil, nil
		}).Maybe()
	e.OnActivity(a.AckOffer, mock.Anything, mock.Anything).Return(nil).Maybe()
	e.OnActivity(a.PresentOffer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.PresentOfferRequest) (activities.PresentedOffer, error) {
			e.presented = append(e.presented, r.OfferID)
			if c := r.Record.Interaction; c != nil {
				e.states, e.changes = append(e.states, c.State), append(e.changes, *c)
			}
			p := activities.PresentedOffer{Presented: activities.Presented{Presented: true, State: store.OfferPending}}
			if r.Ring != nil {
				e.rungAtPresent = append(e.rungAtPresent, r.Ring.Offer)
				if e.ringFails {
					p.RingFailed = "platform unavailable"
				} else {
					p.Leg = &cti.Call{ID: "leg-" + r.Ring.Offer.AgentID}
				}
			}
			return p, nil
		}).AfterFn(func() time.Duration { return e.slowPresent }).Maybe()
	e.OnActivity(a.AcceptOffer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, offerID string) (activities.Accepted, error) {
			agent := e.offerAgent[offerID]
			e.signals = append(e.signals, "agent-"+agent+" "+workflows.SignalItemAssigned)
			return activities.Accepted{AgentID: agent, AgentTold: true}, nil
		}).AfterFn(func() time.Duration { return e.slowAccept }).Maybe()
	e.OnActivity(a.AcceptOfferRecorded, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.AcceptOfferRequest) (activities.Accepted, error) {
			agent := e.offerAgent[r.OfferID]
			e.signals = append(e.signals, "agent-"+agent+" "+workflows.SignalItemAssigned)
			e.accepts = append(e.accepts, r)
			e.record(r.Record)
			return activities.Accepted{AgentID: agent, AgentTold: true}, nil
		}).AfterFn(func() time.Duration { return e.slowAccept }).Maybe()
	e.OnActivity(a.CloseOffer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.CloseOfferRequest) ([]activities.Offer, error) {
			e.closed = append(e.closed, r)
			if r.State == store.OfferTimedOut {
				e.signals = append(e.signals, "agent-"+e.offerAgent[r.OfferID]+" "+workflows.SignalOfferTimedOut)
			}
			if r.Requeue {
				e.deliver(e.nextOffer(e.items[len(e.items)-1].ID, ""))
			}
			return nil, nil
		}).AfterFn(func() time.Duration { return e.slowClose }).Maybe()
	e.OnActivity(a.FinishWorkItem, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.FinishWorkItemRequest) (activities.FinishWorkItemResult, error) {
			e.finished = append(e.finished, r)
			if r.Record != nil {
				e.record(*r.Record)
			}
			assigned := len(e.offers) > 0 && r.WrapUp > 0
			res := activities.FinishWorkItemResult{AgentTold: true}
			if assigned {
				agent := e.offers[len(e.offers)-1]
				res.Finished = activities.FinishedItem{AgentID: agent, WasAssigned: true, WrappingUp: true}
				e.signals = append(e.signals, "agent-"+agent+" "+workflows.SignalItemFinished)
			}
			return res, nil
		}).AfterFn(func() time.Duration { return e.slowFinish }).Maybe()
	e.OnActivity(a.ChangeInteraction, mock.Anything, mock.Anything).Return(
		func(_ context.Context, c activities.InteractionChange) (activities.Interaction, error) {
			e.states, e.changes = append(e.states, c.State), append(e.changes, c)
			return activities.Interaction{Number: c.Number, State: c.State, Version: c.Version}, nil
		}).Maybe()
	e.OnActivity(a.OfferToAgent, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r cti.OfferRequest, _ string) (cti.Call, error) {
			return cti.Call{ID: "leg-" + r.AgentID}, nil
		}).Maybe()
	e.OnActivity(a.Bridge, mock.Anything, mock.Anything).Return(func(context.Context, cti.BridgeRequest) error { e.bridged++; return nil }).Maybe()
	e.OnActivity(a.HangUp, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r cti.HangUpRequest) error { e.hangUps = append(e.hangUps, r); return nil }).Maybe()
	e.OnActivity(a.TransferCall, mock.Anything, mock.Anything).Return(nil).Maybe()
	e.OnActivity(a.PlaceCall, mock.Anything, mock.Anything, mock.Anything).Return(cti.Call{ID: "call-out"}, nil).Maybe()
	e.OnActivity(a.RecordPhoneLog, mock.Anything, mock.Anything).Return(
		func(_ context.Context, l activities.PhoneLog) error { e.phoneLogs = append(e.phoneLogs, l); return nil }).Maybe()
	e.OnActivity(a.RecordTransfer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, tr activities.TransferRecord) error {
			require.NotEmpty(t, tr.RequestID, "the transfer's request id reaches the activity")
			e.transfers = append(e.transfers, tr.Transfer)
			return nil
		}).Maybe()
	e.OnActivity(a.Escalate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, n activities.NewEscalation) (activities.Escalated, error) {
			e.escalations = append(e.escalations, n)
			return activities.Escalated{Kind: n.Kind, Number: "INC0000001"}, nil
		}).Maybe()
	e.OnActivity(a.AddWorkNote, mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(activities.WorkNote{ID: 1}, nil).Maybe()
	e.OnActivity(a.AppendChatMessage, mock.Anything, mock.Anything, mock.Anything).Return(nil).Maybe()
	e.OnActivity(a.SendChatMessage, mock.Anything, mock.Anything).Return(nil).Maybe()
	e.OnActivity(a.EndChat, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r cti.EndChatRequest) error {
			e.chatsEnded = append(e.chatsEnded, r)
			return nil
		}).Maybe()
	e.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_, workflowID, _, signal string, _ any) error {
			e.signals = append(e.signals, workflowID+" "+signal)
			return nil
		}).Maybe()
	return e
}

// hungUp is what the process hung up of the call callID (not the agents'
// legs it withdrew).
func (e *interactionEnv) hungUp(callID string) []cti.HangUpRequest {
	var out []cti.HangUpRequest
	for _, r := range e.hangUps {
		if r.CallID == callID {
			out = append(out, r)
		}
	}
	return out
}

// record keeps a record change written with a routing step, as
// ChangeInteraction and RecordPhoneLog keep theirs.
func (e *interactionEnv) record(r activities.RecordChange) {
	if l := r.PhoneLog; l != nil {
		e.phoneLogs = append(e.phoneLogs, *l)
	}
	if c := r.Interaction; c != nil {
		e.states, e.changes = append(e.states, c.State), append(e.changes, *c)
	}
}

// nextOffer offers item to the next agent in line (or to target).
func (e *interactionEnv) nextOffer(item, target string) []activities.Offer {
	agent := target
	if agent == "" {
		if len(e.agents) == 0 {
			return nil
		}
		agent, e.agents = e.agents[0], e.agents[1:]
	}
	e.offers = append(e.offers, agent)
	id := "offer-" + uuid.NewString()
	e.offerAgent[id] = agent
	return []activities.Offer{{ID: id, ItemID: item, AgentID: agent, WorkflowID: selfID, Queue: "support", Channel: "voice"}}
}

// deliver signals offers to the process, as routing does after its commit.
func (e *interactionEnv) deliver(offers []activities.Offer) {
	for _, o := range offers {
		e.offerSignals++
		e.SignalWorkflow(workflows.SignalOffer, workflows.OfferSignal{OfferID: o.ID, ItemID: o.ItemID, AgentID: o.AgentID, Queue: o.Queue, Channel: o.Channel})
	}
}

func (e *interactionEnv) at(d time.Duration, fn func()) { e.RegisterDelayedCallback(fn, d) }

func (e *interactionEnv) event(ev cti.Event) {
	ev.ID = "ev-" + uuid.NewString()
	ev.OccurredAt = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	e.SignalWorkflow(workflows.SignalCTIEvent, ev)
}

// update sends an agent action; check sees the answer or the refusal.
func (e *interactionEnv) update(name string, arg any, check func(any, error)) {
	e.pending++
	done := func(v any, err error) {
		e.pending--
		if check != nil {
			check(v, err)
		}
	}
	e.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
		OnReject: func(err error) { done(nil, err) }, OnComplete: done,
	}, arg)
}

func (e *interactionEnv) ok(name string, arg any) {
	e.update(name, arg, func(_ any, err error) { require.NoError(e.t, err, name) })
}

func (e *interactionEnv) refused(name string, arg any, want string) {
	e.update(name, arg, func(_ any, err error) { require.ErrorContains(e.t, err, want, name) })
}

func (e *interactionEnv) run(in workflows.InteractionInput) workflows.InteractionState {
	e.ExecuteWorkflow(workflows.Interaction, in)
	require.True(e.t, e.IsWorkflowCompleted())
	require.NoError(e.t, e.GetWorkflowError())
	require.Zero(e.t, e.pending, "every update was answered")
	var st workflows.InteractionState
	require.NoError(e.t, e.GetWorkflowResult(&st))
	return st
}

func inboundCall() workflows.InteractionInput {
	return workflows.InteractionInput{Number: "IMS0000001", Channel: workflows.ChannelPhone, Direction: "inbound", Queue: "support",
		CallID: "call-1", CallerNumber: "+12025550143", DialledNumber: "+12025550100", IVR: map[string]string{"lang": "en"}, CaseNumber: "CS-000123"}
}

func callEnded() cti.Event {
	start, end := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 21, 10, 5, 0, 0, time.UTC)
	d := 300
	return cti.Event{Type: cti.EventCallEnded, CallID: "call-1", StartedAt: &start, EndedAt: &end, DurationSeconds: &d}
}

func TestInboundCallAcceptedAndEnded(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(3*time.Minute, func() { e.event(callEnded()) })
	st := e.run(inboundCall())

	require.Equal(t, []string{"new", "pending_acceptance", "work_in_progress", "closed_complete"}, e.states)
	require.Equal(t, "completed", st.Outcome)
	require.Equal(t, 1, e.bridged, "customer and agent legs bridged on accept")
	require.Len(t, e.phoneLogs, 1)
	require.Equal(t, 300, e.phoneLogs[0].DurationSeconds)
	require.Equal(t, "ann", *e.phoneLogs[0].AgentID)
	require.Len(t, e.finished, 1)
	require.Equal(t, time.Minute, e.finished[0].WrapUp, "the agent goes to the queue's wrap-up")
	assigned := slices.Index(e.signals, "agent-ann "+workflows.SignalItemAssigned)
	require.GreaterOrEqual(t, assigned, 0, "the agent's process hears of the accepted call")
	require.Greater(t, slices.Index(e.signals, "agent-ann "+workflows.SignalItemFinished), assigned)
}

func TestAcceptanceTimeoutOffersTheNextAgent(t *testing.T) {
	e := newInteractionEnv(t, "ann", "bob")
	// Ann lets the 30 s timer run out; Bob accepts.
	e.at(29*time.Second, func() { require.Equal(t, []string{"ann"}, e.offers, "still Ann's offer at 29 s") })
	e.at(40*time.Second, func() {
		e.refused(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}, "the offer timed out")
		e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "bob"})
	})
	e.at(2*time.Minute, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Equal(t, []string{"new", "pending_acceptance", "new", "pending_acceptance", "work_in_progress", "closed_complete"}, e.states)
	require.Len(t, e.closed, 1)
	require.Equal(t, store.OfferTimedOut, e.closed[0].State)
	require.True(t, e.closed[0].Requeue, "back in line at its own place")
	require.Contains(t, e.signals, "agent-ann "+workflows.SignalOfferTimedOut, "Ann goes on break")
}

func TestRejectedCall(t *testing.T) {
	for _, tc := range []struct {
		onReject string
		states   []string
		outcome  string
	}{
		{store.OnRejectClose, []string{"new", "pending_acceptance", "closed_complete"}, "rejected"},
		{store.OnRejectReoffer, []string{"new", "pending_acceptance", "new", "pending_acceptance", "work_in_progress", "closed_complete"}, "completed"},
	} {
		t.Run(tc.onReject, func(t *testing.T) {
			e := newInteractionEnv(t, "ann", "bob")
			e.queue.OnReject = tc.onReject
			e.at(5*time.Second, func() { e.ok(workflows.UpdateReject, workflows.DecisionRequest{AgentID: "ann", Reason: "busy"}) })
			if tc.onReject == store.OnRejectReoffer {
				e.at(10*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "bob"}) })
				e.at(time.Minute, func() { e.event(callEnded()) })
			} else {
				e.at(7*time.Second, func() { e.event(callEnded()) }) // the platform, once the process hung up
			}
			st := e.run(inboundCall())
			require.Equal(t, tc.states, e.states)
			require.Equal(t, tc.outcome, st.Outcome)
			require.Equal(t, store.OfferRejected, e.closed[0].State)
			require.True(t, e.closed[0].Exclude, "not offered to the agent who rejected it again")
			if tc.onReject == store.OnRejectClose {
				require.Equal(t, []cti.HangUpRequest{{IdempotencyKey: "IMS0000001-hangup", CallID: "call-1"}}, e.hungUp("call-1"),
					"the caller is not left waiting on a closed record")
				require.Len(t, e.phoneLogs, 1)
				require.Nil(t, e.phoneLogs[0].AgentID, "no agent took the call")
				require.Equal(t, 300, e.phoneLogs[0].DurationSeconds, "the platform's times, from its call_ended")
				last := e.changes[len(e.changes)-1]
				require.Equal(t, "rejected by ann", last.Reason, "the history says who rejected it")
				require.Equal(t, "ann", last.Actor)
			}
		})
	}
}

// A chat its queue closes on reject is ended for the customer too, so the
// next message is refused rather than taken into a chat nobody reads.
func TestRejectedChatIsEndedOnThePlatform(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.queue.OnReject = store.OnRejectClose
	e.at(5*time.Second, func() { e.ok(workflows.UpdateReject, workflows.DecisionRequest{AgentID: "ann"}) })
	st := e.run(workflows.InteractionInput{Number: "IMS0000009", Channel: workflows.ChannelChat, Direction: "inbound",
		Queue: "support", ChatID: "chat-9", CustomerEmail: "ann@example.com"})
	require.Equal(t, "rejected", st.Outcome)
	require.Equal(t, []cti.EndChatRequest{{IdempotencyKey: "IMS0000009-end-chat", ChatID: "chat-9", Reason: "rejected by ann"}}, e.chatsEnded)
	require.Empty(t, e.phoneLogs, "a chat has no phone log")
	require.Equal(t, "closed_complete", e.states[len(e.states)-1])
}

func TestCallerHangsUpBeforePickup(t *testing.T) {
	e := newInteractionEnv(t) // nobody available: the call waits
	e.at(20*time.Second, func() { e.event(cti.Event{Type: cti.EventCallerHungUp, CallID: "call-1"}) })
	e.at(21*time.Second, func() { e.event(callEnded()) })
	st := e.run(inboundCall())
	require.Equal(t, []string{"new", "closed_complete"}, e.states)
	require.Equal(t, "abandoned", st.Outcome)
	require.Len(t, e.finished, 1, "the item leaves the queue")
	require.Len(t, e.phoneLogs, 1)
	require.Nil(t, e.phoneLogs[0].AgentID)
}

func TestTransferToAnotherAgent(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.slowPresent = 10 * time.Second // the offer to Bob shows 10 s after the transfer
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() {
		e.refused(workflows.UpdateTransfer, workflows.TransferRequest{AgentID: "ann"}, "exactly one")
		e.refused(workflows.UpdateTransfer, workflows.TransferRequest{AgentID: "bob", ToAgentID: "cat"}, "assigned agent")
		e.update(workflows.UpdateTransfer, workflows.TransferRequest{AgentID: "ann", ToAgentID: "bob"}, func(v any, err error) {
			require.NoError(t, err)
			require.Equal(t, "bob", v.(workflows.InteractionState).TransferTo, "the answer says who it goes to")
		})
	})
	e.at(65*time.Second, func() {
		e.refused(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}, "already being ended or transferred")
		e.refused(workflows.UpdateTransfer, workflows.TransferRequest{AgentID: "ann", ToQueue: "other"}, "already being transferred")
	})
	e.at(75*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "bob"}) })
	e.at(2*time.Minute, func() { e.event(callEnded()) })
	st := e.run(inboundCall())

	// Seed 000: assigned to the new agent in Pending Acceptance, with no
	// New between the two agents.
	require.Equal(t, []string{"new", "pending_acceptance", "work_in_progress", "pending_acceptance", "work_in_progress", "closed_complete"}, e.states)
	var reasons []string
	for _, c := range e.changes {
		reasons = append(reasons, c.Reason)
	}
	require.Contains(t, reasons, "transferred by ann; offered to bob")
	require.Len(t, e.transfers, 1)
	require.Equal(t, "bob", *e.transfers[0].ToAgent)
	require.Len(t, e.items, 2)
	require.Equal(t, "bob", e.items[1].TargetAgent, "the second work item is for Bob only")
	require.Equal(t, "bob", st.AgentID)
	require.Len(t, e.finished, 2, "Ann's item finished at the transfer, Bob's at the end")
}

// A transfer to another queue puts the call back in line there; the
// Temporal UI shows it waiting, with no agent, until the next offer.
func TestTransferToAnotherQueue(t *testing.T) {
	e := newInteractionEnv(t, "ann", "dan")
	type shown struct{ state, agent, queue, outcome string }
	var upserts []shown
	e.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		var s shown
		s.state, _ = sa.GetKeyword(workflows.SearchProcessState)
		s.agent, _ = sa.GetKeyword(workflows.SearchAgentID)
		s.queue, _ = sa.GetKeyword(workflows.SearchQueue)
		s.outcome, _ = sa.GetKeyword(workflows.SearchOutcome)
		upserts = append(upserts, s)
	}).Return(nil)
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() {
		e.ok(workflows.UpdateTransfer, workflows.TransferRequest{AgentID: "ann", ToQueue: "billing", Reason: "invoice question"})
	})
	e.at(61*time.Second, func() {
		v, err := e.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		var st workflows.InteractionState
		require.NoError(t, v.Get(&st))
		require.Equal(t, "billing", st.Queue)
		require.Equal(t, "pending_acceptance", st.State, "offered in the new queue")
	})
	e.at(70*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "dan"}) })
	e.at(2*time.Minute, func() { e.event(callEnded()) })
	st := e.run(inboundCall())

	require.Equal(t, []string{"new", "pending_acceptance", "work_in_progress", "new", "pending_acceptance", "work_in_progress", "closed_complete"}, e.states)
	require.Len(t, e.transfers, 1)
	require.Equal(t, "billing", *e.transfers[0].ToQueue)
	require.Nil(t, e.transfers[0].ToAgent)
	require.Len(t, e.items, 2)
	require.Equal(t, "billing", e.items[1].Queue)
	require.Empty(t, e.items[1].TargetAgent, "any member of billing may take it")
	require.Equal(t, "dan", st.AgentID)
	require.Equal(t, "billing", st.Queue)
	moved := slices.Index(upserts, shown{queue: "billing"})
	require.GreaterOrEqual(t, moved, 0, "the queue is shown")
	require.Equal(t, shown{state: "new"}, upserts[moved+1], "back in line with no agent, before any offer")
	require.Equal(t, shown{state: "closed_complete", agent: "dan", outcome: "completed"}, upserts[len(upserts)-1],
		"closed with its outcome searchable, in one update")
}

// The record opens with its queue's settings read in the same step: a
// queue that is not configured closes the contact as unroutable, with no
// second read and no work item.
func TestUnconfiguredQueueClosesUnroutable(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.noQueue = true
	e.OnActivity(a.QueueSettings, mock.Anything, mock.Anything).Return(activities.Queue{}, nil).Times(0)
	e.at(time.Second, func() { e.event(callEnded()) })
	st := e.run(inboundCall())
	require.Equal(t, "unroutable", st.Outcome)
	require.Equal(t, []string{"new", "closed_complete"}, e.states)
	require.Empty(t, e.items)
	require.Empty(t, e.offers)
}

// The accept and Work In Progress are one step, as are the finish, the
// phone log and Closed Complete: each record change travels with its
// routing step, at its version.
func TestAcceptAndFinishCarryTheRecord(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann", Disposition: "resolved"}) })
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Len(t, e.accepts, 1)
	require.Equal(t, "work_in_progress", e.accepts[0].Record.Interaction.State)
	require.Equal(t, "ann", *e.accepts[0].Record.Interaction.AgentID)
	require.Len(t, e.finished, 1)
	rec := e.finished[0].Record
	require.NotNil(t, rec, "the record closes with the finish")
	require.Equal(t, "closed_complete", rec.Interaction.State)
	require.Equal(t, "resolved", *rec.Interaction.Disposition)
	require.NotNil(t, rec.PhoneLog, "the phone log is written with the finish")
	require.Equal(t, "call-1", rec.PhoneLog.CallID)
	versions := make([]int, len(e.changes))
	for i, c := range e.changes {
		versions[i] = c.Version
	}
	require.Equal(t, []int{2, 3, 4}, versions, "pending, in progress, closed: each at the next version")
}

func TestPlatformCommandsRunInTheWorkflowTask(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	var local, remote []string
	e.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		local = append(local, info.ActivityType.Name)
	})
	e.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		remote = append(remote, info.ActivityType.Name)
	})
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}) })
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Equal(t, 1, e.bridged)
	require.Equal(t, []string{"OpenInteraction", "Bridge", "HangUp"}, local,
		"the record opens and the offer shows in one step, and bridge and hang up go to the platform, inside workflow tasks")
	require.Equal(t, []string{"AcceptOfferRecorded", "FinishWorkItem"}, remote,
		"the accept and the finish stay activities")
	require.Len(t, e.rungAtPresent, 1, "the open step rings the agent")
	ring := e.rungAtPresent[0]
	require.Equal(t, e.presented[0], ring.IdempotencyKey, "keyed by the offer")
	require.Equal(t, "ann", ring.AgentID)
	require.Equal(t, "call-1", ring.CallID)
}

// A call that arrives with an agent waiting: the open step books the agent,
// and its answer carries the offer, which the process presents in the same
// workflow task, with no signal. The same offer delivered again later (the
// sweep redelivers an offer no process took in) is not presented twice.
func TestAnOfferBookedAsTheRecordOpensIsPresentedAtOnce(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.at(time.Second, func() { e.deliver(e.openOffers) })
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}) })
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Len(t, e.openOffers, 1)
	require.Equal(t, []string{e.openOffers[0].ID}, e.presented, "presented once, from the open step's answer")
	require.Equal(t, 1, e.offerSignals, "only the redelivery came as a signal")
	require.Equal(t, "closed_complete", e.states[len(e.states)-1])
}

// The open step of a call that arrives with an agent waiting also presents
// the offer it books and rings the agent (mergedStepsPresentAtOpen): one
// local activity from nothing to an offer the agent sees, no present step
// after it, and the record's next change follows the open step's version 2.
func TestTheOpenStepPresentsTheOfferItBooks(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	var local []string
	e.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		local = append(local, info.ActivityType.Name)
	})
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}) })
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Equal(t, []string{"OpenInteraction", "Bridge", "HangUp"}, local, "no present step after the open step")
	require.Len(t, e.openOffers, 1)
	offer := e.openOffers[0]
	require.Equal(t, []string{offer.ID}, e.presented, "presented once, by the open step")
	require.Len(t, e.rungAtPresent, 1, "the open step rings the agent")
	ring := e.rungAtPresent[0]
	require.Equal(t, offer.ID, ring.IdempotencyKey, "keyed by the offer")
	require.Equal(t, "ann", ring.AgentID)
	require.Equal(t, "call-1", ring.CallID)
	require.Equal(t, offer.Queue, ring.Queue)
	require.NotEmpty(t, ring.Context[workflows.ContextWorkflowID], "the ring names the call's process")
	require.NotEmpty(t, e.changes)
	shown := e.changes[0]
	require.Equal(t, workflows.StatePendingAcceptance, shown.State)
	require.Equal(t, 2, shown.Version, "the record opened at version 1")
	require.Equal(t, "offered to ann", shown.Reason)
	require.Equal(t, "ann", *shown.AgentID)
	require.Len(t, e.accepts, 1)
	require.Equal(t, 3, e.accepts[0].Record.Interaction.Version, "the accept follows the open step's version")
	require.Equal(t, 1, e.bridged, "the leg the open step rang is bridged")
	require.Equal(t, "closed_complete", e.states[len(e.states)-1])
}

// An offer routing delivers while the agent waits is shown in the workflow
// task that takes it in (mergedStepsLocalPresent): the present step is a
// local activity, keyed by the offer.
func TestAnOfferIsPresentedInTheTaskThatTakesItIn(t *testing.T) {
	e := newInteractionEnv(t) // nobody waits as the call arrives
	var local, remote []string
	e.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		local = append(local, info.ActivityType.Name)
	})
	e.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		remote = append(remote, info.ActivityType.Name)
	})
	e.at(2*time.Second, func() { e.agents = []string{"ann"}; e.deliver(e.nextOffer(e.items[0].ID, "")) })
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}) })
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Len(t, e.presented, 1)
	require.Contains(t, local, "PresentOffer", "shown inside the workflow task")
	require.NotContains(t, remote, "PresentOffer", "no activity task between the offer and its showing")
	require.Equal(t, "closed_complete", e.states[len(e.states)-1])
}

// The caller hangs up while the open step that showed Ann the offer is
// still running (a slow ring): the process stops before it takes the offer
// in, finishes the item and closes the record after the open step's
// version. Ann's answer, sent the instant her desk showed the offer, is
// refused because the customer has gone.
func TestACallerGoneBeforeTheOpenStepsOfferIsTakenIn(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.slowOpen, e.slowFinish = 3*time.Second, 10*time.Second // the answer comes while the item finishes
	e.at(time.Second, func() { e.event(callEnded()) })
	e.at(5*time.Second, func() {
		e.refused(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}, "the customer has gone")
	})
	e.run(inboundCall())

	require.Len(t, e.presented, 1, "shown by the open step")
	require.Empty(t, e.accepts)
	require.Len(t, e.finished, 1, "the item is finished")
	last := e.changes[len(e.changes)-1]
	require.Equal(t, workflows.StateClosedComplete, last.State)
	require.Equal(t, 3, last.Version, "after the open step's version 2")
}

// A worker lost the first task after its steps committed: the open step
// booked the waiting agent and the present step showed the offer. The task
// run again takes the agent's accept, sent the instant the offer showed,
// before the open step's answer is back (a validator runs before the
// workflow code resumes). The accept is admitted, waits for the process to
// take in the offer, and takes. An answer with nothing offered is still
// refused, with the reason.
func TestAnAcceptTakenInBeforeTheOpenStepsAnswerWaitsForIt(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.slowOpen = 3 * time.Second
	e.at(time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(10*time.Second, func() {
		e.refused(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "bob"}, "another agent has taken it")
	})
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}) })
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Len(t, e.presented, 1)
	require.Len(t, e.accepts, 1, "the early accept took")
	require.Equal(t, "closed_complete", e.states[len(e.states)-1])
}

// Ann rejects, and the step that closes her offer books Bob; Bob's accept
// comes before the process has taken up his offer (as in a task run again
// after a lost worker, where his offer already showed). Bob's answer is
// admitted, waits for his offer, and takes. An answer while nothing at all
// is offered is admitted too, then refused with the reason.
func TestAnAcceptForTheNextOfferWaitsWhileTheLastOneCloses(t *testing.T) {
	e := newInteractionEnv(t)
	e.slowClose = 3 * time.Second
	e.at(time.Second, func() {
		e.refused(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}, "nothing is offered")
	})
	e.at(2*time.Second, func() {
		e.agents = []string{"ann"}
		e.deliver(e.nextOffer(e.items[0].ID, ""))
	})
	e.at(5*time.Second, func() { e.ok(workflows.UpdateReject, workflows.DecisionRequest{AgentID: "ann"}) })
	// While Ann's offer closes, Bob is booked (the closing step's booking,
	// delivered before that step's answer), and answers at once.
	e.at(5500*time.Millisecond, func() {
		e.agents = []string{"bob"}
		e.deliver(e.nextOffer(e.items[0].ID, ""))
	})
	e.at(6*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "bob"}) })
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "bob"}) })
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Equal(t, []string{"ann", "bob"}, e.offers)
	require.Len(t, e.accepts, 1, "Bob's early accept took")
	require.Equal(t, "bob", *e.accepts[0].Record.Interaction.AgentID)
	require.Equal(t, "closed_complete", e.states[len(e.states)-1])
}

func TestAWorkNoteIsWrittenInTheWorkflowTask(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	type note struct{ activity, requestID string }
	var local, remote []note
	e.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		if info.ActivityType.Name == "AddWorkNote" {
			local = append(local, note{info.ActivityType.Name, args[3].(string)})
		}
	})
	e.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "AddWorkNote" {
			remote = append(remote, note{info.ActivityType.Name, ""})
		}
	})
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(10*time.Second, func() {
		e.ok(workflows.UpdateAddNote, workflows.NoteRequest{Author: "ann", Body: "asked for a refund", RequestID: "tok-req-1"})
	})
	var updateID string
	e.at(20*time.Second, func() {
		updateID = "note-update-2"
		answered(t, e.TestWorkflowEnvironment, &e.pending, workflows.UpdateAddNote, updateID, nil,
			workflows.NoteRequest{Author: "ann", Body: "no request id"})
	})
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}) })
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Empty(t, remote, "no note waits for an activity task")
	require.Equal(t, []note{{"AddWorkNote", "tok-req-1"}, {"AddWorkNote", "update-" + updateID}}, local,
		"each note is keyed by its request id, or else by its update, so a task run again writes it once")
}

func TestARingThatFailsWithTheOfferIsSentAgain(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.ringFails = true
	var local []string
	var rung []cti.OfferRequest
	e.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		local = append(local, info.ActivityType.Name)
		if r, ok := args[0].(cti.OfferRequest); ok {
			rung = append(rung, r)
		}
	})
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}) })
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Len(t, e.rungAtPresent, 1)
	require.Equal(t, []string{"OpenInteraction", "OfferToAgent", "Bridge", "HangUp"}, local,
		"the process rings on its own (a local activity, with the platform's retries)")
	require.Len(t, rung, 1)
	require.Equal(t, e.rungAtPresent[0].IdempotencyKey, rung[0].IdempotencyKey, "with the same key, so the platform rings once")
	require.Equal(t, 1, e.bridged, "the leg it rang is bridged")
}

func TestAgentEndsTheCallWithADisposition(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() {
		e.refused(workflows.UpdateEnd, workflows.EndRequest{AgentID: "bob"}, "assigned agent")
		e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann", Disposition: "resolved"})
	})
	e.at(61*time.Second, func() { e.event(callEnded()) })
	e.run(inboundCall())
	require.Equal(t, "closed_complete", e.states[len(e.states)-1])
	require.Equal(t, "resolved", *e.finished[0].Disposition)
	require.Len(t, e.phoneLogs, 1)
}

func TestOutboundClickToCall(t *testing.T) {
	out := workflows.InteractionInput{Number: "IMS0000002", Channel: workflows.ChannelPhone, Direction: "outbound", Queue: "support",
		AgentID: "ann", ContactPhone: "+12025550143", DialledNumber: "+12025550100"}
	t.Run("answered", func(t *testing.T) {
		e := newInteractionEnv(t)
		e.at(3*time.Second, func() { e.event(cti.Event{Type: cti.EventCallAnswered, CallID: "call-out"}) })
		e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}) })
		st := e.run(out)
		require.Equal(t, []string{"work_in_progress", "closed_complete"}, e.states, "created in progress, assigned to the agent")
		require.Equal(t, "completed", st.Outcome)
		require.Len(t, e.phoneLogs, 1)
	})
	t.Run("unanswered", func(t *testing.T) {
		e := newInteractionEnv(t)
		e.at(20*time.Second, func() { e.event(cti.Event{Type: cti.EventCallNoAnswer, CallID: "call-out"}) })
		st := e.run(out)
		require.Equal(t, []string{"work_in_progress", "closed_complete"}, e.states)
		require.Equal(t, "unanswered", st.Outcome)
	})
}

func TestChatWithoutAContactOpensAnIncident(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	in := workflows.InteractionInput{Number: "IMS0000003", Channel: workflows.ChannelChat, Direction: "inbound", Queue: "support",
		ChatID: "chat-1", CustomerEmail: "nobody@example.com"}
	e.at(2*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(3*time.Second, func() {
		e.event(cti.Event{Type: cti.EventChatMessage, ChatID: "chat-1", From: "customer", Text: "hello"})
	})
	e.at(4*time.Second, func() {
		e.ok(workflows.UpdateSendMessage, workflows.MessageRequest{AgentID: "ann", Text: "hi, how can I help?"})
	})
	e.at(time.Minute, func() { e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann", Disposition: "info"}) })
	e.run(in)
	require.Len(t, e.escalations, 1)
	inc := e.escalations[0]
	require.Equal(t, "incident", inc.Kind)
	require.NotNil(t, inc.ChatInitiatedAt)
	require.NotNil(t, inc.ChatAcceptedAt)
	require.NotNil(t, inc.ChatTerminatedAt)
	require.True(t, inc.ChatAcceptedAt.Before(*inc.ChatTerminatedAt))
}

func TestChatWithSeveralMatchesLetsTheAgentChoose(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	first, second := activities.ContactRef{ID: uuid.New(), Name: "Ann A"}, activities.ContactRef{ID: uuid.New(), Name: "Ann B"}
	e.candidates = []activities.ContactRef{first, second}
	in := workflows.InteractionInput{Number: "IMS0000004", Channel: workflows.ChannelChat, Direction: "inbound", Queue: "support",
		ChatID: "chat-2", CustomerEmail: "ann@example.com"}
	e.at(2*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(3*time.Second, func() {
		v, err := e.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		var st workflows.InteractionState
		require.NoError(t, v.Get(&st))
		require.Equal(t, first.ID.String(), st.ContactID, "the first match is the default")
		require.Len(t, st.ContactCandidates, 2)
		e.refused(workflows.UpdateChooseChatContact, workflows.ChatContactRequest{AgentID: "ann", ContactID: uuid.NewString()}, "contact_id")
		e.ok(workflows.UpdateChooseChatContact, workflows.ChatContactRequest{AgentID: "ann", ContactID: second.ID.String()})
	})
	e.at(time.Minute, func() { e.event(cti.Event{Type: cti.EventChatEnded, ChatID: "chat-2"}) })
	st := e.run(in)
	require.Equal(t, second.ID.String(), st.ContactID)
	require.Empty(t, e.escalations, "a matched customer gets no automatic incident")
	require.Empty(t, e.chatsEnded, "the customer ended it: nothing to end on the platform")
}

func TestWalkInEscalatedTwiceMakesOneIncident(t *testing.T) {
	e := newInteractionEnv(t)
	in := workflows.InteractionInput{Number: "IMS0000005", Channel: workflows.ChannelWalkIn, Direction: "inbound", AgentID: "ann",
		ShortDescription: "printer on fire"}
	esc := workflows.EscalateRequest{AgentID: "ann", Kind: "incident", ShortDescription: "Printer on fire"}
	e.at(time.Second, func() {
		e.ok(workflows.UpdateEscalate, esc)
		e.ok(workflows.UpdateEscalate, esc) // the double click
		e.refused(workflows.UpdateEscalate, workflows.EscalateRequest{AgentID: "ann", Kind: "problem", ShortDescription: "x"}, "kind")
		e.refused(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann"}, "closed, not ended")
	})
	e.at(time.Minute, func() { e.ok(workflows.UpdateClose, workflows.EndRequest{AgentID: "ann"}) })
	st := e.run(in)
	require.Len(t, e.escalations, 1)
	require.Len(t, st.Escalations, 1)
	require.Equal(t, []string{"work_in_progress", "closed_complete"}, e.states, "stays open after escalating until closed (seed 001)")
}

// The API starts a process it creates with the opened update: it answers
// once the record is written, however long that takes, and at once after.
func TestTheOpenedUpdateAnswersOnceTheRecordIsWritten(t *testing.T) {
	e := newInteractionEnv(t)
	e.slowOpen = 5 * time.Second
	in := workflows.InteractionInput{Number: "IMS0000017", Channel: workflows.ChannelWalkIn, Direction: "inbound", AgentID: "ann",
		ShortDescription: "password reset"}
	var answers []string
	var answeredAt []time.Duration
	start := e.Now()
	opened := func() {
		answered(t, e.TestWorkflowEnvironment, &e.pending, workflows.UpdateOpened, workflows.UpdateOpenedID, func(v any) {
			answers = append(answers, v.(workflows.InteractionState).State)
			answeredAt = append(answeredAt, e.Now().Sub(start))
		})
	}
	e.at(0, opened)
	e.at(10*time.Second, opened)
	e.at(time.Minute, func() { e.ok(workflows.UpdateClose, workflows.EndRequest{AgentID: "ann"}) })
	e.run(in)
	require.Equal(t, []string{"work_in_progress", "work_in_progress"}, answers, "the state the record was written with")
	require.GreaterOrEqual(t, answeredAt[0], 5*time.Second, "not before the record is written")
	require.Equal(t, 10*time.Second, answeredAt[1], "at once once it is")
}

// An escalation the agent sends the instant the API shows the record, while
// the process is still taking in the record it opened, waits for it: the
// incident carries the contact the record was opened with.
func TestEscalationBeforeTheRecordIsTakenInKeepsItsContact(t *testing.T) {
	e := newInteractionEnv(t)
	ann := activities.ContactRef{ID: uuid.New(), Name: "Ann"}
	e.candidates = []activities.ContactRef{ann}
	e.slowOpen = 5 * time.Second
	in := workflows.InteractionInput{Number: "IMS0000016", Channel: workflows.ChannelWalkIn, Direction: "inbound", AgentID: "ann",
		ShortDescription: "printer"}
	e.at(time.Second, func() {
		e.ok(workflows.UpdateEscalate, workflows.EscalateRequest{AgentID: "ann", Kind: "incident", ShortDescription: "Printer on fire"})
	})
	e.at(time.Minute, func() { e.ok(workflows.UpdateClose, workflows.EndRequest{AgentID: "ann"}) })
	e.run(in)
	require.Len(t, e.escalations, 1)
	require.NotNil(t, e.escalations[0].ContactID, "the incident is the contact's")
	require.Equal(t, ann.ID, *e.escalations[0].ContactID)
}

func TestCloseOnEscalate(t *testing.T) {
	e := newInteractionEnv(t)
	in := workflows.InteractionInput{Number: "IMS0000006", Channel: workflows.ChannelEmail, Direction: "inbound", AgentID: "ann", CloseOnEscalate: true}
	e.at(time.Second, func() {
		e.ok(workflows.UpdateEscalate, workflows.EscalateRequest{AgentID: "ann", Kind: "request", ShortDescription: "New laptop"})
	})
	st := e.run(in)
	require.Equal(t, "closed_complete", st.State)
	require.Equal(t, "request", e.escalations[0].Kind)
}

// Seed 003: a chat with a contact gets an incident when the agent asks for
// one at its end, with the chat's times; a call cannot ask.
func TestAgentEndsAChatWithAnIncident(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	ann := activities.ContactRef{ID: uuid.New(), Name: "Ann A"}
	e.candidates = []activities.ContactRef{ann}
	in := workflows.InteractionInput{Number: "IMS0000009", Channel: workflows.ChannelChat, Direction: "inbound", Queue: "support",
		ChatID: "chat-9", CustomerEmail: "ann@example.com"}
	e.at(2*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() {
		e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann", Disposition: "follow-up", OpenIncident: true})
	})
	st := e.run(in)
	require.Equal(t, ann.ID.String(), st.ContactID)
	require.Len(t, e.escalations, 1)
	inc := e.escalations[0]
	require.Equal(t, "incident", inc.Kind)
	require.Equal(t, &ann.ID, inc.ContactID)
	require.NotNil(t, inc.ChatTerminatedAt, "the chat's end time is on the incident")
	require.Contains(t, inc.ShortDescription, "requested by ann")
	require.Equal(t, "closed_complete", e.states[len(e.states)-1])
	require.Equal(t, []cti.EndChatRequest{{IdempotencyKey: "IMS0000009-end-chat", ChatID: "chat-9", Reason: "ended by ann"}}, e.chatsEnded,
		"the agent ended it: the customer's side is ended too")

	call := newInteractionEnv(t, "ann")
	call.at(5*time.Second, func() { call.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	call.at(time.Minute, func() {
		call.refused(workflows.UpdateEnd, workflows.EndRequest{AgentID: "ann", OpenIncident: true}, "open_incident")
		call.event(callEnded())
	})
	call.run(inboundCall())
	require.Empty(t, call.escalations)
}

// A call that begins in the IVR is queued only when the IVR is done, with
// the selections recorded first.
func TestACallInTheIVRIsQueuedWhenTheIVRIsDone(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	var order []string
	e.OnActivity(a.RecordIVR, mock.Anything, "IMS0000001", map[string]string{"reason": "billing"}, "CS-000123").Return(
		func(context.Context, string, map[string]string, string) error {
			order = append(order, "ivr")
			return nil
		}).Once()
	in := inboundCall()
	in.InIVR, in.IVR, in.CaseNumber = true, nil, ""
	e.at(time.Second, func() { e.event(cti.Event{Type: cti.EventIVRConnected, CallID: "call-1"}) })
	e.at(2*time.Minute, func() {
		require.Empty(t, e.items, "nothing queued while the caller is in the IVR")
		e.event(cti.Event{Type: cti.EventIncomingCall, CallID: "call-1", IVR: map[string]string{"reason": "billing"}, CaseNumber: "CS-000123"})
	})
	e.at(2*time.Minute+5*time.Second, func() {
		require.Len(t, e.items, 1, "queued once the IVR is done")
		order = append(order, "queued")
		e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"})
	})
	e.at(5*time.Minute, func() { e.event(callEnded()) })
	st := e.run(in)
	require.Equal(t, "completed", st.Outcome)
	require.Equal(t, []string{"ivr", "queued"}, order)
	require.Zero(t, e.items[0].Position, "its place in line is drawn as it joins the queue")
}

func TestACallerWhoHangsUpInTheIVRIsNeverQueued(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	in := inboundCall()
	in.InIVR = true
	e.at(30*time.Second, func() { e.event(cti.Event{Type: cti.EventCallerHungUp, CallID: "call-1"}) })
	e.at(31*time.Second, func() { e.event(callEnded()) })
	st := e.run(in)
	require.Equal(t, "abandoned", st.Outcome)
	require.Equal(t, []string{"new", "closed_complete"}, e.states)
	require.Empty(t, e.items)
	require.Empty(t, e.offers)
	require.Len(t, e.phoneLogs, 1)
}

// A case process started from the call puts the contact it identified on
// the record (one versioned write, in line with the process's own) and the
// case it created in the call's search attributes.
func TestACaseProcessNotesTheContactAndCaseOnTheCall(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	var upserts []temporal.SearchAttributes
	e.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		upserts = append(upserts, args.Get(0).(temporal.SearchAttributes))
	}).Return(nil)
	contact := uuid.New()
	note := activities.CallNote{Interaction: "IMS0000001", ContactID: &contact, By: workflows.IdentifiedBySearch,
		AgentID: "ann", ProcessID: "add-new-case-IMS0000001"}
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() {
		e.ok(workflows.UpdateNoteFromProcess, note)
		e.ok(workflows.UpdateNoteFromProcess, note) // a retry with another update id: nothing written twice
		e.ok(workflows.UpdateNoteFromProcess, activities.CallNote{CaseNumber: "CS-000777", AgentID: "ann"})
		e.refused(workflows.UpdateNoteFromProcess, activities.CallNote{AgentID: "ann"}, "contact_id")
	})
	e.at(3*time.Minute, func() { e.event(callEnded()) })
	e.run(inboundCall())

	var contactWrites []activities.InteractionChange
	changes := e.changes
	for _, c := range changes {
		if c.ContactID != nil {
			contactWrites = append(contactWrites, c)
		}
	}
	require.Len(t, contactWrites, 1)
	w := contactWrites[0]
	require.Equal(t, contact, *w.ContactID)
	require.Equal(t, workflows.StateWorkInProgress, w.State, "the state stays")
	require.Equal(t, "contact identified (search) in add-new-case-IMS0000001", w.Reason)
	for i := 1; i < len(changes); i++ {
		require.Greater(t, changes[i].Version, changes[i-1].Version, "versions in order")
	}
	last := map[string]string{}
	for _, sa := range upserts {
		for _, k := range []temporal.SearchAttributeKeyKeyword{workflows.SearchContactID, workflows.SearchCaseNumber} {
			if v, ok := sa.GetKeyword(k); ok {
				last[k.GetName()] = v
			}
		}
	}
	require.Equal(t, contact.String(), last[workflows.SearchContactID.GetName()])
	require.Equal(t, "CS-000777", last[workflows.SearchCaseNumber.GetName()])
}

// Seed 000: a call not picked up ends the record in Closed Complete, in a
// queue set so (on_timeout: close); by default it goes to the next agent.
func TestACallNotPickedUp(t *testing.T) {
	for _, tc := range []struct {
		onTimeout string
		states    []string
		outcome   string
		reason    string
	}{
		{store.OnRejectClose, []string{"new", "pending_acceptance", "closed_complete"}, "not_picked_up", "not picked up by ann in 30s"},
		{store.OnRejectReoffer, []string{"new", "pending_acceptance", "new", "pending_acceptance", "work_in_progress", "closed_complete"},
			"completed", "not accepted by ann in 30s; back in the queue"},
	} {
		t.Run(tc.onTimeout, func(t *testing.T) {
			e := newInteractionEnv(t, "ann", "bob")
			e.queue.OnTimeout = tc.onTimeout
			if tc.onTimeout == store.OnRejectReoffer {
				e.at(40*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "bob"}) })
				e.at(time.Minute, func() { e.event(callEnded()) })
			} else {
				e.at(35*time.Second, func() { e.event(callEnded()) }) // the platform, once the process hung up
			}
			st := e.run(inboundCall())
			require.Equal(t, tc.states, e.states)
			require.Equal(t, tc.outcome, st.Outcome)
			require.Equal(t, store.OfferTimedOut, e.closed[0].State)
			require.Equal(t, tc.onTimeout == store.OnRejectReoffer, e.closed[0].Requeue)
			require.Equal(t, tc.reason, e.changes[1].Reason, "the history says what happened")
			if tc.onTimeout == store.OnRejectClose {
				require.Equal(t, []cti.HangUpRequest{{IdempotencyKey: "IMS0000001-hangup", CallID: "call-1"}}, e.hungUp("call-1"),
					"the caller is not left waiting on a closed record")
			} else {
				require.Empty(t, e.hungUp("call-1"), "the caller hung up after talking to bob")
			}
			require.Len(t, e.phoneLogs, 1)
			require.Equal(t, 300, e.phoneLogs[0].DurationSeconds, "the platform's times, from its call_ended")
		})
	}
}

// While a call is handed to another agent, the agent who transferred it
// cannot end it by escalating (close-on-escalate): the new agent keeps it.
func TestEscalatingDuringATransferDoesNotEndTheCall(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.slowPresent = 10 * time.Second
	in := inboundCall()
	in.CloseOnEscalate = true
	e.at(5*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() { e.ok(workflows.UpdateTransfer, workflows.TransferRequest{AgentID: "ann", ToAgentID: "bob"}) })
	e.at(65*time.Second, func() {
		e.ok(workflows.UpdateEscalate, workflows.EscalateRequest{AgentID: "ann", Kind: "incident", ShortDescription: "printer", RequestID: "r-1"})
	})
	e.at(75*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "bob"}) })
	e.at(3*time.Minute, func() {
		v, err := e.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		var st workflows.InteractionState
		require.NoError(t, v.Get(&st))
		require.Equal(t, workflows.StateWorkInProgress, st.State, "Bob still has the call")
		e.ok(workflows.UpdateEnd, workflows.EndRequest{AgentID: "bob"})
	})
	st := e.run(in)
	require.Equal(t, "bob", st.AgentID)
	require.Len(t, e.escalations, 1)
	require.Equal(t, "ended by bob", e.changes[len(e.changes)-1].Reason, "the call ends when Bob ends it, not at the escalation")
}
