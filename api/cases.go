package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

type caseStatusRequest struct {
	Status string `json:"status" validate:"required,oneof=new in_progress resolved closed"`
	Reason string `json:"reason" validate:"max=500"`
}

func (s *Server) getCase(c echo.Context) error {
	d, err := s.deps.Store.GetCase(c.Request().Context(), caseNumber(c))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("case")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) listCases(c echo.Context) error {
	limit, offset, err := paging(c)
	if err != nil {
		return err
	}
	q := store.CaseQuery{Status: c.QueryParam("status"), Limit: limit + 1, Offset: offset}
	if _, known := store.CaseTransitions[q.Status]; q.Status != "" && !known {
		return invalidField("status", "must be one of: new, in_progress, resolved, closed")
	}
	if v := c.QueryParam("contact_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return invalidField("contact_id", "must be a UUID")
		}
		q.ContactID = &id
	}
	items, err := s.deps.Store.ListCases(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(items, limit, offset))
}

// changeCaseStatus moves a case along its status table; a move the table
// does not allow is 409 naming status.
func (s *Server) changeCaseStatus(c echo.Context) error {
	var req caseStatusRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	got, err := s.deps.Store.ChangeCaseStatus(c.Request().Context(), caseNumber(c), req.Status, req.Reason)
	var fe *store.FieldError
	switch {
	case errors.As(err, &fe) && errors.Is(err, store.ErrConflict):
		return &Problem{Type: typeConflict, Title: "Conflict", Status: http.StatusConflict,
			Detail: fe.Field + ": " + fe.Detail, Errors: []FieldProblem{{Field: fe.Field, Detail: fe.Detail}}}
	case errors.Is(err, store.ErrNotFound):
		return notFound("case")
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, got)
}

// caseNumber reads the case number from the path, in any letter case.
func caseNumber(c echo.Context) string { return strings.ToUpper(strings.TrimSpace(c.Param("number"))) }

// ---- Case processes (seed 004): the agent UI drives them with Updates. ----

// startCaseProcess starts the case process of kind on an interaction for
// the agent who handles it and answers with its first stop (or with
// "identifying" if the lookup of the calling number takes longer than a
// moment; GET /v1/processes/{id} shows it then). A process of that kind
// already running on the interaction is 409.
func (s *Server) startCaseProcess(ctx context.Context, interactionID, callerNumber, agentID, kind string) (workflows.CaseProcessState, error) {
	var wf any
	switch kind {
	case workflows.CaseProcessAddNewCase:
		wf = workflows.AddNewCase
	case workflows.CaseProcessAdvise:
		wf = workflows.AdviseOnExistingCase
	default:
		return workflows.CaseProcessState{}, invalidField("kind", "must be one of: "+strings.Join(workflows.CaseProcessKinds(), ", "))
	}
	id := workflows.CaseProcessWorkflowID(interactionID, kind)
	_, err := s.deps.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue,
		WorkflowTaskTimeout:                      workflows.TaskTimeout,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("%s for interaction %s", kind, interactionID),
		StaticDetails:                            workflows.CaseProcessStaticDetails(kind, interactionID, agentID, s.deps.CaseStepTimeout),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchAgentID.ValueSet(agentID),
			workflows.SearchProcessState.ValueSet(workflows.CaseStepIdentifying),
		),
	}, wf, workflows.CaseProcessInput{
		InteractionID: interactionID, CallerNumber: callerNumber, AgentID: agentID, DefaultRegion: s.deps.DefaultRegion,
		StepTimeout: s.deps.CaseStepTimeout,
	})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return workflows.CaseProcessState{}, &Problem{Type: typeConflict, Title: "Already running", Status: http.StatusConflict,
			Detail: "a " + kind + " process has already run on this interaction: " + id + " (GET /v1/processes/" + id + ")", ProcessID: id}
	}
	if err != nil {
		return workflows.CaseProcessState{}, err
	}
	s.deps.Counters.CaseProcessStarted(kind)
	var state workflows.CaseProcessState
	for wait := 25 * time.Millisecond; ; wait *= 2 {
		if err := s.query(ctx, id, &state); err != nil {
			return workflows.CaseProcessState{}, err
		}
		if state.Step != workflows.CaseStepIdentifying || wait > time.Second {
			return state, nil
		}
		select {
		case <-ctx.Done():
			return state, nil
		case <-time.After(wait):
		}
	}
}

