package routing

import (
	"context"
	"errors"
	"fmt"

	"github.com/lib/pq"

	"github.com/casehub/casehub/store"
)

const (
	insertItem = `
INSERT INTO work_items (id, queue, channel, kind, workflow_id, position, target_agent)
VALUES (:id, :queue, :channel, :kind, :workflow_id, :position, :target_agent)
ON CONFLICT (id) DO NOTHING`

	// Replacing: the old item gives up its position (marked done) so the new
	// one can hold it.
	takePosition = `
UPDATE work_items SET state = 'done', updated_at = now()
WHERE id = :id AND state = 'waiting'
RETURNING position`

	nextPosition = `SELECT nextval('work_item_position')`

	// Whether any member of the queues could take any work now: without
	// one, there is nothing to book.
	anyAgentFree = `
SELECT EXISTS (SELECT 1 FROM agents a JOIN queue_members m ON m.agent_id = a.id
               WHERE m.queue = ANY(:queues) AND a.presence = 'available' AND a.voice_load = 0
                 AND (a.chat_load = 0 OR a.chat_load < a.max_chats))`

	selectWaiting = `
SELECT id, queue, channel, excluded, coalesce(target_agent, '') AS target_agent FROM work_items
WHERE state = 'waiting' AND queue = ANY(:queues)
ORDER BY position LIMIT 500`

	// The longest-idle available member with room for the channel: a voice
	// item needs an agent with nothing booked; a chat needs no voice and a
	// free chat slot.
	selectEligibleAgent = `
SELECT a.id FROM agents a JOIN queue_members m ON m.agent_id = a.id AND m.queue = :queue
WHERE a.presence = 'available' AND NOT (a.id = ANY(:excluded)) AND (:target = '' OR a.id = :target)
  AND ((:channel = 'voice' AND a.voice_load = 0 AND a.chat_load = 0)
    OR (:channel = 'chat' AND a.voice_load = 0 AND a.chat_load < a.max_chats))
ORDER BY a.idle_since ASC NULLS FIRST, a.id
LIMIT 1`

	bookAgent = `
UPDATE agents SET voice_load = voice_load + CASE WHEN :channel = 'voice' THEN 1 ELSE 0 END,
                  chat_load  = chat_load  + CASE WHEN :channel = 'chat'  THEN 1 ELSE 0 END,
                  updated_at = now()
WHERE id = :id`

	markOffered = `UPDATE work_items SET state = 'offered', agent_id = :agent_id, updated_at = now() WHERE id = :id`

	countOffers = `SELECT count(*) FROM offers WHERE item_id = :item_id`

	insertOffer = `INSERT INTO offers (id, item_id, agent_id) VALUES (:id, :item_id, :agent_id)`
)

// OfferID names the nth offer (from 1) of an item. Derived, not random, so a
// dispatch retried after its commit names its offers as the first run did.
func OfferID(itemID string, n int) string { return fmt.Sprintf("offer-%s-%d", itemID, n) }

// Booked is what a step booked: the offers to deliver to their processes.
type Booked struct {
	Offers []store.Offer `json:"offers"`
}

// Dispatch books waiting items of queues to available agents and delivers
// the offers.
func (r *Router) Dispatch(ctx context.Context, key string, queues []string) (Booked, error) {
	b, err := step(ctx, r.Store, key, func(tx *store.Store) (Booked, error) {
		offers, err := book(ctx, tx, queues)
		return Booked{Offers: offers}, err
	})
	if err != nil {
		return Booked{}, fmt.Errorf("dispatch %v: %w", queues, err)
	}
	return b, r.deliver(ctx, key, b.Offers)
}

// DispatchAgent books work from every queue the agent is a member of.
func (r *Router) DispatchAgent(ctx context.Context, key, agentID string) (Booked, error) {
	b, err := step(ctx, r.Store, key, func(tx *store.Store) (Booked, error) {
		queues, err := tx.AgentQueues(ctx, agentID)
		if err != nil {
			return Booked{}, err
		}
		offers, err := book(ctx, tx, queues)
		return Booked{Offers: offers}, err
	})
	if err != nil {
		return Booked{}, fmt.Errorf("dispatch for agent %s: %w", agentID, err)
	}
	return b, r.deliver(ctx, key, b.Offers)
}

// Enqueued says what enqueueing did.
type Enqueued struct {
	Item store.WorkItem `json:"item"`
	// Replaced: the item took over the place in line of the item it
	// replaces (a callback for a caller who was waiting).
	Replaced bool          `json:"replaced"`
	Offers   []store.Offer `json:"offers"`
}

