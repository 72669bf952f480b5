package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Callback states. Scheduled, queued and in progress are pending: one
// pending callback per number and queue.
const (
	CallbackScheduled  = "scheduled"   // waiting for its time, a retry, or the queue's opening hours
	CallbackQueued     = "queued"      // waiting in its queue for an agent
	CallbackInProgress = "in_progress" // offered, dialling, or connected
	CallbackCompleted  = "completed"
	CallbackFailed     = "failed"
	CallbackCancelled  = "cancelled"
	CallbackExpired    = "expired"
)

// CallbackPending is the state filter that lists every pending callback.
const CallbackPending = "pending"

// Callback modes.
const (
	CallbackCustomerFirst = "customer_first" // dial the customer, then offer the answered call to an agent
	CallbackAgentFirst    = "agent_first"    // offer to an agent, who previews the context and dials
)

// Outcomes of one dial of a callback.
const (
	AttemptDialing   = "dialing"
	AttemptAnswered  = "answered"  // the customer picked up
	AttemptConnected = "connected" // and an agent is on the call
	AttemptNoAnswer  = "no_answer"
	AttemptBusy      = "busy"
	AttemptVoicemail = "voicemail"
	AttemptFailed    = "failed"  // the platform could not place the call
	AttemptHungUp    = "hung_up" // the customer hung up before an agent took the call
	AttemptNoAgent   = "no_agent"
)

// Callback is a customer's request to be called back, and where it is.
type Callback struct {
	ID                  string            `db:"id" json:"id"`
	Queue               string            `db:"queue" json:"queue"`
	Number              string            `db:"number" json:"number"`
	Mode                string            `db:"mode" json:"mode"`
	State               string            `db:"state" json:"state"`
	Outcome             string            `db:"outcome" json:"outcome"`
	Version             int               `db:"version" json:"version"`
	ScheduledAt         *time.Time        `db:"scheduled_at" json:"scheduled_at"`
	TimeZone            string            `db:"time_zone" json:"time_zone"`
	ExpiresAt           time.Time         `db:"expires_at" json:"expires_at"`
	Reason              string            `db:"reason" json:"reason"`
	IVR                 map[string]string `db:"-" json:"ivr"`
	OriginInteraction   *string           `db:"origin_interaction" json:"origin_interaction"`
	CaseNumber          *string           `db:"case_number" json:"case_number"`
	ReplacesInteraction *string           `db:"replaces_interaction" json:"replaces_interaction"`
	ReplacesItem        *string           `db:"replaces_item" json:"-"`
	LinkedInteractions  pq.StringArray    `db:"linked_interactions" json:"linked_interactions"`
	Attempts            int               `db:"attempts" json:"attempts"`
	MaxAttempts         int               `db:"max_attempts" json:"max_attempts"`
	NextAttemptAt       *time.Time        `db:"next_attempt_at" json:"next_attempt_at"`
	AgentID             *string           `db:"agent_id" json:"agent_id"`
	Interaction         *string           `db:"interaction" json:"interaction"`
	WorkflowID          string            `db:"workflow_id" json:"workflow_id"`
	CreatedBy           string            `db:"created_by" json:"created_by"`
	CreatedAt           time.Time         `db:"created_at" json:"created_at"`
	UpdatedAt           time.Time         `db:"updated_at" json:"updated_at"`
	ClosedAt            *time.Time        `db:"closed_at" json:"closed_at"`
	// DueAt is when a pending callback is next due to be worked: its time,
	// its next attempt, or now (as soon as possible), moved to the queue's
	// next opening. Worked out by the API, not stored.
	DueAt *time.Time `db:"-" json:"due_at,omitempty"`
}

// Pending reports whether the callback has not ended yet.
func (c Callback) Pending() bool { return IsPendingCallbackState(c.State) }

// IsPendingCallbackState reports whether state is one of the pending ones.
func IsPendingCallbackState(state string) bool {
	return state == CallbackScheduled || state == CallbackQueued || state == CallbackInProgress
}

type callbackRow struct {
	Callback
	IVRJSON []byte `db:"ivr"`
}

func (r callbackRow) callback() (Callback, error) {
	c := r.Callback
	c.IVR = map[string]string{}
	if len(r.IVRJSON) > 0 {
		if err := json.Unmarshal(r.IVRJSON, &c.IVR); err != nil {
			return Callback{}, fmt.Errorf("read ivr of %s: %w", c.ID, err)
		}
	}
	if c.LinkedInteractions == nil {
		c.LinkedInteractions = pq.StringArray{}
	}
	return c, nil
}

