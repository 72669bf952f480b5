package api

import (
	"context"
	"errors"
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
