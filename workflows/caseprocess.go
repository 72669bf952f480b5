package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/phone"
	"github.com/casehub/casehub/store"
)

// AddNewCase is the call panel's [Add new case] process (seed 004, first
// table): identify the caller, then register the customer's case with the
// contact filled in.
func AddNewCase(ctx workflow.Context, in CaseProcessInput) (CaseProcessState, error) {
	return runCaseProcess(ctx, CaseProcessAddNewCase, in)
}

// AdviseOnExistingCase is the call panel's [Advise on existing case] process
// (seed 004, second table): identify the caller, then show the contact with
// its case history while the agent advises; a new customer, who has no
// cases, goes on to register one as in AddNewCase.
func AdviseOnExistingCase(ctx workflow.Context, in CaseProcessInput) (CaseProcessState, error) {
	return runCaseProcess(ctx, CaseProcessAdvise, in)
}

func runCaseProcess(ctx workflow.Context, kind string, in CaseProcessInput) (CaseProcessState, error) {
	p := &caseProcess{in: in}
	if err := p.setup(ctx, kind); err != nil {
		return CaseProcessState{}, err
	}
	return p.run(ctx)
}

// caseProcess is one run of either case process. run() walks the seed's
// flow and waits at each step; the Update handlers write what their step
// writes (through an activity) and hand the process back to run(), whose next
// stop is what they answer.
type caseProcess struct {
	in      CaseProcessInput
	state   CaseProcessState
	timeout time.Duration

	busy     bool // an Update is writing; every other step waits for it
	moves    int  // agent steps begun or ended: each restarts the step's clock
	asked    int  // Updates that handed the process back to run()
	settled  int  // asked, as of run()'s last stop
	finished bool
	cancel   *string // the cancel reason, once asked for

	notesCall bool // the call takes the contact and the case (changeCaseProcessNotesCall)
}

func (p *caseProcess) setup(ctx workflow.Context, kind string) error {
	if p.in.InteractionID == "" || p.in.AgentID == "" {
		return temporal.NewNonRetryableApplicationError("a case process needs an interaction id and an agent id", "InvalidInput", nil)
	}
	p.timeout = p.in.StepTimeout
	if p.timeout <= 0 {
		p.timeout = DefaultCaseStepTimeout
	}
	p.state = CaseProcessState{
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Kind: kind, Flow: kind, Step: CaseStepIdentifying,
		InteractionID: p.in.InteractionID, AgentID: p.in.AgentID,
		Candidates: []activities.Contact{}, SearchResults: []activities.Contact{}, History: []activities.CaseSummary{},
		Consultations: []activities.Consultation{},
	}
	if err := queryState(ctx, "process's step, contact, case and what the agent may do next", func() (CaseProcessState, error) { return p.state, nil }); err != nil {
		return fmt.Errorf("register state query: %w", err)
	}
	return registerUpdates(ctx, []update{
		{UpdateChooseContact, p.chooseContact, func(r ChooseContactRequest) error { _, err := p.checkChoose(r); return err },
			"At choose_contact: the agent picks the caller among the contacts with the calling number"},
		{UpdateSearchContacts, p.searchContacts, p.checkSearch, "At identify_contact: the agent searches contacts"},
		{UpdateSelectContact, p.selectContact, func(r SelectContactRequest) error { _, err := p.checkSelect(r); return err },
			"At identify_contact: the agent selects a search result (the calling number is added to it)"},
		{UpdateNewContact, p.newContact, func(r NewContactRequest) error { _, err := p.checkNewContact(r); return err },
			"At identify_contact: the agent adds the caller as a new contact"},
		{UpdateSubmitCase, p.submitCase, p.checkSubmit, "At enter_case: the agent registers the customer's case"},
		{UpdateRecordConsultation, p.recordConsultation, p.checkConsultation, "At advise: the agent records a consultation on one of the contact's cases"},
		{UpdateFinishProcess, p.finish, p.checkFinish, "At advise: the agent finishes advising"},
		{UpdateCancelProcess, p.cancelProcess, p.checkCancel, "The agent cancels the process at any step before its end"},
	})
}

