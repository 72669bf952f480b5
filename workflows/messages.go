// Package workflows holds casehub's processes as Temporal workflows:
// deterministic code only, no I/O. This file holds every name that crosses
// the process boundary: task queue, workflow IDs, query/update/signal names,
// search attributes and payloads.
package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/routing"
	"github.com/casehub/casehub/store"
)

// TaskQueue is where casehub's worker polls for workflow and activity tasks.
const TaskQueue = "casehub"

// TaskTimeout is the workflow task timeout every casehub process starts
// with: a task taken by a worker that then died is handed to another after
// this long (Temporal's default is 10 s). casehub's workflow tasks take
// milliseconds.
const TaskTimeout = 2 * time.Second

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
	// SearchOutcome is how an interaction or a callback ended: completed,
	// abandoned, rejected, not_picked_up, unanswered, failed, unroutable (an
	// interaction); completed, failed, cancelled, expired (a callback).
	SearchOutcome = temporal.NewSearchAttributeKeyKeyword("Outcome")
)

// SignalCTIEvent delivers a telephony platform event (a cti.Event) to the
// process that owns the call or chat.
const SignalCTIEvent = "cti-event"

// SignalPayloads names the payload each signal a casehub process listens
// to carries (nil: none), as its senders send it and its receivers decode
// it; a test holds them, with every other payload, to message types.
func SignalPayloads() map[string]any {
	return map[string]any{
		SignalCTIEvent:           cti.Event{},
		SignalInboundCall:        InboundCallSignal{},
		SignalReplacedByCallback: ReplacedByCallback{},
		SignalOffer:              OfferSignal{},
		SignalItemAssigned:       ItemAssigned{},
		SignalItemFinished:       ItemFinished{},
		SignalOfferTimedOut:      OfferTimedOut{},
		SignalQueuesChanged:      nil,
	}
}

// ContextWorkflowID is the key under which casehub puts its workflow ID in
// the context of every CTI command, so the platform's events about that call
// find their way back.
const ContextWorkflowID = "casehub_workflow_id"

// SearchAttributes lists every search attribute key casehub uses; the worker
// registers them with the namespace at start.
func SearchAttributes() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{
		SearchCaseNumber, SearchContactID, SearchAgentID, SearchQueue,
		SearchChannel, SearchProcessState, SearchCallbackMode, SearchNextAttemptAt, SearchOutcome,
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
func AgentWorkflowID(agentID string) string { return routing.AgentWorkflowID(agentID) }

// Agent workflow updates (from the API) and signals (from routing, after
// each step that concerns the agent).
const (
	UpdateSetPresence   = "set-presence"
	UpdateEndWrapUp     = "end-wrap-up"
	UpdateWorkOffline   = "work-offline"
	SignalItemAssigned  = routing.SignalItemAssigned
	SignalItemFinished  = routing.SignalItemFinished
	SignalOfferTimedOut = routing.SignalOfferTimedOut
	SignalQueuesChanged = "queues-changed"
)

// AgentBusy is the ProcessState an agent's process shows while it works on
// an item; PostgreSQL keeps it Available with the item booked.
const AgentBusy = "busy"

// SignalOffer tells an item's process that routing booked an agent for it.
const SignalOffer = routing.SignalOffer

// RoutingSweeperWorkflowID names the one process that sweeps routing.
const RoutingSweeperWorkflowID = "routing-sweeper"

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
	// Items are the items the agent accepted and is working on.
	Items []string `json:"items,omitempty"`
	// Settled are the latest items whose wrap-up the process already ended
	// or took up, so a late item-finished signal starts no second one.
	Settled []string `json:"settled,omitempty"`
	// SkipWrapUps counts wrap-ups ended before their item-finished signal
	// arrived, in runs from before Settled was kept.
	SkipWrapUps int `json:"skip_wrapups,omitempty"`
	// PresenceSeq is the latest presence change of PostgreSQL's the process
	// has applied (agents.presence_seq): an older one that arrives late is
	// not applied over it.
	PresenceSeq int64 `json:"presence_seq,omitempty"`
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

// Routing's signal payloads (defined with the protocol, in package routing).
type (
	// ItemAssigned tells an agent's workflow that it accepted an item.
	ItemAssigned = routing.ItemAssigned
	// ItemFinished tells an agent's workflow that an item it handled is over.
	ItemFinished = routing.ItemFinished
	// OfferTimedOut tells an agent's workflow that it let an offer run out.
	OfferTimedOut = routing.OfferTimedOut
	// OfferSignal is an offer delivered to an item's process.
	OfferSignal = routing.OfferSignal
)

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

	// UpdateNoteFromProcess is sent by a case process started from the
	// interaction (through the NoteOnCall activity): the contact it
	// identified, or the case it created (an activities.CallNote).
	UpdateNoteFromProcess = "note-from-case-process"

	// UpdateOpened answers once the interaction's record is written, with
	// the process's state. The API starts a process it creates with it
	// (Update-with-Start, update id UpdateOpenedID), so that it answers the
	// request the moment the record can be read, without polling for it.
	UpdateOpened   = "opened"
	UpdateOpenedID = "opened"
)

