package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
)

// a lets workflows name activities as typed method values, so the compiler
// checks names and arguments.
var a *activities.Activities

// storageOptions are the options for activities that talk to PostgreSQL:
// short attempts, retried with backoff for as long as the database is away.
func storageOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        15 * time.Second,
			NonRetryableErrorTypes: activities.NonRetryable(),
		},
	})
}

// ctiOptions are the options for commands to the telephony platform: every
// command carries an idempotency key, so retries (with backoff, for as long
// as the platform is away) never place a second call.
func ctiOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			NonRetryableErrorTypes: append(activities.NonRetryable(), activities.ErrTypeCTIRejected),
		},
	})
}