// run is the process as the seed tells it.
func (p *caseProcess) run(ctx workflow.Context) (CaseProcessState, error) {
	p.notesCall = workflow.GetVersion(ctx, changeCaseProcessNotesCall, workflow.DefaultVersion, 1) >= 1
	p.enter(ctx, CaseStepIdentifying)
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAgentID.ValueSet(p.in.AgentID))

	// Identify the caller by the calling number.
	var caller activities.Caller
	err := workflow.ExecuteActivity(storageOptions(ctx), a.IdentifyCaller,
		activities.CallerLookup{Number: p.in.CallerNumber, DefaultRegion: p.in.DefaultRegion}).Get(ctx, &caller)
	if err != nil {
		return p.state, fmt.Errorf("identify caller: %w", err)
	}
	p.state.CallerNumber = caller.Number
	switch len(caller.Contacts) {
	case 1: // uniquely identified
		p.identified(caller.Contacts[0], IdentifiedByPhone)
	case 0: // not identified: the agent searches, selects or adds the contact
		p.enter(ctx, CaseStepIdentifyContact)
	default: // several contacts have the number: the agent picks one
		p.state.Candidates = orEmpty(caller.Contacts)
		p.enter(ctx, CaseStepChooseContact)
	}
	if p.state.Contact == nil {
		if ok, err := p.wait(ctx, func() bool { return p.state.Contact != nil }); !ok || err != nil {
			return p.end(ctx, err)
		}
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchContactID.ValueSet(p.state.Contact.ID.String()))
	p.noteOnCall(ctx, "contact", activities.CallNote{ContactID: &p.state.Contact.ID, By: p.state.IdentifiedBy})

	if p.state.Flow == CaseProcessAdvise {
		// The contact page with its history.
		var history []activities.CaseSummary
		err := workflow.ExecuteActivity(storageOptions(ctx), a.ContactCases, p.state.Contact.ID).Get(ctx, &history)
		if err != nil {
			return p.state, fmt.Errorf("load case history: %w", err)
		}
		p.state.History = orEmpty(history)
		if p.state.IdentifiedBy == IdentifiedAsNewContact && len(history) == 0 {
			// A new customer has no case to be advised on: register one.
			p.state.Flow = CaseProcessAddNewCase
		} else {
			p.enter(ctx, CaseStepAdvise)
			ok, err := p.wait(ctx, func() bool { return p.finished })
			if ok {
				p.state.Step = CaseStepDone
			}
			return p.end(ctx, err)
		}
	}

	// The case page, with the contact filled in.
	p.enter(ctx, CaseStepEnterCase)
	ok, err := p.wait(ctx, func() bool { return p.state.Case != nil })
	if ok {
		_ = workflow.UpsertTypedSearchAttributes(ctx, SearchCaseNumber.ValueSet(p.state.Case.Number))
		p.noteOnCall(ctx, "case", activities.CallNote{CaseNumber: p.state.Case.Number})
		p.state.Step = CaseStepDone
	}
	return p.end(ctx, err)
}

// noteOnCall puts what the process learnt on the call it was started from
// (the interaction's process records it). The agent's step answers once it
// is there. A call that cannot take it (its record refused the write until
// the storage deadline) does not stop the process: the case keeps its link
// to the interaction either way.
func (p *caseProcess) noteOnCall(ctx workflow.Context, what string, n activities.CallNote) {
	if !p.notesCall {
		return
	}
	n.Interaction, n.UpdateName = p.in.InteractionID, UpdateNoteFromProcess
	n.ProcessID, n.AgentID = p.state.WorkflowID, p.in.AgentID
	// The run is part of the id: another run of this kind on the same call
	// (after a cancel) notes its own facts.
	n.UpdateID = p.state.WorkflowID + "-" + workflow.GetInfo(ctx).WorkflowExecution.RunID + "-" + what
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.NoteOnCall, n).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("note on the call", "what", what, "interaction", p.in.InteractionID, "error", err)
	}
}

// enter moves the process to step.
func (p *caseProcess) enter(ctx workflow.Context, step string) {
	p.state.Step = step
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchProcessState.ValueSet(step))
	p.show(ctx, "")
}

// show sets the process's current details in the Temporal UI: its step,
// the contact and case it has, and what it waits for.
func (p *caseProcess) show(ctx workflow.Context, waits string) {
	s := fmt.Sprintf("**%s** on interaction %s — %s · agent %s", p.state.Kind, p.in.InteractionID, p.state.Step, p.in.AgentID)
	if p.state.Contact != nil {
		s += " · contact " + p.state.Contact.ID.String()
	}
	if p.state.Case != nil {
		s += " · case " + p.state.Case.Number
	}
	workflow.SetCurrentDetails(ctx, withDetails(s, waits))
}

// caseStepWaits is what the process waits for at each step the agent acts in.
var caseStepWaits = map[string]string{
	CaseStepChooseContact:   "the agent to choose the caller among the contacts with the number",
	CaseStepIdentifyContact: "the agent to search, select or add the caller's contact",
	CaseStepEnterCase:       "the agent to submit the case",
	CaseStepAdvise:          "the agent to finish advising",
}

