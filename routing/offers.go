package routing

import (
	"context"
	"errors"
	"fmt"

	"github.com/casehub/casehub/store"
)

const (
	receiveOffer = `UPDATE offers SET acked_at = now() WHERE id = :id AND acked_at IS NULL`

	presentOffer = `
UPDATE offers SET presented_at = coalesce(presented_at, now()), acked_at = coalesce(acked_at, now())
WHERE id = :id AND state = 'pending'`

	acceptOffer = `UPDATE offers SET state = 'accepted', closed_at = now() WHERE id = :id AND state = 'pending'`

	closeOffer = `UPDATE offers SET state = :state, closed_at = now() WHERE id = :id AND state = 'pending'`

	assignItem = `UPDATE work_items SET state = 'assigned', updated_at = now() WHERE id = :id AND state = 'offered'`

	requeueItem = `
UPDATE work_items SET state = 'waiting', agent_id = NULL, updated_at = now(),
       excluded = CASE WHEN :exclude THEN array_append(excluded, CAST(:agent_id AS text)) ELSE excluded END
WHERE id = :id AND state = 'offered'`

	// Releasing the last booking makes an available agent idle from now.
	releaseAgent = `
UPDATE agents SET voice_load = greatest(voice_load - CASE WHEN :channel = 'voice' THEN 1 ELSE 0 END, 0),
                  chat_load  = greatest(chat_load  - CASE WHEN :channel = 'chat'  THEN 1 ELSE 0 END, 0),
                  idle_since = CASE WHEN voice_load + chat_load - 1 <= 0 THEN now() ELSE idle_since END,
                  updated_at = now()
WHERE id = :id
RETURNING voice_load + chat_load`

	// An agent whose offer ran out goes on break, unless it already left.
	breakAgent = `
UPDATE agents SET presence = 'on_break', presence_at = now(), updated_at = now(), presence_seq = presence_seq + 1,
       wrapup_item = NULL, wrapup_until = NULL
WHERE id = :id AND presence = 'available'
RETURNING presence_seq`

	selectPresenceSeq = `SELECT presence_seq FROM agents WHERE id = :id`
)

// Receive records that an item's process has its offer, so the sweep does
// not deliver it again. Receiving twice changes nothing.
func (r *Router) Receive(ctx context.Context, offerID string) error {
	if _, err := r.Store.Exec(ctx, receiveOffer, map[string]any{"id": offerID}); err != nil {
		return fmt.Errorf("receive offer %s: %w", offerID, err)
	}
	return nil
}

// Record is the change a process makes to its own records in the step's
// transaction: as it presents an offer (the interaction goes Pending
// Acceptance for the agent, or the callback's step says offered), as its
// agent accepts (Work In Progress), as its item finishes (the call's phone
// log, Closed Complete). The record and the step commit together, so
// whatever shows the step shows the record in step with it.
type Record struct {
	Interaction *store.InteractionChange `json:"interaction,omitempty"`
	Callback    *store.CallbackChange    `json:"callback,omitempty"`
	PhoneLog    *store.PhoneLog          `json:"phone_log,omitempty"`
}

