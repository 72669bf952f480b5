package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/phone"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// agentUI is an agent's desktop talking to the API with the agent's token.
type agentUI struct {
	t     *testing.T
	token string
}

func newAgentUI(t *testing.T, agentID string) agentUI {
	t.Helper()
	token, _, err := auth.Issue(context.Background(), sys.store, auth.RoleAgent, agentID, "e2e case process")
	require.NoError(t, err)
	return agentUI{t: t, token: token}
}

// call sends a request and returns the status and body.
func (u agentUI) call(method, path string, body any) (int, []byte) {
	u.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(u.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, sys.apiURL+path, rd)
	require.NoError(u.t, err)
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(u.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(u.t, err)
	u.checkAgainstSpec(req, resp, out)
	return resp.StatusCode, out
}

// spec is api/openapi.yaml, loaded once.
var spec = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc)
})

// checkAgainstSpec fails the test when a response is not what openapi.yaml
// documents for its route.
func (u agentUI) checkAgainstSpec(req *http.Request, resp *http.Response, body []byte) {
	u.t.Helper()
	router, err := spec()
	require.NoError(u.t, err)
	// The router matches on the documented server, not the test server.
	probe := req.Clone(context.Background())
	probe.URL.Scheme, probe.URL.Host, probe.Host = "http", "localhost:8080", "localhost:8080"
	route, params, err := router.FindRoute(probe)
	require.NoError(u.t, err, "%s %s is not in openapi.yaml", req.Method, req.URL.Path)
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	require.NoError(u.t, openapi3filter.ValidateResponse(context.Background(), out),
		"%s %s answered %d, which openapi.yaml does not allow: %s", req.Method, req.URL.Path, resp.StatusCode, body)
}

// step sends one agent step and returns what the UI shows next.
func (u agentUI) step(id, name string, body any) workflows.CaseProcessState {
	u.t.Helper()
	status, out := u.call(http.MethodPost, "/v1/processes/"+id+"/"+name, body)
	require.Equal(u.t, http.StatusOK, status, "%s: %s", name, out)
	var s workflows.CaseProcessState
	require.NoError(u.t, json.Unmarshal(out, &s))
	return s
}

// refused sends a step that must be refused with status, naming field.
func (u agentUI) refused(id, name string, body any, status int, field string) api.Problem {
	u.t.Helper()
	got, out := u.call(http.MethodPost, "/v1/processes/"+id+"/"+name, body)
	require.Equal(u.t, status, got, "%s: %s", name, out)
	var p api.Problem
	require.NoError(u.t, json.Unmarshal(out, &p))
	if field != "" {
		require.NotEmpty(u.t, p.Errors, string(out))
		require.Equal(u.t, field, p.Errors[0].Field)
	}
	return p
}

func (u agentUI) state(id string) workflows.CaseProcessState {
	u.t.Helper()
	status, out := u.call(http.MethodGet, "/v1/processes/"+id, nil)
	require.Equal(u.t, http.StatusOK, status, string(out))
	var s workflows.CaseProcessState
	require.NoError(u.t, json.Unmarshal(out, &s))
	return s
}

func (u agentUI) getCase(number string) store.CaseDetail {
	u.t.Helper()
	status, out := u.call(http.MethodGet, "/v1/cases/"+number, nil)
	require.Equal(u.t, http.StatusOK, status, string(out))
	var d store.CaseDetail
	require.NoError(u.t, json.Unmarshal(out, &d))
	return d
}

func (u agentUI) getContact(id uuid.UUID) store.Contact {
	u.t.Helper()
	status, out := u.call(http.MethodGet, "/v1/contacts/"+id.String(), nil)
	require.Equal(u.t, http.StatusOK, status, string(out))
	var c store.Contact
	require.NoError(u.t, json.Unmarshal(out, &c))
	return c
}

