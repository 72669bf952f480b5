package workflows_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/workflows"
)

var a *activities.Activities

func TestSelfCheckRecordsThroughTheActivity(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnActivity(a.RecordSelfCheck, mock.Anything, "hello").
		Return(activities.SelfCheck{WorkflowID: "default-test-workflow-id"}, nil).Once()

	env.ExecuteWorkflow(workflows.SelfCheck, workflows.SelfCheckInput{Note: "hello"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.SelfCheckResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "default-test-workflow-id", res.WorkflowID)

	v, err := env.QueryWorkflow(workflows.QueryState)
	require.NoError(t, err)
	var state workflows.SelfCheckState
	require.NoError(t, v.Get(&state))
	require.Equal(t, "done", state.Step)
	env.AssertExpectations(t)
}

func TestSelfCheckRetriesAnUnavailableDatabase(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	calls := 0
	env.OnActivity(a.RecordSelfCheck, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ string) (activities.SelfCheck, error) {
			calls++
			if calls < 3 {
				return activities.SelfCheck{}, errors.New("connection refused")
			}
			return activities.SelfCheck{WorkflowID: "w"}, nil
		})
	env.ExecuteWorkflow(workflows.SelfCheck, workflows.SelfCheckInput{})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 3, calls)
}

func TestSelfCheckStopsOnANonRetryableError(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnActivity(a.RecordSelfCheck, mock.Anything, mock.Anything).Return(activities.SelfCheck{},
		temporal.NewNonRetryableApplicationError("bad", activities.ErrTypeInvalid, nil)).Once()
	env.ExecuteWorkflow(workflows.SelfCheck, workflows.SelfCheckInput{})
	require.Error(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}
