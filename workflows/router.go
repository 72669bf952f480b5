package workflows

import (
	"cmp"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/store"
)

// router is the process side of the offer protocol (package routing, drawn
// in docs/routing.md): it takes one work item of a process (an interaction,
// a callback) through its queue. It enqueues the item, takes each offer
// routing delivers, presents it to the agent with the process's record,
// runs the acceptance timer, and acts on the agent's answer. The process
// registers the accept and reject updates and hands the answers to decide.
//
// An offer takes answers from the moment the router sets it current, before
// the transaction that shows it to the agent, so an answer sent the instant
// it shows is taken. It stops taking them the moment the router acts on an
// answer, a time-out or the contact leaving, before the activity that
// records it, so a late answer is refused at once, with the reason.
type router struct {
	item     activities.NewWorkItem
	queue    activities.Queue
	inbox    []OfferSignal // offers delivered and not yet taken up
	offers   workflow.ReceiveChannel
	seen     map[string]bool
	agentID  string // the agent that accepted the item
	queued   bool
	finished bool
	position int64  // the item's place in line, known once it is finished
	closedBy string // routeClosed: outcomeRejected or outcomeTimedOut

	protocol int                 // the offer protocol this process started with (GetVersion)
	current  *liveOffer          // the offer shown to its agent
	ended    map[string]*endNote // by agent: how its last offer of this item ended
	// implied: the process follows changePresentOffer without asking (an
	// interaction that follows changeMergedSteps).
	implied bool

	// Before the present step: the offer was acknowledged, then offered by
	// the process's hook (histories recorded before changePresentOffer).
	offer    *OfferSignal
	decision *offerDecision
	decided  bool
}

// liveOffer is the offer the agent sees and may answer.
type liveOffer struct {
	OfferSignal
	open     bool // takes an answer
	decision *offerDecision
	closing  string // why it stopped taking answers, while the router acts on it
	outcome  string // set once the router has acted: one of the outcome* values
}

type endNote struct {
	outcome string
}

type offerDecision struct {
	accept bool
	reason string
}

// How an offer ended, as a late answer is told.
const (
	outcomeAccepted  = "accepted"
	outcomeRejected  = "rejected"
	outcomeTimedOut  = "timed_out"
	outcomeWithdrawn = "withdrawn"
	outcomeGone      = "caller_gone"
)

// routeOutcome is how routing ended for the item.
type routeOutcome int

const (
	routeAccepted routeOutcome = iota + 1 // an agent accepted; router.agentID has it
	routeClosed                           // rejected or left to run out, in a queue that closes such items (router.closedBy)
	routeStopped                          // the process stopped waiting (caller hung up)
)

// routeHooks let the process take part in each step on its own record.
type routeHooks struct {
	// stopped says the contact is gone (or the process stopped waiting).
	stopped func() bool
	// prepare, when set, runs once the offer is received and before it is
	// shown (a customer-first callback dials the customer). False: it is
	// not shown, and stopped says why.
	prepare func(ctx workflow.Context, o OfferSignal) (bool, error)
	// present shows the offer to its agent with the process's record change
	// (the PresentOffer activity, or the open step's answer when that step
	// showed it) and updates the process's own state.
	present func(ctx workflow.Context, o OfferSignal) (activities.Presented, error)
	// presented runs once the offer shows: ring the agent's phone or chat.
	presented func(ctx workflow.Context, o OfferSignal)
	// withdrawn: the offer ended without acceptance.
	withdrawn func(ctx workflow.Context, o OfferSignal, why string)
	// offered is the step before the present protocol: the item is now
	// offered to o.AgentID (it dials, writes the record and rings).
	offered func(ctx workflow.Context, o OfferSignal) error
	// waiting, when set, tells the process what routing waits for now (for
	// its current details in the Temporal UI).
	waiting func(ctx workflow.Context, what string)
	// accepting, when set, is the process's record change written with the
	// accept (AcceptOfferRecorded); done is told whether the accept took.
	accepting func(ctx workflow.Context, o OfferSignal) (rec activities.RecordChange, done func(ok bool))
}

