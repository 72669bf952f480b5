package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

const (
	rawCaller    = "(202) 555-0143"
	callerE164   = "+12025550143"
	interaction  = "ix-1"
	processAgent = "agent-1"
)

// caseRun drives one case process in the test environment: updates are sent
// at the minute marks they are given, activities are mocked.
type caseRun struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	minute  int
	answers []*updateAnswer
	upserts []temporal.SearchAttributes
	notes   []activities.CallNote // what the process put on its call
	noteErr error                 // what NoteOnCall answers
}

// updateAnswer is what one update got back.
type updateAnswer struct {
	name     string
	rejected error
	err      error
	state    workflows.CaseProcessState
	done     bool
}

func newCaseRun(t *testing.T, identified ...activities.Contact) *caseRun {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	r := &caseRun{t: t, env: env}
	if identified == nil {
		identified = []activities.Contact{}
	}
	env.OnActivity(a.IdentifyCaller, mock.Anything, activities.CallerLookup{Number: rawCaller, DefaultRegion: "US"}).
		Return(activities.Caller{Number: callerE164, Contacts: identified}, nil).Once()
	env.OnActivity(a.NoteOnCall, mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		r.notes = append(r.notes, args.Get(1).(activities.CallNote))
	}).Return(func(context.Context, activities.CallNote) error { return r.noteErr }).Maybe()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		r.upserts = append(r.upserts, args.Get(0).(temporal.SearchAttributes))
	}).Return(nil)
	return r
}

// send schedules an update one minute after the previous one.
func (r *caseRun) send(name string, arg any) *updateAnswer {
	r.minute++
	ans := &updateAnswer{name: name}
	r.answers = append(r.answers, ans)
	r.env.RegisterDelayedCallback(func() {
		r.env.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { ans.rejected = err; ans.done = true },
			OnComplete: func(v any, err error) {
				ans.err, ans.done = err, true
				if s, ok := v.(workflows.CaseProcessState); ok {
					ans.state = s
				}
			},
		}, arg)
	}, time.Duration(r.minute)*time.Minute)
	return ans
}

// execute runs the process to its end and returns its final state.
func (r *caseRun) execute(workflow any, stepTimeout time.Duration) workflows.CaseProcessState {
	r.t.Helper()
	r.env.ExecuteWorkflow(workflow, workflows.CaseProcessInput{
		InteractionID: interaction, CallerNumber: rawCaller, AgentID: processAgent, DefaultRegion: "US", StepTimeout: stepTimeout,
	})
	require.True(r.t, r.env.IsWorkflowCompleted())
	require.NoError(r.t, r.env.GetWorkflowError())
	var final workflows.CaseProcessState
	require.NoError(r.t, r.env.GetWorkflowResult(&final))
	for _, ans := range r.answers {
		require.True(r.t, ans.done, "update %s got no answer", ans.name)
	}
	r.env.AssertExpectations(r.t)
	return final
}

// ok asserts that an update was accepted and completed.
func (ans *updateAnswer) ok(t *testing.T) workflows.CaseProcessState {
	t.Helper()
	require.NoError(t, ans.rejected, ans.name)
	require.NoError(t, ans.err, ans.name)
	return ans.state
}

// keyword returns the last value the process upserted for key.
func (r *caseRun) keyword(key temporal.SearchAttributeKeyKeyword) string {
	last := ""
	for _, sa := range r.upserts {
		if v, ok := sa.GetKeyword(key); ok {
			last = v
		}
	}
	return last
}

// requireNotes checks what the process put on its call: the contact (and
// how it was identified), then the case it created, if any.
func (r *caseRun) requireNotes(contactID uuid.UUID, by, caseNumber string) {
	r.t.Helper()
	want := 1
	if caseNumber != "" {
		want = 2
	}
	require.Len(r.t, r.notes, want, "one note per fact")
	for _, n := range r.notes {
		require.Equal(r.t, interaction, n.Interaction)
		require.Equal(r.t, workflows.UpdateNoteFromProcess, n.UpdateName)
		require.Equal(r.t, processAgent, n.AgentID)
		require.NotEmpty(r.t, n.UpdateID)
	}
	require.Equal(r.t, &contactID, r.notes[0].ContactID)
	require.Equal(r.t, by, r.notes[0].By)
	if caseNumber != "" {
		require.Nil(r.t, r.notes[1].ContactID)
		require.Equal(r.t, caseNumber, r.notes[1].CaseNumber)
		require.NotEqual(r.t, r.notes[0].UpdateID, r.notes[1].UpdateID)
	}
}