func (p *caseProcess) identified(c activities.Contact, by string) {
	p.state.Contact = &c
	p.state.IdentifiedBy = by
}

// wait stops at the current step until done() holds (true), or the agent
// cancels or stays silent for the step timeout (false, with the step set to
// cancelled or abandoned). Every agent step restarts the clock, and a step
// still writing is never abandoned halfway.
func (p *caseProcess) wait(ctx workflow.Context, done func() bool) (bool, error) {
	for {
		seen := p.moves
		deadline := workflow.Now(ctx).Add(p.timeout)
		p.state.StepDeadline = &deadline
		p.settled = p.asked
		until := uiClock(deadline)
		p.show(ctx, cmp.Or(caseStepWaits[p.state.Step], "the agent")+", until "+until+" (then abandoned)")
		answered, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout: p.timeout, TimerOptions: workflow.TimerOptions{Summary: "step timeout: " + p.state.Step + " until " + until},
		}, func() bool { return done() || p.cancel != nil || p.moves != seen })
		switch {
		case err != nil:
			return false, err
		case done():
			return true, nil
		case p.cancel != nil:
			p.state.Step, p.state.Reason = CaseStepCancelled, *p.cancel
			return false, nil
		case answered || p.busy:
			continue
		}
		p.state.Reason = fmt.Sprintf("the agent did nothing at step %s for %s", p.state.Step, p.timeout)
		p.state.Step = CaseStepAbandoned
		return false, nil
	}
}

// end closes the process in its current step once every Update has
// answered.
func (p *caseProcess) end(ctx workflow.Context, err error) (CaseProcessState, error) {
	if err != nil {
		return p.state, err
	}
	p.state.StepDeadline = nil
	p.settled = p.asked
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchProcessState.ValueSet(p.state.Step))
	p.show(ctx, "")
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return p.state, err
	}
	workflow.GetLogger(ctx).Info("case process ended", "kind", p.state.Kind, "flow", p.state.Flow, "step", p.state.Step)
	// Counted once: the SDK's workflow metrics handler stays silent on replay.
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"kind": p.state.Kind, "outcome": p.state.Step}).
		Counter(MetricCaseProcessesFinished).Inc(1)
	return p.state, nil
}

// ---- Update handlers. Each checks its step again when it starts: two
// Updates may pass their validators before either runs. ----

// handOver gives the process back to run() and answers with its next stop.
func (p *caseProcess) handOver(ctx workflow.Context) (CaseProcessState, error) {
	p.asked++
	ticket := p.asked
	err := workflow.Await(ctx, func() bool { return p.settled >= ticket })
	return p.state, err
}

// write runs one step's activity with the process marked busy.
func (p *caseProcess) write(ctx workflow.Context, result, activity any, args ...any) error {
	p.busy = true
	p.moves++
	defer func() { p.busy = false; p.moves++ }()
	return workflow.ExecuteActivity(storageOptions(ctx), activity, args...).Get(ctx, result)
}

// newID draws a random id once and records it, so the activity that uses it
// is idempotent across retries and replays.
func newID(ctx workflow.Context) (uuid.UUID, error) {
	var id uuid.UUID
	err := workflow.SideEffect(ctx, func(workflow.Context) any { return uuid.New() }).Get(&id)
	return id, err
}

func (p *caseProcess) chooseContact(ctx workflow.Context, r ChooseContactRequest) (CaseProcessState, error) {
	c, err := p.checkChoose(r)
	if err != nil {
		return p.state, err
	}
	p.identified(c, IdentifiedByChoice)
	return p.handOver(ctx)
}

func (p *caseProcess) searchContacts(ctx workflow.Context, r SearchContactsRequest) (CaseProcessState, error) {
	if err := p.checkSearch(r); err != nil {
		return p.state, err
	}
	var found []activities.Contact
	err := p.write(ctx, &found, a.SearchContactsForCase, activities.ContactSearch{
		Name: r.Name, Phone: r.Phone, Email: r.Email, Company: r.Company, CaseNumber: r.CaseNumber,
		DefaultRegion: p.in.DefaultRegion,
	})
	if err != nil {
		return p.state, asFieldError(err, "phone")
	}
	p.state.SearchResults = orEmpty(found)
	return p.state, nil
}

func (p *caseProcess) selectContact(ctx workflow.Context, r SelectContactRequest) (CaseProcessState, error) {
	c, err := p.checkSelect(r)
	if err != nil {
		return p.state, err
	}
	if p.state.CallerNumber != "" {
		if err := p.write(ctx, &c, a.AddCallerNumber, c.ID, p.state.CallerNumber); err != nil {
			return p.state, asFieldError(err, "contact_id")
		}
		p.state.CallerNumberAdded = true
	}
	p.identified(c, IdentifiedBySearch)
	return p.handOver(ctx)
}

