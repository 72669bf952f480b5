// Package worker registers every casehub workflow and activity with a
// Temporal worker, in one place.
package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/workflows"
)

// Options tunes the worker.
type Options struct {
	// DeadlockDetectionTimeout is raised in tests on busy machines; zero keeps
	// the SDK default.
	DeadlockDetectionTimeout time.Duration
	MaxConcurrentActivities  int
	// Pollers per task type (workflow and activity); zero means 4. More than
	// the SDK's 2 keeps tasks from waiting on a busy worker.
	Pollers int
	// StopTimeout is how long a stopping worker lets running activities
	// finish before it cancels them; zero means 10 s. casehub sets it to
	// its shutdown timeout, which deployments set their grace period by.
	StopTimeout time.Duration
}

// New returns a worker on workflows.TaskQueue with every workflow and
// activity registered. Start it with Run or Start.
func New(c client.Client, acts *activities.Activities, o Options) sdkworker.Worker {
	if o.Pollers == 0 {
		o.Pollers = 4
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 10 * time.Second
	}
	w := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{
		DeadlockDetectionTimeout:           o.DeadlockDetectionTimeout,
		MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskPollers:   o.Pollers,
		MaxConcurrentActivityTaskPollers:   o.Pollers,
		WorkerStopTimeout:                  o.StopTimeout,
		// A workflow task waits this long on a worker's sticky queue before
		// any worker may take it: a killed worker's processes move on
		// within seconds (the SDK's default is 5 s).
		StickyScheduleToStartTimeout: StickyTimeout,
	})
	Register(w, acts)
	return w
}

// StickyTimeout is how long a workflow task waits for the worker that ran
// its process last before it goes to any worker: with a worker killed, a
// timer's step or an agent's request waits this long plus a replay.
const StickyTimeout = time.Second

// StartSweeper makes sure the routing sweeper runs. Every worker calls it at
// start; there is one sweeper process however many workers run.
func StartSweeper(ctx context.Context, c client.Client) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.RoutingSweeperWorkflowID, TaskQueue: workflows.TaskQueue, WorkflowTaskTimeout: workflows.TaskTimeout,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "Routing sweeper: delivers again offers no process received, frees agents of gone processes",
		StaticDetails:            workflows.SweeperStaticDetails,
	}, workflows.RoutingSweeper, workflows.SweeperInput{})
	if err != nil {
		return fmt.Errorf("start the routing sweeper: %w", err)
	}
	return nil
}

// Register adds every casehub workflow and activity to r. Tests that build
// their own worker or environment call it too.
func Register(r sdkworker.Registry, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// RegisterWorkflows adds every casehub workflow to r: a worker's registry,
// or a workflow replayer checking recorded histories against the code.
func RegisterWorkflows(r sdkworker.WorkflowRegistry) {
	r.RegisterWorkflow(workflows.SelfCheck)
	r.RegisterWorkflow(workflows.Agent)
	r.RegisterWorkflow(workflows.Interaction)
	r.RegisterWorkflow(workflows.Callback)
	r.RegisterWorkflow(workflows.AddNewCase)
	r.RegisterWorkflow(workflows.AdviseOnExistingCase)
	r.RegisterWorkflow(workflows.RoutingSweeper)
	r.RegisterWorkflow(workflows.Retention)
}

// RegisterSearchAttributes adds casehub's search attributes to namespace,
// skipping those already there, so it is safe at every start.
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	ops := c.OperatorService()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, k := range workflows.SearchAttributes() {
		if t, ok := have.GetCustomAttributes()[k.GetName()]; ok {
			if t != k.GetValueType() {
				return fmt.Errorf("search attribute %s exists with type %s, casehub needs %s", k.GetName(), t, k.GetValueType())
			}
			continue
		}
		missing[k.GetName()] = k.GetValueType()
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) {
		return nil // another casehub process registered them at the same moment
	}
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}
