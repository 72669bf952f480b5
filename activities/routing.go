package activities

import (
	"context"
	"time"

	"github.com/casehub/casehub/store"
)

// Routing activities. Each one that can free capacity or add work also
// dispatches, and returns the offers its workflow must deliver to the items'
// processes.

// QueueSettings returns a queue's settings.
func (a *Activities) QueueSettings(ctx context.Context, queue string) (store.Queue, error) {
	q, err := a.Store.GetQueue(ctx, queue)
	return q, classify(err)
}

// EnqueueWorkItem puts an item in its queue (idempotent by item id) and
// dispatches the queue.
func (a *Activities) EnqueueWorkItem(ctx context.Context, n store.NewWorkItem) ([]store.Offer, error) {
	if _, err := a.Store.Enqueue(ctx, n); err != nil {
		return nil, classify(err)
	}
	return a.dispatch(ctx, []string{n.Queue})
}

// Dispatch matches waiting items of queues with available agents.
func (a *Activities) Dispatch(ctx context.Context, queues []string) ([]store.Offer, error) {
	return a.dispatch(ctx, queues)
}

func (a *Activities) dispatch(ctx context.Context, queues []string) ([]store.Offer, error) {
	offers, err := a.Store.Dispatch(ctx, queues)
	return offers, classify(err)
}

// AckOffer records that an item's process has its offer.
func (a *Activities) AckOffer(ctx context.Context, offerID string) error {
	return classify(a.Store.AckOffer(ctx, offerID))
}

// AcceptOffer assigns the item to the agent the offer went to.
func (a *Activities) AcceptOffer(ctx context.Context, offerID string) error {
	return classify(a.Store.AcceptOffer(ctx, offerID))
}

// CloseOfferRequest says how an offer ended and what happens to its item.
type CloseOfferRequest struct {
	OfferID string
	Queue   string
	State   string // store.OfferRejected, OfferTimedOut or OfferWithdrawn
	Requeue bool   // back to waiting at its own position (else the item is done)
	Exclude bool   // never offer the item to this agent again
}

// CloseOffer ends an offer (a timed-out agent goes on break in the same
// transaction) and dispatches the queue again.
func (a *Activities) CloseOffer(ctx context.Context, r CloseOfferRequest) ([]store.Offer, error) {
	if err := a.Store.CloseOffer(ctx, r.OfferID, r.State, r.Requeue, r.Exclude); err != nil {
		return nil, classify(err)
	}
	o, err := a.Store.GetOffer(ctx, r.OfferID)
	if err != nil {
		return nil, classify(err)
	}
	return a.dispatchFreed(ctx, r.Queue, o.AgentID)
}

// dispatchFreed dispatches the item's queue and every queue of the agent an
// item just let go: an agent in several queues may have work waiting in
// another one.
func (a *Activities) dispatchFreed(ctx context.Context, queue, agentID string) ([]store.Offer, error) {
	queues := []string{queue}
	if agentID != "" {
		more, err := a.Store.AgentQueues(ctx, agentID)
		if err != nil {
			return nil, classify(err)
		}
		queues = append(queues, more...) // a queue named twice is dispatched once
	}
	return a.dispatch(ctx, queues)
}

// FinishWorkItemRequest ends an item.
type FinishWorkItemRequest struct {
	ItemID      string
	Queue       string
	Disposition *string
	WrapUp      time.Duration // the queue's post-processing time for the agent
}

// FinishWorkItemResult says what finishing did.
type FinishWorkItemResult struct {
	Finished store.FinishedItem
	Offers   []store.Offer
}

// FinishWorkItem ends an item, frees its agent (to wrap-up when it handled
// the item) and dispatches the queue for the capacity freed.
func (a *Activities) FinishWorkItem(ctx context.Context, r FinishWorkItemRequest) (FinishWorkItemResult, error) {
	f, err := a.Store.FinishItem(ctx, r.ItemID, r.Disposition, r.WrapUp)
	if err != nil {
		return FinishWorkItemResult{}, classify(err)
	}
	res := FinishWorkItemResult{Finished: f}
	if f.AgentID != "" {
		if res.Offers, err = a.dispatchFreed(ctx, r.Queue, f.AgentID); err != nil {
			return FinishWorkItemResult{}, err
		}
	}
	return res, nil
}

// SetPresenceRequest changes an agent's presence, optionally only from some
// presences.
type SetPresenceRequest struct {
	AgentID  string
	Presence string
	OnlyFrom []string
	// ItemID and Disposition record the disposition code chosen in wrap-up;
	// LastItem names the agent's most recently finished item instead.
	ItemID      string
	LastItem    bool
	Disposition string
}

// SetPresenceResult is the presence the agent has now and the offers made
// because it became available.
type SetPresenceResult struct {
	Presence string
	Changed  bool // the change applied (not refused by OnlyFrom)
	Offers   []store.Offer
}

// SetAgentPresence records an agent's presence (and a wrap-up disposition)
// and, when it is available, dispatches its queues.
func (a *Activities) SetAgentPresence(ctx context.Context, r SetPresenceRequest) (SetPresenceResult, error) {
	p, applied, err := a.Store.ChangePresence(ctx, r.AgentID, r.Presence, r.OnlyFrom...)
	if err != nil {
		return SetPresenceResult{}, classify(err)
	}
	res := SetPresenceResult{Presence: p, Changed: applied}
	if r.Disposition != "" && res.Changed {
		item := r.ItemID
		if r.LastItem {
			if item, err = a.Store.LastFinishedItem(ctx, r.AgentID); err != nil {
				return SetPresenceResult{}, classify(err)
			}
		}
		if item != "" {
			if err := a.Store.SetDisposition(ctx, item, r.Disposition); err != nil {
				return SetPresenceResult{}, classify(err)
			}
		}
	}
	if p == store.PresenceAvailable {
		if res.Offers, err = a.dispatchAgent(ctx, r.AgentID); err != nil {
			return SetPresenceResult{}, err
		}
	}
	return res, nil
}

// DispatchAgent dispatches every queue the agent is a member of (after its
// memberships changed).
func (a *Activities) DispatchAgent(ctx context.Context, agentID string) ([]store.Offer, error) {
	return a.dispatchAgent(ctx, agentID)
}

func (a *Activities) dispatchAgent(ctx context.Context, agentID string) ([]store.Offer, error) {
	queues, err := a.Store.AgentQueues(ctx, agentID)
	if err != nil {
		return nil, classify(err)
	}
	if len(queues) == 0 {
		return nil, nil
	}
	return a.dispatch(ctx, queues)
}
