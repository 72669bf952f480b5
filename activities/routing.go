package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/routing"
)

// Routing activities: thin calls into the offer protocol (package routing),
// each under the asking activity's key, so a retry after the commit answers
// as the first attempt did. Each delivers the offers it made and tells the
// agent's process itself, after its commit; the offers it returns are
// always empty (the field stays for the histories of processes that
// delivered them themselves).

func (a *Activities) router() *routing.Router {
	return routing.New(a.Store, a.Temporal)
}

// stepKey names the routing step an activity runs: its run and activity id,
// which every retry of that activity keeps.
func stepKey(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return ""
	}
	info := activity.GetInfo(ctx)
	return info.WorkflowExecution.RunID + "/" + info.ActivityID
}

// contentKey names a routing step by its run and by what it does, for a
// step that runs inside a local activity: a local activity's id is counted
// apart from regular activities' ids, and a step keyed by what it does
// cannot take another step's stored answer.
func contentKey(ctx context.Context, step string) string {
	if !activity.IsActivity(ctx) {
		return ""
	}
	return activity.GetInfo(ctx).WorkflowExecution.RunID + "/" + step
}

// QueueSettings returns a queue's settings.
func (a *Activities) QueueSettings(ctx context.Context, queue string) (Queue, error) {
	q, err := a.Store.GetQueue(ctx, queue)
	if err != nil {
		return Queue{}, classify(err)
	}
	return queueOf(q), nil
}

// EnqueueWorkItem puts an item in its queue (idempotent by item id) and
// books the queue.
func (a *Activities) EnqueueWorkItem(ctx context.Context, n NewWorkItem) ([]Offer, error) {
	_, err := a.router().Enqueue(ctx, stepKey(ctx), n.toStore())
	return nil, classify(err)
}

// Dispatch books waiting items of queues to available agents.
func (a *Activities) Dispatch(ctx context.Context, queues []string) ([]Offer, error) {
	_, err := a.router().Dispatch(ctx, stepKey(ctx), queues)
	return nil, classify(err)
}

// DispatchAgent books work from every queue the agent is a member of (after
// its memberships changed).
func (a *Activities) DispatchAgent(ctx context.Context, agentID string) ([]Offer, error) {
	_, err := a.router().DispatchAgent(ctx, stepKey(ctx), agentID)
	return nil, classify(err)
}

// AckOffer records that an item's process has received its offer.
func (a *Activities) AckOffer(ctx context.Context, offerID string) error {
	return classify(a.router().Receive(ctx, offerID))
}

// PresentOfferRequest shows an offer to its agent with the process's record
// change.
type PresentOfferRequest struct {
	OfferID string
	Record  RecordChange
	// Ring, when set, has the platform offer the contact to the agent as
	// soon as the offer shows (OfferToAgent), in the same step.
	Ring *RingRequest `json:",omitempty"`
	// Queue, when set, is the offer's queue: its lock is taken first
	// (routing.Router.PresentIn).
	Queue string `json:",omitempty"`
}

// RingRequest is OfferToAgent's input: the platform command and the
// process that owns the agent's leg.
type RingRequest struct {
	Offer      cti.OfferRequest
	WorkflowID string
}

// ringAtPresentTimeout bounds the ring tried within PresentOffer; a ring
// that fails or runs out is left to the process, which retries it.
const ringAtPresentTimeout = 2 * time.Second

// PresentOffer shows an offer to its agent and writes the process's record
// in the same transaction; Presented is false when the offer had closed.
// With a Ring, a shown offer then rings the agent once: its leg comes back
// in PresentedOffer.Leg, or why not in RingFailed, never as the step's error,
// since the offer shows either way. A retry presents to the same answer
// and rings with the same idempotency key, which the platform answers as
// it did the first time.
func (a *Activities) PresentOffer(ctx context.Context, r PresentOfferRequest) (PresentedOffer, error) {
	key := stepKey(ctx)
	if activity.IsActivity(ctx) && activity.GetInfo(ctx).IsLocalActivity {
		// In the workflow task that takes the offer in: keyed by the
		// offer, which a process presents once.
		key = contentKey(ctx, "present/"+r.OfferID)
	}
	p, err := a.router().PresentIn(ctx, key, r.OfferID, r.Queue, r.Record.toRouting())
	if err != nil {
		return PresentedOffer{}, classify(err)
	}
	out := PresentedOffer{Presented: presentedOf(p)}
	if r.Ring != nil && p.Presented {
		a.ringShown(ctx, *r.Ring, &out)
	}
	return out, nil
}

// ringShown has the platform ring the agent for an offer just shown,
// within ringAtPresentTimeout; a ring that fails is reported in out, for
// the process to ring again.
func (a *Activities) ringShown(ctx context.Context, r RingRequest, out *PresentedOffer) {
	rctx, cancel := context.WithTimeout(ctx, ringAtPresentTimeout)
	defer cancel()
	leg, err := a.OfferToAgent(rctx, r.Offer, r.WorkflowID)
	if err != nil {
		out.RingFailed = err.Error()
		return
	}
	out.Leg = &leg
}

// AcceptOffer assigns the item to the agent the offer went to and tells the
// agent's process.
func (a *Activities) AcceptOffer(ctx context.Context, offerID string) (Accepted, error) {
	return a.AcceptOfferRecorded(ctx, AcceptOfferRequest{OfferID: offerID})
}