// NewCallback is what CreateCallback needs. Empty strings are stored as NULL.
type NewCallback struct {
	ID                  string // from NextCallbackID
	WorkflowID          string
	Queue               string
	Number              string // E.164
	Mode                string
	ScheduledAt         *time.Time
	TimeZone            string
	ExpiresAt           time.Time
	Reason              string
	IVR                 map[string]string
	OriginInteraction   string
	CaseNumber          string
	ReplacesInteraction string
	ReplacesItem        string
	MaxAttempts         int
	CreatedBy           string
}

// CallbackChange is the callback process's picture of the fields it owns,
// written whole at Version. A lower or equal version changes nothing.
type CallbackChange struct {
	ID            string
	Version       int
	State         string
	Outcome       string
	Attempts      int
	MaxAttempts   int
	NextAttemptAt *time.Time
	AgentID       string // "" for none
	ScheduledAt   *time.Time
	TimeZone      string
	ExpiresAt     time.Time
}

// CallbackAttempt is one dial of a callback.
type CallbackAttempt struct {
	Callback  string     `db:"callback" json:"callback"`
	Attempt   int        `db:"attempt" json:"attempt"`
	Number    string     `db:"number" json:"number"`
	CallID    *string    `db:"call_id" json:"call_id"`
	AgentID   *string    `db:"agent_id" json:"agent_id"`
	Outcome   string     `db:"outcome" json:"outcome"`
	StartedAt time.Time  `db:"started_at" json:"started_at"`
	EndedAt   *time.Time `db:"ended_at" json:"ended_at"`
}

// CallbackQuery filters a listing; empty fields do not filter. State may be
// CallbackPending for every pending state. From is inclusive, To exclusive,
// both on the creation time.
type CallbackQuery struct {
	Queue    string
	State    string
	From, To *time.Time
	Limit    int
	Offset   int
}

