package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
)

// SweeperInput starts (or continues) the routing sweeper.
type SweeperInput struct {
	// Every is how often it sweeps; SweepEvery when zero.
	Every time.Duration `json:"every,omitempty"`
}

// SweepEvery is how often the routing sweeper runs: with routing's 3 s
// redelivery age, an offer whose dispatcher died after booking it reaches
// its process within about 6 s.
const SweepEvery = 3 * time.Second

// sweepsPerRun bounds one run's history (about 11 events a sweep).
const sweepsPerRun = 200

// RoutingSweeper is the one process (RoutingSweeperWorkflowID) that keeps
// routing from stranding an agent whatever the traffic: every few seconds
// it delivers again the offers no process received (their dispatcher died
// between its commit and its signal) and finishes the items of processes
// that are gone. Every worker starts it at start; it keeps running.
func RoutingSweeper(ctx workflow.Context, in SweeperInput) error {
	every := in.Every
	if every <= 0 {
		every = SweepEvery
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// A sweep that cannot finish is simply the next one's work.
		ScheduleToCloseTimeout: every * 10,
		StartToCloseTimeout:    every * 5,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, MaximumInterval: every, NonRetryableErrorTypes: activities.NonRetryable(),
		},
	})
	for i := 0; i < sweepsPerRun; i++ {
		next := after(ctx, every)
		workflow.SetCurrentDetails(ctx, withDetails(
			fmt.Sprintf("sweeps routing every %s: redelivers unreceived offers, frees the agents of gone processes (sweep %d of %d in this run)", every, i+1, sweepsPerRun),
			"the next sweep, at "+next))
		if err := sleepUntil(ctx, every, "next sweep at "+next); err != nil {
			return err
		}
		var s activities.Swept
		if err := workflow.ExecuteActivity(ctx, a.SweepRouting).Get(ctx, &s); err != nil {
			workflow.GetLogger(ctx).Warn("routing sweep", "error", err)
			continue
		}
		if s.Redelivered+s.Overdue > 0 {
			workflow.GetLogger(ctx).Warn("routing sweep found undelivered offers", "redelivered", s.Redelivered, "overdue", s.Overdue)
		}
	}
	return workflow.NewContinueAsNewError(ctx, RoutingSweeper, in)
}