// callerNumber returns a fresh valid number: E.164, and as a caller ID
// would show it in national notation.
func callerNumber(t *testing.T) (e164, national string) {
	t.Helper()
	for {
		n := fmt.Sprintf("+1202%d%06d", 2+rand.IntN(8), rand.IntN(1_000_000))
		if got, err := phone.Normalize(n, "US"); err == nil && got == n {
			return n, fmt.Sprintf("(202) %s-%s", n[5:8], n[8:])
		}
	}
}

func seedContact(t *testing.T, name string, companyID *uuid.UUID, phones ...string) store.Contact {
	t.Helper()
	nc := store.NewContact{Name: name + " " + uuid.NewString()[:6], CompanyID: companyID}
	for _, p := range phones {
		nc.CommunicationOptions = append(nc.CommunicationOptions, store.CommunicationOption{Kind: store.OptionPhone, Value: p})
	}
	c, err := sys.store.CreateContact(context.Background(), nc)
	require.NoError(t, err)
	return c
}

func seedCase(t *testing.T, contactID uuid.UUID, subject string) store.Case {
	t.Helper()
	c, err := sys.store.CreateCase(context.Background(), store.NewCase{Subject: subject, ContactID: contactID})
	require.NoError(t, err)
	return c
}

// callDesk is an agent with a queue of its own, at its desk: its case
// processes start from real calls, as the call panel starts them.
type callDesk struct {
	agentUI
	agentID, queue string
}

func newCallDesk(t *testing.T) callDesk {
	t.Helper()
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0, "acceptance_timeout_seconds": 120}, "desk")
	agentID := "desk-" + queue
	return callDesk{agentUI: agentUI{t: t, token: tokens[agentID]}, agentID: agentID, queue: queue}
}

// startCaseProcess has the simulator ring the queue from caller, accepts
// the call the instant it is offered, and starts kind from the interaction
// over HTTP. It returns the process id and the interaction's number.
func (d callDesk) startCaseProcess(kind, caller string) (string, string) {
	t := d.t
	t.Helper()
	_, n := ringIn(t, caller, d.queue, nil)
	offeredTo(t, n, d.agentID)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", d.token, map[string]any{}, nil)
	var ps workflows.CaseProcessState
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+n+"/processes", d.token, map[string]any{"kind": kind}, &ps)
	require.Equal(t, n, ps.InteractionID)
	require.NotEqual(t, workflows.CaseStepIdentifying, ps.Step, "the process answers at its first stop")
	t.Cleanup(func() { _ = sys.client.TerminateWorkflow(context.Background(), ps.WorkflowID, "", "test over") })
	return ps.WorkflowID, n
}

// requireOnCall checks that the contact identified in the process is on
// the call's record, with the contact's company, and (when the record did
// not have it already) a history line saying how it was identified.
func requireOnCall(t *testing.T, number string, c store.Contact, by string) {
	t.Helper()
	d := getInteraction(t, number)
	require.Equal(t, &c.ID, d.ContactID, "the contact identified is on the call")
	require.Equal(t, c.CompanyID, d.CompanyID, "with the contact's company")
	if by == "" {
		return
	}
	var lines []string
	for _, h := range d.History {
		lines = append(lines, h.Reason)
		if h.FromState == h.ToState && h.ToState == d.State && strings.HasPrefix(h.Reason, "contact identified ("+by+")") {
			return
		}
	}
	require.Failf(t, "no history line for the contact", "history: %q", lines)
}

// requireCompleted waits for the workflow to complete and returns its result.
func requireCompleted(t *testing.T, id string) workflows.CaseProcessState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var final workflows.CaseProcessState
	require.NoError(t, sys.client.GetWorkflow(ctx, id, "").Get(ctx, &final))
	return final
}

func requireCreatedFrom(t *testing.T, d store.CaseDetail, interactionID string) {
	t.Helper()
	require.Len(t, d.Interactions, 1)
	require.Equal(t, interactionID, d.Interactions[0].InteractionID)
	require.Equal(t, store.RelationCreatedFrom, d.Interactions[0].Relation)
}

