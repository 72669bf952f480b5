package worker

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/workflows"
)

// StartRetention makes sure the casehub-retention schedule exists and
// sweeps with r's periods: it starts Retention every workflows.
// RetentionEvery (skipping a run while the last one is still going). A
// schedule that exists takes r's periods, so the last worker started sets
// them.
func StartRetention(ctx context.Context, c client.Client, r activities.RetentionRequest) error {
	action := &client.ScheduleWorkflowAction{
		ID: workflows.RetentionScheduleID, Workflow: workflows.Retention, Args: []any{r},
		TaskQueue: workflows.TaskQueue, WorkflowTaskTimeout: workflows.TaskTimeout,
		StaticSummary: "Retention: deletes raw platform events, Idempotency-Key records and live events past their time",
		StaticDetails: workflows.RetentionStaticDetails(r),
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      workflows.RetentionScheduleID,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: workflows.RetentionEvery}}},
		Action:  action,
		Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    fmt.Sprintf("platform events kept %s, Idempotency-Key records %s, live events %s", r.CTIEvents, r.IdempotencyKeys, r.Events),
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		if err != nil {
			return fmt.Errorf("create the retention schedule: %w", err)
		}
		return nil
	}
	err = c.ScheduleClient().GetHandle(ctx, workflows.RetentionScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Action = action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update the retention schedule: %w", err)
	}
	return nil
}