func (h routeHooks) wait(ctx workflow.Context, what string) {
	if h.waiting != nil {
		h.waiting(ctx, what)
	}
}

// acceptance is the summary of an offer's acceptance timer, and what the
// process waits for meanwhile.
func (r *router) acceptance(ctx workflow.Context, o OfferSignal) (summary, waits string) {
	until := after(ctx, r.queue.AcceptanceTimeout())
	return "acceptance: " + o.AgentID + " until " + until, o.AgentID + " to accept the offer, until " + until
}

// newRouter starts listening for offers.
func newRouter(ctx workflow.Context, item activities.NewWorkItem, queue activities.Queue) *router {
	r := &router{item: item, queue: queue, seen: map[string]bool{}, ended: map[string]*endNote{}}
	offers := signal(ctx, SignalOffer, "Routing: an agent is booked for the process's work item (an offer to present)")
	r.offers = offers
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var o OfferSignal
			offers.Receive(ctx, &o)
			r.receive(o)
		}
	})
	return r
}

// reset points the router at the process's next work item (after a
// transfer, or a callback's next pass), keeping the offer listener.
func (r *router) reset(item activities.NewWorkItem, queue activities.Queue) {
	r.item, r.queue = item, queue
	r.inbox, r.current, r.ended = nil, nil, map[string]*endNote{}
	r.offer, r.decision, r.decided = nil, nil, false
	r.agentID, r.queued, r.finished, r.position = "", false, false, 0
}

// receive takes a delivered offer once.
func (r *router) receive(o OfferSignal) {
	if r.seen[o.OfferID] || o.ItemID != r.item.ID {
		return
	}
	r.seen[o.OfferID] = true
	r.inbox = append(r.inbox, o)
}

// mayHoldUnseenOffer says whether an offer of this item could show to an
// agent before the process takes it in: none is open (none yet, or the
// last one is closing, and the next may be shown in the same task) and
// the item is nobody's.
func (r *router) mayHoldUnseenOffer() bool {
	return (r.current == nil || !r.current.open) && r.agentID == "" && !r.finished
}

// settled says whether every offer delivered so far is taken up: none
// waits in the signal channel or in the inbox.
func (r *router) settled() bool {
	return r.offers.Len() == 0 && len(r.inbox) == 0
}

// canDecideIfRouting is canDecide for a process that may not route at all.
func (r *router) canDecideIfRouting(agentID string) error {
	if r == nil {
		return wrongStep("this is not offered to agents")
	}
	return r.canDecide(agentID)
}

// canDecide says whether agentID (any agent when empty: a supervisor) may
// answer now, and if not, why.
func (r *router) canDecide(agentID string) error {
	if r.protocol < 1 {
		return r.canDecideLegacy(agentID)
	}
	if o := r.current; o != nil && (agentID == "" || o.AgentID == agentID) {
		switch {
		case o.decision != nil:
			return wrongStep("the offer has already been answered")
		case !o.open:
			return wrongStep("%s", endedWhy(&endNote{outcome: cmp.Or(o.outcome, o.closing)}))
		}
		return nil
	}
	taken := r.agentID != "" && r.agentID != agentID
	if n := r.ended[agentID]; n != nil {
		if taken {
			return wrongStep("%s; another agent has taken it", endedWhy(n))
		}
		return wrongStep("%s", endedWhy(n))
	}
	if taken {
		return wrongStep("another agent has taken it")
	}
	if r.agentID != "" {
		return wrongStep("you have already accepted it")
	}
	if r.current != nil {
		return wrongStep("it is offered to another agent")
	}
	return wrongStep("nothing is offered to you now")
}

func endedWhy(n *endNote) string {
	switch n.outcome {
	case outcomeTimedOut:
		return "the offer timed out"
	case outcomeWithdrawn:
		return "the offer was withdrawn"
	case outcomeGone:
		return "the customer has gone"
	case outcomeRejected:
		return "the offer was rejected"
	case outcomeAccepted:
		return "the offer was accepted"
	case "":
		return "the offer is closing"
	}
	return "the offer is closed (" + n.outcome + ")"
}