func contact(name string) activities.Contact {
	return activities.Contact{ID: uuid.New(), Name: name, CommunicationOptions: []activities.CommunicationOption{
		{Kind: store.OptionPhone, Value: callerE164},
	}}
}

func submission() workflows.SubmitCaseRequest {
	return workflows.SubmitCaseRequest{Subject: "Router keeps rebooting", Description: "Since Monday", Category: "hardware", Priority: store.PriorityHigh}
}

// expectCase mocks the case creation for contactID and returns the case.
func expectCase(env *testsuite.TestWorkflowEnvironment, contactID uuid.UUID) activities.Case {
	c := activities.Case{ID: uuid.New(), Number: "CS-000123", Subject: "Router keeps rebooting", Priority: store.PriorityHigh,
		Status: store.CaseNew, ContactID: contactID}
	env.OnActivity(a.CreateCase, mock.Anything, mock.MatchedBy(func(nc activities.NewCase) bool {
		return nc.ContactID == contactID && nc.Subject == "Router keeps rebooting" && nc.Priority == store.PriorityHigh &&
			nc.Category == "hardware" && nc.InteractionID == interaction && nc.RequestID != ""
	})).Return(c, nil).Once()
	return c
}

func history(uuid.UUID) []activities.CaseSummary {
	return []activities.CaseSummary{
		{ID: uuid.New(), Number: "CS-000042", Subject: "Second", Status: store.CaseInProgress},
		{ID: uuid.New(), Number: "CS-000007", Subject: "First", Status: store.CaseClosed},
	}
}

// ---- Add new case: the seed's first table, one test per row. ----

func TestAddNewCaseUniquelyIdentifiedByPhone(t *testing.T) {
	ann := contact("Ann")
	r := newCaseRun(t, ann)
	c := expectCase(r.env, ann.ID)
	submit := r.send(workflows.UpdateSubmitCase, submission())

	final := r.execute(workflows.AddNewCase, 0)
	require.Equal(t, workflows.CaseStepDone, final.Step)
	require.Equal(t, workflows.IdentifiedByPhone, final.IdentifiedBy)
	require.Equal(t, ann.ID, final.Contact.ID, "the contact field is filled in")
	require.Equal(t, c.Number, final.Case.Number)
	require.Equal(t, callerE164, final.CallerNumber)
	require.False(t, final.CallerNumberAdded)

	got := submit.ok(t)
	require.Equal(t, workflows.CaseStepDone, got.Step, "the update answers with the created case")
	require.Equal(t, c.Number, got.Case.Number)

	require.Equal(t, ann.ID.String(), r.keyword(workflows.SearchContactID), "an id, never a number")
	require.Equal(t, c.Number, r.keyword(workflows.SearchCaseNumber))
	require.Equal(t, processAgent, r.keyword(workflows.SearchAgentID))
	require.Equal(t, workflows.CaseStepDone, r.keyword(workflows.SearchProcessState))
	r.requireNotes(ann.ID, workflows.IdentifiedByPhone, c.Number)
}

// A call that cannot take the note (its record refused it) does not stop
// the process: the case is made and keeps its link to the interaction.
func TestAddNewCaseGoesOnWhenTheCallRefusesTheNote(t *testing.T) {
	ann := contact("Ann")
	r := newCaseRun(t, ann)
	r.noteErr = temporal.NewNonRetryableApplicationError("refused", activities.ErrTypeConflict, nil)
	c := expectCase(r.env, ann.ID)
	submit := r.send(workflows.UpdateSubmitCase, submission())

	final := r.execute(workflows.AddNewCase, 0)
	require.Equal(t, workflows.CaseStepDone, final.Step)
	require.Equal(t, c.Number, submit.ok(t).Case.Number)
	r.requireNotes(ann.ID, workflows.IdentifiedByPhone, c.Number)
}

