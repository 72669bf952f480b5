package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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

// What a rejected offer (on_reject) or one left to run out (on_timeout)
// does to its item: offer it again, or close it.
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
	Name               string `db:"name" json:"name"`
	Description        string `db:"description" json:"description"`
	AcceptanceTimeoutS int    `db:"acceptance_timeout_s" json:"acceptance_timeout_seconds"`
	WrapUpTimeoutS     int    `db:"wrapup_timeout_s" json:"wrapup_timeout_seconds"`
	OnReject           string `db:"on_reject" json:"on_reject"`
	OnTimeout          string `db:"on_timeout" json:"on_timeout"` // OnRejectClose or OnRejectReoffer
	OutboundNumber     string `db:"outbound_number" json:"outbound_number"`
	// DispositionRequired: calls and chats of this queue are ended, and its
	// agents' wrap-ups ended by hand, only with a disposition code.
	DispositionRequired bool            `db:"disposition_required" json:"disposition_required"`
	Settings            json.RawMessage `db:"settings" json:"settings"`
	CreatedAt           time.Time       `db:"created_at" json:"created_at"`
	UpdatedAt           time.Time       `db:"updated_at" json:"updated_at"`
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
	// WrapUpItem and WrapUpUntil are the wrap-up routing started when the
	// agent finished its last item: the item and when the time is up.
	WrapUpItem  *string    `db:"wrapup_item" json:"wrapup_item,omitempty"`
	WrapUpUntil *time.Time `db:"wrapup_until" json:"wrapup_until,omitempty"`
	Queues      []string   `db:"-" json:"queues"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at" json:"updated_at"`
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

// Offer is one item offered to one agent. An offer is shown to the agent
// (and answered) once presented; before that the agent is only reserved for
// it (a customer-first callback dialling the customer, or an offer on its
// way to its process).
type Offer struct {
	ID          string     `db:"id" json:"id"`
	ItemID      string     `db:"item_id" json:"item_id"`
	AgentID     string     `db:"agent_id" json:"agent_id"`
	State       string     `db:"state" json:"state"`
	OfferedAt   time.Time  `db:"offered_at" json:"offered_at"`
	PresentedAt *time.Time `db:"presented_at" json:"presented_at,omitempty"`
	ClosedAt    *time.Time `db:"closed_at" json:"closed_at"`
	WorkflowID  string     `db:"workflow_id" json:"workflow_id"`
	Queue       string     `db:"queue" json:"queue"`
	Channel     string     `db:"channel" json:"channel"`
	Kind        string     `db:"kind" json:"kind,omitempty"`
	// AcceptBy is when the acceptance time of a presented offer runs out
	// (presented + the queue's acceptance timeout; the process's timer
	// starts a moment later, so an answer by then is in time).
	AcceptBy *time.Time `db:"accept_by" json:"accept_by,omitempty"`
}

// FinishedItem says what finishing an item did to its agent.
type FinishedItem struct {
	AgentID     string     `json:"agent_id"`    // the agent that was booked, "" if none
	AgentLoad   int        `json:"agent_load"`  // what that agent still has booked
	WrappingUp  bool       `json:"wrapping_up"` // the agent went to wrap-up
	WrapUpUntil *time.Time `json:"wrapup_until,omitempty"`
	PresenceSeq int64      `json:"presence_seq,omitempty"` // the agent's presence change that started the wrap-up
	WasAssigned bool       `json:"was_assigned"`
	Position    int64      `json:"position"` // the item's place in line, for a process that re-enters later
}

