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

// Interaction states. An inbound call goes New -> Pending Acceptance (offered
// to an agent) -> Work In Progress (accepted) -> Closed Complete; an outbound
// call opens in Work In Progress. The interaction process decides the moves;
// the store records them.
const (
	InteractionNew               = "new"
	InteractionPendingAcceptance = "pending_acceptance"
	InteractionWorkInProgress    = "work_in_progress"
	InteractionClosedComplete    = "closed_complete"
)

// Interaction channels (the "type" of an interaction).
const (
	InteractionPhone       = "phone"
	InteractionChat        = "chat"
	InteractionEmail       = "email"
	InteractionWalkIn      = "walk_in"
	InteractionSelfService = "self_service"
)

// Interaction directions.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// Kinds of record related to an interaction. RelatedIncident and
// RelatedRequest are also the kinds Escalate creates.
const (
	RelatedCase     = "case"
	RelatedIncident = "incident"
	RelatedRequest  = "request"
)

// Chat message senders.
const (
	SenderCustomer = "customer"
	SenderAgent    = "agent"
)

// ErrInvalid means the schema refused a value (a CHECK constraint): retrying
// the same write cannot succeed.
var ErrInvalid = errors.New("invalid value")

// Interaction is the record of one point of contact: a call, chat, email,
// walk-in or self-service session.
type Interaction struct {
	Number           string            `db:"number" json:"number"`
	Channel          string            `db:"channel" json:"channel"`
	Direction        string            `db:"direction" json:"direction"`
	State            string            `db:"state" json:"state"`
	Version          int               `db:"version" json:"version"`
	ContactID        *uuid.UUID        `db:"contact_id" json:"contact_id"`
	CompanyID        *uuid.UUID        `db:"company_id" json:"company_id"`
	ContactEmail     *string           `db:"contact_email" json:"contact_email"`
	ContactPhone     *string           `db:"contact_phone" json:"contact_phone"`
	Queue            *string           `db:"queue" json:"queue"`
	AgentID          *string           `db:"agent_id" json:"agent_id"`
	ShortDescription string            `db:"short_description" json:"short_description"`
	Description      string            `db:"description" json:"description"`
	IVR              map[string]string `db:"-" json:"ivr"`
	IVRCaseNumber    *string           `db:"ivr_case_number" json:"ivr_case_number"` // as the caller keyed it
	CallID           *string           `db:"call_id" json:"call_id"`
	ChatID           *string           `db:"chat_id" json:"chat_id"`
	Disposition      *string           `db:"disposition" json:"disposition"`
	WorkflowID       string            `db:"workflow_id" json:"workflow_id"`
	CreatedBy        *string           `db:"created_by" json:"created_by"`
	CreatedAt        time.Time         `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time         `db:"updated_at" json:"updated_at"`
	AcceptedAt       *time.Time        `db:"accepted_at" json:"accepted_at"`
	ClosedAt         *time.Time        `db:"closed_at" json:"closed_at"`
	Related          []RelatedRecord   `db:"-" json:"related"`
}

// interactionRow reads an interaction with its IVR selections still JSON.
type interactionRow struct {
	Interaction
	IVRJSON []byte `db:"ivr"`
}

func (r interactionRow) interaction() (Interaction, error) {
	i := r.Interaction
	i.IVR = map[string]string{}
	if len(r.IVRJSON) > 0 {
		if err := json.Unmarshal(r.IVRJSON, &i.IVR); err != nil {
			return Interaction{}, fmt.Errorf("read ivr of %s: %w", i.Number, err)
		}
	}
	i.Related = []RelatedRecord{}
	return i, nil
}

// RelatedRecord is a case, incident or request related to an interaction.
type RelatedRecord struct {
	Kind      string    `db:"kind" json:"kind"`
	Ref       string    `db:"ref" json:"ref"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// NewInteraction is what CreateInteraction needs. Empty strings are stored
// as NULL.
type NewInteraction struct {
	Number     string // from NextInteractionNumber
	Channel    string
	Direction  string
	State      string
	WorkflowID string

	ContactID    *uuid.UUID
	CompanyID    *uuid.UUID
	ContactEmail string
	ContactPhone string
	Queue        string
	AgentID      string
	CallID       string
	ChatID       string
	CreatedBy    string

	ShortDescription string
	Description      string
	IVR              map[string]string
	// CaseNumber, when set, becomes a related case record.
	CaseNumber string
	// Actor and Reason go into the first history entry.
	Actor, Reason string
}

// InteractionChange is one step of the interaction process. Nil fields are
// left as they are; a pointer to "" clears AgentID, Queue, Disposition or
// ContactEmail. An empty State keeps the state.
type InteractionChange struct {
	Number  string
	Version int
	State   string
	Actor   string
	Reason  string

	AgentID      *string
	Queue        *string
	Disposition  *string
	ContactID    *uuid.UUID
	CompanyID    *uuid.UUID
	ContactEmail *string
}

// InteractionQuery filters a listing; empty fields do not filter. From is
// inclusive, To exclusive.
type InteractionQuery struct {
	State       string
	AgentID     string
	Queue       string
	Channel     string
	Disposition string
	ContactID   *uuid.UUID
	CallID      string // the platform's id of the call
	From, To    *time.Time
	Limit       int
	Offset      int
}

// HistoryEntry is one state change of an interaction. FromState is "" for
// the entry that opened it.
type HistoryEntry struct {
	Version   int       `db:"version" json:"version"`
	FromState string    `db:"from_state" json:"from_state"`
	ToState   string    `db:"to_state" json:"to_state"`
	Actor     string    `db:"actor" json:"actor"`
	Reason    string    `db:"reason" json:"reason"`
	At        time.Time `db:"at" json:"at"`
}

// WorkNote is an internal note on an interaction, never shown to the
// customer.
type WorkNote struct {
	ID        int64     `db:"id" json:"id"`
	Author    string    `db:"author" json:"author"`
	Body      string    `db:"body" json:"body"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// PhoneLog is one ended call of an interaction, as the platform reported it.
type PhoneLog struct {
	CallID          string     `db:"call_id" json:"call_id"`
	Interaction     string     `db:"interaction" json:"interaction"`
	FromNumber      string     `db:"from_number" json:"from_number"`
	ToNumber        string     `db:"to_number" json:"to_number"`
	AgentID         *string    `db:"agent_id" json:"agent_id"`
	StartedAt       time.Time  `db:"started_at" json:"started_at"`
	AnsweredAt      *time.Time `db:"answered_at" json:"answered_at"`
	EndedAt         time.Time  `db:"ended_at" json:"ended_at"`
	DurationSeconds int        `db:"duration_seconds" json:"duration_seconds"`
}

// Transfer moves an interaction from an agent to another agent or a queue.
// A zero At is the time it is recorded.
type Transfer struct {
	Interaction string    `db:"interaction" json:"interaction"`
	FromAgent   string    `db:"from_agent" json:"from_agent"`
	ToAgent     *string   `db:"to_agent" json:"to_agent"`
	ToQueue     *string   `db:"to_queue" json:"to_queue"`
	RequestID   string    `db:"request_id" json:"-"`
	At          time.Time `db:"at" json:"at"`
}

// ChatMessage is one message of a chat's transcript.
type ChatMessage struct {
	Seq    int       `db:"seq" json:"seq"`
	Sender string    `db:"sender" json:"sender"`
	Text   string    `db:"text" json:"text"`
	At     time.Time `db:"at" json:"at"`
}

// NewEscalation is what Escalate needs. Kind is RelatedIncident or
// RelatedRequest; ChatTerminatedAt and Transcript are kept for incidents
// only. RequestID makes the escalation idempotent.
type NewEscalation struct {
	Interaction      string
	Kind             string
	RequestID        string
	CaseNumber       string
	ShortDescription string
	Description      string
	Actor            string
	ContactID        *uuid.UUID
	ChatInitiatedAt  *time.Time
	ChatAcceptedAt   *time.Time
	ChatTerminatedAt *time.Time
	Transcript       string
}

// Escalation is an incident or service request an interaction was escalated
// to.
type Escalation struct {
	Kind             string     `db:"kind" json:"kind"`
	Number           string     `db:"number" json:"number"`
	Interaction      string     `db:"interaction" json:"interaction"`
	CaseNumber       *string    `db:"case_number" json:"case_number"`
	ShortDescription string     `db:"short_description" json:"short_description"`
	Description      string     `db:"description" json:"description"`
	ContactID        *uuid.UUID `db:"contact_id" json:"contact_id"`
	ChatInitiatedAt  *time.Time `db:"chat_initiated_at" json:"chat_initiated_at"`
	ChatAcceptedAt   *time.Time `db:"chat_accepted_at" json:"chat_accepted_at"`
	ChatTerminatedAt *time.Time `db:"chat_terminated_at" json:"chat_terminated_at"`
	Transcript       string     `db:"transcript" json:"transcript"`
	State            string     `db:"state" json:"state"`
	AssignedTo       *string    `db:"assigned_to" json:"assigned_to"`
	CreatedBy        string     `db:"created_by" json:"created_by"`
	CreatedAt        time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time  `db:"updated_at" json:"updated_at"`
}

const (
	nextInteractionNumber = `SELECT format_record_number('IMS', nextval('interaction_number'))`

	// Opening in work_in_progress (an outbound call) is accepting it;
	// opening closed (a missed call) is closing it.
	insertInteraction = `
INSERT INTO interactions (number, channel, direction, state, contact_id, company_id, contact_email, contact_phone,
    queue, agent_id, short_description, description, ivr, call_id, chat_id, workflow_id, created_by,
    accepted_at, closed_at)
VALUES (:number, :channel, :direction, :state, :contact_id,
    -- The contact's company and first email and phone fill in what the
    -- opener did not give (seed 001, opened for the contact and its account).
    coalesce(CAST(:company_id AS uuid), (SELECT company_id FROM contacts WHERE id = CAST(:contact_id AS uuid))),
    coalesce(NULLIF(:contact_email, ''), (SELECT value FROM contact_communication_options
        WHERE contact_id = CAST(:contact_id AS uuid) AND kind = 'email' ORDER BY position LIMIT 1)),
    coalesce(NULLIF(:contact_phone, ''), (SELECT value FROM contact_communication_options
        WHERE contact_id = CAST(:contact_id AS uuid) AND kind = 'phone' ORDER BY position LIMIT 1)),
    NULLIF(:queue, ''), NULLIF(:agent_id, ''), :short_description, :description, CAST(:ivr AS jsonb),
    NULLIF(:call_id, ''), NULLIF(:chat_id, ''), :workflow_id, NULLIF(:created_by, ''),
    CASE WHEN :state = 'work_in_progress' THEN now() END,
    CASE WHEN :state = 'closed_complete' THEN now() END)
ON CONFLICT (number) DO NOTHING
RETURNING ` + interactionColumnList

	interactionColumnList = `number, channel, direction, state, version, contact_id, company_id, contact_email, contact_phone,
       queue, agent_id, short_description, description, ivr, ivr_case_number, call_id, chat_id, disposition,
       workflow_id, created_by, created_at, updated_at, accepted_at, closed_at`

	interactionColumns = `
SELECT ` + interactionColumnList + `
FROM interactions`

	selectInteraction = interactionColumns + ` WHERE number = :number`
	lockInteraction   = selectInteraction + ` FOR UPDATE`

	searchInteractions = interactionColumns + `
WHERE (:state = '' OR state = :state)
  AND (:agent_id = '' OR agent_id = :agent_id)
  AND (:queue = '' OR queue = :queue)
  AND (:channel = '' OR channel = :channel)
  AND (:disposition = '' OR disposition = :disposition)
  AND (:call_id = '' OR call_id = :call_id)
  AND (CAST(:contact_id AS uuid) IS NULL OR contact_id = CAST(:contact_id AS uuid))
  AND (CAST(:from AS timestamptz) IS NULL OR created_at >= CAST(:from AS timestamptz))
  AND (CAST(:to AS timestamptz) IS NULL OR created_at < CAST(:to AS timestamptz))
ORDER BY created_at DESC, number DESC
LIMIT :limit OFFSET :offset`

	// accepted_at is the first time the interaction was accepted; closed_at
	// the time it was last closed (cleared if it is reopened).
	// The change, and with it (when :history) its line of the record's
	// history, in one statement (whose count of rows is the history's).
	updateInteraction = `
WITH changed AS (
    UPDATE interactions SET version = :version, state = :state, agent_id = :agent_id, queue = :queue,
        disposition = :disposition, contact_id = :contact_id, company_id = :company_id, contact_email = :contact_email,
        accepted_at = CASE WHEN :state = 'work_in_progress' THEN coalesce(accepted_at, now()) ELSE accepted_at END,
        closed_at = CASE WHEN :state = 'closed_complete' THEN coalesce(closed_at, now()) END,
        updated_at = now()
    WHERE number = :number AND version < :version
    RETURNING number, version)
INSERT INTO interaction_history (interaction, version, from_state, to_state, actor, reason)
SELECT number, version, CAST(:from_state AS text), CAST(:state AS text), CAST(:actor AS text), CAST(:reason AS text)
FROM changed WHERE CAST(:history AS boolean)
ON CONFLICT (interaction, version) DO NOTHING`

	contactCompany = `SELECT company_id FROM contacts WHERE id = :id`

	insertHistory = `
INSERT INTO interaction_history (interaction, version, from_state, to_state, actor, reason)
VALUES (:interaction, :version, :from_state, :to_state, :actor, :reason)
ON CONFLICT (interaction, version) DO NOTHING`

	selectHistory = `
SELECT version, from_state, to_state, actor, reason, at FROM interaction_history
WHERE interaction = :interaction ORDER BY version`

	// The case an interaction is about: the one related last (an IVR entry
	// or a case an agent added or advised on during the contact).
	latestRelatedCase = `
SELECT ref FROM interaction_related WHERE interaction = :interaction AND kind = 'case'
ORDER BY created_at DESC, ref DESC LIMIT 1`

	insertRelated = `
INSERT INTO interaction_related (interaction, kind, ref) VALUES (:interaction, :kind, :ref)
ON CONFLICT (interaction, kind, ref) DO NOTHING`

	selectRelated = `
SELECT interaction, kind, ref, created_at FROM interaction_related
WHERE interaction = ANY(CAST(:numbers AS text[])) ORDER BY interaction, created_at, kind, ref`

	insertNote = `
INSERT INTO interaction_notes (interaction, author, body, request_id)
VALUES (:interaction, :author, :body, NULLIF(:request_id, ''))
ON CONFLICT (request_id) DO NOTHING
RETURNING id, author, body, created_at`

	selectNoteByRequest = `
SELECT id, author, body, created_at FROM interaction_notes
WHERE request_id = :request_id AND interaction = :interaction`

	selectNotes = `
SELECT id, author, body, created_at FROM interaction_notes WHERE interaction = :interaction ORDER BY id`

	insertPhoneLog = `
INSERT INTO phone_logs (call_id, interaction, from_number, to_number, agent_id, started_at, answered_at,
    ended_at, duration_seconds)
VALUES (:call_id, :interaction, :from_number, :to_number, :agent_id, :started_at, :answered_at,
    :ended_at, :duration_seconds)
ON CONFLICT (call_id) DO NOTHING`

	phoneLogColumns = `
SELECT call_id, interaction, from_number, to_number, agent_id, started_at, answered_at, ended_at, duration_seconds
FROM phone_logs`

	selectPhoneLog  = phoneLogColumns + ` WHERE call_id = :call_id`
	selectPhoneLogs = phoneLogColumns + ` WHERE interaction = :interaction ORDER BY started_at, call_id`

	insertTransfer = `
INSERT INTO interaction_transfers (interaction, from_agent, to_agent, to_queue, at, request_id)
VALUES (:interaction, :from_agent, :to_agent, :to_queue, coalesce(CAST(:at AS timestamptz), now()), :request_id)
ON CONFLICT (request_id) DO NOTHING`

	transferColumns = `SELECT interaction, from_agent, to_agent, to_queue, at, request_id FROM interaction_transfers`

	selectTransferByRequest = transferColumns + ` WHERE request_id = :request_id`
	selectTransfers         = transferColumns + ` WHERE interaction = :interaction ORDER BY at, id`

	// The interaction's row is locked first (its own statement, so the
	// insert's snapshot sees every message committed before the lock), so
	// two messages never take the same place.
	lockChat          = `SELECT number FROM interactions WHERE number = :interaction FOR UPDATE`
	insertChatMessage = `
INSERT INTO chat_messages (interaction, seq, sender, text, at, message_key)
SELECT :interaction, coalesce((SELECT max(seq) + 1 FROM chat_messages WHERE interaction = :interaction), 0),
       :sender, :text, :at, :key
ON CONFLICT (interaction, message_key) DO NOTHING`

	selectChatMessages = `SELECT seq, sender, text, at FROM chat_messages WHERE interaction = :interaction ORDER BY seq`

	insertIncident = `
INSERT INTO incidents (interaction, case_number, short_description, description, contact_id,
    chat_initiated_at, chat_accepted_at, chat_terminated_at, transcript, created_by, request_id)
VALUES (:interaction, NULLIF(:case_number, ''), :short_description, :description, :contact_id,
    :chat_initiated_at, :chat_accepted_at, :chat_terminated_at, :transcript, :actor, :request_id)
ON CONFLICT (request_id) DO NOTHING
RETURNING number`

	insertServiceRequest = `
INSERT INTO service_requests (interaction, case_number, short_description, description, contact_id,
    chat_initiated_at, chat_accepted_at, created_by, request_id)
VALUES (:interaction, NULLIF(:case_number, ''), :short_description, :description, :contact_id,
    :chat_initiated_at, :chat_accepted_at, :actor, :request_id)
ON CONFLICT (request_id) DO NOTHING
RETURNING number`

	incidentColumns = `
SELECT 'incident' AS kind, number, interaction, case_number, short_description, description, contact_id,
       chat_initiated_at, chat_accepted_at, chat_terminated_at, transcript, state, assigned_to, created_by,
       created_at, updated_at
FROM incidents`

	serviceRequestColumns = `
SELECT 'request' AS kind, number, interaction, case_number, short_description, description, contact_id,
       chat_initiated_at, chat_accepted_at, CAST(NULL AS timestamptz) AS chat_terminated_at, '' AS transcript,
       state, assigned_to, created_by, created_at, updated_at
FROM service_requests`

	selectIncident                = incidentColumns + ` WHERE number = :number`
	selectIncidentByRequest       = incidentColumns + ` WHERE request_id = :request_id`
	selectServiceRequest          = serviceRequestColumns + ` WHERE number = :number`
	selectServiceRequestByRequest = serviceRequestColumns + ` WHERE request_id = :request_id`

	insertEscalation = `
INSERT INTO escalations (interaction, kind, ref, actor) VALUES (:interaction, :kind, :ref, :actor)
ON CONFLICT (interaction, kind, ref) DO NOTHING`
)

// Foreign keys and unique keys, by constraint, to the field at fault.
var interactionFields = map[string]string{
	"interactions_contact_id_fkey":           "contact_id",
	"interactions_company_id_fkey":           "company_id",
	"interactions_queue_fkey":                "queue",
	"interactions_agent_id_fkey":             "agent_id",
	"interaction_history_interaction_fkey":   "interaction",
	"interaction_notes_interaction_fkey":     "interaction",
	"interaction_notes_request_id_key":       "request_id",
	"interaction_related_interaction_fkey":   "interaction",
	"phone_logs_interaction_fkey":            "interaction",
	"phone_logs_agent_id_fkey":               "agent_id",
	"interaction_transfers_interaction_fkey": "interaction",
	"interaction_transfers_from_agent_fkey":  "from_agent",
	"interaction_transfers_to_agent_fkey":    "to_agent",
	"interaction_transfers_to_queue_fkey":    "to_queue",
	"interaction_transfers_request_id_key":   "request_id",
	"chat_messages_interaction_fkey":         "interaction",
	"incidents_interaction_fkey":             "interaction",
	"incidents_contact_id_fkey":              "contact_id",
	"service_requests_interaction_fkey":      "interaction",
	"service_requests_contact_id_fkey":       "contact_id",
	"escalations_interaction_fkey":           "interaction",
	"interactions_pkey":                      "number",
	"incidents_request_id_key":               "request_id",
	"service_requests_request_id_key":        "request_id",
	"interaction_history_pkey":               "version",
	"interaction_related_pkey":               "ref",
	"chat_messages_pkey":                     "seq",
	"phone_logs_pkey":                        "call_id",
}

type checkField struct{ field, detail string }

// CHECK constraints, by name, to the field at fault and what it must be.
var interactionChecks = map[string]checkField{
	"interactions_number_check":                {"number", "must be IMS followed by at least 7 digits"},
	"interactions_channel_check":               {"channel", "must be one of: phone, chat, email, walk_in, self_service"},
	"interactions_direction_check":             {"direction", "must be one of: inbound, outbound"},
	"interactions_state_check":                 {"state", "must be one of: new, pending_acceptance, work_in_progress, closed_complete"},
	"interactions_version_check":               {"version", "must be at least 1"},
	"interactions_contact_email_check":         {"contact_email", "must be at most 254 characters"},
	"interactions_contact_phone_check":         {"contact_phone", "must be at most 32 characters"},
	"interactions_short_description_check":     {"short_description", "must be at most 500 characters"},
	"interactions_description_check":           {"description", "must be at most 10000 characters"},
	"interactions_workflow_id_check":           {"workflow_id", "is required"},
	"interaction_history_to_state_check":       {"state", "must be one of: new, pending_acceptance, work_in_progress, closed_complete"},
	"interaction_notes_author_check":           {"author", "is required"},
	"interaction_notes_body_check":             {"body", "must be 1 to 10000 characters, not only spaces"},
	"interaction_related_kind_check":           {"kind", "must be one of: case, incident, request"},
	"interaction_related_ref_check":            {"ref", "must be 1 to 64 characters"},
	"phone_logs_call_id_check":                 {"call_id", "is required"},
	"phone_logs_duration_seconds_check":        {"duration_seconds", "must not be negative"},
	"phone_logs_ended_at_check":                {"ended_at", "must not be before started_at"},
	"interaction_transfers_request_id_check":   {"request_id", "is required"},
	"interaction_transfers_target_check":       {"to_agent", "a transfer needs to_agent or to_queue"},
	"chat_messages_seq_check":                  {"seq", "must not be negative"},
	"chat_messages_sender_check":               {"sender", "must be one of: customer, agent"},
	"chat_messages_text_check":                 {"text", "must be at most 20000 characters"},
	"incidents_case_number_check":              {"case_number", "must be at most 64 characters"},
	"incidents_short_description_check":        {"short_description", "must be at most 500 characters"},
	"incidents_description_check":              {"description", "must be at most 10000 characters"},
	"incidents_request_id_check":               {"request_id", "is required"},
	"service_requests_case_number_check":       {"case_number", "must be at most 64 characters"},
	"service_requests_short_description_check": {"short_description", "must be at most 500 characters"},
	"service_requests_description_check":       {"description", "must be at most 10000 characters"},
	"service_requests_request_id_check":        {"request_id", "is required"},
}

// interactionErr is constraintErr that also names the field of a CHECK
// violation, as ErrInvalid.
func interactionErr(err error) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23514" { // check_violation
		if f, ok := interactionChecks[pqErr.Constraint]; ok {
			return &FieldError{Err: ErrInvalid, Field: f.field, Detail: f.detail}
		}
		return fmt.Errorf("%w: %s", ErrInvalid, pqErr.Constraint)
	}
	return constraintErr(err, interactionFields)
}

// NextInteractionNumber takes the next interaction number, IMS0000042 style.
// Numbers taken and not used leave gaps.
func (s *Store) NextInteractionNumber(ctx context.Context) (string, error) {
	var n string
	if err := s.namedGet(ctx, &n, nextInteractionNumber, map[string]any{}); err != nil {
		return "", fmt.Errorf("next interaction number: %w", err)
	}
	return n, nil
}

// CreateInteraction opens an interaction at version 1 with its first history
// entry (from "" to n.State) and, when n names one, its related case, in one
// transaction. It is idempotent by n.Number: when the interaction exists it
// is returned unchanged.
func (s *Store) CreateInteraction(ctx context.Context, n NewInteraction) (Interaction, error) {
	ivr := n.IVR
	if ivr == nil {
		ivr = map[string]string{}
	}
	ivrJSON, err := json.Marshal(ivr)
	if err != nil {
		return Interaction{}, fmt.Errorf("create interaction %s: encode ivr: %w", n.Number, err)
	}
	var out Interaction
	err = s.InTx(ctx, func(tx *Store) error {
		var row interactionRow
		err := tx.namedGet(ctx, &row, insertInteraction, map[string]any{
			"number": n.Number, "channel": n.Channel, "direction": n.Direction, "state": n.State,
			"contact_id": n.ContactID, "company_id": n.CompanyID, "contact_email": n.ContactEmail,
			"contact_phone": n.ContactPhone, "queue": n.Queue, "agent_id": n.AgentID,
			"short_description": n.ShortDescription, "description": n.Description, "ivr": string(ivrJSON),
			"call_id": n.CallID, "chat_id": n.ChatID, "workflow_id": n.WorkflowID, "created_by": n.CreatedBy,
		})
		if errors.Is(err, ErrNotFound) { // it exists: as it is
			out, err = tx.GetInteraction(ctx, n.Number)
			return err
		}
		if err != nil {
			return interactionErr(err)
		}
		if _, err := tx.namedExec(ctx, insertHistory, map[string]any{
			"interaction": n.Number, "version": 1, "from_state": "", "to_state": n.State,
			"actor": n.Actor, "reason": n.Reason,
		}); err != nil {
			return fmt.Errorf("record history: %w", interactionErr(err))
		}
		if n.CaseNumber != "" {
			// The case number given changes the row, and may relate a case.
			if err := tx.recordGivenCase(ctx, n.Number, n.CaseNumber); err != nil {
				return err
			}
			out, err = tx.GetInteraction(ctx, n.Number)
			return err
		}
		// A new row has nothing related yet: it is as it came back.
		out, err = row.interaction()
		return err
	})
	if err != nil {
		return Interaction{}, fmt.Errorf("create interaction %s: %w", n.Number, err)
	}
	return out, nil
}

// ChangeInteraction applies one step of the interaction process, in one
// transaction, only when c.Version is higher than the interaction's version:
// otherwise (a retried or late write) it changes nothing and returns the
// interaction as it is, so the record never moves backwards. Entering
// work_in_progress the first time sets accepted_at; entering closed_complete
// sets closed_at. A change of state is appended to the history at c.Version.
func (s *Store) ChangeInteraction(ctx context.Context, c InteractionChange) (Interaction, error) {
	var out Interaction
	err := s.InTx(ctx, func(tx *Store) error {
		if err := tx.applyInteractionChange(ctx, c); err != nil {
			return err
		}
		var err error
		out, err = tx.GetInteraction(ctx, c.Number)
		return err
	})
	if err != nil {
		return Interaction{}, fmt.Errorf("change interaction %s to version %d: %w", c.Number, c.Version, err)
	}
	return out, nil
}

// ApplyInteractionChange is ChangeInteraction for a step that does not read
// the record back (a routing step writing the process's record with its
// own change): the same writes, two statements fewer.
func (s *Store) ApplyInteractionChange(ctx context.Context, c InteractionChange) error {
	if err := s.InTx(ctx, func(tx *Store) error { return tx.applyInteractionChange(ctx, c) }); err != nil {
		return fmt.Errorf("change interaction %s to version %d: %w", c.Number, c.Version, err)
	}
	return nil
}

// applyInteractionChange writes c unless the record is at its version or
// later already.
func (s *Store) applyInteractionChange(ctx context.Context, c InteractionChange) error {
	var row interactionRow
	if err := s.namedGet(ctx, &row, lockInteraction, map[string]any{"number": c.Number}); err != nil {
		return err
	}
	cur := row.Interaction
	if c.Version <= cur.Version {
		return nil
	}
	next := cur
	if c.State != "" {
		next.State = c.State
	}
	if c.AgentID != nil {
		next.AgentID = nullable(*c.AgentID)
	}
	if c.Queue != nil {
		next.Queue = nullable(*c.Queue)
	}
	if c.Disposition != nil {
		next.Disposition = nullable(*c.Disposition)
	}
	if c.ContactEmail != nil {
		next.ContactEmail = nullable(*c.ContactEmail)
	}
	if c.ContactID != nil {
		next.ContactID = c.ContactID
	}
	if c.CompanyID != nil {
		next.CompanyID = c.CompanyID
	} else if c.ContactID != nil && (cur.ContactID == nil || *cur.ContactID != *c.ContactID) {
		// Another contact (an agent's choice among a chat's matches):
		// the record is opened for that contact's company now.
		err := s.namedGet(ctx, &next.CompanyID, contactCompany, map[string]any{"id": *c.ContactID})
		if errors.Is(err, ErrNotFound) {
			return &FieldError{Err: ErrNotFound, Field: "contact_id", Detail: "refers to a contact that does not exist"}
		}
		if err != nil {
			return fmt.Errorf("company of contact %s: %w", *c.ContactID, err)
		}
	}
	// A change of state, or the contact identified (the state stays):
	// either is a line of the record's history.
	contactChanged := next.ContactID != nil && (cur.ContactID == nil || *cur.ContactID != *next.ContactID)
	_, err := s.namedExec(ctx, updateInteraction, map[string]any{
		"number": c.Number, "version": c.Version, "state": next.State, "agent_id": next.AgentID,
		"queue": next.Queue, "disposition": next.Disposition, "contact_id": next.ContactID,
		"company_id": next.CompanyID, "contact_email": next.ContactEmail,
		"history": next.State != cur.State || contactChanged, "from_state": cur.State, "actor": c.Actor, "reason": c.Reason,
	})
	if err != nil {
		return interactionErr(err)
	}
	return nil
}

// IdentifyContact records on an interaction whose process has ended the
// contact a case process identified (and that contact's company), with a
// history line, at the record's next version: with the process gone nothing
// else writes the record. Naming the contact it already has changes nothing.
func (s *Store) IdentifyContact(ctx context.Context, number string, contactID uuid.UUID, actor, reason string) (Interaction, error) {
	var out Interaction
	err := s.InTx(ctx, func(tx *Store) error {
		var row interactionRow
		if err := tx.namedGet(ctx, &row, lockInteraction, map[string]any{"number": number}); err != nil {
			return err
		}
		cur := row.Interaction
		if cur.ContactID != nil && *cur.ContactID == contactID {
			var err error
			out, err = tx.GetInteraction(ctx, number)
			return err
		}
		var err error
		out, err = tx.ChangeInteraction(ctx, InteractionChange{Number: number, Version: cur.Version + 1, State: cur.State,
			Actor: actor, Reason: reason, ContactID: &contactID})
		return err
	})
	if err != nil {
		return Interaction{}, fmt.Errorf("identify the contact of %s: %w", number, err)
	}
	return out, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// GetInteraction returns an interaction with its related records, or
// ErrNotFound.
func (s *Store) GetInteraction(ctx context.Context, number string) (Interaction, error) {
	i, err := s.GetInteractionRecord(ctx, number)
	if err != nil {
		return Interaction{}, err
	}
	list := []Interaction{i}
	if err := s.loadRelated(ctx, list); err != nil {
		return Interaction{}, err
	}
	return list[0], nil
}

// GetInteractionRecord returns the interaction's own row, without its
// related records (Related is empty), in one query: for a check that needs
// only its state, its agent or its process, such as who may act on it.
func (s *Store) GetInteractionRecord(ctx context.Context, number string) (Interaction, error) {
	var row interactionRow
	if err := s.namedGet(ctx, &row, selectInteraction, map[string]any{"number": number}); err != nil {
		return Interaction{}, fmt.Errorf("get interaction %s: %w", number, err)
	}
	return row.interaction()
}

// ListInteractions lists the interactions matching every set filter of q,
// newest first, with their related records.
func (s *Store) ListInteractions(ctx context.Context, q InteractionQuery) ([]Interaction, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	var rows []interactionRow
	err := s.namedSelect(ctx, &rows, searchInteractions, map[string]any{
		"state": q.State, "agent_id": q.AgentID, "queue": q.Queue, "channel": q.Channel,
		"disposition": q.Disposition, "contact_id": q.ContactID, "call_id": q.CallID,
		"from": q.From, "to": q.To, "limit": q.Limit, "offset": q.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list interactions: %w", err)
	}
	out := make([]Interaction, 0, len(rows))
	for _, r := range rows {
		i, err := r.interaction()
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	if err := s.loadRelated(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// loadRelated fills in the related records of interactions with one query.
func (s *Store) loadRelated(ctx context.Context, list []Interaction) error {
	if len(list) == 0 {
		return nil
	}
	numbers := make([]string, len(list))
	index := make(map[string]int, len(list))
	for i, in := range list {
		numbers[i] = in.Number
		index[in.Number] = i
		list[i].Related = []RelatedRecord{}
	}
	var rows []struct {
		Interaction string `db:"interaction"`
		RelatedRecord
	}
	if err := s.namedSelect(ctx, &rows, selectRelated, map[string]any{"numbers": pq.Array(numbers)}); err != nil {
		return fmt.Errorf("load related records: %w", err)
	}
	for _, r := range rows {
		i := index[r.Interaction]
		list[i].Related = append(list[i].Related, r.RelatedRecord)
	}
	return nil
}

// InteractionHistory lists an interaction's state changes in order.
func (s *Store) InteractionHistory(ctx context.Context, number string) ([]HistoryEntry, error) {
	out := []HistoryEntry{}
	if err := s.namedSelect(ctx, &out, selectHistory, map[string]any{"interaction": number}); err != nil {
		return nil, fmt.Errorf("history of interaction %s: %w", number, err)
	}
	return out, nil
}

// AddWorkNote appends a work note. It is idempotent by requestID: a second
// call with the same one returns the first note. An empty requestID makes
// every call a new note.
func (s *Store) AddWorkNote(ctx context.Context, number, author, body, requestID string) (WorkNote, error) {
	args := map[string]any{"interaction": number, "author": author, "body": body, "request_id": requestID}
	var n WorkNote
	err := s.namedGet(ctx, &n, insertNote, args)
	if errors.Is(err, ErrNotFound) { // the request id was used before
		err = s.namedGet(ctx, &n, selectNoteByRequest, args)
		if errors.Is(err, ErrNotFound) {
			err = &FieldError{Err: ErrDuplicate, Field: "request_id", Detail: "was used for a note on another interaction"}
		}
	}
	if err != nil {
		return WorkNote{}, fmt.Errorf("add work note to %s: %w", number, interactionErr(err))
	}
	return n, nil
}

// WorkNotes lists an interaction's work notes, oldest first.
func (s *Store) WorkNotes(ctx context.Context, number string) ([]WorkNote, error) {
	out := []WorkNote{}
	if err := s.namedSelect(ctx, &out, selectNotes, map[string]any{"interaction": number}); err != nil {
		return nil, fmt.Errorf("work notes of %s: %w", number, err)
	}
	return out, nil
}

// AddRelated relates a case, incident or request to an interaction; relating
// it again changes nothing.
func (s *Store) AddRelated(ctx context.Context, number, kind, ref string) error {
	_, err := s.namedExec(ctx, insertRelated, map[string]any{"interaction": number, "kind": kind, "ref": ref})
	if err != nil {
		return fmt.Errorf("relate %s %s to %s: %w", kind, ref, number, interactionErr(err))
	}
	return nil
}

// RecordPhoneLog keeps the log of an ended call. It is idempotent by
// CallID: the first log of a call is kept.
func (s *Store) RecordPhoneLog(ctx context.Context, l PhoneLog) error {
	n, err := s.namedExec(ctx, insertPhoneLog, l)
	if err == nil && n == 0 {
		var first PhoneLog
		if err = s.namedGet(ctx, &first, selectPhoneLog, l); err == nil && first.Interaction != l.Interaction {
			err = &FieldError{Err: ErrDuplicate, Field: "call_id", Detail: "is logged for another interaction"}
		}
	}
	if err != nil {
		return fmt.Errorf("record phone log of call %s: %w", l.CallID, interactionErr(err))
	}
	return nil
}

// PhoneLogs lists an interaction's calls in the order they started.
func (s *Store) PhoneLogs(ctx context.Context, number string) ([]PhoneLog, error) {
	out := []PhoneLog{}
	if err := s.namedSelect(ctx, &out, selectPhoneLogs, map[string]any{"interaction": number}); err != nil {
		return nil, fmt.Errorf("phone logs of %s: %w", number, err)
	}
	return out, nil
}

// RecordTransfer keeps a transfer of an interaction. It is idempotent by
// RequestID.
func (s *Store) RecordTransfer(ctx context.Context, t Transfer) error {
	var at *time.Time
	if !t.At.IsZero() {
		at = &t.At
	}
	n, err := s.namedExec(ctx, insertTransfer, map[string]any{
		"interaction": t.Interaction, "from_agent": t.FromAgent, "to_agent": t.ToAgent, "to_queue": t.ToQueue,
		"at": at, "request_id": t.RequestID,
	})
	if err == nil && n == 0 {
		var first Transfer
		err = s.namedGet(ctx, &first, selectTransferByRequest, map[string]any{"request_id": t.RequestID})
		if err == nil && first.Interaction != t.Interaction {
			err = &FieldError{Err: ErrDuplicate, Field: "request_id", Detail: "was used for a transfer of another interaction"}
		}
	}
	if err != nil {
		return fmt.Errorf("record transfer of %s: %w", t.Interaction, interactionErr(err))
	}
	return nil
}

// Transfers lists an interaction's transfers in order.
func (s *Store) Transfers(ctx context.Context, number string) ([]Transfer, error) {
	out := []Transfer{}
	if err := s.namedSelect(ctx, &out, selectTransfers, map[string]any{"interaction": number}); err != nil {
		return nil, fmt.Errorf("transfers of %s: %w", number, err)
	}
	return out, nil
}

// AddChatMessage adds a message at the end of a chat's transcript, once
// per key: adding the same key again (a redelivered event, a retried
// activity) changes nothing. An unknown interaction is ErrNotFound.
func (s *Store) AddChatMessage(ctx context.Context, number, key, sender, text string, at time.Time) error {
	return s.InTx(ctx, func(tx *Store) error {
		var locked string
		if err := tx.namedGet(ctx, &locked, lockChat, map[string]any{"interaction": number}); err != nil {
			return fmt.Errorf("add chat message to %s: %w", number, err)
		}
		_, err := tx.namedExec(ctx, insertChatMessage, map[string]any{
			"interaction": number, "key": key, "sender": sender, "text": text, "at": at,
		})
		if err != nil {
			return fmt.Errorf("add chat message %s to %s: %w", key, number, interactionErr(err))
		}
		return nil
	})
}

// ChatTranscript lists a chat's messages in order.
func (s *Store) ChatTranscript(ctx context.Context, number string) ([]ChatMessage, error) {
	out := []ChatMessage{}
	if err := s.namedSelect(ctx, &out, selectChatMessages, map[string]any{"interaction": number}); err != nil {
		return nil, fmt.Errorf("chat transcript of %s: %w", number, err)
	}
	return out, nil
}

// Escalate creates an incident or a service request from an interaction,
// records who escalated it, and relates it to the interaction, in one
// transaction. It is idempotent by e.RequestID: a second call returns the
// record the first one made.
func (s *Store) Escalate(ctx context.Context, e NewEscalation) (Escalation, error) {
	var insert, byRequest string
	switch e.Kind {
	case RelatedIncident:
		insert, byRequest = insertIncident, selectIncidentByRequest
	case RelatedRequest:
		insert, byRequest = insertServiceRequest, selectServiceRequestByRequest
		switch {
		case e.Transcript != "":
			return Escalation{}, &FieldError{Err: ErrInvalid, Field: "transcript", Detail: "is kept for incidents only"}
		case e.ChatTerminatedAt != nil:
			return Escalation{}, &FieldError{Err: ErrInvalid, Field: "chat_terminated_at", Detail: "is kept for incidents only"}
		}
	default:
		return Escalation{}, &FieldError{Err: ErrInvalid, Field: "kind", Detail: "must be one of: incident, request"}
	}
	args := map[string]any{
		"interaction": e.Interaction, "case_number": e.CaseNumber, "short_description": e.ShortDescription,
		"description": e.Description, "contact_id": e.ContactID, "chat_initiated_at": e.ChatInitiatedAt,
		"chat_accepted_at": e.ChatAcceptedAt, "chat_terminated_at": e.ChatTerminatedAt,
		"transcript": e.Transcript, "actor": e.Actor, "request_id": e.RequestID,
	}
	var out Escalation
	err := s.InTx(ctx, func(tx *Store) error {
		if e.CaseNumber == "" {
			// Linked to the interaction's case if it has one, whichever
			// process related it.
			var ref string
			err := tx.namedGet(ctx, &ref, latestRelatedCase, map[string]any{"interaction": e.Interaction})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("find the case of %s: %w", e.Interaction, err)
			}
			args["case_number"] = ref
		}
		var number string
		err := tx.namedGet(ctx, &number, insert, args)
		if err == nil {
			if err := tx.recordOpened(ctx, e.Kind, number, e.Actor); err != nil {
				return err
			}
		}
		if errors.Is(err, ErrNotFound) { // the request id was used before
			if err := tx.namedGet(ctx, &out, byRequest, args); err != nil {
				return err
			}
			if out.Interaction != e.Interaction {
				return &FieldError{Err: ErrDuplicate, Field: "request_id", Detail: "was used to escalate another interaction"}
			}
			number = out.Number
		} else if err != nil {
			return interactionErr(err)
		}
		if _, err := tx.namedExec(ctx, insertEscalation, map[string]any{
			"interaction": e.Interaction, "kind": e.Kind, "ref": number, "actor": e.Actor,
		}); err != nil {
			return fmt.Errorf("record escalation: %w", interactionErr(err))
		}
		if err := tx.AddRelated(ctx, e.Interaction, e.Kind, number); err != nil {
			return err
		}
		out, err = tx.getEscalation(ctx, e.Kind, number)
		return err
	})
	if err != nil {
		return Escalation{}, fmt.Errorf("escalate %s to %s: %w", e.Interaction, e.Kind, err)
	}
	return out, nil
}

// GetIncident returns an incident or ErrNotFound.
func (s *Store) GetIncident(ctx context.Context, number string) (Escalation, error) {
	return s.getEscalation(ctx, RelatedIncident, number)
}

// GetServiceRequest returns a service request or ErrNotFound.
func (s *Store) GetServiceRequest(ctx context.Context, number string) (Escalation, error) {
	return s.getEscalation(ctx, RelatedRequest, number)
}

func (s *Store) getEscalation(ctx context.Context, kind, number string) (Escalation, error) {
	q := selectIncident
	if kind == RelatedRequest {
		q = selectServiceRequest
	}
	var e Escalation
	if err := s.namedGet(ctx, &e, q, map[string]any{"number": number}); err != nil {
		return Escalation{}, fmt.Errorf("get %s %s: %w", kind, number, err)
	}
	return e, nil
}

const mergeIVR = `
UPDATE interactions SET ivr = ivr || CAST(:ivr AS jsonb), updated_at = now()
WHERE number = :number AND NOT (ivr @> CAST(:ivr AS jsonb))`

// RecordIVR adds IVR selections the caller made (and the case number it
// entered, as a related record) to an interaction; repeating it changes
// nothing.
func (s *Store) RecordIVR(ctx context.Context, number string, ivr map[string]string, caseNumber string) error {
	return s.InTx(ctx, func(tx *Store) error {
		if len(ivr) > 0 {
			b, err := json.Marshal(ivr)
			if err != nil {
				return fmt.Errorf("encode IVR selections: %w", err)
			}
			if _, err := tx.namedExec(ctx, mergeIVR, map[string]any{"number": number, "ivr": string(b)}); err != nil {
				return fmt.Errorf("record IVR selections of %s: %w", number, err)
			}
		}
		return tx.recordGivenCase(ctx, number, caseNumber)
	})
}

const (
	setIVRCaseNumber = `UPDATE interactions SET ivr_case_number = :given, updated_at = now() WHERE number = :number`
	caseByNumber     = `SELECT number FROM cases WHERE number = upper(btrim(:given))`
)

// recordGivenCase keeps the case number a caller gave (in the IVR, or with
// a callback request) on the interaction, and relates the case when one
// has that number: a number that names no case is kept as given, never
// related.
func (s *Store) recordGivenCase(ctx context.Context, number, given string) error {
	if given == "" {
		return nil
	}
	if _, err := s.namedExec(ctx, setIVRCaseNumber, map[string]any{"number": number, "given": given}); err != nil {
		return fmt.Errorf("record the case number given on %s: %w", number, interactionErr(err))
	}
	var ref string
	err := s.namedGet(ctx, &ref, caseByNumber, map[string]any{"given": given})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find case %s: %w", given, err)
	}
	return s.AddRelated(ctx, number, RelatedCase, ref)
}