// Enqueue puts an item in its queue and books its queue. Enqueueing the same
// item again changes nothing.
func (r *Router) Enqueue(ctx context.Context, key string, n store.NewWorkItem) (Enqueued, error) {
	e, err := step(ctx, r.Store, key, func(tx *store.Store) (Enqueued, error) {
		var e Enqueued
		_, err := tx.GetWorkItem(ctx, n.ID)
		if errors.Is(err, store.ErrNotFound) {
			e.Replaced, err = insertWorkItem(ctx, tx, n)
		}
		if err != nil {
			return e, err
		}
		if e.Offers, err = book(ctx, tx, []string{n.Queue}); err != nil {
			return e, err
		}
		e.Item, err = tx.GetWorkItem(ctx, n.ID)
		return e, err
	})
	if err != nil {
		return Enqueued{}, fmt.Errorf("enqueue %s: %w", n.ID, err)
	}
	return e, r.deliver(ctx, key, e.Offers)
}

func insertWorkItem(ctx context.Context, tx *store.Store, n store.NewWorkItem) (replaced bool, err error) {
	var position int64
	if n.ReplacesID != "" {
		err := tx.Get(ctx, &position, takePosition, map[string]any{"id": n.ReplacesID})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, fmt.Errorf("take over the place of %s: %w", n.ReplacesID, err)
		}
		replaced = err == nil
	}
	if position == 0 {
		position = n.Position
	}
	if position == 0 {
		if err := tx.Get(ctx, &position, nextPosition, map[string]any{}); err != nil {
			return false, fmt.Errorf("next position: %w", err)
		}
	}
	var target *string
	if n.TargetAgent != "" {
		target = &n.TargetAgent
	}
	_, err = tx.Exec(ctx, insertItem, map[string]any{
		"id": n.ID, "queue": n.Queue, "channel": n.Channel, "kind": n.Kind, "workflow_id": n.WorkflowID,
		"position": position, "target_agent": target,
	})
	return replaced, store.ConstraintErr(err, store.ItemFields)
}

// book matches waiting items of queues, oldest first, with the longest-idle
// eligible member of each item's queue: the item becomes offered, the
// agent's load grows, an offer is recorded. It runs inside a step, under
// the dispatch lock.
func book(ctx context.Context, tx *store.Store, queues []string) ([]store.Offer, error) {
	if len(queues) == 0 {
		return nil, nil
	}
	var free bool
	if err := tx.Get(ctx, &free, anyAgentFree, map[string]any{"queues": pq.Array(queues)}); err != nil {
		return nil, fmt.Errorf("look for a free agent: %w", err)
	}
	if !free {
		return nil, nil
	}
	var waiting []struct {
		ID       string         `db:"id"`
		Queue    string         `db:"queue"`
		Channel  string         `db:"channel"`
		Excluded pq.StringArray `db:"excluded"`
		Target   string         `db:"target_agent"`
	}
	if err := tx.Select(ctx, &waiting, selectWaiting, map[string]any{"queues": pq.Array(queues)}); err != nil {
		return nil, fmt.Errorf("read waiting items: %w", err)
	}
	// A queue and channel that found no agent for an item open to every
	// member has none for the items behind it either.
	full := map[string]bool{}
	var made []string
	for _, it := range waiting {
		if full[it.Queue+"/"+it.Channel] {
			continue
		}
		var agentID string
		err := tx.Get(ctx, &agentID, selectEligibleAgent, map[string]any{
			"queue": it.Queue, "channel": it.Channel, "excluded": pq.Array([]string(it.Excluded)), "target": it.Target,
		})
		if errors.Is(err, store.ErrNotFound) {
			if it.Target == "" && len(it.Excluded) == 0 {
				full[it.Queue+"/"+it.Channel] = true
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("find an agent for %s: %w", it.ID, err)
		}
		if _, err := tx.Exec(ctx, bookAgent, map[string]any{"id": agentID, "channel": it.Channel}); err != nil {
			return nil, fmt.Errorf("book agent %s: %w", agentID, err)
		}
		if _, err := tx.Exec(ctx, markOffered, map[string]any{"id": it.ID, "agent_id": agentID}); err != nil {
			return nil, fmt.Errorf("mark %s offered: %w", it.ID, err)
		}
		var n int
		if err := tx.Get(ctx, &n, countOffers, map[string]any{"item_id": it.ID}); err != nil {
			return nil, fmt.Errorf("count offers of %s: %w", it.ID, err)
		}
		id := OfferID(it.ID, n+1)
		if _, err := tx.Exec(ctx, insertOffer, map[string]any{"id": id, "item_id": it.ID, "agent_id": agentID}); err != nil {
			return nil, fmt.Errorf("record offer of %s: %w", it.ID, err)
		}
		made = append(made, id)
	}
	return tx.Offers(ctx, made)
}

// bookFreed books the item's queue and every queue of the agent an item just
// let go: an agent in several queues may have work waiting in another one.
func bookFreed(ctx context.Context, tx *store.Store, queue, agentID string) ([]store.Offer, error) {
	queues := []string{queue}
	if agentID != "" {
		more, err := tx.AgentQueues(ctx, agentID)
		if err != nil {
			return nil, err
		}
		for _, q := range more {
			if q != queue {
				queues = append(queues, q)
			}
		}
	}
	return book(ctx, tx, queues)
}