func TestAddNewCaseSeveralContactsHaveTheNumber(t *testing.T) {
	ann, bob := contact("Ann"), contact("Bob")
	r := newCaseRun(t, ann, bob)
	c := expectCase(r.env, bob.ID)
	choose := r.send(workflows.UpdateChooseContact, workflows.ChooseContactRequest{ContactID: bob.ID.String()})
	submit := r.send(workflows.UpdateSubmitCase, submission())

	final := r.execute(workflows.AddNewCase, 0)
	next := choose.ok(t)
	require.Equal(t, workflows.CaseStepEnterCase, next.Step, "choosing opens the case page")
	require.Equal(t, bob.ID, next.Contact.ID)
	require.Len(t, next.Candidates, 2)
	require.Equal(t, c.Number, submit.ok(t).Case.Number)
	require.Equal(t, workflows.CaseStepDone, final.Step)
	require.Equal(t, workflows.IdentifiedByChoice, final.IdentifiedBy)
	require.Equal(t, bob.ID, final.Contact.ID)
	r.requireNotes(bob.ID, workflows.IdentifiedByChoice, c.Number)
}

func TestAddNewCaseKnownCustomerFoundBySearch(t *testing.T) {
	r := newCaseRun(t)
	cleo := activities.Contact{ID: uuid.New(), Name: "Cleo", CommunicationOptions: []activities.CommunicationOption{}}
	r.env.OnActivity(a.SearchContactsForCase, mock.Anything, activities.ContactSearch{Name: "cleo", Company: "Initech", DefaultRegion: "US"}).
		Return([]activities.Contact{cleo}, nil).Once()
	withNumber := cleo
	withNumber.CommunicationOptions = []activities.CommunicationOption{{Kind: store.OptionPhone, Value: callerE164}}
	r.env.OnActivity(a.AddCallerNumber, mock.Anything, cleo.ID, callerE164).Return(withNumber, nil).Once()
	c := expectCase(r.env, cleo.ID)

	search := r.send(workflows.UpdateSearchContacts, workflows.SearchContactsRequest{Name: "cleo", Company: "Initech"})
	sel := r.send(workflows.UpdateSelectContact, workflows.SelectContactRequest{ContactID: cleo.ID.String()})
	submit := r.send(workflows.UpdateSubmitCase, submission())

	final := r.execute(workflows.AddNewCase, 0)
	found := search.ok(t)
	require.Equal(t, workflows.CaseStepIdentifyContact, found.Step, "a search stays on the identification page")
	require.Equal(t, []activities.Contact{cleo}, found.SearchResults)
	picked := sel.ok(t)
	require.Equal(t, workflows.CaseStepEnterCase, picked.Step)
	require.True(t, picked.CallerNumberAdded)
	require.Equal(t, withNumber.CommunicationOptions, picked.Contact.CommunicationOptions, "the calling number is now the contact's")
	require.Equal(t, c.Number, submit.ok(t).Case.Number)
	require.Equal(t, workflows.IdentifiedBySearch, final.IdentifiedBy)
	require.Equal(t, workflows.CaseStepDone, final.Step)
	r.requireNotes(cleo.ID, workflows.IdentifiedBySearch, c.Number)
}

func TestAddNewCaseNewCustomer(t *testing.T) {
	r := newCaseRun(t)
	company := uuid.New()
	var dee activities.Contact
	r.env.OnActivity(a.CreateCallerContact, mock.Anything, mock.MatchedBy(func(in activities.CallerContact) bool {
		return in.Name == "Dee" && in.Email == "dee@example.com" && *in.CompanyID == company &&
			in.CallerNumber == callerE164 && in.ID != uuid.Nil
	})).Return(func(_ context.Context, in activities.CallerContact) (activities.Contact, error) {
		dee = activities.Contact{ID: in.ID, Name: in.Name, CompanyID: in.CompanyID,
			CommunicationOptions: []activities.CommunicationOption{{Kind: store.OptionPhone, Value: in.CallerNumber}}}
		return dee, nil
	}).Once()
	r.env.OnActivity(a.CreateCase, mock.Anything, mock.Anything).Return(func(_ context.Context, nc activities.NewCase) (activities.Case, error) {
		require.Equal(t, dee.ID, nc.ContactID, "the case names the new contact")
		return activities.Case{Number: "CS-000124", ContactID: nc.ContactID}, nil
	}).Once()

	added := r.send(workflows.UpdateNewContact, workflows.NewContactRequest{Name: "Dee", Email: "dee@example.com", CompanyID: company.String()})
	submit := r.send(workflows.UpdateSubmitCase, submission())

	final := r.execute(workflows.AddNewCase, 0)
	next := added.ok(t)
	require.Equal(t, workflows.CaseStepEnterCase, next.Step, "[Next] opens the case page")
	require.Equal(t, dee.ID, next.Contact.ID)
	require.True(t, next.CallerNumberAdded)
	require.Equal(t, "CS-000124", submit.ok(t).Case.Number)
	require.Equal(t, workflows.IdentifiedAsNewContact, final.IdentifiedBy)
	require.Equal(t, workflows.CaseStepDone, final.Step)
	require.Equal(t, workflows.CaseProcessAddNewCase, final.Flow)
	r.requireNotes(dee.ID, workflows.IdentifiedAsNewContact, "CS-000124")
}

