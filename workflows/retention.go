package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
)

// RetentionScheduleID names the Temporal Schedule that runs Retention; ops
// find it under Schedules in the Temporal Web UI.
const RetentionScheduleID = "casehub-retention"

// Default retention (README, "Personal data").
const (
	DefaultCTIEventRetention       = 30 * 24 * time.Hour
	DefaultIdempotencyKeyRetention = 24 * time.Hour
	RetentionEvery                 = time.Hour
)

// Retention is one sweep of what casehub keeps only for a while: raw
// platform events (with callers' numbers and chat text) and Idempotency-Key
// records (with the answers they replay). The casehub-retention schedule
// starts it every RetentionEvery.
func Retention(ctx workflow.Context, in activities.RetentionRequest) (activities.Expired, error) {
	if in.CTIEvents <= 0 || in.IdempotencyKeys <= 0 {
		return activities.Expired{}, temporal.NewNonRetryableApplicationError("retention periods must be positive", "InvalidInput", nil)
	}
	events := in.Events
	if events <= 0 {
		events = activities.DefaultEventRetention
	}
	workflow.SetCurrentDetails(ctx, withDetails(fmt.Sprintf("deletes platform events older than %s, Idempotency-Key records older than %s and live events older than %s",
		in.CTIEvents, in.IdempotencyKeys, events), "the ExpireRecords activity (in batches, up to 10 minutes an attempt)"))
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// A large backlog is deleted in batches; what one sweep leaves, the
		// next takes.
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: activities.NonRetryable()},
	})
	var out activities.Expired
	err := workflow.ExecuteActivity(ctx, a.ExpireRecords, in).Get(ctx, &out)
	return out, err
}