// decide hands the agent's answer to the router and waits until it has
// acted on it. It succeeds only when that answer is what happened to this
// agent's offer; otherwise it says why not (the offer timed out, was
// withdrawn, the customer left) and never reports someone else's outcome.
func (r *router) decide(ctx workflow.Context, agentID string, accept bool, reason string) error {
	if r.protocol < 1 {
		return r.decideLegacy(ctx, accept, reason)
	}
	// The validator admitted the answer; another answer or the router may
	// have acted since, before this handler ran.
	if err := r.canDecide(agentID); err != nil {
		return err
	}
	o := r.current
	o.decision = &offerDecision{accept: accept, reason: reason}
	if err := workflow.Await(ctx, func() bool { return o.outcome != "" }); err != nil {
		return err
	}
	want := outcomeRejected
	if accept {
		want = outcomeAccepted
	}
	if o.outcome != want {
		return wrongStep("%s", endedWhy(&endNote{outcome: o.outcome}))
	}
	return nil
}

// offerOpen says whether an offer is out to an agent now.
func (r *router) offerOpen() bool {
	if r.protocol < 1 {
		return r.offer != nil
	}
	return r.current != nil
}

// rejecting says whether the offer being withdrawn now was rejected by its
// agent (for the hooks, which run before the router closes it).
func (r *router) rejecting() bool {
	if r.protocol < 1 {
		return r.decision != nil && !r.decision.accept
	}
	return r.current != nil && r.current.decision != nil && !r.current.decision.accept
}

// closingItem says whether the offer being withdrawn now also ends the
// item: rejected in a queue that closes rejected items, or run out in one
// that closes items not picked up.
func (r *router) closingItem() bool {
	if r.rejecting() {
		return r.queue.OnReject != store.OnRejectReoffer
	}
	return r.protocol >= 1 && r.current != nil && r.current.closing == outcomeTimedOut && r.queue.OnTimeout == store.OnRejectClose
}

// end closes the current offer with an outcome, for the answer waiting on
// it and for any later one.
func (r *router) end(o *liveOffer, outcome string) {
	o.open, o.outcome = false, outcome
	r.ended[o.AgentID] = &endNote{outcome: outcome}
	if r.current == o {
		r.current = nil
	}
}

// waitForAgent runs until an agent accepts the item, the queue closes it on
// a reject, or the process stops waiting.
func (r *router) waitForAgent(ctx workflow.Context, h routeHooks) (routeOutcome, error) {
	if !r.queued {
		var offers []activities.Offer
		if err := workflow.ExecuteActivity(routingOptions(ctx), a.EnqueueWorkItem, r.item).Get(ctx, &offers); err != nil {
			return 0, err
		}
		r.queued = true
		r.deliverLegacy(ctx, offers)
	}
	for {
		if len(r.inbox) == 0 && !h.stopped() {
			who := "an agent"
			if r.item.TargetAgent != "" {
				who = r.item.TargetAgent
			}
			h.wait(ctx, who+" in queue "+r.item.Queue+" (work item "+r.item.ID+")")
		}
		if err := workflow.Await(ctx, func() bool { return len(r.inbox) > 0 || h.stopped() }); err != nil {
			return 0, err
		}
		if h.stopped() {
			return routeStopped, r.finish(ctx, nil, 0)
		}
		o := r.inbox[0]
		r.inbox = r.inbox[1:]
		if r.protocol == 0 && r.implied {
			r.protocol = 1
		}
		if r.protocol == 0 {
			r.protocol = int(workflow.GetVersion(ctx, changePresentOffer, workflow.DefaultVersion, 1))
			if r.protocol < 1 {
				r.protocol = -1
			}
		}
		var outcome routeOutcome
		var err error
		if r.protocol < 1 {
			outcome, err = r.offerLegacy(ctx, o, h)
		} else {
			outcome, err = r.offer1(ctx, o, h)
		}
		if err != nil || outcome != 0 {
			return outcome, err
		}
	}
}

