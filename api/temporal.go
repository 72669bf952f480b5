package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/casehub/casehub/workflows"
)

// update sends an agent step to a process as a Temporal Update and waits
// for its answer; the validator's refusals become 409 or 422 problems.
func (s *Server) update(ctx context.Context, workflowID, name, updateID string, arg, answer any) error {
	h, err := s.deps.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: name, UpdateID: updateID, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return updateProblem(err)
	}
	if err := h.Get(ctx, answer); err != nil {
		return updateProblem(err)
	}
	return nil
}

// errNoAnswer: a process was started (or joined) but its update could not
// answer (a worker from before the update knows no such update, or the
// process failed first): the caller reads PostgreSQL instead.
var errNoAnswer = errors.New("the process did not answer")

// startAndAwait starts a process together with an update that only waits
// for its first step (Update-with-Start; one update id per process, so a
// retried request joins the first), and waits for the answer until ctx's
// deadline, after which it answers late. A process that had already ended
// counts as answered: PostgreSQL holds what it did.
func (s *Server) startAndAwait(ctx context.Context, op client.WithStartWorkflowOperation, workflowID, update, updateID string, late error) error {
	h, err := s.deps.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: update, UpdateID: updateID,
			WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return nil
	case ctx.Err() != nil:
		return late
	case err != nil:
		return fmt.Errorf("start %s: %w", workflowID, err)
	}
	err = h.Get(ctx, nil)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return late
	}
	s.deps.Logger.WarnContext(ctx, "a new process did not answer its first step; reading PostgreSQL",
		"workflow_id", workflowID, "update", update, "error", err)
	return errNoAnswer
}

// query asks a process for its state; a missing process is ErrNotFound.
func (s *Server) query(ctx context.Context, workflowID string, answer any) error {
	v, err := s.deps.Temporal.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		return updateProblem(err)
	}
	return v.Get(answer)
}

// updateProblem maps what Temporal answers to an update or query.
func updateProblem(err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return problem(http.StatusNotFound, "no such process, or it has ended")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case workflows.ErrTypeInvalidField:
			field := ""
			if appErr.HasDetails() {
				_ = appErr.Details(&field)
			}
			if field == "" {
				field = "body"
			}
			msg := appErr.Message()
			if len(msg) > len(field)+1 && msg[:len(field)+1] == field+" " {
				msg = msg[len(field)+1:]
			}
			return invalidField(field, msg)
		case workflows.ErrTypeWrongStep:
			return &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict, Detail: appErr.Message()}
		case "AcceptedUpdateCompletedWorkflow":
			return &Problem{Type: typeConflict, Title: "Process ended", Status: http.StatusConflict, Detail: "the process ended before it could answer this step"}
		}
	}
	var failed *serviceerror.FailedPrecondition
	if errors.As(err, &failed) {
		return &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict, Detail: "the process does not accept this step now"}
	}
	return err
}
