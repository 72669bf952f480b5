package routing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/casehub/casehub/store"
)

const (
	selectAgentForPresence = `SELECT presence, wrapup_item, presence_seq FROM agents WHERE id = :id FOR UPDATE`

	// An agent that becomes available with nothing booked starts being idle
	// now. Leaving wrap-up forgets it.
	updatePresence = `
UPDATE agents SET presence = :presence, presence_at = now(), updated_at = now(), presence_seq = presence_seq + 1,
       idle_since = CASE WHEN :presence = 'available' AND voice_load + chat_load = 0 AND presence <> 'available'
                         THEN now() ELSE idle_since END,
       wrapup_item = NULL, wrapup_until = NULL
WHERE id = :id
RETURNING presence_seq`

	lastFinishedItem = `
SELECT id FROM work_items WHERE agent_id = :agent_id AND state = 'done' ORDER BY updated_at DESC, id LIMIT 1`

	setDisposition = `UPDATE work_items SET disposition = :disposition, updated_at = now() WHERE id = :id`

	// The disposition goes on the record the item was for (the
	// interaction, or the callback's call).
	setRecordDisposition = `
UPDATE interactions SET disposition = :disposition, updated_at = now()
WHERE workflow_id = (SELECT workflow_id FROM work_items WHERE id = :id)`

	// Whether the item still needs a disposition its queue requires.
	needsDisposition = `
SELECT q.disposition_required AND i.disposition IS NULL
FROM work_items i JOIN queues q ON q.name = i.queue WHERE i.id = :id`

	selectWrapUp = `SELECT presence, coalesce(wrapup_item, '') AS wrapup_item, wrapup_until, presence_seq FROM agents WHERE id = :id`
)

// PresenceRequest changes an agent's presence.
type PresenceRequest struct {
	AgentID  string
	Presence string
	// OnlyFrom, when given, lets the change happen only from one of these
	// presences (a timer ending wrap-up must not undo a break the agent took).
	OnlyFrom []string
	// Disposition is the code chosen in wrap-up, recorded on ItemID (or on
	// the item of the agent's wrap-up when ItemID is empty) and on its
	// record.
	ItemID      string
	Disposition string
	// RequireDisposition: the agent ends its wrap-up by hand, which in a
	// queue that requires a disposition takes one unless the item has it.
	RequireDisposition bool
}

// PresenceResult is the presence the agent has now and whether the change
// applied.
type PresenceResult struct {
	Presence string `json:"presence"`
	Changed  bool   `json:"changed"`
	// Seq is the agent's presence change this is (agents.presence_seq);
	// when the change did not apply, the latest one.
	Seq int64 `json:"presence_seq"`
	// EndedWrapUp is the item of the wrap-up this change ended, if any.
	EndedWrapUp string        `json:"ended_wrapup,omitempty"`
	Offers      []store.Offer `json:"offers"`
}

// SetPresence records an agent's presence (and a wrap-up's disposition) and,
// when the agent is available, books work for it.
func (r *Router) SetPresence(ctx context.Context, key string, p PresenceRequest) (PresenceResult, error) {
	res, err := step(ctx, r.Store, key, func(tx *store.Store, l *locks) (PresenceResult, error) {
		queues, err := tx.AgentQueues(ctx, p.AgentID)
		if err != nil {
			return PresenceResult{}, err
		}
		if err := l.need(ctx, queues...); err != nil {
			return PresenceResult{}, err
		}
		var cur struct {
			Presence   string  `db:"presence"`
			WrapUpItem *string `db:"wrapup_item"`
			Seq        int64   `db:"presence_seq"`
		}
		if err := tx.Get(ctx, &cur, selectAgentForPresence, map[string]any{"id": p.AgentID}); err != nil {
			return PresenceResult{}, err
		}
		res := PresenceResult{Presence: cur.Presence, Seq: cur.Seq}
		if len(p.OnlyFrom) > 0 && !contains(p.OnlyFrom, cur.Presence) {
			return res, nil
		}
		if p.Disposition != "" || p.RequireDisposition {
			item := p.ItemID
			if item == "" && cur.WrapUpItem != nil {
				item = *cur.WrapUpItem
			}
			if item == "" {
				err := tx.Get(ctx, &item, lastFinishedItem, map[string]any{"agent_id": p.AgentID})
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return PresenceResult{}, fmt.Errorf("last finished item: %w", err)
				}
			}
			if err := recordDisposition(ctx, tx, item, p.Disposition, p.RequireDisposition); err != nil {
				return PresenceResult{}, err
			}
		}
		if err := tx.Get(ctx, &res.Seq, updatePresence, map[string]any{"id": p.AgentID, "presence": p.Presence}); err != nil {
			return PresenceResult{}, err
		}
		res.Presence, res.Changed = p.Presence, true
		if cur.Presence == store.PresenceWrapUp && cur.WrapUpItem != nil {
			res.EndedWrapUp = *cur.WrapUpItem
		}
		if p.Presence != store.PresenceAvailable {
			return res, nil
		}
		res.Offers, err = book(ctx, tx, l, queues)
		return res, err
	})
	if err != nil {
		return PresenceResult{}, fmt.Errorf("set presence of %s: %w", p.AgentID, err)
	}
	return res, r.deliver(ctx, key, res.Offers)
}

// recordDisposition puts a wrap-up's disposition code on the item and its
// record; with require, a missing one its queue requires is refused.
func recordDisposition(ctx context.Context, tx *store.Store, item, disposition string, require bool) error {
	if item == "" {
		return nil
	}
	if disposition == "" {
		var needed bool
		err := tx.Get(ctx, &needed, needsDisposition, map[string]any{"id": item})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("does %s need a disposition: %w", item, err)
		}
		if require && needed {
			return &store.FieldError{Err: store.ErrInvalid, Field: "disposition",
				Detail: "is required: the queue of " + item + " takes a disposition code"}
		}
		return nil
	}
	if _, err := tx.Exec(ctx, setDisposition, map[string]any{"id": item, "disposition": disposition}); err != nil {
		return fmt.Errorf("set the disposition of %s: %w", item, err)
	}
	if _, err := tx.Exec(ctx, setRecordDisposition, map[string]any{"id": item, "disposition": disposition}); err != nil {
		return fmt.Errorf("set the disposition of %s's record: %w", item, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// WrapUp is an agent's presence and, in wrap-up, the item and its end.
type WrapUp struct {
	Presence string     `db:"presence" json:"presence"`
	Item     string     `db:"wrapup_item" json:"item,omitempty"`
	Until    *time.Time `db:"wrapup_until" json:"until,omitempty"`
	Seq      int64      `db:"presence_seq" json:"presence_seq"`
}

// WrapUpOf reads an agent's presence and wrap-up as PostgreSQL has them.
func (r *Router) WrapUpOf(ctx context.Context, agentID string) (WrapUp, error) {
	var w WrapUp
	if err := r.Store.Get(ctx, &w, selectWrapUp, map[string]any{"id": agentID}); err != nil {
		return WrapUp{}, fmt.Errorf("wrap-up of %s: %w", agentID, err)
	}
	return w, nil
}