// offer1 takes one offer through the present protocol; 0 means the item
// waits for its next offer.
func (r *router) offer1(ctx workflow.Context, o OfferSignal, h routeHooks) (routeOutcome, error) {
	if h.prepare != nil {
		// Received, so no one delivers it again while the process prepares.
		if err := workflow.ExecuteActivity(routingOptions(ctx), a.AckOffer, o.OfferID).Get(ctx, nil); err != nil {
			return 0, err
		}
		ok, err := h.prepare(ctx, o)
		if err != nil {
			return 0, err
		}
		if !ok || h.stopped() {
			r.ended[o.AgentID] = &endNote{outcome: outcomeWithdrawn}
			return routeStopped, r.finish(ctx, nil, 0)
		}
	}
	cur := &liveOffer{OfferSignal: o, open: true}
	r.current = cur
	p, err := h.present(ctx, o)
	if err != nil {
		return 0, err
	}
	if !p.Presented {
		// Closed before it could show (the sweep found it overdue).
		r.end(cur, outcomeWithdrawn)
		return 0, nil
	}
	if h.presented != nil {
		h.presented(ctx, o)
	}
	summary, waits := r.acceptance(ctx, o)
	h.wait(ctx, waits)
	answered, err := awaitUntil(ctx, r.queue.AcceptanceTimeout(), summary, func() bool { return cur.decision != nil || h.stopped() })
	if err != nil {
		return 0, err
	}
	switch {
	case cur.decision != nil && cur.decision.accept:
		cur.open = false
		if err := r.accept(ctx, o, h); err != nil {
			if !isConflict(err) {
				return 0, err
			}
			// Closed meanwhile: the item goes on waiting for its next offer.
			h.withdrawn(ctx, o, "withdrawn before the accept took")
			r.end(cur, outcomeWithdrawn)
			return 0, nil
		}
		r.agentID = o.AgentID
		r.end(cur, outcomeAccepted)
		return routeAccepted, nil

	case cur.decision != nil:
		cur.open = false
		reoffer := r.queue.OnReject == store.OnRejectReoffer
		if err := r.closeOffer(ctx, o, store.OfferRejected, reoffer); err != nil {
			return 0, err
		}
		why := "rejected by " + o.AgentID
		if reoffer {
			why += "; back in the queue"
		}
		h.withdrawn(ctx, o, why)
		r.end(cur, outcomeRejected)
		if !reoffer {
			r.finished, r.closedBy = true, outcomeRejected
			return routeClosed, nil
		}
		return 0, nil

	case h.stopped():
		cur.open, cur.closing = false, outcomeGone
		err := r.finish(ctx, nil, 0)
		r.end(cur, outcomeGone)
		return routeStopped, err

	case !answered:
		// Seed 003: an offer not accepted in time puts the agent on break;
		// the item goes to the next agent without losing its place. Late
		// answers are refused from this moment.
		// A queue that closes items left to run out (on_timeout: close, seed
		// 000's "not picked up") ends it instead.
		cur.open, cur.closing = false, outcomeTimedOut
		reoffer := r.queue.OnTimeout != store.OnRejectClose
		if err := r.closeOffer(ctx, o, store.OfferTimedOut, reoffer); err != nil {
			return 0, err
		}
		why := "not accepted by " + o.AgentID + " in " + r.queue.AcceptanceTimeout().String()
		if reoffer {
			why += "; back in the queue"
		}
		h.withdrawn(ctx, o, why)
		r.end(cur, outcomeTimedOut)
		if !reoffer {
			r.finished, r.closedBy = true, outcomeTimedOut
			return routeClosed, nil
		}
	}
	return 0, nil
}

// accept takes the offer (with the process's record change, when the
// process has one).
func (r *router) accept(ctx workflow.Context, o OfferSignal, h routeHooks) error {
	var acc activities.Accepted
	if h.accepting == nil {
		return workflow.ExecuteActivity(routingOptions(ctx), a.AcceptOffer, o.OfferID).Get(ctx, &acc)
	}
	rec, done := h.accepting(ctx, o)
	err := workflow.ExecuteActivity(routingOptions(ctx), a.AcceptOfferRecorded,
		activities.AcceptOfferRequest{OfferID: o.OfferID, Queue: o.Queue, Record: rec}).Get(ctx, &acc)
	done(err == nil)
	return err
}

