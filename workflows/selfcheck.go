package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
)

// SelfCheck proves the whole chain works: the worker picks up a workflow,
// the workflow runs an activity, and the activity writes to PostgreSQL.
// `casehub dev` and `casehub selfcheck` run it at start.
func SelfCheck(ctx workflow.Context, in SelfCheckInput) (SelfCheckResult, error) {
	state := SelfCheckState{Step: "recording"}
	if err := queryState(ctx, "self check's step", func() (SelfCheckState, error) { return state, nil }); err != nil {
		return SelfCheckResult{}, fmt.Errorf("register state query: %w", err)
	}
	workflow.SetCurrentDetails(ctx, withDetails("**Self check** — recording", "the RecordSelfCheck activity to write a row to PostgreSQL"))

	var row activities.SelfCheck
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.RecordSelfCheck, in.Note).Get(ctx, &row); err != nil {
		return SelfCheckResult{}, fmt.Errorf("record self check: %w", err)
	}
	state.Step = "done"
	workflow.SetCurrentDetails(ctx, "**Self check** — done: worker → workflow → activity → PostgreSQL")
	return SelfCheckResult{WorkflowID: row.WorkflowID, CheckedAt: workflow.Now(ctx)}, nil
}