// UpdateQueued answers once a callback's first work item is in its queue,
// with the callback's state. The API starts a callback that takes a
// waiting call's place with it (Update-with-Start, update id
// UpdateQueuedID): the caller's line may be dropped once it answers.
const (
	UpdateQueued   = "queued"
	UpdateQueuedID = "queued"
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
	// InIVR: the call began with ivr_connected. The record exists from
	// then, but the call is queued only once the IVR is done (its
	// incoming_call), with the caller's selections on the record.
	InIVR bool `json:"in_ivr,omitempty"`
}

// InteractionState answers the state query and every interaction update.
type InteractionState struct {
	Number    string `json:"number"`
	Channel   string `json:"channel"`
	State     string `json:"state"`
	Queue     string `json:"queue,omitempty"`
	AgentID   string `json:"agent_id,omitempty"`
	OfferedTo string `json:"offered_to,omitempty"`
	// TransferTo: the agent a transfer hands the interaction to, until it
	// is offered to that agent; the record stays with the transferring
	// agent meanwhile (no New between two agents).
	TransferTo        string          `json:"transfer_to,omitempty"`
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
	// OpenIncident asks for an incident with the chat's times and whole
	// transcript when the chat ends, as one with no contact gets anyway
	// (seed 003: "on the agent's request otherwise").
	OpenIncident bool `json:"open_incident,omitempty"`
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

// ---- callbacks ----

// CallbackWorkflowID names a callback's process after its id (CB0000042).
func CallbackWorkflowID(id string) string { return callbackIDPrefix + id }

const callbackIDPrefix = "callback-"

// CallbackDialKey is the idempotency key of one dial: the callback and the
// attempt. A retried dial activity (a worker killed mid-dial) sends the same
// key, and the platform answers with the call it already placed.
func CallbackDialKey(id string, attempt int) string {
	return fmt.Sprintf("%s%s-attempt-%d", callbackIDPrefix, id, attempt)
}

// ContextCallbackID is the key under which the callback id travels in the
// context of the calls a callback places.
const ContextCallbackID = "callback_id"

// ContextCallbackAttempt is the attempt number in the context of a
// callback's dial, so its events are known before the dial's answer is.
const ContextCallbackAttempt = "callback_attempt"

// Updates an agent, supervisor or the customer's channel sends to a callback.
// Accept and reject reuse UpdateAccept and UpdateReject with a
// DecisionRequest; each answers with the CallbackState.
const (
	UpdateDialCallback       = "dial"       // CallbackDialRequest: agent-first, the agent dials (or redials)
	UpdateCloseCallback      = "close"      // CallbackCloseRequest: the agent closes it with an outcome
	UpdateCancelCallback     = "cancel"     // CallbackCancelRequest: the customer or a supervisor
	UpdateRescheduleCallback = "reschedule" // RescheduleRequest
)

// Signals.
const (
	// SignalInboundCall tells a pending callback that its number called in
	// (InboundCallSignal): the queue cancels or links it.
	SignalInboundCall = "inbound-call"
	// SignalReplacedByCallback tells an interaction waiting in its queue that
	// a callback took over its place (ReplacedByCallback): it ends as
	// abandoned, replaced by the callback.
	SignalReplacedByCallback = "replaced-by-callback"
)

// Steps of a callback, as CallbackState.Step and the ProcessState search
// attribute. The stored state is coarser: see CallbackStoredState.
const (
	CallbackStepScheduled  = "scheduled"  // waiting for its time, a retry, or opening hours
	CallbackStepQueued     = "queued"     // waiting in the queue
	CallbackStepDialing    = "dialing"    // the platform dials the customer
	CallbackStepOffered    = "offered"    // offered to an agent (customer-first: the customer is on the line)
	CallbackStepHolding    = "holding"    // customer-first: the customer waits on the line for the next agent
	CallbackStepPreview    = "preview"    // agent-first: accepted; the agent reads the context and dials
	CallbackStepUnanswered = "unanswered" // agent-first: the customer did not answer; redial or close
	CallbackStepConnected  = "connected"  // the customer and the agent talk
)

// CallbackStoredState is the record's state for a step.
func CallbackStoredState(step string) string {
	switch step {
	case CallbackStepScheduled:
		return store.CallbackScheduled
	case CallbackStepQueued:
		return store.CallbackQueued
	case store.CallbackCompleted, store.CallbackFailed, store.CallbackCancelled, store.CallbackExpired:
		return step
	}
	return store.CallbackInProgress
}

// What an inbound call from a number with a pending callback does
// (the queue's callbacks.on_inbound_call).
const (
	OnInboundCancel = "cancel"
	OnInboundLink   = "link"
)

// CallbackInput starts a callback's process. The API builds it from the
// stored request.
type CallbackInput struct {
	ID          string     `json:"id"`
	Queue       string     `json:"queue"`
	Number      string     `json:"number"` // E.164; never a search attribute or memo
	Mode        string     `json:"mode"`
	ScheduledAt *time.Time `json:"scheduled_at,omitempty"` // nil: as soon as possible
	TimeZone    string     `json:"time_zone"`
	ExpiresAt   time.Time  `json:"expires_at"`
	MaxAttempts int        `json:"max_attempts"`

	Reason            string            `json:"reason,omitempty"`
	IVR               map[string]string `json:"ivr,omitempty"`
	OriginInteraction string            `json:"origin_interaction,omitempty"`
	CaseNumber        string            `json:"case_number,omitempty"`

	// ReplacesItem is the work item of a waiting call whose place the
	// callback takes; ReplacesWorkflowID is that call's interaction process.
	ReplacesItem       string `json:"replaces_item,omitempty"`
	ReplacesWorkflowID string `json:"replaces_workflow_id,omitempty"`

	CallerID  string        `json:"caller_id,omitempty"` // the number dialled from when the queue has none
	Horizon   time.Duration `json:"horizon"`             // how far ahead a reschedule may go
	CreatedBy string        `json:"created_by,omitempty"`
}

// CallbackState answers the state query and every callback update.
type CallbackState struct {
	ID            string                `json:"id"`
	Queue         string                `json:"queue"`
	Mode          string                `json:"mode"`
	State         string                `json:"state"` // as stored
	Step          string                `json:"step"`
	Outcome       string                `json:"outcome,omitempty"`
	Attempts      int                   `json:"attempts"`
	MaxAttempts   int                   `json:"max_attempts"`
	AttemptsLeft  int                   `json:"attempts_left"`
	AttemptLog    []CallbackAttemptView `json:"attempt_log"`
	NextAttemptAt *time.Time            `json:"next_attempt_at,omitempty"`
	ScheduledAt   *time.Time            `json:"scheduled_at,omitempty"`
	TimeZone      string                `json:"time_zone"`
	ExpiresAt     time.Time             `json:"expires_at"`
	AgentID       string                `json:"agent_id,omitempty"`
	OfferedTo     string                `json:"offered_to,omitempty"`
	Interaction   string                `json:"interaction,omitempty"` // the callback voice interaction, once connected
	Linked        []string              `json:"linked_interactions,omitempty"`
	// Next are the steps the callback takes now: accept and reject (offered),
	// dial and close (agent-first, held by its agent; no dial once no
	// attempts are left), close (connected), cancel and reschedule (waiting).
	Next []string `json:"next,omitempty"`
	// Note says what to do when the obvious next step is not there (no
	// attempts left: close it).
	Note string `json:"note,omitempty"`
}

// CallbackAttemptView is one dial in the state query.
type CallbackAttemptView struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"`
	AgentID string    `json:"agent_id,omitempty"`
	CallID  string    `json:"call_id,omitempty"`
}

