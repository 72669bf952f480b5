package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/workflows"
)

func runSelfCheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	f, c := newFlags("selfcheck", getenv)
	f.codecFlags(c, "")
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	logger := c.logger()
	cl, err := dialTemporal(ctx, c, logger, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	res, took, err := selfCheck(ctx, cl, "casehub selfcheck")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "self check %s passed in %s: worker -> workflow -> activity -> PostgreSQL\n", res.WorkflowID, took.Round(time.Millisecond))
	return nil
}

// selfCheck runs the SelfCheck workflow and waits for it.
func selfCheck(ctx context.Context, cl client.Client, note string) (workflows.SelfCheckResult, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:            workflows.SelfCheckWorkflowID(uuid.NewString()),
		TaskQueue:     workflows.TaskQueue,
		StaticSummary: "Self check: worker → workflow → activity → PostgreSQL",
		StaticDetails: workflows.SelfCheckStaticDetails,
	}, workflows.SelfCheck, workflows.SelfCheckInput{Note: note})
	if err != nil {
		return workflows.SelfCheckResult{}, 0, fmt.Errorf("start self check: %w", err)
	}
	var res workflows.SelfCheckResult
	if err := run.Get(ctx, &res); err != nil {
		return workflows.SelfCheckResult{}, 0, fmt.Errorf("self check %s: %w (is a casehub worker running?)", run.GetID(), err)
	}
	return res, time.Since(start), nil
}