// caseProcess answers the state query of the case process in the path, for
// its agent or a supervisor.
func (s *Server) caseProcess(c echo.Context) (workflows.CaseProcessState, error) {
	id := c.Param("id")
	if !workflows.IsCaseProcessWorkflowID(id) { // other processes are not reachable here
		return workflows.CaseProcessState{}, notFound("process")
	}
	var state workflows.CaseProcessState
	if err := s.query(c.Request().Context(), id, &state); err != nil {
		return workflows.CaseProcessState{}, err
	}
	if err := actingFor(c, state.AgentID); err != nil {
		return workflows.CaseProcessState{}, err
	}
	return state, nil
}

func (s *Server) getProcess(c echo.Context) error {
	state, err := s.caseProcess(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, state)
}

// The agent's steps in a case process, one route each.
func (s *Server) chooseContact(c echo.Context) error {
	return processStep[workflows.ChooseContactRequest](s, c, workflows.UpdateChooseContact)
}

func (s *Server) searchContacts(c echo.Context) error {
	return processStep[workflows.SearchContactsRequest](s, c, workflows.UpdateSearchContacts)
}

func (s *Server) selectContact(c echo.Context) error {
	return processStep[workflows.SelectContactRequest](s, c, workflows.UpdateSelectContact)
}

func (s *Server) newContact(c echo.Context) error {
	return processStep[workflows.NewContactRequest](s, c, workflows.UpdateNewContact)
}

func (s *Server) submitCase(c echo.Context) error {
	return processStep[workflows.SubmitCaseRequest](s, c, workflows.UpdateSubmitCase)
}

func (s *Server) recordConsultation(c echo.Context) error {
	return processStep[workflows.RecordConsultationRequest](s, c, workflows.UpdateRecordConsultation)
}

func (s *Server) finishProcess(c echo.Context) error {
	return processStep[workflows.FinishRequest](s, c, workflows.UpdateFinishProcess)
}

func (s *Server) cancelProcess(c echo.Context) error {
	return processStep[workflows.CancelRequest](s, c, workflows.UpdateCancelProcess)
}

// processStep binds the body into R, checks that the caller may act on the
// process, sends the step as Update name and answers with the process's
// next state.
func processStep[R any](s *Server, c echo.Context, name string) error {
	var req R
	if err := bindStep(c, &req); err != nil {
		return err
	}
	state, err := s.caseProcess(c)
	if err != nil {
		return err
	}
	if state.Ended() {
		return &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict,
			Detail: "the process has ended (" + state.Step + ")"}
	}
	var next workflows.CaseProcessState
	if err := s.update(c.Request().Context(), state.WorkflowID, name, "", req, &next); err != nil {
		var p *Problem
		if errors.As(err, &p) && p.Status == http.StatusNotFound {
			// It answered the query a moment ago: it has ended since.
			return &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict, Detail: "the process has ended"}
		}
		return err
	}
	return c.JSON(http.StatusOK, next)
}

// bindStep is bindJSON, except that an empty body stands for {} when the
// step has no required field.
func bindStep(c echo.Context, dst any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooLarge *echo.HTTPError
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return malformed("could not read the request body")
	}
	switch dst.(type) {
	case *workflows.FinishRequest, *workflows.CancelRequest:
		if len(bytes.TrimSpace(body)) == 0 {
			body = []byte("{}")
		}
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	return bindJSON(c, dst)
}