var submitted = map[string]any{"subject": "Router keeps rebooting", "description": "Since Monday", "category": "hardware", "priority": "high"}

// ---- Add new case: one test per row of the seed's first table. ----

func TestAddNewCaseForAContactIdentifiedByPhone(t *testing.T) {
	desk := newCallDesk(t)
	ui, agentID := desk.agentUI, desk.agentID
	e164, _ := callerNumber(t)
	ann := seedContact(t, "Ann", nil, e164)

	id, ix := desk.startCaseProcess(workflows.CaseProcessAddNewCase, e164)
	s := ui.state(id)
	require.Equal(t, workflows.CaseStepEnterCase, s.Step, "the case page opens at once")
	require.Equal(t, ann.ID, s.Contact.ID, "with the contact filled in")
	require.Equal(t, e164, s.CallerNumber)

	done := ui.step(id, "submit-case", submitted)
	require.Equal(t, workflows.CaseStepDone, done.Step)
	require.NotNil(t, done.Case)
	d := ui.getCase(done.Case.Number)
	require.Equal(t, ann.ID, d.ContactID)
	require.Equal(t, store.PriorityHigh, d.Priority)
	require.Equal(t, store.CaseNew, d.Status)
	requireCreatedFrom(t, d, ix)
	require.Equal(t, done.Case.Number, requireCompleted(t, id).Case.Number)
	requireOnCall(t, ix, ann, "")

	// Ops find the process by contact id and case number, never by phone.
	require.Eventually(t, func() bool {
		resp, err := sys.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
			Query: fmt.Sprintf("ContactId = '%s' AND CaseNumber = '%s' AND AgentId = '%s' AND ProcessState = 'done'", ann.ID, d.Number, agentID)})
		return err == nil && len(resp.GetExecutions()) == 1 &&
			resp.GetExecutions()[0].GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, 30*time.Second, 100*time.Millisecond)
	// The case's number finds the call it was created from too.
	require.Eventually(t, func() bool {
		resp, err := sys.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
			Query: fmt.Sprintf("CaseNumber = '%s'", d.Number)})
		if err != nil {
			return false
		}
		var ids []string
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		want := []string{id, workflows.InteractionWorkflowID(ix)}
		slices.Sort(ids)
		slices.Sort(want)
		return slices.Equal(want, ids)
	}, 30*time.Second, 100*time.Millisecond)

	// The process has ended: another step is refused.
	ui.refused(id, "cancel", nil, http.StatusConflict, "")
}

func TestAddNewCaseWhenSeveralContactsHaveTheNumber(t *testing.T) {
	desk := newCallDesk(t)
	ui := desk.agentUI
	e164, _ := callerNumber(t)
	ann := seedContact(t, "Ann", nil, e164)
	bob := seedContact(t, "Bob", nil, e164)

	id, ix := desk.startCaseProcess(workflows.CaseProcessAddNewCase, e164)
	s := ui.state(id)
	require.Equal(t, workflows.CaseStepChooseContact, s.Step, "the search results detail")
	require.ElementsMatch(t, []uuid.UUID{ann.ID, bob.ID}, []uuid.UUID{s.Candidates[0].ID, s.Candidates[1].ID})

	ui.refused(id, "choose-contact", map[string]any{"contact_id": uuid.NewString()}, http.StatusUnprocessableEntity, "contact_id")
	newAgentUI(t, "agent-other-"+uuid.NewString()[:8]).refused(id, "choose-contact",
		map[string]any{"contact_id": bob.ID}, http.StatusForbidden, "")
	ui.refused(id, "submit-case", submitted, http.StatusConflict, "")
	require.Nil(t, getInteraction(t, ix).ContactID, "several contacts have the number: the call waits for the agent's choice")

	next := ui.step(id, "choose-contact", map[string]any{"contact_id": bob.ID})
	require.Equal(t, workflows.CaseStepEnterCase, next.Step)
	require.Equal(t, bob.ID, next.Contact.ID)
	requireOnCall(t, ix, bob, workflows.IdentifiedByChoice)

	done := ui.step(id, "submit-case", submitted)
	d := ui.getCase(done.Case.Number)
	require.Equal(t, bob.ID, d.ContactID)
	requireCreatedFrom(t, d, ix)
	require.Equal(t, workflows.CaseStepDone, requireCompleted(t, id).Step)
}