// ---- Advise on existing case: the seed's second table, one test per row. ----

func TestAdviseUniquelyIdentifiedByPhone(t *testing.T) {
	ann := contact("Ann")
	r := newCaseRun(t, ann)
	past := history(ann.ID)
	r.env.OnActivity(a.ContactCases, mock.Anything, ann.ID).Return(past, nil).Once()
	r.env.OnActivity(a.RecordConsultation, mock.Anything, mock.MatchedBy(func(nc activities.NewConsultation) bool {
		return nc.CaseNumber == "CS-000042" && *nc.ContactID == ann.ID && nc.InteractionID == interaction &&
			nc.AgentID == processAgent && nc.Note == "Parts ordered" && nc.ID != uuid.Nil
	})).Return(activities.Consultation{ID: uuid.New(), CaseNumber: "CS-000042", Note: "Parts ordered"}, nil).Once()

	consult := r.send(workflows.UpdateRecordConsultation, workflows.RecordConsultationRequest{CaseNumber: "cs-000042", Note: "Parts ordered"})
	finish := r.send(workflows.UpdateFinishProcess, workflows.FinishRequest{})

	final := r.execute(workflows.AdviseOnExistingCase, 0)
	during := consult.ok(t)
	require.Equal(t, workflows.CaseStepAdvise, during.Step)
	require.Equal(t, past, during.History, "the history tab: the contact's cases, newest first")
	require.Len(t, during.Consultations, 1)
	require.Equal(t, workflows.CaseStepDone, finish.ok(t).Step)
	require.Equal(t, workflows.CaseStepDone, final.Step)
	require.Equal(t, workflows.CaseProcessAdvise, final.Flow)
	require.Equal(t, ann.ID, final.Contact.ID)
	require.Nil(t, final.Case, "advising creates no case")
	require.Empty(t, r.keyword(workflows.SearchCaseNumber))
	r.requireNotes(ann.ID, workflows.IdentifiedByPhone, "")
}

func TestAdviseSeveralContactsHaveTheNumber(t *testing.T) {
	ann, bob := contact("Ann"), contact("Bob")
	r := newCaseRun(t, ann, bob)
	past := history(ann.ID)
	r.env.OnActivity(a.ContactCases, mock.Anything, ann.ID).Return(past, nil).Once()

	choose := r.send(workflows.UpdateChooseContact, workflows.ChooseContactRequest{ContactID: ann.ID.String()})
	finish := r.send(workflows.UpdateFinishProcess, workflows.FinishRequest{})

	final := r.execute(workflows.AdviseOnExistingCase, 0)
	page := choose.ok(t)
	require.Equal(t, workflows.CaseStepAdvise, page.Step, "choosing opens the contact page")
	require.Equal(t, ann.ID, page.Contact.ID)
	require.Equal(t, past, page.History)
	require.Equal(t, workflows.CaseStepDone, finish.ok(t).Step)
	require.Equal(t, workflows.IdentifiedByChoice, final.IdentifiedBy)
	require.Equal(t, ann.ID.String(), r.keyword(workflows.SearchContactID))
}

