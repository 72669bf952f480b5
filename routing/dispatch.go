package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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

	selectWaiting = `
SELECT id, queue, channel, excluded, coalesce(target_agent, '') AS target_agent FROM work_items
WHERE state = 'waiting' AND queue = ANY(:queues)
ORDER BY position LIMIT 500`

	// The members of the queues with room for some work, locked in id order
	// (so two dispatchers sharing members never wait for each other in a
	// cycle). A member another step is changing is waited for and read
	// again as it committed: one that is no longer free drops out.
	lockCandidates = `
SELECT a.id, a.voice_load, a.chat_load, a.max_chats, a.idle_since,
       ARRAY(SELECT m.queue FROM queue_members m WHERE m.agent_id = a.id AND m.queue = ANY(:queues)) AS queues
FROM agents a
WHERE a.id IN (SELECT agent_id FROM queue_members WHERE queue = ANY(:queues))
  AND a.presence = 'available' AND a.voice_load = 0 AND (a.chat_load = 0 OR a.chat_load < a.max_chats)
ORDER BY a.id
FOR UPDATE OF a`

	// One statement books: the agents' loads grow, the items become
	// offered, and each item says how many offers it had before (the new
	// one's number follows).
	bookItems = `
WITH loads AS (
    UPDATE agents a SET voice_load = a.voice_load + b.voice, chat_load = a.chat_load + b.chat, updated_at = now()
    FROM unnest(CAST(:booked_agents AS text[]), CAST(:voice AS int[]), CAST(:chat AS int[])) AS b(id, voice, chat)
    WHERE a.id = b.id)
UPDATE work_items w SET state = 'offered', agent_id = b.agent_id, updated_at = now()
FROM unnest(CAST(:items AS text[]), CAST(:item_agents AS text[])) AS b(id, agent_id)
WHERE w.id = b.id AND w.state = 'waiting'
RETURNING w.id AS item_id, (SELECT count(*) FROM offers o WHERE o.item_id = w.id) AS n`
)

// insertOffers records the booked offers and answers them as
// store.Offers reads them (its columns), in one statement: the main query
// sees the items as this transaction left them, and the new offers through
// the WITH clause.
const insertOffers = `
WITH o AS (
  INSERT INTO offers (id, item_id, agent_id)
  SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:items AS text[]), CAST(:agents AS text[]))
  RETURNING id, item_id, agent_id, state, offered_at, presented_at, closed_at)
SELECT o.id, o.item_id, o.agent_id, o.state, o.offered_at, o.presented_at, o.closed_at, i.workflow_id, i.queue, i.channel, i.kind,
       o.presented_at + make_interval(secs => q.acceptance_timeout_s) AS accept_by
FROM o JOIN work_items i ON i.id = o.item_id JOIN queues q ON q.name = i.queue
ORDER BY o.offered_at, o.id`

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
	b, err := step(ctx, r.Store, key, func(tx *store.Store, l *locks) (Booked, error) {
		if err := l.need(ctx, queues...); err != nil {
			return Booked{}, err
		}
		offers, err := book(ctx, tx, l, queues)
		return Booked{Offers: offers}, err
	})
	if err != nil {
		return Booked{}, fmt.Errorf("dispatch %v: %w", queues, err)
	}
	return b, r.deliver(ctx, key, b.Offers)
}