func isConflict(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeConflict
}

func (r *router) closeOffer(ctx workflow.Context, o OfferSignal, state string, requeue bool) error {
	var offers []activities.Offer
	err := workflow.ExecuteActivity(routingOptions(ctx), a.CloseOffer, activities.CloseOfferRequest{
		OfferID: o.OfferID, Queue: r.item.Queue, State: state, Requeue: requeue, Exclude: state == store.OfferRejected,
	}).Get(ctx, &offers)
	if err != nil {
		return err
	}
	r.deliverLegacy(ctx, offers)
	return nil
}

// finish ends the item: a waiting or offered item leaves the queue; the
// agent that handled an accepted one goes to wrap-up for wrapUp. Finishing
// twice does nothing.
func (r *router) finish(ctx workflow.Context, disposition *string, wrapUp time.Duration) error {
	_, err := r.finishWith(ctx, disposition, wrapUp, nil)
	return err
}

// finishRecorded is finish with the process's record change written in
// the same step; recorded is false when there was no item left to finish
// (and so nothing was written).
func (r *router) finishRecorded(ctx workflow.Context, disposition *string, wrapUp time.Duration, rec activities.RecordChange) (recorded bool, err error) {
	return r.finishWith(ctx, disposition, wrapUp, &rec)
}

func (r *router) finishWith(ctx workflow.Context, disposition *string, wrapUp time.Duration, rec *activities.RecordChange) (bool, error) {
	if r.finished || !r.queued {
		r.finished = true
		return false, nil
	}
	var res activities.FinishWorkItemResult
	err := workflow.ExecuteActivity(routingOptions(ctx), a.FinishWorkItem, activities.FinishWorkItemRequest{
		ItemID: r.item.ID, Queue: r.item.Queue, Disposition: disposition, WrapUp: wrapUp, Record: rec,
	}).Get(ctx, &res)
	if err != nil {
		return false, err
	}
	r.finished, r.position = true, res.Finished.Position
	if res.Finished.WasAssigned && !res.AgentTold {
		tellAgent(ctx, res.Finished.AgentID, SignalItemFinished, ItemFinished{
			ItemID: r.item.ID, Queue: r.item.Queue, WrappingUp: res.Finished.WrappingUp, WrapUp: wrapUp,
		})
	}
	r.deliverLegacy(ctx, res.Offers)
	return true, nil
}

// ---- before the present protocol ----
//
// Processes whose histories predate changePresentOffer replay this path:
// the offer was acknowledged, then the process's offered hook wrote its
// record (and a customer-first callback dialled), and routing activities
// returned the offers they made for the process to signal.

func (r *router) canDecideLegacy(agentID string) error {
	switch {
	case r.offer == nil:
		return wrongStep("nothing is offered to an agent now")
	case r.decision != nil:
		return wrongStep("the offer has already been answered")
	case agentID != "" && r.offer.AgentID != agentID:
		return wrongStep("the item is offered to another agent")
	}
	return nil
}

func (r *router) decideLegacy(ctx workflow.Context, accept bool, reason string) error {
	r.decision, r.decided = &offerDecision{accept: accept, reason: reason}, false
	return workflow.Await(ctx, func() bool { return r.decided })
}