// AcceptOfferRequest accepts an offer with the process's record change.
type AcceptOfferRequest struct {
	OfferID string
	Record  RecordChange
	// Queue, when set, is the offer's queue (routing.Router.AcceptIn).
	Queue string `json:",omitempty"`
}

// AcceptOfferRecorded assigns the item to the agent the offer went to,
// writes the process's record (Work In Progress for the agent) in the same
// transaction, and tells the agent's process: one step where a process
// started before changeMergedSteps ran AcceptOffer and ChangeInteraction.
func (a *Activities) AcceptOfferRecorded(ctx context.Context, r AcceptOfferRequest) (Accepted, error) {
	acc, err := a.router().AcceptIn(ctx, stepKey(ctx), r.OfferID, r.Queue, r.Record.toRouting())
	if err != nil {
		return Accepted{}, classify(err)
	}
	return acceptedOf(acc), nil
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
// transaction and its process is told) and books the freed capacity.
func (a *Activities) CloseOffer(ctx context.Context, r CloseOfferRequest) ([]Offer, error) {
	_, err := a.router().Close(ctx, stepKey(ctx), routing.CloseRequest{
		OfferID: r.OfferID, State: r.State, Requeue: r.Requeue, Exclude: r.Exclude,
	})
	return nil, classify(err)
}

// FinishWorkItemRequest ends an item.
type FinishWorkItemRequest struct {
	ItemID      string
	Queue       string
	Disposition *string
	WrapUp      time.Duration // the queue's post-processing time for the agent
	// Record is the process's record change written with the finish (the
	// call's phone log, Closed Complete); nil for processes that write
	// them apart.
	Record *RecordChange `json:",omitempty"`
}

// FinishWorkItemResult says what finishing did.
type FinishWorkItemResult struct {
	Finished FinishedItem
	Offers   []Offer // always empty now (see Offer)
	// AgentTold: the agent's process was signalled by the activity.
	AgentTold bool `json:",omitempty"`
}

// FinishWorkItem ends an item, frees its agent (to wrap-up when it handled
// the item), tells the agent's process and books the freed capacity.
func (a *Activities) FinishWorkItem(ctx context.Context, r FinishWorkItemRequest) (FinishWorkItemResult, error) {
	f, err := a.router().Finish(ctx, stepKey(ctx), routing.FinishRequest{
		ItemID: r.ItemID, Disposition: r.Disposition, WrapUp: r.WrapUp, Record: r.Record.toRouting(),
	})
	if err != nil {
		return FinishWorkItemResult{}, classify(err)
	}
	return FinishWorkItemResult{Finished: finishedItemOf(f.FinishedItem), AgentTold: f.AgentTold}, nil
}

// SetPresenceRequest changes an agent's presence, optionally only from some
// presences.
type SetPresenceRequest struct {
	AgentID  string
	Presence string
	OnlyFrom []string
	// ItemID and Disposition record the disposition code chosen in wrap-up;
	// LastItem names the item of the agent's wrap-up instead.
	ItemID      string
	LastItem    bool
	Disposition string
	// RequireDisposition: the agent ends its wrap-up by hand (a queue that
	// requires a disposition refuses it without one).
	RequireDisposition bool `json:",omitempty"`
	// Key names the change by what it is (the agent's update) for a change
	// made in a local activity: run again with the same key, it answers
	// its first answer. Empty: the activity's own step key.
	Key string `json:",omitempty"`
}

// SetPresenceResult is the presence the agent has now.
type SetPresenceResult struct {
	Presence string
	Changed  bool    // the change applied (not refused by OnlyFrom)
	Offers   []Offer // always empty now (see Offer)
	// EndedWrapUp is the item of the wrap-up the change ended, if any.
	EndedWrapUp string `json:",omitempty"`
	// Seq is the agent's presence change this is (the latest, when it did
	// not apply).
	Seq int64 `json:",omitempty"`
}

// SetAgentPresence records an agent's presence (and a wrap-up disposition)
// and, when it is available, books work for it.
func (a *Activities) SetAgentPresence(ctx context.Context, r SetPresenceRequest) (SetPresenceResult, error) {
	key := stepKey(ctx)
	if r.Key != "" {
		key = contentKey(ctx, "presence/"+r.Key)
	}
	res, err := a.router().SetPresence(ctx, key, routing.PresenceRequest{
		AgentID: r.AgentID, Presence: r.Presence, OnlyFrom: r.OnlyFrom, ItemID: r.ItemID, Disposition: r.Disposition,
		RequireDisposition: r.RequireDisposition,
	})
	if err != nil {
		return SetPresenceResult{}, classify(err)
	}
	return SetPresenceResult{Presence: res.Presence, Changed: res.Changed, EndedWrapUp: res.EndedWrapUp, Seq: res.Seq}, nil
}

// AgentWrapUp reads an agent's presence and wrap-up from PostgreSQL.
func (a *Activities) AgentWrapUp(ctx context.Context, agentID string) (WrapUp, error) {
	w, err := a.router().WrapUpOf(ctx, agentID)
	if err != nil {
		return WrapUp{}, classify(err)
	}
	return wrapUpOf(w), nil
}

// SweepRouting delivers again offers no process received, checks offers
// open far too long, and prunes stored answers.
func (a *Activities) SweepRouting(ctx context.Context) (Swept, error) {
	s, err := a.router().Sweep(ctx)
	if err != nil {
		return Swept{}, classify(err)
	}
	return sweptOf(s), nil
}
