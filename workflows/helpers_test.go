package workflows_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// newSuite is a test suite whose logs stay quiet unless something fails
// loudly enough to matter (errors).
func newSuite() *testsuite.WorkflowTestSuite {
	s := &testsuite.WorkflowTestSuite{}
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return s
}

// answered sends the update name under id (with args) and hands its answer
// to onAnswer; a refusal or an error fails the test. *pending counts it
// until it answers, as each test environment's run checks.
func answered(t *testing.T, env *testsuite.TestWorkflowEnvironment, pending *int, name, id string, onAnswer func(any), args ...any) {
	t.Helper()
	*pending++
	env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
		OnReject: func(err error) { require.NoError(t, err, name) },
		OnComplete: func(v any, err error) {
			*pending--
			require.NoError(t, err, name)
			if onAnswer != nil {
				onAnswer(v)
			}
		},
	}, args...)
}
