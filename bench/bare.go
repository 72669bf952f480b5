package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bare side of each comparison: plain Temporal workflows on their own
// task queue, doing what a casehub process does in Temporal terms (the same
// number of activities, local activities, timers, signals and updates) and
// nothing else.
const (
	bareTaskQueue   = "casehub-bench-bare"
	bareProcessType = "BenchBareProcess"
	bareStepType    = "BenchBareStep"
	bareStepLocal   = "BenchBareStepLocal"
	bareNoteUpdate  = "note"
	bareFinish      = "finish"
	bareEvent       = "event"
)

// BareShape is what a bare process mirrors of an interaction's history.
type BareShape struct {
	Tag             string `json:"tag"`
	Activities      int    `json:"activities"`
	LocalActivities int    `json:"local_activities"`
	CancelledTimers int    `json:"cancelled_timers"`
	FiredTimers     int    `json:"fired_timers"`
	// Signals and Updates the process takes in before it ends, sent by the
	// bench as soon as it starts (a call's platform events and offers, the
	// agent's accept and end).
	Signals int `json:"signals"`
	Updates int `json:"updates"`
}

func bareActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 15 * time.Second},
	})
}

func bareLocalOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second},
	})
}

// bareProcess runs in.LocalActivities local activities in its first
// workflow task (as an interaction opens its record), then in.Activities
// activities one after the other; the first CancelledTimers of them run under a timer that is cancelled when the
// activity answers (as an acceptance timer is when the agent accepts), and
// FiredTimers 1 ms timers fire at the end. The last activity writes the row
// the count check finds; the others do nothing.
func bareProcess(ctx workflow.Context, in BareShape) error {
	ctx = bareActivityOptions(ctx)
	var b *bareActivities
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	signals, updates := 0, 0
	if err := workflow.SetUpdateHandler(ctx, bareNoteUpdate, func(ctx workflow.Context, key string) (string, error) {
		updates++
		return key, nil
	}); err != nil {
		return err
	}
	events := workflow.GetSignalChannel(ctx, bareEvent)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			events.Receive(ctx, nil)
			signals++
		}
	})
	for i := range in.LocalActivities {
		if err := workflow.ExecuteLocalActivity(bareLocalOptions(ctx), b.Noop, i).Get(ctx, nil); err != nil {
			return err
		}
	}
	for i := range in.Activities {
		cancel := func() {}
		if i < in.CancelledTimers {
			tctx, c := workflow.WithCancel(ctx)
			_ = workflow.NewTimer(tctx, time.Hour)
			cancel = c
		}
		var err error
		if i == in.Activities-1 {
			err = workflow.ExecuteActivity(ctx, b.Record, in.Tag, id).Get(ctx, nil)
		} else {
			err = workflow.ExecuteActivity(ctx, b.Noop, i).Get(ctx, nil)
		}
		cancel()
		if err != nil {
			return err
		}
	}
	for range in.CancelledTimers - in.Activities {
		tctx, c := workflow.WithCancel(ctx)
		_ = workflow.NewTimer(tctx, time.Hour)
		c()
	}
	for range in.FiredTimers {
		if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
			return err
		}
	}
	return workflow.Await(ctx, func() bool { return signals >= in.Signals && updates >= in.Updates })
}

// bareStep answers the note update with one activity that writes a row,
// until told to finish: the step as a plain SDK user would first write it
// (and as a casehub note ran before interaction-merged-steps version 3).
func bareStep(ctx workflow.Context, tag string) error {
	return bareStepWith(ctx, func(ctx workflow.Context, b *bareActivities, key string) error {
		return workflow.ExecuteActivity(bareActivityOptions(ctx), b.Record, tag, key).Get(ctx, nil)
	})
}

// bareStepLocalActivity writes the row as a local activity in the workflow
// task that takes in the update: the shape of a casehub note today.
func bareStepLocalActivity(ctx workflow.Context, tag string) error {
	return bareStepWith(ctx, func(ctx workflow.Context, b *bareActivities, key string) error {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
		return workflow.ExecuteLocalActivity(lctx, b.Record, tag, key).Get(ctx, nil)
	})
}

func bareStepWith(ctx workflow.Context, write func(workflow.Context, *bareActivities, string) error) error {
	var b *bareActivities
	if err := workflow.SetUpdateHandler(ctx, bareNoteUpdate, func(ctx workflow.Context, key string) (string, error) {
		return key, write(ctx, b, key)
	}); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, bareFinish).Receive(ctx, nil)
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// bareActivities are the bare side's activities.
type bareActivities struct {
	db *sqlx.DB
}

// Noop does nothing.
func (b *bareActivities) Noop(context.Context, int) error { return nil }

// Record writes one row keyed by the run tag and key; a retry is a no-op.
func (b *bareActivities) Record(ctx context.Context, tag, key string) error {
	_, err := b.db.ExecContext(ctx, `INSERT INTO bench_rows (tag, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`, tag, key)
	if err != nil {
		activity.GetLogger(ctx).Error("record bench row", "error", err)
		return fmt.Errorf("record bench row: %w", err)
	}
	return nil
}

const benchRowsTable = `CREATE TABLE IF NOT EXISTS bench_rows (tag text NOT NULL, key text NOT NULL, PRIMARY KEY (tag, key))`

// newBareWorker registers the bare workflows and activities on their own
// task queue.
func newBareWorker(c client.Client, db *sqlx.DB) sdkworker.Worker {
	w := sdkworker.New(c, bareTaskQueue, sdkworker.Options{DeadlockDetectionTimeout: time.Minute, WorkerStopTimeout: 10 * time.Second})
	w.RegisterWorkflowWithOptions(bareProcess, workflow.RegisterOptions{Name: bareProcessType})
	w.RegisterWorkflowWithOptions(bareStep, workflow.RegisterOptions{Name: bareStepType})
	w.RegisterWorkflowWithOptions(bareStepLocalActivity, workflow.RegisterOptions{Name: bareStepLocal})
	w.RegisterActivity(&bareActivities{db: db})
	return w
}
