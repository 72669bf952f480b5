// Package workflows holds casehub's processes as Temporal workflows:
// deterministic code only, no I/O. This file holds every name that crosses
// the process boundary: task queue, workflow IDs, query/update/signal names,
// search attributes and payloads.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

// TaskQueue is where casehub's worker polls for workflow and activity tasks.
const TaskQueue = "casehub"

// QueryState is the query every casehub workflow answers with its current
// state.
const QueryState = "state"

// Search attributes casehub sets on its workflows, so that ops can filter in
// the Temporal Web UI and with `temporal workflow list --query`. Never put
// personal data (numbers, names, emails) in them: they are stored in clear.
var (
	SearchCaseNumber    = temporal.NewSearchAttributeKeyKeyword("CaseNumber")
	SearchContactID     = temporal.NewSearchAttributeKeyKeyword("ContactId")
	SearchAgentID       = temporal.NewSearchAttributeKeyKeyword("AgentId")
	SearchQueue         = temporal.NewSearchAttributeKeyKeyword("Queue")
	SearchChannel       = temporal.NewSearchAttributeKeyKeyword("Channel")
	SearchProcessState  = temporal.NewSearchAttributeKeyKeyword("ProcessState")
	SearchCallbackMode  = temporal.NewSearchAttributeKeyKeyword("CallbackMode")
	SearchNextAttemptAt = temporal.NewSearchAttributeKeyTime("NextAttemptAt")
)

// SignalCTIEvent delivers a telephony platform event (a cti.Event) to the
// process that owns the call or chat.
const SignalCTIEvent = "cti-event"

// ContextWorkflowID is the key under which casehub puts its workflow ID in
// the context of every CTI command, so the platform's events about that call
// find their way back.
const ContextWorkflowID = "casehub_workflow_id"

// SearchAttributes lists every search attribute key casehub uses; the worker
// registers them with the namespace at start.
func SearchAttributes() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{
		SearchCaseNumber, SearchContactID, SearchAgentID, SearchQueue,
		SearchChannel, SearchProcessState, SearchCallbackMode, SearchNextAttemptAt,
	}
}

// SelfCheckWorkflowID names a self-check run.
func SelfCheckWorkflowID(suffix string) string { return "selfcheck-" + suffix }

// SelfCheckInput starts a self check.
type SelfCheckInput struct {
	Note string `json:"note"`
}

// SelfCheckResult is what a finished self check returns.
type SelfCheckResult struct {
	WorkflowID string    `json:"workflow_id"`
	CheckedAt  time.Time `json:"checked_at"`
}

// SelfCheckState answers the state query of a self check.
type SelfCheckState struct {
	Step string `json:"step"`
}

// ---- Agents and routing ----

// AgentWorkflowID names the entity workflow of one agent.
func AgentWorkflowID(agentID string) string { return "agent-" + agentID }

// Agent workflow updates (from the API) and signals (from item processes).
const (
	UpdateSetPresence   = "set-presence"
	UpdateEndWrapUp     = "end-wrap-up"
	UpdateWorkOffline   = "work-offline"
	SignalItemFinished  = "item-finished"
	SignalOfferTimedOut = "offer-timed-out"
	SignalQueuesChanged = "queues-changed"
)

// SignalOffer tells an item's process that routing booked an agent for it.
const SignalOffer = "offer"

// AgentInput starts (or continues) an agent's workflow.
type AgentInput struct {
	AgentID string      `json:"agent_id"`
	State   *AgentState `json:"state,omitempty"` // carried over by continue-as-new
}

// AgentState is what the agent workflow holds and its state query returns.
type AgentState struct {
	AgentID        string     `json:"agent_id"`
	Presence       string     `json:"presence"`
	Reason         string     `json:"reason,omitempty"`
	WrapUpItem     string     `json:"wrapup_item,omitempty"`
	WrapUpUntil    *time.Time `json:"wrapup_until,omitempty"`
	WorkingOffline bool       `json:"working_offline"`
	Since          time.Time  `json:"since"`
}

// SetPresenceRequest is what an agent (or supervisor) asks for: available,
// on_break or offline. Busy and wrap-up are set by routing.
type SetPresenceRequest struct {
	Presence string `json:"presence"`
	Reason   string `json:"reason,omitempty"`
}

// EndWrapUpRequest ends wrap-up early, with an optional disposition code.
type EndWrapUpRequest struct {
	Disposition string `json:"disposition,omitempty"`
}

// ItemFinished tells an agent's workflow that an item it handled is over.
type ItemFinished struct {
	ItemID     string        `json:"item_id"`
	Queue      string        `json:"queue"`
	WrappingUp bool          `json:"wrapping_up"`
	WrapUp     time.Duration `json:"wrapup"`
}

// OfferTimedOut tells an agent's workflow that it let an offer run out.
type OfferTimedOut struct {
	OfferID string `json:"offer_id"`
	ItemID  string `json:"item_id"`
}

// OfferSignal is an offer delivered to an item's process.
type OfferSignal struct {
	OfferID string `json:"offer_id"`
	ItemID  string `json:"item_id"`
	AgentID string `json:"agent_id"`
	Queue   string `json:"queue"`
	Channel string `json:"channel"`
}

// ---- Interactions ----