func TestAddNewCaseForAKnownCustomerCallingFromANewNumber(t *testing.T) {
	desk := newCallDesk(t)
	ui := desk.agentUI
	e164, _ := callerNumber(t)
	other, _ := callerNumber(t)
	co, err := sys.store.CreateCompany(context.Background(), "Initech "+uuid.NewString()[:8])
	require.NoError(t, err)
	cleo := seedContact(t, "Cleo", &co.ID, other)

	id, ix := desk.startCaseProcess(workflows.CaseProcessAddNewCase, e164)
	require.Equal(t, workflows.CaseStepIdentifyContact, ui.state(id).Step, "the contact identification page")

	ui.refused(id, "search-contacts", map[string]any{"case_number": "CS-000001"}, http.StatusUnprocessableEntity, "case_number")
	found := ui.step(id, "search-contacts", map[string]any{"company": co.Name})
	require.Equal(t, workflows.CaseStepIdentifyContact, found.Step)
	require.Len(t, found.SearchResults, 1)
	require.Equal(t, cleo.ID, found.SearchResults[0].ID)

	next := ui.step(id, "select-contact", map[string]any{"contact_id": cleo.ID})
	require.Equal(t, workflows.CaseStepEnterCase, next.Step)
	require.True(t, next.CallerNumberAdded)
	got := ui.getContact(cleo.ID)
	require.Equal(t, []string{other, e164}, phones(got), "the calling number is added to the communication options")
	requireOnCall(t, ix, cleo, workflows.IdentifiedBySearch)

	done := ui.step(id, "submit-case", submitted)
	d := ui.getCase(done.Case.Number)
	require.Equal(t, cleo.ID, d.ContactID)
	require.Equal(t, &co.ID, d.CompanyID, "the contact's company")
	requireCreatedFrom(t, d, ix)
}

func TestAddNewCaseAndContactForANewCustomer(t *testing.T) {
	desk := newCallDesk(t)
	ui := desk.agentUI
	e164, _ := callerNumber(t)

	id, ix := desk.startCaseProcess(workflows.CaseProcessAddNewCase, e164)
	require.Equal(t, workflows.CaseStepIdentifyContact, ui.state(id).Step)
	p := ui.refused(id, "new-contact", map[string]any{"name": "Dee", "company_id": uuid.NewString()}, http.StatusUnprocessableEntity, "company_id")
	require.Equal(t, "refers to a record that does not exist", p.Errors[0].Detail, "the field's own words, not the step's internals")

	email := "dee." + uuid.NewString()[:8] + "@example.com"
	next := ui.step(id, "new-contact", map[string]any{"name": "Dee Dee", "email": email})
	require.Equal(t, workflows.CaseStepEnterCase, next.Step, "[Next] opens the case page")
	dee := next.Contact
	require.Equal(t, []string{e164}, phones(ui.getContact(dee.ID)))
	requireOnCall(t, ix, store.Contact{ID: dee.ID, CompanyID: dee.CompanyID}, workflows.IdentifiedAsNewContact)

	done := ui.step(id, "submit-case", submitted)
	d := ui.getCase(done.Case.Number)
	require.Equal(t, dee.ID, d.ContactID)
	requireCreatedFrom(t, d, ix)

	// The new contact stays editable after the case is saved.
	status, out := ui.call(http.MethodPatch, "/v1/contacts/"+dee.ID.String(), map[string]any{"name": "Dee Dee Ramone"})
	require.Equal(t, http.StatusOK, status, string(out))
	require.Equal(t, "Dee Dee Ramone", ui.getCase(d.Number).ContactName)
}

// ---- Advise on existing case: one test per row of the seed's second table. ----

