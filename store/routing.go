package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// Presence values an agent (or its timers) sets. "busy" is never stored: an
// available agent with booked work shows as busy.
const (
	PresenceOffline   = "offline"
	PresenceAvailable = "available"
	PresenceBusy      = "busy"
	PresenceOnBreak   = "on_break"
	PresenceWrapUp    = "wrap_up"
)

// Channels routing books capacity for.
const (
	ChannelVoice = "voice"
	ChannelChat  = "chat"
)

// What a rejected offer does to its item.
const (
	OnRejectClose   = "close"
	OnRejectReoffer = "reoffer"
)

// Work item states.
const (
	ItemWaiting  = "waiting"
	ItemOffered  = "offered"
	ItemAssigned = "assigned"
	ItemDone     = "done"
)

// Offer states.
const (
	OfferPending   = "pending"
	OfferAccepted  = "accepted"
	OfferRejected  = "rejected"
	OfferTimedOut  = "timed_out"
	OfferWithdrawn = "withdrawn"
)

// Queue is a queue and its settings.
type Queue struct {
	Name               string          `db:"name" json:"name"`
	Description        string          `db:"description" json:"description"`
	AcceptanceTimeoutS int             `db:"acceptance_timeout_s" json:"acceptance_timeout_seconds"`
	WrapUpTimeoutS     int             `db:"wrapup_timeout_s" json:"wrapup_timeout_seconds"`
	OnReject           string          `db:"on_reject" json:"on_reject"`
	OutboundNumber     string          `db:"outbound_number" json:"outbound_number"`
	Settings           json.RawMessage `db:"settings" json:"settings"`
	CreatedAt          time.Time       `db:"created_at" json:"created_at"`
	UpdatedAt          time.Time       `db:"updated_at" json:"updated_at"`
}

// AcceptanceTimeout is how long an offer waits for the agent.
func (q Queue) AcceptanceTimeout() time.Duration {
	return time.Duration(q.AcceptanceTimeoutS) * time.Second
}

// WrapUpTimeout is the post-processing time after an item.
func (q Queue) WrapUpTimeout() time.Duration { return time.Duration(q.WrapUpTimeoutS) * time.Second }