// CallbackDialRequest: the agent holding an agent-first callback dials.
type CallbackDialRequest struct {
	AgentID string `json:"agent_id"`
}

// Outcomes an agent closes a callback with.
const (
	CloseCompleted = "completed" // the customer was helped
	CloseFailed    = "failed"    // not reached, wrong number
	CloseCancelled = "cancelled" // the customer no longer wants it
)

// CallbackCloseRequest: the agent closes the callback.
type CallbackCloseRequest struct {
	AgentID     string `json:"agent_id"`
	Outcome     string `json:"outcome"`
	Disposition string `json:"disposition,omitempty"`
}

// CallbackCancelRequest cancels a pending callback.
type CallbackCancelRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// RescheduleRequest moves a pending callback to another time, validated as
// a new request: ScheduledAt is RFC 3339, or a local date-time
// (2006-01-02T15:04[:05]) read in TimeZone; empty is as soon as possible.
type RescheduleRequest struct {
	ScheduledAt string     `json:"scheduled_at,omitempty"`
	TimeZone    string     `json:"time_zone,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	By          string     `json:"by"`
}

// InboundCallSignal: the callback's number called in, opening Interaction.
type InboundCallSignal struct {
	Interaction string `json:"interaction"`
	Action      string `json:"action"` // OnInboundCancel or OnInboundLink
}

// ReplacedByCallback tells an interaction that a callback took its place.
type ReplacedByCallback struct {
	CallbackID string `json:"callback_id"`
}

// ---- case processes (seed 004) ----

// The case processes an agent may start on a call, as the kind passed to
// CaseProcessWorkflowID and the flow named in CaseProcessState.
const (
	CaseProcessAddNewCase = "add_new_case"            // [Add new case]
	CaseProcessAdvise     = "advise_on_existing_case" // [Advise on existing case]
)

// CaseProcessKinds lists the kinds above.
func CaseProcessKinds() []string { return []string{CaseProcessAddNewCase, CaseProcessAdvise} }

// CaseProcessWorkflowID names the case process of kind started on an
// interaction: one of each kind per interaction at a time.
func CaseProcessWorkflowID(interactionID, kind string) string {
	return caseProcessIDPrefix + kind + "-" + interactionID
}

const caseProcessIDPrefix = "case-process-"

// IsCaseProcessWorkflowID reports whether id names a case process.
func IsCaseProcessWorkflowID(id string) bool {
	for _, kind := range CaseProcessKinds() {
		if strings.HasPrefix(id, caseProcessIDPrefix+kind+"-") && len(id) > len(caseProcessIDPrefix+kind+"-") {
			return true
		}
	}
	return false
}

// DefaultCaseStepTimeout is how long a case process waits for the agent at
// one step before it gives up as abandoned.
const DefaultCaseStepTimeout = 30 * time.Minute

// MetricCaseProcessesFinished counts case processes ended, by kind and
// outcome (their last step), through the SDK's metrics handler.
const MetricCaseProcessesFinished = "casehub_case_processes_finished"

// Steps of a case process, as CaseProcessState.Step and the ProcessState
// search attribute.
const (
	CaseStepIdentifying     = "identifying"      // looking the caller's number up
	CaseStepChooseContact   = "choose_contact"   // several contacts have the number: the agent picks one
	CaseStepIdentifyContact = "identify_contact" // none has it: the agent searches, selects, or adds a contact
	CaseStepEnterCase       = "enter_case"       // the case page: the agent enters the customer's request
	CaseStepAdvise          = "advise"           // the contact page with its case history
	CaseStepDone            = "done"             // finished (with a case, for add_new_case)
	CaseStepAbandoned       = "abandoned"        // the agent did nothing within the step timeout
	CaseStepCancelled       = "cancelled"        // the agent cancelled the process
)

// How the caller's contact was found, as CaseProcessState.IdentifiedBy.
const (
	IdentifiedByPhone      = "phone"       // the only contact with the calling number
	IdentifiedByChoice     = "choice"      // picked among the contacts with the calling number
	IdentifiedBySearch     = "search"      // found by the agent's search; the number was added to it
	IdentifiedAsNewContact = "new_contact" // added by the agent ("add case and contact")
)

// Updates the agent UI sends to a case process. Each answers with the
// process's CaseProcessState after the step.
const (
	UpdateChooseContact      = "choose-contact"      // ChooseContactRequest, at choose_contact
	UpdateSearchContacts     = "search-contacts"     // SearchContactsRequest, at identify_contact
	UpdateSelectContact      = "select-contact"      // SelectContactRequest, at identify_contact
	UpdateNewContact         = "new-contact"         // NewContactRequest, at identify_contact
	UpdateSubmitCase         = "submit-case"         // SubmitCaseRequest, at enter_case
	UpdateRecordConsultation = "record-consultation" // RecordConsultationRequest, at advise
	UpdateFinishProcess      = "finish"              // FinishRequest, at advise
	UpdateCancelProcess      = "cancel"              // CancelRequest, at any step before the end
)

// Validators refuse a step with the application error types ErrTypeWrongStep
// (not possible at the current step: HTTP 409) and ErrTypeInvalidField (a
// field's value, named in the error's one detail: HTTP 422).

// CaseProcessInput starts AddNewCase or AdviseOnExistingCase.
type CaseProcessInput struct {
	InteractionID string `json:"interaction_id"`
	// CallerNumber is the calling number as the platform gave it, in any
	// notation; empty for a withheld number.
	CallerNumber string `json:"caller_number"`
	AgentID      string `json:"agent_id"`
	// DefaultRegion reads national numbers (ISO 3166 alpha-2, "US" when empty).
	DefaultRegion string `json:"default_region"`
	// StepTimeout bounds each wait for the agent; DefaultCaseStepTimeout when zero.
	StepTimeout time.Duration `json:"step_timeout"`
}

// CaseProcessState is what the agent UI shows: the answer to the state query
// and to every Update.
type CaseProcessState struct {
	WorkflowID    string `json:"workflow_id"`
	Kind          string `json:"kind"` // the process started: add_new_case or advise_on_existing_case
	Flow          string `json:"flow"` // the flow running now; advising a new customer goes on as add_new_case
	Step          string `json:"step"`
	InteractionID string `json:"interaction_id"`
	AgentID       string `json:"agent_id"`
	// CallerNumber is the calling number in E.164, or "" when it was
	// withheld or is no valid number.
	CallerNumber      string                    `json:"caller_number"`
	IdentifiedBy      string                    `json:"identified_by"`
	Candidates        []activities.Contact      `json:"candidates"`     // at choose_contact
	SearchResults     []activities.Contact      `json:"search_results"` // at identify_contact, after a search
	Contact           *activities.Contact       `json:"contact"`
	CallerNumberAdded bool                      `json:"caller_number_added"` // the number was added to Contact's options
	History           []activities.CaseSummary  `json:"history"`             // Contact's cases, newest first (advise)
	Case              *activities.Case          `json:"case"`                // the case created (add_new_case)
	Consultations     []activities.Consultation `json:"consultations"`       // recorded in this process (advise)
	// StepDeadline is when the current step gives up if the agent does
	// nothing; null once the process has ended.
	StepDeadline *time.Time `json:"step_deadline"`
	Reason       string     `json:"reason"` // why the process was abandoned or cancelled
}

// Ended reports whether the process has finished, one way or another.
func (s CaseProcessState) Ended() bool {
	return s.Step == CaseStepDone || s.Step == CaseStepAbandoned || s.Step == CaseStepCancelled
}

// ChooseContactRequest picks one of the candidates.
type ChooseContactRequest struct {
	ContactID string `json:"contact_id" validate:"required,uuid"`
}

// SearchContactsRequest searches the directory; every field given must
// match. CaseNumber finds the contact of a case (advise only).
type SearchContactsRequest struct {
	Name       string `json:"name" validate:"max=200"`
	Phone      string `json:"phone" validate:"max=64"`
	Email      string `json:"email" validate:"max=254"`
	Company    string `json:"company" validate:"max=200"`
	CaseNumber string `json:"case_number" validate:"max=20"`
}

// SelectContactRequest takes a search result as the caller ("known
// customer"); the calling number is added to its communication options.
type SelectContactRequest struct {
	ContactID string `json:"contact_id" validate:"required,uuid"`
}

// NewContactRequest adds the caller as a new contact with the calling number
// ("add case and contact").
type NewContactRequest struct {
	Name      string `json:"name" validate:"required,max=200"`
	Email     string `json:"email" validate:"omitempty,max=254,email"`
	CompanyID string `json:"company_id" validate:"omitempty,uuid"`
}

// SubmitCaseRequest registers the case with the contact filled in.
type SubmitCaseRequest struct {
	Subject     string `json:"subject" validate:"required,max=200"`
	Description string `json:"description" validate:"max=10000"`
	Category    string `json:"category" validate:"max=100"`
	Priority    string `json:"priority" validate:"omitempty,oneof=low medium high critical"` // medium when empty
}

// RecordConsultationRequest notes the advice given on one of the contact's
// cases.
type RecordConsultationRequest struct {
	CaseNumber string `json:"case_number" validate:"required,max=20"`
	Note       string `json:"note" validate:"required,max=5000"`
}

// FinishRequest ends an advising process.
type FinishRequest struct{}

// CancelRequest ends a process before its end; nothing more is written.
type CancelRequest struct {
	Reason string `json:"reason" validate:"max=500"`
}