// DispatchAgent books work from every queue the agent is a member of.
func (r *Router) DispatchAgent(ctx context.Context, key, agentID string) (Booked, error) {
	b, err := step(ctx, r.Store, key, func(tx *store.Store, l *locks) (Booked, error) {
		queues, err := tx.AgentQueues(ctx, agentID)
		if err != nil {
			return Booked{}, err
		}
		if err := l.need(ctx, queues...); err != nil {
			return Booked{}, err
		}
		offers, err := book(ctx, tx, l, queues)
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
	// Presented is the offer for the item's own process that the step
	// presented (EnqueuePresentingOwn), if it booked one.
	Presented string `json:"presented,omitempty"`
}

// Enqueue puts an item in its queue and books its queue. Enqueueing the same
// item again changes nothing.
func (r *Router) Enqueue(ctx context.Context, key string, n store.NewWorkItem) (Enqueued, error) {
	e, err := r.enqueue(ctx, key, n, nil)
	if err != nil {
		return Enqueued{}, err
	}
	return e, r.deliver(ctx, key, e.Offers)
}

// EnqueueKeepingOwn is Enqueue for a process that enqueues its item inside
// a workflow task of its own (a local activity): the offers booked for
// other processes are delivered, and the ones for n's own process are
// returned instead, for it to take in that very task. Run again with the
// same key, it answers the same offers (the step keeps its first answer),
// so a task that is lost and runs again takes in the same ones; and an
// offer no process takes in is delivered again by the sweep.
func (r *Router) EnqueueKeepingOwn(ctx context.Context, key string, n store.NewWorkItem) (Enqueued, []store.Offer, error) {
	return r.EnqueuePresentingOwn(ctx, key, n, nil)
}

// EnqueuePresentingOwn is EnqueueKeepingOwn that also presents the offer
// it books for n's own process, in the same transaction, with the record
// change present gives for it (nil presents nothing): a contact that
// arrives while an agent waits is queued and shown to the agent, with its
// record's Pending Acceptance, in one step (Enqueued.Presented). A
// presented offer counts as received: if its process never takes it in
// (the task is lost and not run again), only the sweep of overdue offers
// finds it, once its acceptance time and ten minutes have passed.
func (r *Router) EnqueuePresentingOwn(ctx context.Context, key string, n store.NewWorkItem, present func(o store.Offer) Record) (Enqueued, []store.Offer, error) {
	e, err := r.enqueue(ctx, key, n, present)
	if err != nil {
		return Enqueued{}, nil, err
	}
	var own, others []store.Offer
	for _, o := range e.Offers {
		if o.WorkflowID == n.WorkflowID {
			own = append(own, o)
		} else {
			others = append(others, o)
		}
	}
	if len(own) > 0 {
		// Committed, and no process has the offer yet: the workflow task
		// that takes it in may be lost with its worker here.
		failpoint(failAfterBooking)
	}
	if e.Presented != "" {
		// Shown, too: the agent may answer it before any process has it.
		failpoint(failAfterPresent)
	}
	return e, own, r.deliver(ctx, key, others)
}

func (r *Router) enqueue(ctx context.Context, key string, n store.NewWorkItem, present func(store.Offer) Record) (Enqueued, error) {
	e, err := step(ctx, r.Store, key, func(tx *store.Store, l *locks) (Enqueued, error) {
		var e Enqueued
		queues := []string{n.Queue}
		if n.ReplacesID != "" {
			// The item it replaces gives up its place: its queue's lock too.
			old, err := tx.GetWorkItem(ctx, n.ReplacesID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return e, err
			}
			if err == nil {
				queues = append(queues, old.Queue)
			}
		}
		if err := l.need(ctx, queues...); err != nil {
			return e, err
		}
		_, err := tx.GetWorkItem(ctx, n.ID)
		if errors.Is(err, store.ErrNotFound) {
			e.Replaced, err = insertWorkItem(ctx, tx, n)
		}
		if err != nil {
			return e, err
		}
		if e.Offers, err = book(ctx, tx, l, []string{n.Queue}); err != nil {
			return e, err
		}
		if present != nil {
			if e.Presented, err = presentOwn(ctx, tx, n, e.Offers, present); err != nil {
				return e, err
			}
		}
		e.Item, err = tx.GetWorkItem(ctx, n.ID)
		return e, err
	})
	if err != nil {
		return Enqueued{}, fmt.Errorf("enqueue %s: %w", n.ID, err)
	}
	return e, nil
}

// presentOwn presents the offer just booked for n's own process, if there
// is one, with the record change rec gives for it.
func presentOwn(ctx context.Context, tx *store.Store, n store.NewWorkItem, offers []store.Offer, rec func(store.Offer) Record) (string, error) {
	for _, o := range offers {
		if o.WorkflowID != n.WorkflowID || o.ItemID != n.ID {
			continue
		}
		if _, err := tx.Exec(ctx, presentOffer, map[string]any{"id": o.ID}); err != nil {
			return "", fmt.Errorf("present offer %s: %w", o.ID, err)
		}
		if err := rec(o).write(ctx, tx); err != nil {
			return "", fmt.Errorf("present offer %s: %w", o.ID, err)
		}
		return o.ID, nil
	}
	return "", nil
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

// candidate is a member with room for work, as book matches it.
type candidate struct {
	ID        string         `db:"id"`
	VoiceLoad int            `db:"voice_load"`
	ChatLoad  int            `db:"chat_load"`
	MaxChats  int            `db:"max_chats"`
	IdleSince *time.Time     `db:"idle_since"`
	Queues    pq.StringArray `db:"queues"`
}

// takes says whether the member can take an item of the channel from the
// queue: a voice item needs an agent with nothing booked; a chat needs no
// voice and a free chat slot.
func (c *candidate) takes(queue, channel string) bool {
	if c.VoiceLoad > 0 || !slices.Contains(c.Queues, queue) {
		return false
	}
	if channel == store.ChannelVoice {
		return c.ChatLoad == 0
	}
	return c.ChatLoad < c.MaxChats
}

// book matches waiting items of queues, oldest first, with the
// longest-idle eligible member of each item's queue: the item becomes
// offered, the agent's load grows, an offer is recorded. The step holds the
// queues' locks (so no other step changes their items), and the matched
// members are locked rows. The free members and the waiting items are read
// in one query each and matched here; one statement then books (loads and
// items) and another records the offers.
func book(ctx context.Context, tx *store.Store, l *locks, queues []string) ([]store.Offer, error) {
	if len(queues) == 0 {
		return nil, nil
	}
	if !l.holds(queues...) {
		return nil, fmt.Errorf("book %v without their locks", queues)
	}
	var free []candidate
	if err := tx.Select(ctx, &free, lockCandidates, map[string]any{"queues": pq.Array(queues)}); err != nil {
		return nil, fmt.Errorf("look for free agents: %w", err)
	}
	if len(free) == 0 {
		return nil, nil
	}
	// Longest idle first; never idle (just signed in) before all.
	slices.SortStableFunc(free, func(a, b candidate) int {
		switch {
		case a.IdleSince == nil && b.IdleSince != nil:
			return -1
		case a.IdleSince != nil && b.IdleSince == nil:
			return 1
		case a.IdleSince != nil && !a.IdleSince.Equal(*b.IdleSince):
			return a.IdleSince.Compare(*b.IdleSince)
		}
		return strings.Compare(a.ID, b.ID)
	})
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
	var items, agents []string
	load := map[string][2]int{} // the voice and chat items booked per agent
	// A queue and channel that found no agent for an item open to every
	// member has none for the items behind it either.
	full := map[string]bool{}
	for _, it := range waiting {
		if full[it.Queue+"/"+it.Channel] {
			continue
		}
		pick := -1
		for i := range free {
			c := &free[i]
			if c.takes(it.Queue, it.Channel) && !slices.Contains(it.Excluded, c.ID) && (it.Target == "" || it.Target == c.ID) {
				pick = i
				break
			}
		}
		if pick < 0 {
			if it.Target == "" && len(it.Excluded) == 0 {
				full[it.Queue+"/"+it.Channel] = true
			}
			continue
		}
		c := &free[pick]
		n := load[c.ID]
		if it.Channel == store.ChannelVoice {
			c.VoiceLoad++
			n[0]++
		} else {
			c.ChatLoad++
			n[1]++
		}
		load[c.ID] = n
		items, agents = append(items, it.ID), append(agents, c.ID)
	}
	if len(items) == 0 {
		return nil, nil
	}
	var ids []string
	var voice, chat []int64
	for _, id := range agents {
		if n, ok := load[id]; ok {
			ids, voice, chat = append(ids, id), append(voice, int64(n[0])), append(chat, int64(n[1]))
			delete(load, id)
		}
	}
	var counts []struct {
		ItemID string `db:"item_id"`
		N      int    `db:"n"`
	}
	if err := tx.Select(ctx, &counts, bookItems, map[string]any{"booked_agents": pq.Array(ids), "voice": pq.Array(voice), "chat": pq.Array(chat),
		"items": pq.Array(items), "item_agents": pq.Array(agents)}); err != nil {
		return nil, fmt.Errorf("book %v for %v: %w", items, ids, err)
	}
	if len(counts) != len(items) {
		// The queues' locks keep every other step off their items.
		return nil, fmt.Errorf("book %v: only %d of them were still waiting", items, len(counts))
	}
	before := map[string]int{}
	for _, c := range counts {
		before[c.ItemID] = c.N
	}
	made := make([]string, len(items))
	for i, it := range items {
		made[i] = OfferID(it, before[it]+1)
	}
	offers := []store.Offer{}
	if err := tx.Select(ctx, &offers, insertOffers, map[string]any{"ids": pq.Array(made), "items": pq.Array(items), "agents": pq.Array(agents)}); err != nil {
		return nil, fmt.Errorf("record offers of %v: %w", items, err)
	}
	return offers, nil
}

// freedQueues are the item's queue and every queue of the agent an item
// lets go: an agent in several queues may have work waiting in another
// one. A step that frees an agent takes all their locks before it writes,
// and books them after (bookFreed).
func freedQueues(ctx context.Context, tx *store.Store, queue, agentID string) ([]string, error) {
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
	return queues, nil
}
