package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/casehub/casehub/store"
)

// RecordSelfCheck writes the calling workflow's self-check row.
func (a *Activities) RecordSelfCheck(ctx context.Context, note string) (SelfCheck, error) {
	info := activity.GetInfo(ctx)
	row, err := a.Store.RecordSelfCheck(ctx, store.SelfCheck{
		WorkflowID: info.WorkflowExecution.ID,
		RunID:      info.WorkflowExecution.RunID,
		Note:       note,
	})
	if err != nil {
		return SelfCheck{}, classify(err)
	}
	activity.GetLogger(ctx).Info("self check recorded", "workflow_id", row.WorkflowID)
	return selfCheckOf(row), nil
}