const (
	nextCallbackID = `SELECT format_record_number('CB', nextval('callback_number'))`

	insertCallback = `
INSERT INTO callbacks (id, queue, number, mode, scheduled_at, time_zone, expires_at, reason, ivr, origin_interaction,
    case_number, replaces_interaction, replaces_item, max_attempts, next_attempt_at, workflow_id, created_by)
VALUES (:id, :queue, :number, :mode, :scheduled_at, :time_zone, :expires_at, :reason, CAST(:ivr AS jsonb),
    NULLIF(:origin_interaction, ''), NULLIF(:case_number, ''), NULLIF(:replaces_interaction, ''), NULLIF(:replaces_item, ''),
    :max_attempts, :scheduled_at, :workflow_id, :created_by)
ON CONFLICT (queue, number) WHERE state IN ('scheduled', 'queued', 'in_progress') DO NOTHING`

	callbackColumns = `
SELECT id, queue, number, mode, state, outcome, version, scheduled_at, time_zone, expires_at, reason, ivr,
       origin_interaction, case_number, replaces_interaction, replaces_item, linked_interactions, attempts,
       max_attempts, next_attempt_at, agent_id, interaction, workflow_id, created_by, created_at, updated_at, closed_at
FROM callbacks`

	selectCallback  = callbackColumns + ` WHERE id = :id`
	lockCallback    = selectCallback + ` FOR UPDATE`
	selectPendingCb = callbackColumns + ` WHERE queue = :queue AND number = :number AND state IN ('scheduled', 'queued', 'in_progress')`

	selectPendingForNumber = callbackColumns + `
WHERE number = :number AND (:queue = '' OR queue = :queue) AND state IN ('scheduled', 'queued', 'in_progress')
ORDER BY created_at, id`

	searchCallbacks = callbackColumns + `
WHERE (:queue = '' OR queue = :queue)
  AND (:state = '' OR state = :state OR (:state = 'pending' AND state IN ('scheduled', 'queued', 'in_progress')))
  AND (CAST(:from AS timestamptz) IS NULL OR created_at >= CAST(:from AS timestamptz))
  AND (CAST(:to AS timestamptz) IS NULL OR created_at < CAST(:to AS timestamptz))
ORDER BY created_at DESC, id DESC
LIMIT :limit OFFSET :offset`

	updateCallback = `
UPDATE callbacks SET version = :version, state = :state, outcome = :outcome, attempts = :attempts,
    max_attempts = :max_attempts, next_attempt_at = :next_attempt_at, agent_id = NULLIF(:agent_id, ''),
    scheduled_at = :scheduled_at, time_zone = :time_zone, expires_at = :expires_at, updated_at = now(),
    closed_at = CASE WHEN :state IN ('completed', 'failed', 'cancelled', 'expired') THEN coalesce(closed_at, now()) END
WHERE id = :id AND version < :version`

	linkInteraction = `
UPDATE callbacks SET linked_interactions = array_append(linked_interactions, CAST(:interaction AS text)), updated_at = now()
WHERE id = :id AND NOT (CAST(:interaction AS text) = ANY(linked_interactions))`

	setCallbackInteraction = `UPDATE callbacks SET interaction = :interaction, updated_at = now() WHERE id = :id`

	// A final outcome is never overwritten by a late "dialing".
	upsertAttempt = `
INSERT INTO callback_attempts (callback, attempt, number, call_id, agent_id, outcome, started_at, ended_at)
VALUES (:callback, :attempt, :number, :call_id, :agent_id, :outcome, :started_at, :ended_at)
ON CONFLICT (callback, attempt) DO UPDATE SET
    call_id = coalesce(EXCLUDED.call_id, callback_attempts.call_id),
    agent_id = coalesce(EXCLUDED.agent_id, callback_attempts.agent_id),
    outcome = CASE WHEN EXCLUDED.outcome = 'dialing' THEN callback_attempts.outcome ELSE EXCLUDED.outcome END,
    ended_at = coalesce(EXCLUDED.ended_at, callback_attempts.ended_at)`

	selectAttempts = `
SELECT callback, attempt, number, call_id, agent_id, outcome, started_at, ended_at FROM callback_attempts
WHERE callback = :callback ORDER BY attempt`

	// The item an interaction's process waits in, if it is waiting.
	selectWaitingItemOf = `
SELECT id, queue, channel, kind, workflow_id, position, state, agent_id, disposition, enqueued_at, updated_at
FROM work_items WHERE workflow_id = :workflow_id AND state = 'waiting' ORDER BY position LIMIT 1`
)

var callbackFields = map[string]string{
	"callbacks_queue_fkey":                "queue",
	"callbacks_origin_interaction_fkey":   "context.interaction",
	"callbacks_replaces_interaction_fkey": "replaces_interaction",
	"callbacks_agent_id_fkey":             "agent_id",
	"callbacks_interaction_fkey":          "interaction",
	"callback_attempts_agent_id_fkey":     "agent_id",
	"callback_attempts_callback_fkey":     "callback",
}

var callbackChecks = map[string]checkField{
	"callbacks_id_check":              {"id", "must be CB followed by at least 7 digits"},
	"callbacks_number_check":          {"number", "must be an E.164 number"},
	"callbacks_mode_check":            {"mode", "must be one of: customer_first, agent_first"},
	"callbacks_state_check":           {"state", "must be a callback state"},
	"callbacks_time_zone_check":       {"time_zone", "must be 1 to 64 characters"},
	"callbacks_reason_check":          {"context.reason", "must be at most 500 characters"},
	"callbacks_ivr_check":             {"context.ivr", "must be an object"},
	"callbacks_case_number_check":     {"context.case_number", "must be 1 to 32 characters"},
	"callbacks_workflow_id_check":     {"workflow_id", "is required"},
	"callback_attempts_outcome_check": {"outcome", "must be an attempt outcome"},
	"callbacks_max_attempts_check":    {"max_attempts", "must be 1 to 20"},
	"callbacks_attempts_check":        {"attempts", "must not be negative"},
	"callback_attempts_attempt_check": {"attempt", "must be at least 1"},
	"callbacks_closed_check":          {"state", "closed_at goes with the final states"},
	"callbacks_version_check":         {"version", "must be at least 1"},
}

func callbackErr(err error) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23514" { // check_violation
		if f, ok := callbackChecks[pqErr.Constraint]; ok {
			return &FieldError{Err: ErrInvalid, Field: f.field, Detail: f.detail}
		}
		return fmt.Errorf("%w: %s", ErrInvalid, pqErr.Constraint)
	}
	return constraintErr(err, callbackFields)
}

