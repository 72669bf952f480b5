package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/workflows"
)

// The bare side of each comparison: plain Temporal workflows on their own
// task queue, doing what a casehub process does in Temporal terms (the same
// number of activities, local activities, timers, signals, updates,
// search-attribute upserts and version markers, each signal in a workflow
// task of its own, and the signals a call brings its agent's process) and
// nothing else.
const (
	bareTaskQueue   = "casehub-bench-bare"
	bareProcessType = "BenchBareProcess"
	bareAgentType   = "BenchBareAgent"
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
	// OpenTimers are started and never cancelled: they are still running
	// when the process ends, as a call's are.
	OpenTimers  int `json:"open_timers"`
	FiredTimers int `json:"fired_timers"`
	// Signals and Updates the process takes in before it ends (a call's
	// platform events and offer, the agent's accept and end). The first
	// signal starts it, as a call's first platform event starts its
	// process; the bench sends each of the others once the one before is
	// taken in, so that each comes in a workflow task of its own.
	Signals int `json:"signals"`
	Updates int `json:"updates"`
	// Upserts and Versions are the interaction's search-attribute upserts
	// and version markers.
	Upserts  int `json:"upserts"`
	Versions int `json:"versions"`
	// AgentSignals and AgentUpserts are what a call brings its agent's
	// process (the item assigned, then finished, each shown in its search
	// attributes): the bench sends as many signals to a bare agent process,
	// one after each update and the rest at the end, and it upserts as
	// often.
	AgentSignals int `json:"agent_signals"`
	AgentUpserts int `json:"agent_upserts"`
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
// activities one after the other; the first CancelledTimers+OpenTimers of
// them run under a timer, which for the first CancelledTimers is cancelled
// when the activity answers and for the others is left running to the end
// (as a call's acceptance and grace timers are), and FiredTimers 1 ms
// timers fire at the end. The last activity writes the row
// the count check finds; the others do nothing. It records in.Versions
// version markers first (each of which upserts the TemporalChangeVersion
// search attribute), and upserts its search attributes itself the rest of
// in.Upserts times: after each local activity, activity, signal and update
// while any are left, the rest at the end.
func bareProcess(ctx workflow.Context, in BareShape) error {
	ctx = bareActivityOptions(ctx)
	var b *bareActivities
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	// Each version marker upserts TemporalChangeVersion itself (while that
	// attribute is short, which these few ids keep it).
	signals, updates, upserts := 0, 0, in.Versions
	var signalErr error
	upsert := func() error {
		if upserts >= in.Upserts {
			return nil
		}
		upserts++
		return workflow.UpsertTypedSearchAttributes(ctx, workflows.SearchQueue.ValueSet(in.Tag))
	}
	for i := range in.Versions {
		workflow.GetVersion(ctx, fmt.Sprintf("bench-%d", i), workflow.DefaultVersion, 1)
	}
	if err := workflow.SetUpdateHandler(ctx, bareNoteUpdate, func(ctx workflow.Context, key string) (string, error) {
		updates++
		return key, upsert()
	}); err != nil {
		return err
	}
	events := workflow.GetSignalChannel(ctx, bareEvent)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			events.Receive(ctx, nil)
			signals++
			if err := upsert(); err != nil && signalErr == nil {
				signalErr = err
			}
			tookSignal(ctx, id, signals)
		}
	})
	for i := range in.LocalActivities {
		if err := workflow.ExecuteLocalActivity(bareLocalOptions(ctx), b.Noop, i).Get(ctx, nil); err != nil {
			return err
		}
		if err := upsert(); err != nil {
			return err
		}
	}
	timer := func(i int) (cancel func()) {
		switch {
		case i < in.CancelledTimers:
			tctx, c := workflow.WithCancel(ctx)
			_ = workflow.NewTimer(tctx, time.Hour)
			return c
		case i < in.CancelledTimers+in.OpenTimers:
			_ = workflow.NewTimer(ctx, time.Hour)
		}
		return func() {}
	}
	for i := range in.Activities {
		cancel := timer(i)
		var err error
		if i == in.Activities-1 {
			err = workflow.ExecuteActivity(ctx, b.Record, in.Tag, id).Get(ctx, nil)
		} else {
			err = workflow.ExecuteActivity(ctx, b.Noop, i).Get(ctx, nil)
		}
		cancel()
		if err == nil {
			err = upsert()
		}
		if err != nil {
			return err
		}
	}
	for i := in.Activities; i < in.CancelledTimers+in.OpenTimers; i++ {
		timer(i)()
	}
	for range in.FiredTimers {
		if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
			return err
		}
	}
	if err := workflow.Await(ctx, func() bool { return signalErr != nil || signals >= in.Signals && updates >= in.Updates }); err != nil {
		return err
	}
	if signalErr != nil {
		return signalErr
	}
	for upserts < in.Upserts {
		if err := upsert(); err != nil {
			return err
		}
	}
	return nil
}

// signalsHeard holds, for each bare process the bench is driving, a channel
// on which the process says how many signals it has taken in, so that the
// driver sends the next one only then: each comes in a workflow task of its
// own, as a call's platform events and its offer do. The bare worker runs
// in the bench's process; a replaying process says nothing.
var signalsHeard sync.Map // workflow ID -> chan int

func tookSignal(ctx workflow.Context, id string, n int) {
	if workflow.IsReplaying(ctx) {
		return
	}
	if ch, ok := signalsHeard.Load(id); ok {
		select {
		case ch.(chan int) <- n:
		default:
		}
	}
}

// BareAgentShape is what a bare agent process does with a call's signals.
type BareAgentShape struct {
	Tag string `json:"tag"`
	// Signals is how many a call brings; the process upserts its search
	// attributes on the first Upserts of each call's.
	Signals int `json:"signals"`
	Upserts int `json:"upserts"`
	// Taken counts the signals taken before a continue-as-new.
	Taken int `json:"taken"`
}

// bareAgent stands for an agent's process: it takes in each signal a call
// brings it, until told to finish, and continues as new when its history
// grows long, as an agent's process does.
func bareAgent(ctx workflow.Context, in BareAgentShape) error {
	events := workflow.GetSignalChannel(ctx, bareEvent)
	finish := workflow.GetSignalChannel(ctx, bareFinish)
	for done := false; !done; {
		var err error
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			if in.Signals > 0 && in.Taken%in.Signals < in.Upserts {
				err = workflow.UpsertTypedSearchAttributes(ctx, workflows.SearchQueue.ValueSet(in.Tag))
			}
			in.Taken++
		})
		sel.AddReceive(finish, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); done = true })
		sel.Select(ctx)
		if err != nil {
			return err
		}
		if !done && workflow.GetInfo(ctx).GetContinueAsNewSuggested() && events.Len() == 0 && finish.Len() == 0 {
			return workflow.NewContinueAsNewError(ctx, bareAgentType, in)
		}
	}
	return nil
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
	w.RegisterWorkflowWithOptions(bareAgent, workflow.RegisterOptions{Name: bareAgentType})
	w.RegisterWorkflowWithOptions(bareStep, workflow.RegisterOptions{Name: bareStepType})
	w.RegisterWorkflowWithOptions(bareStepLocalActivity, workflow.RegisterOptions{Name: bareStepLocal})
	w.RegisterActivity(&bareActivities{db: db})
	return w
}