func TestAdviseKnownCustomerFoundByCaseNumber(t *testing.T) {
	r := newCaseRun(t)
	cleo := activities.Contact{ID: uuid.New(), Name: "Cleo", CommunicationOptions: []activities.CommunicationOption{}}
	r.env.OnActivity(a.SearchContactsForCase, mock.Anything, activities.ContactSearch{CaseNumber: "CS-000042", DefaultRegion: "US"}).
		Return([]activities.Contact{cleo}, nil).Once()
	r.env.OnActivity(a.AddCallerNumber, mock.Anything, cleo.ID, callerE164).Return(cleo, nil).Once()
	past := history(cleo.ID)
	r.env.OnActivity(a.ContactCases, mock.Anything, cleo.ID).Return(past, nil).Once()

	search := r.send(workflows.UpdateSearchContacts, workflows.SearchContactsRequest{CaseNumber: "CS-000042"})
	sel := r.send(workflows.UpdateSelectContact, workflows.SelectContactRequest{ContactID: cleo.ID.String()})
	finish := r.send(workflows.UpdateFinishProcess, workflows.FinishRequest{})

	final := r.execute(workflows.AdviseOnExistingCase, 0)
	require.Equal(t, []activities.Contact{cleo}, search.ok(t).SearchResults)
	page := sel.ok(t)
	require.Equal(t, workflows.CaseStepAdvise, page.Step)
	require.True(t, page.CallerNumberAdded)
	require.Equal(t, past, page.History)
	require.Equal(t, workflows.CaseStepDone, finish.ok(t).Step)
	require.Equal(t, workflows.IdentifiedBySearch, final.IdentifiedBy)
}

// The seed's last row: a new customer has no case to be advised on, so the
// process goes on as [Add new case].
func TestAdviseNewCustomerGoesOnToAddNewCase(t *testing.T) {
	r := newCaseRun(t)
	var eve activities.Contact
	r.env.OnActivity(a.CreateCallerContact, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CallerContact) (activities.Contact, error) {
		eve = activities.Contact{ID: in.ID, Name: in.Name, CommunicationOptions: []activities.CommunicationOption{{Kind: store.OptionPhone, Value: in.CallerNumber}}}
		return eve, nil
	}).Once()
	r.env.OnActivity(a.ContactCases, mock.Anything, mock.Anything).Return([]activities.CaseSummary{}, nil).Once()
	r.env.OnActivity(a.CreateCase, mock.Anything, mock.Anything).Return(func(_ context.Context, nc activities.NewCase) (activities.Case, error) {
		require.Equal(t, eve.ID, nc.ContactID)
		return activities.Case{Number: "CS-000125", ContactID: nc.ContactID}, nil
	}).Once()

	added := r.send(workflows.UpdateNewContact, workflows.NewContactRequest{Name: "Eve"})
	finish := r.send(workflows.UpdateFinishProcess, workflows.FinishRequest{})
	submit := r.send(workflows.UpdateSubmitCase, submission())

	final := r.execute(workflows.AdviseOnExistingCase, 0)
	next := added.ok(t)
	require.Equal(t, workflows.CaseStepEnterCase, next.Step)
	require.Equal(t, workflows.CaseProcessAddNewCase, next.Flow, "the flow switches to add_new_case")
	require.Equal(t, workflows.CaseProcessAdvise, next.Kind)
	requireRefused(t, finish, workflows.ErrTypeWrongStep, "")
	require.Equal(t, "CS-000125", submit.ok(t).Case.Number)
	require.Equal(t, workflows.CaseStepDone, final.Step)
	require.Equal(t, "CS-000125", r.keyword(workflows.SearchCaseNumber))
}

// ---- Refusals, timeouts, cancellation. ----

func requireRefused(t *testing.T, ans *updateAnswer, errType, field string) {
	t.Helper()
	require.Error(t, ans.rejected, "%s should be rejected by its validator", ans.name)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(ans.rejected, &appErr), "%T", ans.rejected)
	require.Equal(t, errType, appErr.Type())
	if field != "" {
		var got string
		require.NoError(t, appErr.Details(&got))
		require.Equal(t, field, got)
	}
}