func TestAdviseAContactIdentifiedByPhone(t *testing.T) {
	desk := newCallDesk(t)
	ui, agentID := desk.agentUI, desk.agentID
	e164, _ := callerNumber(t)
	ann := seedContact(t, "Ann", nil, e164)
	older := seedCase(t, ann.ID, "Older")
	newer := seedCase(t, ann.ID, "Newer")
	someoneElse := seedCase(t, seedContact(t, "Zed", nil).ID, "Not Ann's")

	id, ix := desk.startCaseProcess(workflows.CaseProcessAdvise, e164)
	s := ui.state(id)
	require.Equal(t, workflows.CaseStepAdvise, s.Step, "the contact page opens at once")
	require.Equal(t, ann.ID, s.Contact.ID)
	require.Equal(t, []string{newer.Number, older.Number}, caseNumbers(s.History), "the history tab, newest first")

	ui.refused(id, "record-consultation", map[string]any{"case_number": someoneElse.Number, "note": "x"}, http.StatusUnprocessableEntity, "case_number")
	ui.refused(id, "submit-case", submitted, http.StatusConflict, "")
	during := ui.step(id, "record-consultation", map[string]any{"case_number": older.Number, "note": "Replacement ships Friday"})
	require.Equal(t, workflows.CaseStepAdvise, during.Step)
	require.Len(t, during.Consultations, 1)

	require.Equal(t, workflows.CaseStepDone, ui.step(id, "finish", nil).Step)
	d := ui.getCase(older.Number)
	require.Len(t, d.Consultations, 1)
	require.Equal(t, "Replacement ships Friday", d.Consultations[0].Note)
	require.Equal(t, agentID, d.Consultations[0].AgentID)
	require.Equal(t, ix, d.Consultations[0].InteractionID)
	require.Equal(t, []store.CaseInteraction{{InteractionID: ix, Relation: store.RelationConsulted}}, withoutTimes(d.Interactions))
	final := requireCompleted(t, id)
	require.Nil(t, final.Case, "advising creates no case")
	requireOnCall(t, ix, ann, "")
}

func TestAdviseWhenSeveralContactsHaveTheNumber(t *testing.T) {
	desk := newCallDesk(t)
	ui := desk.agentUI
	e164, _ := callerNumber(t)
	ann := seedContact(t, "Ann", nil, e164)
	seedContact(t, "Bob", nil, e164)
	k := seedCase(t, ann.ID, "Ann's case")

	id, ix := desk.startCaseProcess(workflows.CaseProcessAdvise, e164)
	require.Equal(t, workflows.CaseStepChooseContact, ui.state(id).Step)
	ui.refused(id, "choose-contact", map[string]any{"contact_id": uuid.NewString()}, http.StatusUnprocessableEntity, "contact_id")

	page := ui.step(id, "choose-contact", map[string]any{"contact_id": ann.ID})
	require.Equal(t, workflows.CaseStepAdvise, page.Step)
	require.Equal(t, ann.ID, page.Contact.ID)
	require.Equal(t, []string{k.Number}, caseNumbers(page.History))
	require.Equal(t, store.CaseNew, page.History[0].Status)
	requireOnCall(t, ix, ann, workflows.IdentifiedByChoice)
	require.Equal(t, workflows.CaseStepDone, ui.step(id, "finish", map[string]any{}).Step)
}

