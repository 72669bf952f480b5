package workflows

import (
	"strings"
	"time"

	"github.com/casehub/casehub/store"
)

// This file holds every name and payload crossing the boundary of the two
// call-panel case processes (seed 004); it belongs in messages.go and moves
// there when the interaction process lands.

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
	CallerNumber      string               `json:"caller_number"`
	IdentifiedBy      string               `json:"identified_by"`
	Candidates        []store.Contact      `json:"candidates"`     // at choose_contact
	SearchResults     []store.Contact      `json:"search_results"` // at identify_contact, after a search
	Contact           *store.Contact       `json:"contact"`
	CallerNumberAdded bool                 `json:"caller_number_added"` // the number was added to Contact's options
	History           []store.Case         `json:"history"`             // Contact's cases, newest first (advise)
	Case              *store.Case          `json:"case"`                // the case created (add_new_case)
	Consultations     []store.Consultation `json:"consultations"`       // recorded in this process (advise)
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
