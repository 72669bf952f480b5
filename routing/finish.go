package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/casehub/casehub/store"
)

const (
	selectItemForFinish = `SELECT state, agent_id, channel, queue, position, finished FROM work_items WHERE id = :id FOR UPDATE`

	pendingOfferOfItem = `SELECT id FROM offers WHERE item_id = :item_id AND state = 'pending'`

	// An agent that finished its last item goes to wrap-up for the queue's
	// post-processing time, unless it already left or there is none.
	wrapUpAgent = `
UPDATE agents SET presence = 'wrap_up', presence_at = now(), updated_at = now(), presence_seq = presence_seq + 1,
       wrapup_item = :item, wrapup_until = now() + make_interval(secs => :wrapup_s)
WHERE id = :id AND presence = 'available' AND voice_load + chat_load = 0 AND :wrapup_s > 0
RETURNING wrapup_until, presence_seq`

	finishItem = `
UPDATE work_items SET state = 'done', disposition = coalesce(:disposition, disposition), finished = :finished, updated_at = now()
WHERE id = :id AND state <> 'done'`
)

// FinishRequest ends an item.
type FinishRequest struct {
	ItemID      string
	Disposition *string
	WrapUp      time.Duration // the queue's post-processing time for the agent
	// Record is the process's own record change, written in the same
	// transaction (the phone log, Closed Complete): the agent's wrap-up and
	// the closed record show together.
	Record Record
}

// Finished says what finishing did, and the offers the freed capacity made.
type Finished struct {
	store.FinishedItem
	Queue  string        `json:"queue"`
	Offers []store.Offer `json:"offers"`
	// AgentTold: the agent's process has been signalled (so the item's
	// process need not).
	AgentTold bool `json:"agent_told"`
}

// Finish ends an item for good, whatever its state: a pending offer is
// withdrawn and a booked agent freed; an agent that handled the item and
// has nothing else booked goes to wrap-up in the same transaction, so no
// booking slips in between. The freed capacity is booked, and the agent's
// process told. Finishing a finished item answers what the first finish
// did.
func (r *Router) Finish(ctx context.Context, key string, f FinishRequest) (Finished, error) {
	res, err := step(ctx, r.Store, key, func(tx *store.Store, l *locks) (Finished, error) {
		res, err := finish(ctx, tx, l, f)
		if err != nil {
			return Finished{}, err
		}
		return res, f.Record.write(ctx, tx)
	})
	if err != nil {
		return Finished{}, fmt.Errorf("finish work item %s: %w", f.ItemID, err)
	}
	res.AgentTold = true
	if err := r.deliver(ctx, key, res.Offers); err != nil {
		return res, err
	}
	if res.WasAssigned {
		return res, r.tellAgent(ctx, res.AgentID, SignalItemFinished, ItemFinished{
			ItemID: f.ItemID, Queue: res.Queue, WrappingUp: res.WrappingUp, WrapUp: f.WrapUp, Until: res.WrapUpUntil,
			Seq: res.PresenceSeq,
		})
	}
	return res, nil
}

func finish(ctx context.Context, tx *store.Store, l *locks, f FinishRequest) (Finished, error) {
	// The item's queue and its agent's queues are locked before the item
	// row: read it plainly first, and again under the locks.
	cur, err := tx.GetWorkItem(ctx, f.ItemID)
	if err != nil {
		return Finished{}, err
	}
	queues, err := freedQueues(ctx, tx, cur.Queue, deref(cur.AgentID))
	if err != nil {
		return Finished{}, err
	}
	if err := l.need(ctx, queues...); err != nil {
		return Finished{}, err
	}
	var it struct {
		State    string  `db:"state"`
		AgentID  *string `db:"agent_id"`
		Channel  string  `db:"channel"`
		Queue    string  `db:"queue"`
		Position int64   `db:"position"`
		Finished []byte  `db:"finished"`
	}
	if err := tx.Get(ctx, &it, selectItemForFinish, map[string]any{"id": f.ItemID}); err != nil {
		return Finished{}, err
	}
	if deref(it.AgentID) != deref(cur.AgentID) {
		// Booked to an agent between the two reads: that agent's queues too.
		more, err := freedQueues(ctx, tx, it.Queue, deref(it.AgentID))
		if err != nil {
			return Finished{}, err
		}
		if err := l.need(ctx, more...); err != nil {
			return Finished{}, err
		}
		queues = more
	}
	var res Finished
	res.Queue = it.Queue
	if it.State == store.ItemDone {
		if len(it.Finished) > 0 {
			if err := json.Unmarshal(it.Finished, &res.FinishedItem); err != nil {
				return Finished{}, fmt.Errorf("read how %s finished: %w", f.ItemID, err)
			}
		}
		res.Position = it.Position
		return res, nil
	}
	res.Position = it.Position
	if it.State == store.ItemOffered {
		var offerID string
		err := tx.Get(ctx, &offerID, pendingOfferOfItem, map[string]any{"item_id": f.ItemID})
		if err == nil {
			if _, err := tx.Exec(ctx, closeOffer, map[string]any{"id": offerID, "state": store.OfferWithdrawn}); err != nil {
				return Finished{}, err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return Finished{}, err
		}
	}
	if (it.State == store.ItemOffered || it.State == store.ItemAssigned) && it.AgentID != nil {
		res.AgentID = *it.AgentID
		if err := tx.Get(ctx, &res.AgentLoad, releaseAgent, map[string]any{"id": res.AgentID, "channel": it.Channel}); err != nil {
			return Finished{}, fmt.Errorf("release agent %s: %w", res.AgentID, err)
		}
	}
	if it.State == store.ItemAssigned && res.AgentID != "" {
		res.WasAssigned = true
		var w struct {
			Until time.Time `db:"wrapup_until"`
			Seq   int64     `db:"presence_seq"`
		}
		err := tx.Get(ctx, &w, wrapUpAgent, map[string]any{"id": res.AgentID, "item": f.ItemID, "wrapup_s": f.WrapUp.Seconds()})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Finished{}, fmt.Errorf("start the wrap-up of %s: %w", res.AgentID, err)
		}
		if err == nil {
			res.WrappingUp, res.WrapUpUntil, res.PresenceSeq = true, &w.Until, w.Seq
		}
	}
	if err := markDone(ctx, tx, f.ItemID, f.Disposition, res.FinishedItem); err != nil {
		return Finished{}, err
	}
	if res.AgentID != "" {
		var err error
		if res.Offers, err = book(ctx, tx, l, queues); err != nil {
			return Finished{}, err
		}
	}
	return res, nil
}

// markDone ends an item, keeping what finishing it did.
func markDone(ctx context.Context, tx *store.Store, itemID string, disposition *string, f store.FinishedItem) error {
	raw, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode how %s finished: %w", itemID, err)
	}
	if _, err := tx.Exec(ctx, finishItem, map[string]any{"id": itemID, "disposition": disposition, "finished": string(raw)}); err != nil {
		return fmt.Errorf("finish %s: %w", itemID, err)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