const (
	upsertQueue = `
INSERT INTO queues (name, description, acceptance_timeout_s, wrapup_timeout_s, on_reject, on_timeout, outbound_number,
    disposition_required, settings)
VALUES (:name, :description, :acceptance_timeout_s, :wrapup_timeout_s, :on_reject, :on_timeout, :outbound_number,
    :disposition_required, CAST(CAST(:settings AS text) AS jsonb))
ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, outbound_number = EXCLUDED.outbound_number,
    acceptance_timeout_s = EXCLUDED.acceptance_timeout_s, wrapup_timeout_s = EXCLUDED.wrapup_timeout_s,
    on_reject = EXCLUDED.on_reject, on_timeout = EXCLUDED.on_timeout, disposition_required = EXCLUDED.disposition_required,
    settings = EXCLUDED.settings, updated_at = now()
RETURNING *`

	selectQueue  = `SELECT * FROM queues WHERE name = :name`
	selectQueues = `SELECT * FROM queues ORDER BY name`

	upsertAgent = `
INSERT INTO agents (id, name, max_chats) VALUES (:id, :name, :max_chats)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, max_chats = EXCLUDED.max_chats, updated_at = now()
RETURNING id`

	agentColumns = `SELECT id, name, presence, max_chats, voice_load, chat_load, idle_since, presence_at,
       wrapup_item, wrapup_until, created_at, updated_at FROM agents`
	selectAgent  = agentColumns + ` WHERE id = :id`
	selectAgents = agentColumns + `
WHERE (:queue = '' OR id IN (SELECT agent_id FROM queue_members WHERE queue = :queue))
ORDER BY id LIMIT :limit OFFSET :offset`

	selectMemberships = `SELECT queue, agent_id FROM queue_members WHERE agent_id = ANY(:ids) ORDER BY queue`

	insertMember = `INSERT INTO queue_members (queue, agent_id) VALUES (:queue, :agent_id) ON CONFLICT DO NOTHING`
	deleteMember = `DELETE FROM queue_members WHERE queue = :queue AND agent_id = :agent_id`

	selectAgentQueues = `SELECT queue FROM queue_members WHERE agent_id = :id ORDER BY queue`

	selectItem = `SELECT id, queue, channel, kind, workflow_id, position, state, agent_id, disposition, enqueued_at, updated_at FROM work_items WHERE id = :id`

	offerColumns = `
SELECT o.id, o.item_id, o.agent_id, o.state, o.offered_at, o.presented_at, o.closed_at, i.workflow_id, i.queue, i.channel, i.kind,
       o.presented_at + make_interval(secs => q.acceptance_timeout_s) AS accept_by
FROM offers o JOIN work_items i ON i.id = o.item_id JOIN queues q ON q.name = i.queue`

	selectOffer = offerColumns + ` WHERE o.id = :id`

	selectOffers = offerColumns + ` WHERE o.id = ANY(:ids) ORDER BY o.offered_at, o.id`

	selectPresentedOffers = offerColumns + `
WHERE o.agent_id = :agent_id AND o.state = 'pending' AND o.presented_at IS NOT NULL ORDER BY o.offered_at`

	selectReservations = offerColumns + `
WHERE o.agent_id = :agent_id AND o.state = 'pending' AND o.presented_at IS NULL ORDER BY o.offered_at`

	selectQueueWaiting = `
SELECT id, queue, channel, kind, workflow_id, position, state, agent_id, disposition, enqueued_at, updated_at
FROM work_items WHERE queue = :queue AND state IN ('waiting', 'offered') ORDER BY position`
)

var queueFields = map[string]string{}
var memberFields = map[string]string{"queue_members_queue_fkey": "queue", "queue_members_agent_id_fkey": "agent_id"}

// ItemFields names the request fields behind work item constraints.
var ItemFields = map[string]string{"work_items_queue_fkey": "queue", "work_items_target_agent_fkey": "agent_id"}