// write applies the record's changes in the step's transaction. Each is
// idempotent (a change by its version, a phone log by its call), so a step
// that runs again writes nothing new. A phone log the database refuses (its
// call logged for another interaction, its times out of order) is left out
// under a savepoint, and the step goes on: the log never holds up the
// agent's wrap-up or the record's close.
func (rec Record) write(ctx context.Context, tx *store.Store) error {
	if c := rec.Interaction; c != nil {
		if err := tx.ApplyInteractionChange(ctx, *c); err != nil {
			return err
		}
	}
	if c := rec.Callback; c != nil {
		if err := tx.ApplyCallbackChange(ctx, *c); err != nil {
			return err
		}
	}
	if l := rec.PhoneLog; l != nil {
		if _, err := tx.Exec(ctx, `SAVEPOINT phone_log`, map[string]any{}); err != nil {
			return fmt.Errorf("phone log savepoint: %w", err)
		}
		err := tx.RecordPhoneLog(ctx, *l)
		switch {
		case err == nil:
		case errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrInvalid):
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT phone_log`, map[string]any{}); err != nil {
				return fmt.Errorf("phone log savepoint: %w", err)
			}
		default:
			return err
		}
	}
	return nil
}

// Presented says whether the offer is now shown to its agent; false when it
// was closed first (its state says how).
type Presented struct {
	Presented bool   `json:"presented"`
	State     string `json:"state"`
}

// Present shows a received offer to its agent: in one transaction the offer
// is marked presented and the process's record changes, so whatever shows
// the offer (the agent's pending offers, the record's Pending Acceptance)
// shows it only when the process takes an answer to it.
func (r *Router) Present(ctx context.Context, key, offerID string, rec Record) (Presented, error) {
	return r.PresentIn(ctx, key, offerID, "", rec)
}

// PresentIn is Present for a process that knows the offer's queue (its
// work item's): the queue's lock is taken before the offer is read, which
// saves reading it twice. A wrong or empty queue only costs that read.
func (r *Router) PresentIn(ctx context.Context, key, offerID, queue string, rec Record) (Presented, error) {
	p, err := stepIn(ctx, r.Store, key, []string{queue}, func(tx *store.Store, l *locks) (Presented, error) {
		o, err := tx.GetOffer(ctx, offerID)
		if err != nil {
			return Presented{}, err
		}
		if err := l.need(ctx, o.Queue); err != nil {
			return Presented{}, err
		}
		if o.State != store.OfferPending {
			return Presented{State: o.State}, nil
		}
		if _, err := tx.Exec(ctx, presentOffer, map[string]any{"id": offerID}); err != nil {
			return Presented{}, err
		}
		if err := rec.write(ctx, tx); err != nil {
			return Presented{}, err
		}
		return Presented{Presented: true, State: store.OfferPending}, nil
	})
	if err != nil {
		return Presented{}, fmt.Errorf("present offer %s: %w", offerID, err)
	}
	if p.Presented {
		failpoint(failAfterPresent)
	}
	return p, nil
}

// Accepted says whom an accepted offer assigned the item to.
type Accepted struct {
	AgentID string `json:"agent_id"`
	ItemID  string `json:"item_id"`
	Queue   string `json:"queue"`
	// AgentTold: the agent's process has been signalled (so the item's
	// process need not).
	AgentTold bool `json:"agent_told"`
}

// Accept assigns the item to the offer's agent, writes the process's
// record (rec, which may be empty) in the same transaction, and tells the
// agent's process. Accepting an accepted offer again answers the same;
// accepting a closed one is ErrConflict and writes nothing.
func (r *Router) Accept(ctx context.Context, key, offerID string, rec Record) (Accepted, error) {
	return r.AcceptIn(ctx, key, offerID, "", rec)
}

// AcceptIn is Accept for a process that knows the offer's queue, as
// PresentIn.
func (r *Router) AcceptIn(ctx context.Context, key, offerID, queue string, rec Record) (Accepted, error) {
	acc, err := stepIn(ctx, r.Store, key, []string{queue}, func(tx *store.Store, l *locks) (Accepted, error) {
		o, err := tx.GetOffer(ctx, offerID)
		if err != nil {
			return Accepted{}, err
		}
		if err := l.need(ctx, o.Queue); err != nil {
			return Accepted{}, err
		}
		acc := Accepted{AgentID: o.AgentID, ItemID: o.ItemID, Queue: o.Queue, AgentTold: true}
		switch o.State {
		case store.OfferAccepted:
			return acc, rec.write(ctx, tx)
		case store.OfferPending:
		default:
			return Accepted{}, fmt.Errorf("%w: the offer is %s", store.ErrConflict, o.State)
		}
		if _, err := tx.Exec(ctx, acceptOffer, map[string]any{"id": offerID}); err != nil {
			return Accepted{}, err
		}
		if _, err := tx.Exec(ctx, assignItem, map[string]any{"id": o.ItemID}); err != nil {
			return Accepted{}, err
		}
		return acc, rec.write(ctx, tx)
	})
	if err != nil {
		return Accepted{}, fmt.Errorf("accept offer %s: %w", offerID, err)
	}
	return acc, r.tellAgent(ctx, acc.AgentID, SignalItemAssigned, ItemAssigned{ItemID: acc.ItemID, Queue: acc.Queue})
}

// CloseRequest says how an offer ended and what happens to its item.
type CloseRequest struct {
	OfferID string
	State   string // store.OfferRejected, OfferTimedOut or OfferWithdrawn
	Requeue bool   // back to waiting at its own position (else the item is done)
	Exclude bool   // never offer the item to this agent again
}

// Closed says what closing an offer did.
type Closed struct {
	AgentID   string        `json:"agent_id"`
	ItemID    string        `json:"item_id"`
	WasOpen   bool          `json:"was_open"` // the offer was pending until now
	OnBreak   bool          `json:"on_break"` // a time-out put the agent on break
	Seq       int64         `json:"presence_seq"`
	Offers    []store.Offer `json:"offers"`
	AgentTold bool          `json:"agent_told"`
}

// Close ends a pending offer as rejected, timed out or withdrawn and frees
// the agent; an agent that let its offer time out goes on break in the same
// transaction, so no booking slips in between. The item goes back in line
// at its own place, or is done; the freed capacity is booked and the agent's
// process told of a time-out. Closing a closed offer again changes nothing.
func (r *Router) Close(ctx context.Context, key string, c CloseRequest) (Closed, error) {
	res, err := step(ctx, r.Store, key, func(tx *store.Store, l *locks) (Closed, error) {
		o, err := tx.GetOffer(ctx, c.OfferID)
		if err != nil {
			return Closed{}, err
		}
		queues, err := freedQueues(ctx, tx, o.Queue, o.AgentID)
		if err != nil {
			return Closed{}, err
		}
		if err := l.need(ctx, queues...); err != nil {
			return Closed{}, err
		}
		res := Closed{AgentID: o.AgentID, ItemID: o.ItemID, AgentTold: true}
		if o.State != store.OfferPending {
			return res, nil
		}
		res.WasOpen = true
		if _, err := tx.Exec(ctx, closeOffer, map[string]any{"id": c.OfferID, "state": c.State}); err != nil {
			return Closed{}, err
		}
		var left int
		if err := tx.Get(ctx, &left, releaseAgent, map[string]any{"id": o.AgentID, "channel": o.Channel}); err != nil {
			return Closed{}, fmt.Errorf("release agent %s: %w", o.AgentID, err)
		}
		if c.State == store.OfferTimedOut {
			err := tx.Get(ctx, &res.Seq, breakAgent, map[string]any{"id": o.AgentID})
			res.OnBreak = err == nil
			if errors.Is(err, store.ErrNotFound) {
				err = tx.Get(ctx, &res.Seq, selectPresenceSeq, map[string]any{"id": o.AgentID})
			}
			if err != nil {
				return Closed{}, fmt.Errorf("put agent %s on break: %w", o.AgentID, err)
			}
		}
		if c.Requeue {
			_, err = tx.Exec(ctx, requeueItem, map[string]any{"id": o.ItemID, "agent_id": o.AgentID, "exclude": c.Exclude})
		} else {
			err = markDone(ctx, tx, o.ItemID, nil, store.FinishedItem{})
		}
		if err != nil {
			return Closed{}, err
		}
		res.Offers, err = book(ctx, tx, l, queues)
		return res, err
	})
	if err != nil {
		return Closed{}, fmt.Errorf("close offer %s: %w", c.OfferID, err)
	}
	if err := r.deliver(ctx, key, res.Offers); err != nil {
		return res, err
	}
	if c.State == store.OfferTimedOut && res.WasOpen {
		return res, r.tellAgent(ctx, res.AgentID, SignalOfferTimedOut, OfferTimedOut{OfferID: c.OfferID, ItemID: res.ItemID, OnBreak: res.OnBreak, Seq: res.Seq})
	}
	return res, nil
}