func TestAdviseAKnownCustomerFoundByCaseNumber(t *testing.T) {
	desk := newCallDesk(t)
	ui := desk.agentUI
	e164, _ := callerNumber(t)
	cleo := seedContact(t, "Cleo", nil)
	k := seedCase(t, cleo.ID, "Cleo's case")

	id, ix := desk.startCaseProcess(workflows.CaseProcessAdvise, e164)
	require.Equal(t, workflows.CaseStepIdentifyContact, ui.state(id).Step)
	found := ui.step(id, "search-contacts", map[string]any{"case_number": k.Number})
	require.Len(t, found.SearchResults, 1)
	require.Equal(t, cleo.ID, found.SearchResults[0].ID)

	page := ui.step(id, "select-contact", map[string]any{"contact_id": cleo.ID})
	require.Equal(t, workflows.CaseStepAdvise, page.Step)
	require.Equal(t, []string{k.Number}, caseNumbers(page.History))
	require.Equal(t, []string{e164}, phones(ui.getContact(cleo.ID)), "the calling number is added")
	requireOnCall(t, ix, cleo, workflows.IdentifiedBySearch)
	require.Equal(t, workflows.CaseStepDone, ui.step(id, "finish", nil).Step)
}

// The seed's last row: a new customer has no cases, so advising goes on to
// register one.
func TestAdviseANewCustomerGoesOnToAddNewCase(t *testing.T) {
	desk := newCallDesk(t)
	ui := desk.agentUI
	e164, _ := callerNumber(t)

	id, ix := desk.startCaseProcess(workflows.CaseProcessAdvise, e164)
	require.Equal(t, workflows.CaseStepIdentifyContact, ui.state(id).Step)
	next := ui.step(id, "new-contact", map[string]any{"name": "Eve"})
	require.Equal(t, workflows.CaseStepEnterCase, next.Step)
	require.Equal(t, workflows.CaseProcessAddNewCase, next.Flow)
	require.Equal(t, workflows.CaseProcessAdvise, next.Kind)
	require.Empty(t, next.History)
	requireOnCall(t, ix, store.Contact{ID: next.Contact.ID, CompanyID: next.Contact.CompanyID}, workflows.IdentifiedAsNewContact)
	ui.refused(id, "finish", nil, http.StatusConflict, "")

	done := ui.step(id, "submit-case", submitted)
	d := ui.getCase(done.Case.Number)
	require.Equal(t, next.Contact.ID, d.ContactID)
	require.Equal(t, []string{e164}, phones(ui.getContact(d.ContactID)))
	requireCreatedFrom(t, d, ix)
	require.Equal(t, workflows.CaseStepDone, requireCompleted(t, id).Step)
}

func TestCancelAndSupervisorOnACaseProcess(t *testing.T) {
	desk := newCallDesk(t)
	e164, _ := callerNumber(t)
	id, _ := desk.startCaseProcess(workflows.CaseProcessAddNewCase, e164)

	supervisor := agentUI{t: t, token: sys.tokens[auth.RoleSupervisor]}
	require.Equal(t, workflows.CaseStepIdentifyContact, supervisor.state(id).Step, "a supervisor sees any process")
	status, _ := newAgentUI(t, "agent-nosy-"+uuid.NewString()[:6]).call(http.MethodGet, "/v1/processes/"+id, nil)
	require.Equal(t, http.StatusForbidden, status)
	status, _ = supervisor.call(http.MethodGet, "/v1/processes/"+workflows.CaseProcessWorkflowID("ix-none", workflows.CaseProcessAdvise), nil)
	require.Equal(t, http.StatusNotFound, status)

	s := supervisor.step(id, "cancel", map[string]any{"reason": "caller hung up"})
	require.Equal(t, workflows.CaseStepCancelled, s.Step)
	require.Equal(t, "caller hung up", s.Reason)
	final := requireCompleted(t, id)
	require.Equal(t, workflows.CaseStepCancelled, final.Step)
	require.Nil(t, final.Contact)
}

func phones(c store.Contact) []string {
	var out []string
	for _, o := range c.CommunicationOptions {
		if o.Kind == store.OptionPhone {
			out = append(out, o.Value)
		}
	}
	return out
}

func caseNumbers(cs []activities.CaseSummary) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Number
	}
	return out
}

func withoutTimes(in []store.CaseInteraction) []store.CaseInteraction {
	out := make([]store.CaseInteraction, len(in))
	for i, ci := range in {
		out[i] = store.CaseInteraction{InteractionID: ci.InteractionID, Relation: ci.Relation}
	}
	return out
}