func (r *router) offerLegacy(ctx workflow.Context, o OfferSignal, h routeHooks) (routeOutcome, error) {
	r.offer, r.decision = &o, nil
	if err := workflow.ExecuteActivity(routingOptions(ctx), a.AckOffer, o.OfferID).Get(ctx, nil); err != nil {
		return 0, err
	}
	if err := h.offered(ctx, o); err != nil {
		return 0, err
	}
	summary, waits := r.acceptance(ctx, o)
	h.wait(ctx, waits)
	answered, err := awaitUntil(ctx, r.queue.AcceptanceTimeout(), summary, func() bool { return r.decision != nil || h.stopped() })
	if err != nil {
		return 0, err
	}
	switch {
	case r.decision != nil && r.decision.accept:
		err := workflow.ExecuteActivity(routingOptions(ctx), a.AcceptOffer, o.OfferID).Get(ctx, nil)
		r.offer, r.decided = nil, true
		if err != nil {
			return 0, err
		}
		r.agentID = o.AgentID
		if workflow.GetVersion(ctx, changeAgentToldOfAssignment, workflow.DefaultVersion, 1) >= 1 {
			workflow.SignalExternalWorkflow(ctx, AgentWorkflowID(o.AgentID), "", SignalItemAssigned,
				ItemAssigned{ItemID: o.ItemID, Queue: r.item.Queue})
		}
		return routeAccepted, nil

	case r.decision != nil:
		reoffer := r.queue.OnReject == store.OnRejectReoffer
		err := r.closeOffer(ctx, o, store.OfferRejected, reoffer)
		r.offer, r.decided = nil, true
		if err != nil {
			return 0, err
		}
		h.withdrawn(ctx, o, "rejected by "+o.AgentID)
		if !reoffer {
			r.finished = true
			return routeClosed, nil
		}

	case h.stopped():
		r.offer = nil
		return routeStopped, r.finish(ctx, nil, 0)

	case !answered:
		if err := r.closeOffer(ctx, o, store.OfferTimedOut, true); err != nil {
			return 0, err
		}
		r.offer = nil
		tellAgent(ctx, o.AgentID, SignalOfferTimedOut, OfferTimedOut{OfferID: o.OfferID, ItemID: o.ItemID})
		h.withdrawn(ctx, o, "not accepted in "+r.queue.AcceptanceTimeout().String())
	}
	return 0, nil
}

// deliverLegacy hands offers a routing activity returned to their items'
// processes. Routing activities deliver their offers themselves and return
// none; histories from before that carry the offers, and replay signals them
// here as they were.
func (r *router) deliverLegacy(ctx workflow.Context, offers []activities.Offer) {
	deliverOffers(ctx, offers, r.receive)
}

// deliverOffers signals each offer to its item's process (offers for this
// very process go to local). An item whose process is gone is finished, and
// the offers that follow are delivered in turn.
func deliverOffers(ctx workflow.Context, offers []activities.Offer, local func(OfferSignal)) {
	self := workflow.GetInfo(ctx).WorkflowExecution.ID
	for round := 0; len(offers) > 0 && round < 5; round++ {
		type sent struct {
			offer  activities.Offer
			future workflow.Future
		}
		var pending []sent
		for _, o := range offers {
			sig := OfferSignal{OfferID: o.ID, ItemID: o.ItemID, AgentID: o.AgentID, Queue: o.Queue, Channel: o.Channel}
			if o.WorkflowID == self && local != nil {
				local(sig)
				continue
			}
			pending = append(pending, sent{o, workflow.SignalExternalWorkflow(ctx, o.WorkflowID, "", SignalOffer, sig)})
		}
		offers = nil
		for _, p := range pending {
			if err := p.future.Get(ctx, nil); err == nil {
				continue
			}
			workflow.GetLogger(ctx).Warn("item process gone; finishing its work item", "item_id", p.offer.ItemID, "workflow_id", p.offer.WorkflowID)
			var res activities.FinishWorkItemResult
			err := workflow.ExecuteActivity(routingOptions(ctx), a.FinishWorkItem,
				activities.FinishWorkItemRequest{ItemID: p.offer.ItemID, Queue: p.offer.Queue}).Get(ctx, &res)
			if err != nil {
				workflow.GetLogger(ctx).Error("finish orphaned work item", "item_id", p.offer.ItemID, "error", err)
				continue
			}
			offers = append(offers, res.Offers...)
		}
	}
}

// tellAgent signals an agent's process and waits for the signal to be
// delivered (histories from before routing told agents itself). An agent
// without a running process is logged, not an error.
func tellAgent(ctx workflow.Context, agentID, signal string, arg any) {
	if err := workflow.SignalExternalWorkflow(ctx, AgentWorkflowID(agentID), "", signal, arg).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("signal agent process", "agent", agentID, "signal", signal, "error", err)
	}
}
