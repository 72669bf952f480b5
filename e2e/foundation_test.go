package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/worker"
	"github.com/casehub/casehub/workflows"
)

func TestReadyWhenPostgresAndTemporalAnswer(t *testing.T) {
	resp, err := http.Get(sys.apiURL + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct{ Checks map[string]string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, map[string]string{"postgres": "ok", "temporal": "ok"}, body.Checks)
}

func TestSearchAttributesAreRegisteredIdempotently(t *testing.T) {
	ctx := context.Background()
	// TestMain registered them once; a second start must not fail.
	require.NoError(t, worker.RegisterSearchAttributes(ctx, sys.client, "default"))

	list, err := sys.client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	require.NoError(t, err)
	want := map[string]enums.IndexedValueType{
		"CaseNumber": enums.INDEXED_VALUE_TYPE_KEYWORD, "ContactId": enums.INDEXED_VALUE_TYPE_KEYWORD,
		"AgentId": enums.INDEXED_VALUE_TYPE_KEYWORD, "Queue": enums.INDEXED_VALUE_TYPE_KEYWORD,
		"Channel": enums.INDEXED_VALUE_TYPE_KEYWORD, "ProcessState": enums.INDEXED_VALUE_TYPE_KEYWORD,
		"CallbackMode": enums.INDEXED_VALUE_TYPE_KEYWORD, "NextAttemptAt": enums.INDEXED_VALUE_TYPE_DATETIME,
	}
	for name, typ := range want {
		require.Equal(t, typ, list.GetCustomAttributes()[name], name)
	}
}

func TestWorkflowWritesThroughAnActivityToPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := workflows.SelfCheckWorkflowID(uuid.NewString())
	run, err := sys.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.SelfCheck, workflows.SelfCheckInput{Note: "e2e"})
	require.NoError(t, err)
	var res workflows.SelfCheckResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, id, res.WorkflowID)

	row, err := sys.store.GetSelfCheck(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.GetRunID(), row.RunID)
	require.Equal(t, "e2e", row.Note)

	// The process is visible to ops in Temporal's visibility store.
	require.Eventually(t, func() bool {
		resp, err := sys.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: "WorkflowId = '" + id + "'"})
		return err == nil && len(resp.GetExecutions()) == 1 &&
			resp.GetExecutions()[0].GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, 30*time.Second, 100*time.Millisecond)
}