func (p *caseProcess) newContact(ctx workflow.Context, r NewContactRequest) (CaseProcessState, error) {
	companyID, err := p.checkNewContact(r)
	if err != nil {
		return p.state, err
	}
	id, err := newID(ctx)
	if err != nil {
		return p.state, err
	}
	var c activities.Contact
	err = p.write(ctx, &c, a.CreateCallerContact, activities.CallerContact{
		ID: id, Name: r.Name, Email: r.Email, CompanyID: companyID, CallerNumber: p.state.CallerNumber,
	})
	if err != nil {
		return p.state, asFieldError(err, "company_id")
	}
	p.state.CallerNumberAdded = p.state.CallerNumber != ""
	p.identified(c, IdentifiedAsNewContact)
	return p.handOver(ctx)
}

func (p *caseProcess) submitCase(ctx workflow.Context, r SubmitCaseRequest) (CaseProcessState, error) {
	if err := p.checkSubmit(r); err != nil {
		return p.state, err
	}
	requestID, err := newID(ctx)
	if err != nil {
		return p.state, err
	}
	var c activities.Case
	err = p.write(ctx, &c, a.CreateCase, activities.NewCase{
		RequestID: requestID.String(), Subject: r.Subject, Description: r.Description, Category: r.Category,
		Priority: r.Priority, ContactID: p.state.Contact.ID, InteractionID: p.in.InteractionID,
	})
	if err != nil {
		return p.state, fmt.Errorf("create case: %w", err)
	}
	p.state.Case = &c
	return p.handOver(ctx)
}

func (p *caseProcess) recordConsultation(ctx workflow.Context, r RecordConsultationRequest) (CaseProcessState, error) {
	if err := p.checkConsultation(r); err != nil {
		return p.state, err
	}
	id, err := newID(ctx)
	if err != nil {
		return p.state, err
	}
	var c activities.Consultation
	err = p.write(ctx, &c, a.RecordConsultation, activities.NewConsultation{
		ID: id, CaseNumber: p.historyCase(r.CaseNumber), ContactID: &p.state.Contact.ID,
		InteractionID: p.in.InteractionID, AgentID: p.in.AgentID, Note: r.Note,
	})
	if err != nil {
		return p.state, asFieldError(err, "case_number")
	}
	p.state.Consultations = append(p.state.Consultations, c)
	return p.state, nil
}

func (p *caseProcess) finish(ctx workflow.Context, r FinishRequest) (CaseProcessState, error) {
	if err := p.checkFinish(r); err != nil {
		return p.state, err
	}
	p.finished = true
	return p.handOver(ctx)
}

func (p *caseProcess) cancelProcess(ctx workflow.Context, r CancelRequest) (CaseProcessState, error) {
	if err := p.checkCancel(r); err != nil {
		return p.state, err
	}
	reason := strings.TrimSpace(r.Reason)
	if reason == "" {
		reason = "cancelled by the agent"
	}
	p.cancel = &reason
	return p.handOver(ctx)
}

// asFieldError turns an activity's refusal (not found, invalid, conflict)
// into an InvalidField error naming field, or the field the refusal names
// itself (a reference to a record that does not exist); other errors pass
// unchanged.
func asFieldError(err error, field string) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case activities.ErrTypeNotFound, activities.ErrTypeInvalid, activities.ErrTypeConflict:
			var named string
			if appErr.HasDetails() && appErr.Details(&named) == nil && named != "" {
				return invalidField(named, strings.TrimPrefix(appErr.Message(), named+" "))
			}
			return invalidField(field, "is refused: "+appErr.Message())
		}
	}
	return err
}

// ---- Validators: they read the state and change nothing. ----

// at refuses a step unless the process stands at one of steps with no other
// step under way.
func (p *caseProcess) at(update string, steps ...string) error {
	switch {
	case p.state.Ended():
		return wrongStep("the process has ended (%s)", p.state.Step)
	case p.busy || p.asked != p.settled:
		return wrongStep("the previous step is still being saved; send %s again", update)
	case !slices.Contains(steps, p.state.Step):
		return wrongStep("%s is not possible at step %s", update, p.state.Step)
	}
	return nil
}

func (p *caseProcess) checkChoose(r ChooseContactRequest) (activities.Contact, error) {
	if err := p.at(UpdateChooseContact, CaseStepChooseContact); err != nil {
		return activities.Contact{}, err
	}
	if c, ok := findContact(p.state.Candidates, r.ContactID); ok {
		return c, nil
	}
	return activities.Contact{}, invalidField("contact_id", "is not one of the candidates")
}

