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

// activityPriority is the task queue priority of every activity casehub's
// processes run: the default of Temporal's five levels, set rather than
// inherited, so that a callback that started below live work
// (PriorityLater) runs its steps (dial, offer, accept) as live work once
// it is due. Its workflow tasks keep the priority it started with.
var activityPriority = temporal.Priority{PriorityKey: 3}

// storageOptions are the options for activities that write a process's
// records to PostgreSQL.
func storageOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: storageDeadline,
		StartToCloseTimeout:    AttemptTimeout,
		RetryPolicy:            storageRetry(),
		Priority:               activityPriority,
	})
}

// storageRetry retries a process's PostgreSQL step through an outage (up
// to storageDeadline).
func storageRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        200 * time.Millisecond,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Second,
		NonRetryableErrorTypes: activities.NonRetryable(),
	}
}

// localStorageOptions are the options for a process's first PostgreSQL
// step run as a local activity (opening an interaction's record since
// changeMergedSteps, reading a callback's queue since
// changeCallbackQuickStart): run inside the process's first workflow task,
// one marker event instead of an activity's three and the workflow task
// that takes in its result. The storage deadline and retries hold; a retry
// whose backoff is longer than the workflow task time-out waits on a
// timer, so a PostgreSQL outage does not hold the task open.
func localStorageOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: storageDeadline,
		StartToCloseTimeout:    AttemptTimeout,
		RetryPolicy:            storageRetry(),
	})
}

// localRoutingOptions are routingOptions for a step that runs in the
// workflow task that decides it (the present step of an interaction at
// mergedStepsLocalPresent).
func localRoutingOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: routingDeadline,
		StartToCloseTimeout:    AttemptTimeout,
		RetryPolicy:            routingRetry(),
	})
}

// routingOptions are the options for the offer protocol's steps.
func routingOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: routingDeadline,
		StartToCloseTimeout:    AttemptTimeout,
		RetryPolicy:            routingRetry(),
		Priority:               activityPriority,
	})
}

func routingRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        200 * time.Millisecond,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Second,
		NonRetryableErrorTypes: activities.NonRetryable(),
	}
}

// ctiOptions are the options for commands to the telephony platform about
// a call in progress: every command carries an idempotency key, so retries
// never act twice, and after ctiDeadline the command is given up.
func ctiOptions(ctx workflow.Context) workflow.Context { return platformOptions(ctx, ctiDeadline) }

// localCTIOptions are ctiOptions for a command run as a local activity
// (interactionImpl.platform): the same deadline, attempt time-out and
// retries; a retry whose backoff is longer than the workflow task
// time-out waits on a timer.
func localCTIOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: ctiDeadline,
		StartToCloseTimeout:    platformAttemptTimeout,
		RetryPolicy:            platformRetry(),
	})
}

// dialOptions are the options for placing a call to a customer: given up
// once the moment it was for has passed (the request's NotAfter, checked
// before every attempt), so nobody is rung late.
func dialOptions(ctx workflow.Context, window time.Duration) workflow.Context {
	return platformOptions(ctx, window)
}

func platformOptions(ctx workflow.Context, deadline time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: deadline,
		StartToCloseTimeout:    platformAttemptTimeout,
		RetryPolicy:            platformRetry(),
		Priority:               activityPriority,
	})
}

// platformAttemptTimeout bounds one attempt of a platform command.
const platformAttemptTimeout = 15 * time.Second

// platformRetry retries a platform command until its deadline, except
// what the platform refused or what is too late.
func platformRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        500 * time.Millisecond,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Second,
		NonRetryableErrorTypes: append(activities.NonRetryable(), activities.ErrTypeCTIRejected, activities.ErrTypeTooLate),
	}
}
