package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/store"
)

// router takes one work item of a process (an interaction, a callback)
// through its queue: it waits for routing to book an agent, offers the item
// with the queue's acceptance timer, and handles accept, reject and timeout.
// The process registers the accept and reject updates and hands the agent's
// decision to the router.
type router struct {
	item     store.NewWorkItem
	queue    store.Queue
	offer    *OfferSignal  // the offer waiting for the agent's answer
	inbox    []OfferSignal // offers delivered and not yet taken up
	seen     map[string]bool
	decision *offerDecision
	decided  bool // the current decision has been acted on
	agentID  string
	queued   bool
	finished bool
	position int64 // the item's place in line, known once it is finished
}

type offerDecision struct {
	accept bool
	reason string
}

// routeOutcome is how routing ended for the item.
type routeOutcome int

const (
	routeAccepted routeOutcome = iota + 1 // an agent accepted; router.agentID has it
	routeClosed                           // rejected, and the queue closes rejected items
	routeStopped                          // the process stopped waiting (caller hung up)
)

// routeHooks let the process record each step on its own record.
type routeHooks struct {
	stopped   func() bool                                           // the contact is gone
	offered   func(ctx workflow.Context, o OfferSignal) error       // the item is now offered to o.AgentID
	withdrawn func(ctx workflow.Context, o OfferSignal, why string) // the offer ended without acceptance
}

// newRouter starts listening for offers.
func newRouter(ctx workflow.Context, item store.NewWorkItem, queue store.Queue) *router {
	r := &router{item: item, queue: queue, seen: map[string]bool{}}
	offers := workflow.GetSignalChannel(ctx, SignalOffer)
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
// transfer), keeping the offer listener.
func (r *router) reset(item store.NewWorkItem, queue store.Queue) {
	r.item, r.queue = item, queue
	r.offer, r.inbox, r.decision, r.decided = nil, nil, nil, false
	r.agentID, r.queued, r.finished, r.position = "", false, false, 0
}

// canDecideIfRouting is canDecide for a process that may not route at all.
func (r *router) canDecideIfRouting(agentID string) error {
	if r == nil {
		return wrongStep("this interaction is not offered to agents")
	}
	return r.canDecide(agentID)
}

// receive takes a delivered offer once, whether by signal or locally.
func (r *router) receive(o OfferSignal) {
	if r.seen[o.OfferID] || o.ItemID != r.item.ID {
		return
	}
	r.seen[o.OfferID] = true
	r.inbox = append(r.inbox, o)
}

// pendingOffer is the offer awaiting the agent's answer, if any.
func (r *router) pendingOffer() *OfferSignal { return r.offer }

// canDecide says whether agentID may accept or reject now.
func (r *router) canDecide(agentID string) error {
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

// decide records the agent's answer and waits until the router acted on it.
func (r *router) decide(ctx workflow.Context, accept bool, reason string) error {
	r.decision, r.decided = &offerDecision{accept: accept, reason: reason}, false
	return workflow.Await(ctx, func() bool { return r.decided })
}

// deliver hands offers made by this process's activities to their items.
func (r *router) deliver(ctx workflow.Context, offers []store.Offer) {
	deliverOffers(ctx, offers, r.receive)
}

// waitForAgent runs until an agent accepts the item, the queue closes it on
// a reject, or the process stops waiting.
func (r *router) waitForAgent(ctx workflow.Context, h routeHooks) (routeOutcome, error) {
	if !r.queued {
		var offers []store.Offer
		if err := workflow.ExecuteActivity(storageOptions(ctx), a.EnqueueWorkItem, r.item).Get(ctx, &offers); err != nil {
			return 0, err
		}
		r.queued = true
		r.deliver(ctx, offers)
	}
	for {
		if err := workflow.Await(ctx, func() bool { return len(r.inbox) > 0 || h.stopped() }); err != nil {
			return 0, err
		}
		if h.stopped() {
			return routeStopped, r.finish(ctx, nil, 0)
		}
		o := r.inbox[0]
		r.inbox = r.inbox[1:]
		r.offer, r.decision = &o, nil
		if err := workflow.ExecuteActivity(storageOptions(ctx), a.AckOffer, o.OfferID).Get(ctx, nil); err != nil {
			return 0, err
		}
		if err := h.offered(ctx, o); err != nil {
			return 0, err
		}

		answered, err := workflow.AwaitWithTimeout(ctx, r.queue.AcceptanceTimeout(), func() bool { return r.decision != nil || h.stopped() })
		if err != nil {
			return 0, err
		}
		switch {
		case r.decision != nil && r.decision.accept:
			err := workflow.ExecuteActivity(storageOptions(ctx), a.AcceptOffer, o.OfferID).Get(ctx, nil)
			r.offer, r.decided = nil, true
			if err != nil {
				return 0, err
			}
			r.agentID = o.AgentID
			if workflow.GetVersion(ctx, changeAgentToldOfAssignment, workflow.DefaultVersion, 1) >= 1 {
				// The agent's process shows it busy. Not waited for: an
				// agent without a process is no reason to hold the call.
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
			// Seed 003: an offer not accepted in time puts the agent on break;
			// the item goes to the next agent without losing its place.
			if err := r.closeOffer(ctx, o, store.OfferTimedOut, true); err != nil {
				return 0, err
			}
			r.offer = nil
			tellAgent(ctx, o.AgentID, SignalOfferTimedOut, OfferTimedOut{OfferID: o.OfferID, ItemID: o.ItemID})
			h.withdrawn(ctx, o, "not accepted in "+r.queue.AcceptanceTimeout().String())
		}
	}
}

func (r *router) closeOffer(ctx workflow.Context, o OfferSignal, state string, requeue bool) error {
	var offers []store.Offer
	err := workflow.ExecuteActivity(storageOptions(ctx), a.CloseOffer, activities.CloseOfferRequest{
		OfferID: o.OfferID, Queue: r.item.Queue, State: state, Requeue: requeue, Exclude: state == store.OfferRejected,
	}).Get(ctx, &offers)
	if err != nil {
		return err
	}
	r.deliver(ctx, offers)
	return nil
}

// finish ends the item: a waiting or offered item leaves the queue; the
// agent that handled an accepted one goes to wrap-up for wrapUp. Finishing
// twice does nothing.
func (r *router) finish(ctx workflow.Context, disposition *string, wrapUp time.Duration) error {
	if r.finished || !r.queued {
		r.finished = true
		return nil
	}
	var res activities.FinishWorkItemResult
	err := workflow.ExecuteActivity(storageOptions(ctx), a.FinishWorkItem, activities.FinishWorkItemRequest{
		ItemID: r.item.ID, Queue: r.item.Queue, Disposition: disposition, WrapUp: wrapUp,
	}).Get(ctx, &res)
	if err != nil {
		return err
	}
	r.finished, r.position = true, res.Finished.Position
	if res.Finished.WasAssigned {
		tellAgent(ctx, res.Finished.AgentID, SignalItemFinished, ItemFinished{
			ItemID: r.item.ID, Queue: r.item.Queue, WrappingUp: res.Finished.WrappingUp, WrapUp: wrapUp,
		})
	}
	r.deliver(ctx, res.Offers)
	return nil
}

// tellAgent signals an agent's process and waits for the signal to be
// delivered. An agent without a running process (never set up through the
// API) is logged, not an error: PostgreSQL already holds its presence.
func tellAgent(ctx workflow.Context, agentID, signal string, arg any) {
	if err := workflow.SignalExternalWorkflow(ctx, AgentWorkflowID(agentID), "", signal, arg).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("signal agent process", "agent", agentID, "signal", signal, "error", err)
	}
}