func TestChooseContactRefusesAContactNotAmongTheCandidates(t *testing.T) {
	ann, bob := contact("Ann"), contact("Bob")
	r := newCaseRun(t, ann, bob)
	c := expectCase(r.env, ann.ID)
	stranger := r.send(workflows.UpdateChooseContact, workflows.ChooseContactRequest{ContactID: uuid.NewString()})
	early := r.send(workflows.UpdateSubmitCase, submission())
	choose := r.send(workflows.UpdateChooseContact, workflows.ChooseContactRequest{ContactID: ann.ID.String()})
	again := r.send(workflows.UpdateChooseContact, workflows.ChooseContactRequest{ContactID: bob.ID.String()})
	submit := r.send(workflows.UpdateSubmitCase, submission())

	final := r.execute(workflows.AddNewCase, 0)
	requireRefused(t, stranger, workflows.ErrTypeInvalidField, "contact_id")
	requireRefused(t, early, workflows.ErrTypeWrongStep, "")
	require.Equal(t, ann.ID, choose.ok(t).Contact.ID)
	requireRefused(t, again, workflows.ErrTypeWrongStep, "")
	require.Equal(t, c.Number, submit.ok(t).Case.Number)
	require.Equal(t, ann.ID, final.Contact.ID)
}

func TestValidatorsNameTheFieldAtFault(t *testing.T) {
	r := newCaseRun(t)
	byCase := r.send(workflows.UpdateSearchContacts, workflows.SearchContactsRequest{CaseNumber: "CS-000042"})
	empty := r.send(workflows.UpdateSearchContacts, workflows.SearchContactsRequest{})
	badPhone := r.send(workflows.UpdateSearchContacts, workflows.SearchContactsRequest{Phone: "12"})
	unseen := r.send(workflows.UpdateSelectContact, workflows.SelectContactRequest{ContactID: uuid.NewString()})
	badEmail := r.send(workflows.UpdateNewContact, workflows.NewContactRequest{Name: "Fay", Email: "not an address"})
	cancel := r.send(workflows.UpdateCancelProcess, workflows.CancelRequest{})

	final := r.execute(workflows.AddNewCase, 0)
	requireRefused(t, byCase, workflows.ErrTypeInvalidField, "case_number")
	requireRefused(t, empty, workflows.ErrTypeInvalidField, "name")
	requireRefused(t, badPhone, workflows.ErrTypeInvalidField, "phone")
	requireRefused(t, unseen, workflows.ErrTypeInvalidField, "contact_id")
	requireRefused(t, badEmail, workflows.ErrTypeInvalidField, "email")
	require.Equal(t, workflows.CaseStepCancelled, cancel.ok(t).Step)
	require.Equal(t, workflows.CaseStepCancelled, final.Step)
}

func TestRecordConsultationRefusesAnotherContactsCase(t *testing.T) {
	ann := contact("Ann")
	r := newCaseRun(t, ann)
	r.env.OnActivity(a.ContactCases, mock.Anything, ann.ID).Return(history(ann.ID), nil).Once()
	other := r.send(workflows.UpdateRecordConsultation, workflows.RecordConsultationRequest{CaseNumber: "CS-000999", Note: "x"})
	noNote := r.send(workflows.UpdateRecordConsultation, workflows.RecordConsultationRequest{CaseNumber: "CS-000042", Note: " "})
	submit := r.send(workflows.UpdateSubmitCase, submission())
	finish := r.send(workflows.UpdateFinishProcess, workflows.FinishRequest{})

	final := r.execute(workflows.AdviseOnExistingCase, 0)
	requireRefused(t, other, workflows.ErrTypeInvalidField, "case_number")
	requireRefused(t, noNote, workflows.ErrTypeInvalidField, "note")
	requireRefused(t, submit, workflows.ErrTypeWrongStep, "")
	require.Equal(t, workflows.CaseStepDone, finish.ok(t).Step)
	require.Empty(t, final.Consultations)
}

func TestStepTimeoutAbandonsWithNothingCreated(t *testing.T) {
	ann, bob := contact("Ann"), contact("Bob")
	r := newCaseRun(t, ann, bob)
	// No update at all: no contact, no case may be written (no such activity
	// is mocked, so any call would fail the test).
	final := r.execute(workflows.AddNewCase, 10*time.Minute)
	require.Equal(t, workflows.CaseStepAbandoned, final.Step)
	require.Contains(t, final.Reason, "choose_contact")
	require.Nil(t, final.Contact)
	require.Nil(t, final.Case)
	require.Nil(t, final.StepDeadline)
	require.Equal(t, workflows.CaseStepAbandoned, r.keyword(workflows.SearchProcessState))
	require.Empty(t, r.keyword(workflows.SearchContactID))
}

