package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/workflows"
)

func TestRetentionSweepsWithTheGivenPeriods(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	in := activities.RetentionRequest{CTIEvents: 30 * 24 * time.Hour, IdempotencyKeys: 24 * time.Hour}
	env.OnActivity(a.ExpireRecords, mock.Anything, in).Return(activities.Expired{CTIEvents: 12, IdempotencyKeys: 3}, nil).Once()
	env.ExecuteWorkflow(workflows.Retention, in)
	require.NoError(t, env.GetWorkflowError())
	var out activities.Expired
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, activities.Expired{CTIEvents: 12, IdempotencyKeys: 3}, out)
	env.AssertExpectations(t)

	bad := s.NewTestWorkflowEnvironment()
	bad.RegisterActivity(a)
	bad.ExecuteWorkflow(workflows.Retention, activities.RetentionRequest{CTIEvents: time.Hour})
	require.ErrorContains(t, bad.GetWorkflowError(), "must be positive")
}