func (p *caseProcess) checkSearch(r SearchContactsRequest) error {
	if err := p.at(UpdateSearchContacts, CaseStepIdentifyContact); err != nil {
		return err
	}
	switch {
	case r.CaseNumber != "" && p.state.Kind != CaseProcessAdvise:
		return invalidField("case_number", "is a search for advising on an existing case only")
	case strings.TrimSpace(r.Name+r.Phone+r.Email+r.Company+r.CaseNumber) == "":
		return invalidField("name", "or another search field is required")
	case len(r.Name) > 200 || len(r.Company) > 200:
		return invalidField("name", "must be at most 200 characters")
	}
	if r.Phone != "" {
		if _, err := phone.Normalize(r.Phone, p.region()); err != nil {
			return invalidField("phone", "must be a telephone number")
		}
	}
	return nil
}

func (p *caseProcess) checkSelect(r SelectContactRequest) (activities.Contact, error) {
	if err := p.at(UpdateSelectContact, CaseStepIdentifyContact); err != nil {
		return activities.Contact{}, err
	}
	if c, ok := findContact(p.state.SearchResults, r.ContactID); ok {
		return c, nil
	}
	return activities.Contact{}, invalidField("contact_id", "is not one of the search results")
}

func (p *caseProcess) checkNewContact(r NewContactRequest) (*uuid.UUID, error) {
	if err := p.at(UpdateNewContact, CaseStepIdentifyContact); err != nil {
		return nil, err
	}
	if name := strings.TrimSpace(r.Name); name == "" || len(name) > 200 {
		return nil, invalidField("name", "is required (at most 200 characters)")
	}
	if r.Email != "" {
		if addr, err := mail.ParseAddress(strings.TrimSpace(r.Email)); err != nil || addr.Name != "" {
			return nil, invalidField("email", "must be an email address")
		}
	}
	if r.CompanyID == "" {
		return nil, nil
	}
	id, err := uuid.Parse(r.CompanyID)
	if err != nil {
		return nil, invalidField("company_id", "must be a UUID")
	}
	return &id, nil
}

func (p *caseProcess) checkSubmit(r SubmitCaseRequest) error {
	if err := p.at(UpdateSubmitCase, CaseStepEnterCase); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(r.Subject) == "" || len(r.Subject) > 200:
		return invalidField("subject", "is required (at most 200 characters)")
	case len(r.Description) > 10000:
		return invalidField("description", "must be at most 10000 characters")
	case len(r.Category) > 100:
		return invalidField("category", "must be at most 100 characters")
	case r.Priority != "" && !slices.Contains([]string{store.PriorityLow, store.PriorityMedium, store.PriorityHigh, store.PriorityCritical}, r.Priority):
		return invalidField("priority", "must be one of: low, medium, high, critical")
	}
	return nil
}

func (p *caseProcess) checkConsultation(r RecordConsultationRequest) error {
	if err := p.at(UpdateRecordConsultation, CaseStepAdvise); err != nil {
		return err
	}
	if p.historyCase(r.CaseNumber) == "" {
		return invalidField("case_number", "is not one of the contact's cases")
	}
	if note := strings.TrimSpace(r.Note); note == "" || len(note) > 5000 {
		return invalidField("note", "is required (at most 5000 characters)")
	}
	return nil
}

func (p *caseProcess) checkFinish(FinishRequest) error {
	return p.at(UpdateFinishProcess, CaseStepAdvise)
}

func (p *caseProcess) checkCancel(CancelRequest) error {
	return p.at(UpdateCancelProcess, CaseStepIdentifying, CaseStepChooseContact, CaseStepIdentifyContact,
		CaseStepEnterCase, CaseStepAdvise)
}

// historyCase returns the number of the contact's case that number names
// (in any letter case), or "".
func (p *caseProcess) historyCase(number string) string {
	number = strings.ToUpper(strings.TrimSpace(number))
	for _, c := range p.state.History {
		if c.Number == number {
			return c.Number
		}
	}
	return ""
}

func (p *caseProcess) region() string {
	if p.in.DefaultRegion == "" {
		return "US"
	}
	return p.in.DefaultRegion
}

// orEmpty keeps lists in the state as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func findContact(list []activities.Contact, id string) (activities.Contact, bool) {
	want, err := uuid.Parse(id)
	if err != nil {
		return activities.Contact{}, false
	}
	for _, c := range list {
		if c.ID == want {
			return c, true
		}
	}
	return activities.Contact{}, false
}