// InteractionWorkflowID names an interaction's process after its number.
func InteractionWorkflowID(number string) string { return "interaction-" + number }

// Interaction updates: each agent action is an Update that answers with the
// interaction's state.
const (
	UpdateAccept            = "accept"
	UpdateReject            = "reject"
	UpdateTransfer          = "transfer"
	UpdateAddNote           = "add-note"
	UpdateEnd               = "end"
	UpdateEscalate          = "escalate"
	UpdateClose             = "close"
	UpdateChooseChatContact = "choose-contact"
	UpdateSendMessage       = "send-message"
)

// Interaction channels and states (as stored).
const (
	ChannelPhone       = "phone"
	ChannelChat        = "chat"
	ChannelEmail       = "email"
	ChannelWalkIn      = "walk_in"
	ChannelSelfService = "self_service"

	StateNew               = "new"
	StatePendingAcceptance = "pending_acceptance"
	StateWorkInProgress    = "work_in_progress"
	StateClosedComplete    = "closed_complete"
)

// InteractionInput starts an interaction's process.
type InteractionInput struct {
	Number           string            `json:"number"`
	Channel          string            `json:"channel"`
	Direction        string            `json:"direction"` // inbound or outbound
	Queue            string            `json:"queue,omitempty"`
	CallID           string            `json:"call_id,omitempty"`
	ChatID           string            `json:"chat_id,omitempty"`
	CallerNumber     string            `json:"caller_number,omitempty"`  // inbound phone: who called
	DialledNumber    string            `json:"dialled_number,omitempty"` // inbound phone: the number called
	IVR              map[string]string `json:"ivr,omitempty"`
	CaseNumber       string            `json:"case_number,omitempty"` // entered in the IVR
	CustomerEmail    string            `json:"customer_email,omitempty"`
	CustomerName     string            `json:"customer_name,omitempty"`
	AgentID          string            `json:"agent_id,omitempty"` // the agent who created it (outbound, walk-in, email)
	ContactID        string            `json:"contact_id,omitempty"`
	ContactPhone     string            `json:"contact_phone,omitempty"`
	ContactEmail     string            `json:"contact_email,omitempty"`
	ShortDescription string            `json:"short_description,omitempty"`
	Description      string            `json:"description,omitempty"`
	CreatedBy        string            `json:"created_by,omitempty"`
	CloseOnEscalate  bool              `json:"close_on_escalate,omitempty"`
	DefaultRegion    string            `json:"default_region,omitempty"`
	// QueuePosition is the place in line drawn when the contact arrived, so
	// that contacts are offered in arrival order (0: at the end on enqueue).
	QueuePosition int64 `json:"queue_position,omitempty"`
}

// InteractionState answers the state query and every interaction update.
type InteractionState struct {
	Number            string          `json:"number"`
	Channel           string          `json:"channel"`
	State             string          `json:"state"`
	Queue             string          `json:"queue,omitempty"`
	AgentID           string          `json:"agent_id,omitempty"`
	OfferedTo         string          `json:"offered_to,omitempty"`
	ContactID         string          `json:"contact_id,omitempty"`
	ContactCandidates []ContactChoice `json:"contact_candidates,omitempty"`
	Escalations       []EscalationRef `json:"escalations,omitempty"`
	Outcome           string          `json:"outcome,omitempty"` // why it closed
}

// ContactChoice is one contact matched for the customer.
type ContactChoice struct {
	ContactID string `json:"contact_id"`
	Name      string `json:"name"`
}

// EscalationRef names an incident or request opened from the interaction.
type EscalationRef struct {
	Kind   string `json:"kind"`
	Number string `json:"number"`
}

// DecisionRequest is an agent's accept or reject.
type DecisionRequest struct {
	AgentID string `json:"agent_id"`
	Reason  string `json:"reason,omitempty"`
}

// TransferRequest moves the interaction to another agent or queue.
type TransferRequest struct {
	AgentID   string `json:"agent_id"` // who transfers
	ToAgentID string `json:"to_agent_id,omitempty"`
	ToQueue   string `json:"to_queue,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// NoteRequest adds a work note.
type NoteRequest struct {
	Author    string `json:"author"`
	Body      string `json:"body"`
	RequestID string `json:"request_id"`
}

// EndRequest ends the call or chat (the agent hangs up), or closes a
// walk-in, email or self-service interaction.
type EndRequest struct {
	AgentID     string `json:"agent_id"`
	Disposition string `json:"disposition,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// EscalateRequest opens an incident or a request from the interaction.
type EscalateRequest struct {
	AgentID          string `json:"agent_id"`
	Kind             string `json:"kind"` // incident or request
	ShortDescription string `json:"short_description"`
	Description      string `json:"description,omitempty"`
	CaseNumber       string `json:"case_number,omitempty"`
	RequestID        string `json:"request_id,omitempty"` // from Idempotency-Key when given
}

// ChatContactRequest picks one of the contacts matched for a chat customer.
type ChatContactRequest struct {
	AgentID   string `json:"agent_id"`
	ContactID string `json:"contact_id"`
}

// MessageRequest is a chat message the agent sends.
type MessageRequest struct {
	AgentID string `json:"agent_id"`
	Text    string `json:"text"`
}