// NextCallbackID takes the next callback id, CB0000042 style.
func (s *Store) NextCallbackID(ctx context.Context) (string, error) {
	var id string
	if err := s.namedGet(ctx, &id, nextCallbackID, map[string]any{}); err != nil {
		return "", fmt.Errorf("next callback id: %w", err)
	}
	return id, nil
}

// CreateCallback records a callback request unless the number already has a
// pending callback in the queue: then it returns that one and false. The
// partial unique index decides, so two requests at once make one callback.
// Creating the same id again returns it unchanged (a retried request).
func (s *Store) CreateCallback(ctx context.Context, n NewCallback) (Callback, bool, error) {
	if existing, err := s.GetCallback(ctx, n.ID); err == nil {
		return existing, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Callback{}, false, err
	}
	ivr := n.IVR
	if ivr == nil {
		ivr = map[string]string{}
	}
	raw, err := json.Marshal(ivr)
	if err != nil {
		return Callback{}, false, fmt.Errorf("encode ivr: %w", err)
	}
	if n.TimeZone == "" {
		n.TimeZone = "UTC"
	}
	args := map[string]any{
		"id": n.ID, "queue": n.Queue, "number": n.Number, "mode": n.Mode, "scheduled_at": n.ScheduledAt,
		"time_zone": n.TimeZone, "expires_at": n.ExpiresAt, "reason": n.Reason, "ivr": string(raw),
		"origin_interaction": n.OriginInteraction, "case_number": n.CaseNumber,
		"replaces_interaction": n.ReplacesInteraction, "replaces_item": n.ReplacesItem,
		"max_attempts": n.MaxAttempts, "workflow_id": n.WorkflowID, "created_by": n.CreatedBy,
	}
	inserted, err := s.namedExec(ctx, insertCallback, args)
	if err != nil {
		return Callback{}, false, fmt.Errorf("create callback %s: %w", n.ID, callbackErr(err))
	}
	if inserted == 1 {
		cb, err := s.GetCallback(ctx, n.ID)
		return cb, true, err
	}
	var row callbackRow
	if err := s.namedGet(ctx, &row, selectPendingCb, map[string]any{"queue": n.Queue, "number": n.Number}); err != nil {
		// The pending one closed in between: try once more.
		if errors.Is(err, ErrNotFound) {
			if inserted, err = s.namedExec(ctx, insertCallback, args); err == nil && inserted == 1 {
				cb, err := s.GetCallback(ctx, n.ID)
				return cb, true, err
			}
		}
		return Callback{}, false, fmt.Errorf("find pending callback of queue %s: %w", n.Queue, err)
	}
	cb, err := row.callback()
	return cb, false, err
}

// GetCallback returns a callback or ErrNotFound.
func (s *Store) GetCallback(ctx context.Context, id string) (Callback, error) {
	var row callbackRow
	if err := s.namedGet(ctx, &row, selectCallback, map[string]any{"id": id}); err != nil {
		return Callback{}, fmt.Errorf("get callback %s: %w", id, err)
	}
	return row.callback()
}