// Agent is an agent's routing view.
type Agent struct {
	ID         string     `db:"id" json:"id"`
	Name       string     `db:"name" json:"name"`
	Presence   string     `db:"presence" json:"presence"`
	MaxChats   int        `db:"max_chats" json:"max_chats"`
	VoiceLoad  int        `db:"voice_load" json:"voice_load"`
	ChatLoad   int        `db:"chat_load" json:"chat_load"`
	IdleSince  *time.Time `db:"idle_since" json:"idle_since"`
	PresenceAt time.Time  `db:"presence_at" json:"presence_at"`
	Queues     []string   `db:"-" json:"queues"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt  time.Time  `db:"updated_at" json:"updated_at"`
}

// Status is the presence shown to people: available with booked work is busy.
func (a Agent) Status() string {
	if a.Presence == PresenceAvailable && a.VoiceLoad+a.ChatLoad > 0 {
		return PresenceBusy
	}
	return a.Presence
}

// WorkItem is something waiting for, offered to, or handled by an agent.
type WorkItem struct {
	ID          string    `db:"id" json:"id"`
	Queue       string    `db:"queue" json:"queue"`
	Channel     string    `db:"channel" json:"channel"`
	Kind        string    `db:"kind" json:"kind"`
	WorkflowID  string    `db:"workflow_id" json:"workflow_id"`
	Position    int64     `db:"position" json:"position"`
	State       string    `db:"state" json:"state"`
	AgentID     *string   `db:"agent_id" json:"agent_id"`
	Disposition *string   `db:"disposition" json:"disposition"`
	EnqueuedAt  time.Time `db:"enqueued_at" json:"enqueued_at"`
	UpdatedAt   time.Time `db:"updated_at" json:"updated_at"`
}

// Offer is one item offered to one agent.
type Offer struct {
	ID         string     `db:"id" json:"id"`
	ItemID     string     `db:"item_id" json:"item_id"`
	AgentID    string     `db:"agent_id" json:"agent_id"`
	State      string     `db:"state" json:"state"`
	OfferedAt  time.Time  `db:"offered_at" json:"offered_at"`
	ClosedAt   *time.Time `db:"closed_at" json:"closed_at"`
	WorkflowID string     `db:"workflow_id" json:"workflow_id"`
	Queue      string     `db:"queue" json:"queue"`
	Channel    string     `db:"channel" json:"channel"`
}

const (
	upsertQueue = `
INSERT INTO queues (name, description, acceptance_timeout_s, wrapup_timeout_s, on_reject, outbound_number, settings)
VALUES (:name, :description, :acceptance_timeout_s, :wrapup_timeout_s, :on_reject, :outbound_number, :settings)
ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, outbound_number = EXCLUDED.outbound_number,
    acceptance_timeout_s = EXCLUDED.acceptance_timeout_s, wrapup_timeout_s = EXCLUDED.wrapup_timeout_s,
    on_reject = EXCLUDED.on_reject, settings = EXCLUDED.settings, updated_at = now()
RETURNING *`

	selectQueue  = `SELECT * FROM queues WHERE name = :name`
	selectQueues = `SELECT * FROM queues ORDER BY name`

	upsertAgent = `
INSERT INTO agents (id, name, max_chats) VALUES (:id, :name, :max_chats)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, max_chats = EXCLUDED.max_chats, updated_at = now()
RETURNING id`

	agentColumns = `SELECT id, name, presence, max_chats, voice_load, chat_load, idle_since, presence_at, created_at, updated_at FROM agents`
	selectAgent  = agentColumns + ` WHERE id = :id`
	selectAgents = agentColumns + `
WHERE (:queue = '' OR id IN (SELECT agent_id FROM queue_members WHERE queue = :queue))
ORDER BY id LIMIT :limit OFFSET :offset`

	selectMemberships = `SELECT queue, agent_id FROM queue_members WHERE agent_id = ANY(:ids) ORDER BY queue`

	insertMember = `INSERT INTO queue_members (queue, agent_id) VALUES (:queue, :agent_id) ON CONFLICT DO NOTHING`
	deleteMember = `DELETE FROM queue_members WHERE queue = :queue AND agent_id = :agent_id`

	// An agent that becomes available with nothing booked starts being idle
	// now. With :only_from set, the change happens only from those presences.
	updatePresence = `
UPDATE agents SET presence = :presence, presence_at = now(), updated_at = now(),
       idle_since = CASE WHEN :presence = 'available' AND voice_load + chat_load = 0 AND presence <> 'available'
                         THEN now() ELSE idle_since END
WHERE id = :id AND (coalesce(cardinality(CAST(:only_from AS text[])), 0) = 0 OR presence = ANY(CAST(:only_from AS text[])))
RETURNING presence`

	selectPresence = `SELECT presence FROM agents WHERE id = :id`

	selectAgentQueues = `SELECT queue FROM queue_members WHERE agent_id = :id ORDER BY queue`

	// An agent whose offer ran out goes on break, unless it already left.
	breakAgent = `UPDATE agents SET presence = 'on_break', presence_at = now(), updated_at = now() WHERE id = :id AND presence = 'available'`

	// An agent that finished its last item goes to wrap-up for the queue's
	// post-processing time, unless it already left or there is none.
	wrapUpAgent = `
UPDATE agents SET presence = 'wrap_up', presence_at = now(), updated_at = now()
WHERE id = :id AND presence = 'available' AND voice_load + chat_load = 0 AND :wrapup_s > 0
RETURNING presence`

	insertItem = `
INSERT INTO work_items (id, queue, channel, kind, workflow_id, position, target_agent)
VALUES (:id, :queue, :channel, :kind, :workflow_id, :position, :target_agent)
ON CONFLICT (id) DO NOTHING`

	// Replacing: the old item gives up its position (marked done) so the new one can hold it.
	takePosition = `
UPDATE work_items SET state = 'done', updated_at = now()
WHERE id = :id AND state = 'waiting'
RETURNING position`

	selectItem = `SELECT id, queue, channel, kind, workflow_id, position, state, agent_id, disposition, enqueued_at, updated_at FROM work_items WHERE id = :id`

	lockDispatch = `SELECT pg_advisory_xact_lock(7271001)`

	// Whether any member of the queues could take any work now: without
	// one, dispatch has nothing to do and need not queue for the lock.
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

	// Releasing the last booking makes an available agent idle from now.
	releaseAgent = `
UPDATE agents SET voice_load = greatest(voice_load - CASE WHEN :channel = 'voice' THEN 1 ELSE 0 END, 0),
                  chat_load  = greatest(chat_load  - CASE WHEN :channel = 'chat'  THEN 1 ELSE 0 END, 0),
                  idle_since = CASE WHEN voice_load + chat_load - 1 <= 0 THEN now() ELSE idle_since END,
                  updated_at = now()
WHERE id = :id
RETURNING voice_load + chat_load`

	markOffered = `UPDATE work_items SET state = 'offered', agent_id = :agent_id, updated_at = now() WHERE id = :id`

	insertOffer = `INSERT INTO offers (id, item_id, agent_id) VALUES (:id, :item_id, :agent_id)`

	offerColumns = `
SELECT o.id, o.item_id, o.agent_id, o.state, o.offered_at, o.closed_at, i.workflow_id, i.queue, i.channel
FROM offers o JOIN work_items i ON i.id = o.item_id`

	// Offers made by this dispatch, and any an earlier dispatch made but whose
	// item process never acknowledged (its dispatcher died before telling it).
	selectUndelivered = offerColumns + `
WHERE o.state = 'pending' AND o.acked_at IS NULL
  AND (o.id = ANY(:new) OR o.offered_at < now() - interval '10 seconds')
ORDER BY o.offered_at LIMIT 500`

	selectOffer = offerColumns + ` WHERE o.id = :id`

	selectOffersForAgent = offerColumns + ` WHERE o.agent_id = :agent_id AND o.state = 'pending' ORDER BY o.offered_at`

	ackOffer = `UPDATE offers SET acked_at = now() WHERE id = :id AND acked_at IS NULL`

	acceptOffer = `UPDATE offers SET state = 'accepted', closed_at = now() WHERE id = :id AND state = 'pending'`

	closeOffer = `UPDATE offers SET state = :state, closed_at = now() WHERE id = :id AND state = 'pending'`

	assignItem = `UPDATE work_items SET state = 'assigned', updated_at = now() WHERE id = :id AND state = 'offered'`

	requeueItem = `
UPDATE work_items SET state = 'waiting', agent_id = NULL, updated_at = now(),
       excluded = CASE WHEN :exclude THEN array_append(excluded, CAST(:agent_id AS text)) ELSE excluded END
WHERE id = :id AND state = 'offered'`

	finishItem = `
UPDATE work_items SET state = 'done', disposition = coalesce(:disposition, disposition), updated_at = now()
WHERE id = :id AND state <> 'done'
RETURNING state`

	setDisposition = `UPDATE work_items SET disposition = :disposition, updated_at = now() WHERE id = :id`

	pendingOfferOfItem = `SELECT id FROM offers WHERE item_id = :item_id AND state = 'pending'`

	selectQueueWaiting = `
SELECT id, queue, channel, kind, workflow_id, position, state, agent_id, disposition, enqueued_at, updated_at
FROM work_items WHERE queue = :queue AND state IN ('waiting', 'offered') ORDER BY position`
)

var queueFields = map[string]string{}
var memberFields = map[string]string{"queue_members_queue_fkey": "queue", "queue_members_agent_id_fkey": "agent_id"}
var itemFields = map[string]string{"work_items_queue_fkey": "queue", "work_items_target_agent_fkey": "agent_id"}

// UpsertQueue creates a queue or changes its settings.
func (s *Store) UpsertQueue(ctx context.Context, q Queue) (Queue, error) {
	if len(q.Settings) == 0 {
		q.Settings = json.RawMessage(`{}`)
	}
	var out Queue
	if err := s.namedGet(ctx, &out, upsertQueue, q); err != nil {
		return Queue{}, fmt.Errorf("upsert queue %s: %w", q.Name, constraintErr(err, queueFields))
	}
	return out, nil
}

// GetQueue returns a queue or ErrNotFound.
func (s *Store) GetQueue(ctx context.Context, name string) (Queue, error) {
	var q Queue
	if err := s.namedGet(ctx, &q, selectQueue, map[string]any{"name": name}); err != nil {
		return Queue{}, fmt.Errorf("get queue %s: %w", name, err)
	}
	return q, nil
}

// ListQueues returns every queue by name.
func (s *Store) ListQueues(ctx context.Context) ([]Queue, error) {
	out := []Queue{}
	if err := s.namedSelect(ctx, &out, selectQueues, map[string]any{}); err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	return out, nil
}

// UpsertAgent creates an agent (offline) or changes its name and chat
// capacity.
func (s *Store) UpsertAgent(ctx context.Context, id, name string, maxChats int) (Agent, error) {
	var got string
	if err := s.namedGet(ctx, &got, upsertAgent, map[string]any{"id": id, "name": name, "max_chats": maxChats}); err != nil {
		return Agent{}, fmt.Errorf("upsert agent %s: %w", id, constraintErr(err, nil))
	}
	return s.GetAgent(ctx, id)
}

// GetAgent returns an agent with its queues, or ErrNotFound.
func (s *Store) GetAgent(ctx context.Context, id string) (Agent, error) {
	var a Agent
	if err := s.namedGet(ctx, &a, selectAgent, map[string]any{"id": id}); err != nil {
		return Agent{}, fmt.Errorf("get agent %s: %w", id, err)
	}
	list := []Agent{a}
	if err := s.loadMemberships(ctx, list); err != nil {
		return Agent{}, err
	}
	return list[0], nil
}

// ListAgents lists agents, optionally only the members of queue.
func (s *Store) ListAgents(ctx context.Context, queue string, limit, offset int) ([]Agent, error) {
	out := []Agent{}
	if err := s.namedSelect(ctx, &out, selectAgents, map[string]any{"queue": queue, "limit": limit, "offset": offset}); err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	if err := s.loadMemberships(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) loadMemberships(ctx context.Context, agents []Agent) error {
	if len(agents) == 0 {
		return nil
	}
	ids := make([]string, len(agents))
	index := map[string]int{}
	for i, a := range agents {
		ids[i] = a.ID
		index[a.ID] = i
		agents[i].Queues = []string{}
	}
	var rows []struct {
		Queue   string `db:"queue"`
		AgentID string `db:"agent_id"`
	}
	if err := s.namedSelect(ctx, &rows, selectMemberships, map[string]any{"ids": pq.Array(ids)}); err != nil {
		return fmt.Errorf("load queue memberships: %w", err)
	}
	for _, r := range rows {
		agents[index[r.AgentID]].Queues = append(agents[index[r.AgentID]].Queues, r.Queue)
	}
	return nil
}

// SetMembership adds agentID to queue or removes it; both are idempotent.
func (s *Store) SetMembership(ctx context.Context, queue, agentID string, member bool) error {
	q := deleteMember
	if member {
		q = insertMember
	}
	if _, err := s.namedExec(ctx, q, map[string]any{"queue": queue, "agent_id": agentID}); err != nil {
		return fmt.Errorf("set membership of %s in %s: %w", agentID, queue, constraintErr(err, memberFields))
	}
	return nil
}

// SetPresence records an agent's presence and returns the presence it has
// now. With onlyFrom given, the change happens only from one of those
// presences (a timer ending wrap-up must not undo a break the agent took).
func (s *Store) SetPresence(ctx context.Context, agentID, presence string, onlyFrom ...string) (string, error) {
	p, _, err := s.ChangePresence(ctx, agentID, presence, onlyFrom...)
	return p, err
}

// ChangePresence is SetPresence that also says whether the change applied.
func (s *Store) ChangePresence(ctx context.Context, agentID, presence string, onlyFrom ...string) (string, bool, error) {
	var got string
	err := s.namedGet(ctx, &got, updatePresence, map[string]any{"id": agentID, "presence": presence, "only_from": pq.Array(onlyFrom)})
	if err == nil {
		return got, true, nil
	}
	if errors.Is(err, ErrNotFound) {
		err = s.namedGet(ctx, &got, selectPresence, map[string]any{"id": agentID})
	}
	if err != nil {
		return "", false, fmt.Errorf("set presence of %s: %w", agentID, err)
	}
	return got, false, nil
}

// AgentQueues lists the queues an agent is a member of.
func (s *Store) AgentQueues(ctx context.Context, agentID string) ([]string, error) {
	out := []string{}
	if err := s.namedSelect(ctx, &out, selectAgentQueues, map[string]any{"id": agentID}); err != nil {
		return nil, fmt.Errorf("queues of %s: %w", agentID, err)
	}
	return out, nil
}

// NewWorkItem is what Enqueue needs. ReplacesID names a waiting item whose
// position the new item takes over (a callback for a caller who waited).
// TargetAgent restricts the item to one agent (a transfer to an agent).
type NewWorkItem struct {
	ID          string
	Queue       string
	Channel     string
	Kind        string
	WorkflowID  string
	ReplacesID  string
	TargetAgent string
	// Position, when set, is the place in line drawn when the contact
	// arrived (NextPosition); otherwise the item is placed at the end now.
	Position int64
}

// Enqueue puts an item in its queue; enqueueing the same id again changes
// nothing, so the activity may be retried.
func (s *Store) Enqueue(ctx context.Context, n NewWorkItem) (WorkItem, error) {
	err := s.InTx(ctx, func(tx *Store) error {
		var existing WorkItem
		err := tx.namedGet(ctx, &existing, selectItem, map[string]any{"id": n.ID})
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		var position int64
		if n.ReplacesID != "" {
			err := tx.namedGet(ctx, &position, takePosition, map[string]any{"id": n.ReplacesID})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("take over position of %s: %w", n.ReplacesID, err)
			}
		}
		if position == 0 {
			position = n.Position
		}
		if position == 0 {
			if err := tx.namedGet(ctx, &position, `SELECT nextval('work_item_position')`, map[string]any{}); err != nil {
				return fmt.Errorf("next position: %w", err)
			}
		}
		var target *string
		if n.TargetAgent != "" {
			target = &n.TargetAgent
		}
		_, err = tx.namedExec(ctx, insertItem, map[string]any{
			"id": n.ID, "queue": n.Queue, "channel": n.Channel, "kind": n.Kind, "workflow_id": n.WorkflowID,
			"position": position, "target_agent": target,
		})
		return constraintErr(err, itemFields)
	})
	if err != nil {
		return WorkItem{}, fmt.Errorf("enqueue %s: %w", n.ID, err)
	}
	return s.GetWorkItem(ctx, n.ID)
}

// GetWorkItem returns an item or ErrNotFound.
func (s *Store) GetWorkItem(ctx context.Context, id string) (WorkItem, error) {
	var it WorkItem
	if err := s.namedGet(ctx, &it, selectItem, map[string]any{"id": id}); err != nil {
		return WorkItem{}, fmt.Errorf("get work item %s: %w", id, err)
	}
	return it, nil
}

// Dispatch matches waiting items of queues, oldest first, with the
// longest-idle eligible member of each item's queue, and books them: the
// item becomes offered, the agent's load grows, an offer is recorded. One
// transaction under one advisory lock, so however many workers and API
// replicas dispatch at once, no agent and no item is booked twice.
// It returns every pending offer not yet signalled to its item's workflow
// (the new ones and any a crashed dispatcher left behind).
func (s *Store) Dispatch(ctx context.Context, queues []string) ([]Offer, error) {
	var made []string
	var free bool
	if err := s.namedGet(ctx, &free, anyAgentFree, map[string]any{"queues": pq.Array(queues)}); err != nil {
		return nil, fmt.Errorf("dispatch %v: look for a free agent: %w", queues, err)
	}
	err := s.InTx(ctx, func(tx *Store) error {
		if !free {
			return nil // an agent that frees up dispatches its own queues
		}
		if _, err := tx.namedExec(ctx, lockDispatch, map[string]any{}); err != nil {
			return fmt.Errorf("take dispatch lock: %w", err)
		}
		var waiting []struct {
			ID       string         `db:"id"`
			Queue    string         `db:"queue"`
			Channel  string         `db:"channel"`
			Excluded pq.StringArray `db:"excluded"`
			Target   string         `db:"target_agent"`
		}
		if err := tx.namedSelect(ctx, &waiting, selectWaiting, map[string]any{"queues": pq.Array(queues)}); err != nil {
			return fmt.Errorf("read waiting items: %w", err)
		}
		// A queue and channel that found no agent for an item open to every
		// member has none for the items behind it either.
		full := map[string]bool{}
		for _, it := range waiting {
			if full[it.Queue+"/"+it.Channel] {
				continue
			}
			var agentID string
			err := tx.namedGet(ctx, &agentID, selectEligibleAgent, map[string]any{
				"queue": it.Queue, "channel": it.Channel, "excluded": pq.Array([]string(it.Excluded)), "target": it.Target,
			})
			if errors.Is(err, ErrNotFound) {
				if it.Target == "" && len(it.Excluded) == 0 {
					full[it.Queue+"/"+it.Channel] = true
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("find agent for %s: %w", it.ID, err)
			}
			if _, err := tx.namedExec(ctx, bookAgent, map[string]any{"id": agentID, "channel": it.Channel}); err != nil {
				return fmt.Errorf("book agent %s: %w", agentID, err)
			}
			if _, err := tx.namedExec(ctx, markOffered, map[string]any{"id": it.ID, "agent_id": agentID}); err != nil {
				return fmt.Errorf("mark %s offered: %w", it.ID, err)
			}
			id := "offer-" + uuid.NewString()
			if _, err := tx.namedExec(ctx, insertOffer, map[string]any{"id": id, "item_id": it.ID, "agent_id": agentID}); err != nil {
				return fmt.Errorf("record offer of %s: %w", it.ID, err)
			}
			made = append(made, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch %v: %w", queues, err)
	}
	out := []Offer{}
	if err := s.namedSelect(ctx, &out, selectUndelivered, map[string]any{"new": pq.Array(made)}); err != nil {
		return nil, fmt.Errorf("read undelivered offers: %w", err)
	}
	return out, nil
}

// AckOffer records that the item's process has the offer, so no dispatch
// delivers it again.
func (s *Store) AckOffer(ctx context.Context, offerID string) error {
	if _, err := s.namedExec(ctx, ackOffer, map[string]any{"id": offerID}); err != nil {
		return fmt.Errorf("acknowledge offer %s: %w", offerID, err)
	}
	return nil
}

// GetOffer returns an offer or ErrNotFound.
func (s *Store) GetOffer(ctx context.Context, id string) (Offer, error) {
	var o Offer
	if err := s.namedGet(ctx, &o, selectOffer, map[string]any{"id": id}); err != nil {
		return Offer{}, fmt.Errorf("get offer %s: %w", id, err)
	}
	return o, nil
}

// PendingOffers lists the offers waiting for an agent's answer.
func (s *Store) PendingOffers(ctx context.Context, agentID string) ([]Offer, error) {
	out := []Offer{}
	if err := s.namedSelect(ctx, &out, selectOffersForAgent, map[string]any{"agent_id": agentID}); err != nil {
		return nil, fmt.Errorf("pending offers of %s: %w", agentID, err)
	}
	return out, nil
}

// AcceptOffer assigns the item to the offer's agent. Accepting an accepted
// offer again is a no-op; accepting a closed one is ErrConflict.
func (s *Store) AcceptOffer(ctx context.Context, offerID string) error {
	err := s.InTx(ctx, func(tx *Store) error {
		o, err := tx.GetOffer(ctx, offerID)
		if err != nil {
			return err
		}
		switch o.State {
		case OfferAccepted:
			return nil
		case OfferPending:
		default:
			return fmt.Errorf("%w: offer is %s", ErrConflict, o.State)
		}
		if _, err := tx.namedExec(ctx, acceptOffer, map[string]any{"id": offerID}); err != nil {
			return err
		}
		_, err = tx.namedExec(ctx, assignItem, map[string]any{"id": o.ItemID})
		return err
	})
	if err != nil {
		return fmt.Errorf("accept offer %s: %w", offerID, err)
	}
	return nil
}

// CloseOffer ends a pending offer as rejected, timed out or withdrawn and
// frees the agent. With requeue the item goes back to waiting at its own
// position (excluding the agent when exclude is set); without, it is done.
// Closing a closed offer again is a no-op.
func (s *Store) CloseOffer(ctx context.Context, offerID, state string, requeue, exclude bool) error {
	err := s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.namedExec(ctx, lockDispatch, map[string]any{}); err != nil {
			return err
		}
		o, err := tx.GetOffer(ctx, offerID)
		if err != nil {
			return err
		}
		if o.State != OfferPending {
			return nil
		}
		if _, err := tx.namedExec(ctx, closeOffer, map[string]any{"id": offerID, "state": state}); err != nil {
			return err
		}
		var left int
		if err := tx.namedGet(ctx, &left, releaseAgent, map[string]any{"id": o.AgentID, "channel": o.Channel}); err != nil {
			return fmt.Errorf("release agent %s: %w", o.AgentID, err)
		}
		if state == OfferTimedOut {
			// In the same transaction, so no dispatch can offer it more work first.
			if _, err := tx.namedExec(ctx, breakAgent, map[string]any{"id": o.AgentID}); err != nil {
				return fmt.Errorf("put agent %s on break: %w", o.AgentID, err)
			}
		}
		if requeue {
			_, err = tx.namedExec(ctx, requeueItem, map[string]any{"id": o.ItemID, "agent_id": o.AgentID, "exclude": exclude})
			return err
		}
		var st string
		err = tx.namedGet(ctx, &st, finishItem, map[string]any{"id": o.ItemID, "disposition": nil})
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("close offer %s: %w", offerID, err)
	}
	return nil
}

// FinishedItem says what finishing an item did to its agent.
type FinishedItem struct {
	AgentID     string `json:"agent_id"`    // the agent that was booked, "" if none
	AgentLoad   int    `json:"agent_load"`  // what that agent still has booked
	WrappingUp  bool   `json:"wrapping_up"` // the agent went to wrap-up
	WasAssigned bool   `json:"was_assigned"`
	Position    int64  `json:"position"` // the item's place in line, for a process that re-enters later
}

// FinishItem ends an item for good: waiting, offered or assigned. A pending
// offer is withdrawn and a booked agent freed; an agent that handled the
// item and has nothing else booked goes to wrap-up for wrapUp (none when
// zero), in the same transaction so no dispatch slips in between.
// Finishing a finished item again changes nothing.
func (s *Store) FinishItem(ctx context.Context, itemID string, disposition *string, wrapUp time.Duration) (FinishedItem, error) {
	var f FinishedItem
	err := s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.namedExec(ctx, lockDispatch, map[string]any{}); err != nil {
			return err
		}
		it, err := tx.GetWorkItem(ctx, itemID)
		if err != nil {
			return err
		}
		f.Position = it.Position
		if it.State == ItemDone {
			return nil
		}
		if it.State == ItemOffered {
			var offerID string
			if err := tx.namedGet(ctx, &offerID, pendingOfferOfItem, map[string]any{"item_id": itemID}); err == nil {
				if _, err := tx.namedExec(ctx, closeOffer, map[string]any{"id": offerID, "state": OfferWithdrawn}); err != nil {
					return err
				}
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if (it.State == ItemOffered || it.State == ItemAssigned) && it.AgentID != nil {
			f.AgentID = *it.AgentID
			if err := tx.namedGet(ctx, &f.AgentLoad, releaseAgent, map[string]any{"id": f.AgentID, "channel": it.Channel}); err != nil {
				return fmt.Errorf("release agent %s: %w", f.AgentID, err)
			}
		}
		if it.State == ItemAssigned && f.AgentID != "" {
			f.WasAssigned = true
			var p string
			err := tx.namedGet(ctx, &p, wrapUpAgent, map[string]any{"id": f.AgentID, "wrapup_s": int(wrapUp.Seconds())})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("start wrap-up of %s: %w", f.AgentID, err)
			}
			f.WrappingUp = err == nil
		}
		var st string
		return tx.namedGet(ctx, &st, finishItem, map[string]any{"id": itemID, "disposition": disposition})
	})
	if err != nil {
		return FinishedItem{}, fmt.Errorf("finish work item %s: %w", itemID, err)
	}
	return f, nil
}

// SetDisposition records the disposition code an agent chose for an item.
func (s *Store) SetDisposition(ctx context.Context, itemID, disposition string) error {
	n, err := s.namedExec(ctx, setDisposition, map[string]any{"id": itemID, "disposition": disposition})
	if err != nil {
		return fmt.Errorf("set disposition of %s: %w", itemID, err)
	}
	if n == 0 {
		return fmt.Errorf("set disposition of %s: %w", itemID, ErrNotFound)
	}
	return nil
}

// QueueItems lists a queue's waiting and offered items in order.
func (s *Store) QueueItems(ctx context.Context, queue string) ([]WorkItem, error) {
	out := []WorkItem{}
	if err := s.namedSelect(ctx, &out, selectQueueWaiting, map[string]any{"queue": queue}); err != nil {
		return nil, fmt.Errorf("items of queue %s: %w", queue, err)
	}
	return out, nil
}

const lastFinishedItem = `
SELECT id FROM work_items WHERE agent_id = :agent_id AND state = 'done' ORDER BY updated_at DESC, id LIMIT 1`

// LastFinishedItem is the agent's most recently finished item ("" if none).
func (s *Store) LastFinishedItem(ctx context.Context, agentID string) (string, error) {
	var id string
	err := s.namedGet(ctx, &id, lastFinishedItem, map[string]any{"agent_id": agentID})
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last finished item of %s: %w", agentID, err)
	}
	return id, nil
}

// NextPosition draws a place in line for a contact that has just arrived,
// for its work item to take when its process enqueues it.
func (s *Store) NextPosition(ctx context.Context) (int64, error) {
	var p int64
	if err := s.namedGet(ctx, &p, `SELECT nextval('work_item_position')`, map[string]any{}); err != nil {
		return 0, fmt.Errorf("draw a queue position: %w", err)
	}
	return p, nil
}