func TestStepTimeoutRestartsWithEveryAgentStepAndAbandonsTheCasePage(t *testing.T) {
	r := newCaseRun(t)
	dee := contact("Dee")
	r.env.OnActivity(a.SearchContactsForCase, mock.Anything, mock.Anything).Return([]activities.Contact{}, nil).Times(2)
	r.env.OnActivity(a.CreateCallerContact, mock.Anything, mock.Anything).Return(dee, nil).Once()
	// Searches at minutes 1 and 2, the new contact at 3: each within the
	// 2-minute step timeout of the step before.
	r.send(workflows.UpdateSearchContacts, workflows.SearchContactsRequest{Name: "dee"})
	r.send(workflows.UpdateSearchContacts, workflows.SearchContactsRequest{Email: "dee@example.com"})
	added := r.send(workflows.UpdateNewContact, workflows.NewContactRequest{Name: "Dee"})

	final := r.execute(workflows.AddNewCase, 2*time.Minute)
	require.Equal(t, workflows.CaseStepEnterCase, added.ok(t).Step)
	require.Equal(t, workflows.CaseStepAbandoned, final.Step, "nobody submitted the case")
	require.Contains(t, final.Reason, "enter_case")
	require.Equal(t, dee.ID, final.Contact.ID, "the contact the agent added stays")
	require.Nil(t, final.Case)
}

func TestASubmittedCaseIsNeverLostToTheStepTimeout(t *testing.T) {
	ann := contact("Ann")
	r := newCaseRun(t, ann)
	// The database is slow: creating the case takes longer than the step
	// timeout. The process must wait for it rather than give up halfway.
	r.env.OnActivity(a.CreateCase, mock.Anything, mock.Anything).After(5*time.Minute).
		Return(activities.Case{Number: "CS-000126", ContactID: ann.ID}, nil).Once()
	submit := r.send(workflows.UpdateSubmitCase, submission())

	final := r.execute(workflows.AddNewCase, 2*time.Minute)
	require.Equal(t, "CS-000126", submit.ok(t).Case.Number)
	require.Equal(t, workflows.CaseStepDone, final.Step)
	require.Equal(t, "CS-000126", final.Case.Number)
}

func TestCancelEndsTheProcess(t *testing.T) {
	ann := contact("Ann")
	r := newCaseRun(t, ann)
	cancel := r.send(workflows.UpdateCancelProcess, workflows.CancelRequest{Reason: "caller hung up"})

	final := r.execute(workflows.AddNewCase, 0)
	require.Equal(t, workflows.CaseStepCancelled, cancel.ok(t).Step)
	require.Equal(t, workflows.CaseStepCancelled, final.Step)
	require.Equal(t, "caller hung up", final.Reason)
	require.Nil(t, final.Case)
	require.Equal(t, workflows.CaseStepCancelled, r.keyword(workflows.SearchProcessState))
}

func TestStateQueryShowsTheCurrentStep(t *testing.T) {
	ann, bob := contact("Ann"), contact("Bob")
	r := newCaseRun(t, ann, bob)
	var seen workflows.CaseProcessState
	var left time.Duration
	r.env.RegisterDelayedCallback(func() {
		v, err := r.env.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&seen))
		left = seen.StepDeadline.Sub(r.env.Now())
	}, 30*time.Second)
	r.send(workflows.UpdateCancelProcess, workflows.CancelRequest{})

	r.execute(workflows.AddNewCase, 0)
	require.Equal(t, workflows.CaseStepChooseContact, seen.Step)
	require.Len(t, seen.Candidates, 2)
	require.Equal(t, processAgent, seen.AgentID)
	require.Equal(t, interaction, seen.InteractionID)
	require.Equal(t, "default-test-workflow-id", seen.WorkflowID)
	require.InDelta(t, float64(29*time.Minute+30*time.Second), float64(left), float64(time.Second),
		"the default step timeout is 30 minutes")
}