// ListCallbacks lists the callbacks matching every set filter, newest first.
func (s *Store) ListCallbacks(ctx context.Context, q CallbackQuery) ([]Callback, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	var rows []callbackRow
	err := s.namedSelect(ctx, &rows, searchCallbacks, map[string]any{
		"queue": q.Queue, "state": q.State, "from": q.From, "to": q.To, "limit": q.Limit, "offset": q.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list callbacks: %w", err)
	}
	return callbacksOf(rows)
}

// PendingCallbacks lists the pending callbacks of a number, in one queue or
// (queue "") in all of them.
func (s *Store) PendingCallbacks(ctx context.Context, number, queue string) ([]Callback, error) {
	var rows []callbackRow
	if err := s.namedSelect(ctx, &rows, selectPendingForNumber, map[string]any{"number": number, "queue": queue}); err != nil {
		return nil, fmt.Errorf("pending callbacks: %w", err)
	}
	return callbacksOf(rows)
}

func callbacksOf(rows []callbackRow) ([]Callback, error) {
	out := make([]Callback, 0, len(rows))
	for _, r := range rows {
		cb, err := r.callback()
		if err != nil {
			return nil, err
		}
		out = append(out, cb)
	}
	return out, nil
}

// ChangeCallback writes the callback process's step at c.Version; a lower or
// equal version (a retried or late write) changes nothing. It returns the
// callback as it is now.
func (s *Store) ChangeCallback(ctx context.Context, c CallbackChange) (Callback, error) {
	if err := s.ApplyCallbackChange(ctx, c); err != nil {
		return Callback{}, err
	}
	return s.GetCallback(ctx, c.ID)
}

// ApplyCallbackChange is ChangeCallback for a step that does not read the
// callback back (a routing step writing the process's record).
func (s *Store) ApplyCallbackChange(ctx context.Context, c CallbackChange) error {
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	_, err := s.namedExec(ctx, updateCallback, map[string]any{
		"id": c.ID, "version": c.Version, "state": c.State, "outcome": c.Outcome, "attempts": c.Attempts,
		"max_attempts": c.MaxAttempts, "next_attempt_at": c.NextAttemptAt, "agent_id": c.AgentID,
		"scheduled_at": c.ScheduledAt, "time_zone": c.TimeZone, "expires_at": c.ExpiresAt,
	})
	if err != nil {
		return fmt.Errorf("change callback %s: %w", c.ID, callbackErr(err))
	}
	return nil
}

// LinkInteraction notes an inbound call from the callback's number on it;
// linking it again changes nothing.
func (s *Store) LinkInteraction(ctx context.Context, callbackID, interaction string) error {
	if _, err := s.namedExec(ctx, linkInteraction, map[string]any{"id": callbackID, "interaction": interaction}); err != nil {
		return fmt.Errorf("link %s to callback %s: %w", interaction, callbackID, err)
	}
	return nil
}

// RecordCallbackAttempt writes a dial and, later, what came of it. Writing
// it again is safe; an outcome already recorded is not set back to dialing.
func (s *Store) RecordCallbackAttempt(ctx context.Context, a CallbackAttempt) error {
	if a.StartedAt.IsZero() {
		a.StartedAt = time.Now()
	}
	if a.Outcome == "" {
		a.Outcome = AttemptDialing
	}
	if _, err := s.namedExec(ctx, upsertAttempt, a); err != nil {
		return fmt.Errorf("record attempt %d of callback %s: %w", a.Attempt, a.Callback, callbackErr(err))
	}
	return nil
}

// CallbackAttempts lists a callback's dials in order.
func (s *Store) CallbackAttempts(ctx context.Context, id string) ([]CallbackAttempt, error) {
	out := []CallbackAttempt{}
	if err := s.namedSelect(ctx, &out, selectAttempts, map[string]any{"callback": id}); err != nil {
		return nil, fmt.Errorf("attempts of callback %s: %w", id, err)
	}
	return out, nil
}

// OpenCallbackInteraction makes the callback voice interaction of a
// connected callback, once: a second call returns the first interaction.
func (s *Store) OpenCallbackInteraction(ctx context.Context, callbackID string, n NewInteraction) (Interaction, error) {
	var out Interaction
	err := s.InTx(ctx, func(tx *Store) error {
		var row callbackRow
		if err := tx.namedGet(ctx, &row, lockCallback, map[string]any{"id": callbackID}); err != nil {
			return err
		}
		if row.Interaction != nil {
			it, err := tx.GetInteraction(ctx, *row.Interaction)
			out = it
			return err
		}
		number, err := tx.NextInteractionNumber(ctx)
		if err != nil {
			return err
		}
		n.Number = number
		if out, err = tx.CreateInteraction(ctx, n); err != nil {
			return err
		}
		_, err = tx.namedExec(ctx, setCallbackInteraction, map[string]any{"id": callbackID, "interaction": number})
		return err
	})
	if err != nil {
		return Interaction{}, fmt.Errorf("open interaction of callback %s: %w", callbackID, err)
	}
	return out, nil
}

// WaitingWorkItemOf returns the item a process waits in its queue with, or
// ErrNotFound when it is not waiting (offered, assigned, or done).
func (s *Store) WaitingWorkItemOf(ctx context.Context, workflowID string) (WorkItem, error) {
	var it WorkItem
	if err := s.namedGet(ctx, &it, selectWaitingItemOf, map[string]any{"workflow_id": workflowID}); err != nil {
		return WorkItem{}, fmt.Errorf("waiting work item of %s: %w", workflowID, err)
	}
	return it, nil
}
