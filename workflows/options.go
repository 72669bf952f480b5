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

// Every activity has a deadline to give up (ScheduleToClose), chosen for
// what it does, and a short StartToClose, so an attempt lost with its worker
// is retried within seconds. docs/routing.md lists them.
const (
	// A write of a process's own record: retried through a PostgreSQL
	// outage of up to an hour, then the process fails (and ops see it).
	storageDeadline = time.Hour
	// A routing step (enqueue, present, accept, close, finish, presence):
	// the same, since the agent and the item depend on it.
	routingDeadline = time.Hour
	// A command to the telephony platform about a live call (ring the
	// agent, bridge, hang up, a chat message): worthless a minute later.
	ctiDeadline = time.Minute
	// AttemptTimeout bounds one attempt of a short activity: a PostgreSQL
	// write or a platform command answers in milliseconds, so an attempt
	// whose worker died is given up on quickly and retried elsewhere. A
	// step handed to a worker just before it dies waits this long.
	AttemptTimeout = 5 * time.Second
	// dialWindow is how late after its attempt began a call to a customer
	// may still be placed: a customer-first dial holds an agent, an
	// agent-first one has the agent waiting at the desk, and a click-to-call
	// has the agent on the line. Past it the attempt fails and the callback
	// goes on by its retry rules.
	dialWindow = 30 * time.Second
)

// storageStep runs a write of a process's records to PostgreSQL;
// routingStep runs a step of the offer protocol. Both answer in
// milliseconds and are idempotent (a routing step by its run and step id,
// a record write by its natural key), so a process started since
// changeLocalSteps runs them as local activities, inside the workflow task
// that asks for them: one marker event in the history instead of an
// activity's three events and the workflow task that takes in its result,
// and no round trip through the server's task queues. A worker that dies
// in the middle loses the workflow task; the next worker replays it and
// runs the step again, which answers as the first run did. A retry whose
// backoff is longer than the workflow task time-out waits on a timer, so
// a long PostgreSQL outage does not hold the task open. Processes started
// before the change keep regular activities (storageOptions,
// routingOptions), so their histories replay.
func storageStep(ctx workflow.Context, fn any, args ...any) workflow.Future {
	if !localSteps(ctx) {
		return workflow.ExecuteActivity(storageOptions(ctx), fn, args...)
	}
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: storageDeadline,
		StartToCloseTimeout:    AttemptTimeout,
		RetryPolicy:            storageRetry(),
	}), fn, args...)
}

// routingStep runs a step of the offer protocol (see storageStep).
func routingStep(ctx workflow.Context, fn any, args ...any) workflow.Future {
	if !localSteps(ctx) {
		return workflow.ExecuteActivity(routingOptions(ctx), fn, args...)
	}
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: routingDeadline,
		StartToCloseTimeout:    AttemptTimeout,
		RetryPolicy:            routingRetry(),
	}), fn, args...)
}

// localSteps tells whether this run takes its short steps as local
// activities (changeLocalSteps). Every process asks it first thing, in its
// first workflow task, so the choice is made once per run: a run started
// before the change replays that task and answers false throughout; a new
// run records version 1 there.
func localSteps(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeLocalSteps, workflow.DefaultVersion, 1) >= 1
}

// version is the version of an earlier change this run follows. A run
// started since changeLocalSteps follows every earlier change (each has
// version 1) without recording a marker and a search attribute update for
// each; an older run asks workflow.GetVersion as it did.
func version(ctx workflow.Context, change string) workflow.Version {
	if localSteps(ctx) {
		return 1
	}
	return workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1)
}

func storageRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        200 * time.Millisecond,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Second,
		NonRetryableErrorTypes: activities.NonRetryable(),
	}
}

func routingRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        200 * time.Millisecond,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Second,
		NonRetryableErrorTypes: activities.NonRetryable(),
	}
}

// storageOptions are the options for activities that write a process's
// records to PostgreSQL (processes from before changeLocalSteps, and the
// self check, which proves the activity worker polls).
func storageOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: storageDeadline,
		StartToCloseTimeout:    AttemptTimeout,
		RetryPolicy:            storageRetry(),
	})
}

// routingOptions are the options for the offer protocol's steps as
// regular activities (processes from before changeLocalSteps).
func routingOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: routingDeadline,
		StartToCloseTimeout:    AttemptTimeout,
		RetryPolicy:            routingRetry(),
	})
}

// ctiOptions are the options for commands to the telephony platform about
// a call in progress: every command carries an idempotency key, so retries
// never act twice, and after ctiDeadline the command is given up.
func ctiOptions(ctx workflow.Context) workflow.Context { return platformOptions(ctx, ctiDeadline) }

// dialOptions are the options for placing a call to a customer: given up
// once the moment it was for has passed (the request's NotAfter, checked
// before every attempt), so nobody is rung late.
func dialOptions(ctx workflow.Context, window time.Duration) workflow.Context {
	return platformOptions(ctx, window)
}

func platformOptions(ctx workflow.Context, deadline time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: deadline,
		StartToCloseTimeout:    15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        500 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: append(activities.NonRetryable(), activities.ErrTypeCTIRejected, activities.ErrTypeTooLate),
		},
	})
}