// UpsertQueue creates a queue or changes its settings.
func (s *Store) UpsertQueue(ctx context.Context, q Queue) (Queue, error) {
	if len(q.Settings) == 0 {
		q.Settings = json.RawMessage(`{}`)
	}
	if q.OnTimeout == "" {
		q.OnTimeout = OnRejectReoffer
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

// GetWorkItem returns an item or ErrNotFound.
func (s *Store) GetWorkItem(ctx context.Context, id string) (WorkItem, error) {
	var it WorkItem
	if err := s.namedGet(ctx, &it, selectItem, map[string]any{"id": id}); err != nil {
		return WorkItem{}, fmt.Errorf("get work item %s: %w", id, err)
	}
	return it, nil
}

// GetOffer returns an offer or ErrNotFound.
func (s *Store) GetOffer(ctx context.Context, id string) (Offer, error) {
	var o Offer
	if err := s.namedGet(ctx, &o, selectOffer, map[string]any{"id": id}); err != nil {
		return Offer{}, fmt.Errorf("get offer %s: %w", id, err)
	}
	return o, nil
}

// PendingOffers lists the offers shown to an agent and waiting for its
// answer: presented by their processes, so an answer is taken at once.
func (s *Store) PendingOffers(ctx context.Context, agentID string) ([]Offer, error) {
	out := []Offer{}
	if err := s.namedSelect(ctx, &out, selectPresentedOffers, map[string]any{"agent_id": agentID}); err != nil {
		return nil, fmt.Errorf("pending offers of %s: %w", agentID, err)
	}
	return out, nil
}

// Reservations lists the work an agent is booked for but not yet offered:
// a customer-first callback dialling its customer, or an offer on its way.
func (s *Store) Reservations(ctx context.Context, agentID string) ([]Offer, error) {
	out := []Offer{}
	if err := s.namedSelect(ctx, &out, selectReservations, map[string]any{"agent_id": agentID}); err != nil {
		return nil, fmt.Errorf("reservations of %s: %w", agentID, err)
	}
	return out, nil
}

const selectAgentWork = `
SELECT id, queue, channel, kind, workflow_id, position, state, agent_id, disposition, enqueued_at, updated_at
FROM work_items WHERE agent_id = :agent_id AND state = 'assigned' ORDER BY updated_at, id`

// AgentWork lists the items an agent has accepted and not finished.
func (s *Store) AgentWork(ctx context.Context, agentID string) ([]WorkItem, error) {
	out := []WorkItem{}
	if err := s.namedSelect(ctx, &out, selectAgentWork, map[string]any{"agent_id": agentID}); err != nil {
		return nil, fmt.Errorf("work of %s: %w", agentID, err)
	}
	return out, nil
}

const selectBookedFor = `
SELECT EXISTS (SELECT 1 FROM offers o JOIN work_items i ON i.id = o.item_id
               WHERE o.agent_id = :agent_id AND o.state = 'pending' AND i.workflow_id = :workflow_id)`

// BookedFor says whether routing has the agent booked for the process's
// item now: reserved for it, or offered it.
func (s *Store) BookedFor(ctx context.Context, agentID, workflowID string) (bool, error) {
	var held bool
	if err := s.namedGet(ctx, &held, selectBookedFor, map[string]any{"agent_id": agentID, "workflow_id": workflowID}); err != nil {
		return false, fmt.Errorf("is %s booked for %s: %w", agentID, workflowID, err)
	}
	return held, nil
}

// Offers returns the offers with the given ids, oldest first.
func (s *Store) Offers(ctx context.Context, ids []string) ([]Offer, error) {
	out := []Offer{}
	if len(ids) == 0 {
		return out, nil
	}
	if err := s.namedSelect(ctx, &out, selectOffers, map[string]any{"ids": pq.Array(ids)}); err != nil {
		return nil, fmt.Errorf("read offers: %w", err)
	}
	return out, nil
}

// QueueItems lists a queue's waiting and offered items in order.
func (s *Store) QueueItems(ctx context.Context, queue string) ([]WorkItem, error) {
	out := []WorkItem{}
	if err := s.namedSelect(ctx, &out, selectQueueWaiting, map[string]any{"queue": queue}); err != nil {
		return nil, fmt.Errorf("items of queue %s: %w", queue, err)
	}
	return out, nil
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
