package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/worker"
)

// TestReplayRecordedHistories replays every history under
// testdata/histories (recorded from real runs by `make histories`, in the
// format of `temporal workflow show --output json`) against the workflows
// as the worker registers them. A change that would break executions
// already running fails here; put it behind workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no histories in testdata/histories: record them with `make histories`")

	ids := workflowIDs(t)
	// Histories recorded since payloads are sealed need their key; older
	// ones are in clear and pass through the codec unchanged.
	keys, err := codec.LoadFile(filepath.Join("testdata", "histories", "codec-keys"))
	require.NoError(t, err)
	replayer, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{DataConverter: codec.DataConverter(keys)})
	require.NoError(t, err)
	worker.RegisterWorkflows(replayer)
	types := map[string]int{}
	for _, file := range files {
		name := filepath.Base(file)
		typ, _, ok := strings.Cut(name, "-")
		require.True(t, ok, "%s: name histories <WorkflowType>-<what>.json", name)
		types[typ]++
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, err)
			started := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
			require.Equal(t, typ, started.GetWorkflowType().GetName(), "the file name says which workflow it is")
			id, ok := ids[name]
			require.True(t, ok, "testdata/histories/workflow-ids.txt does not say which workflow id %s ran under", name)
			require.NoError(t, replayer.ReplayWorkflowHistoryWithOptions(nil, h, sdkworker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: id, RunID: started.GetOriginalExecutionRunId()},
			}))
		})
	}
	// Every shipped process has at least one recorded history.
	for _, typ := range []string{"SelfCheck", "Agent", "Interaction", "AddNewCase", "AdviseOnExistingCase", "Callback"} {
		require.NotZero(t, types[typ], "no recorded history of %s", typ)
	}
}

// workflowIDs reads testdata/histories/workflow-ids.txt: a history holds no
// workflow id, and the replayer would otherwise run it under a made-up one
// (a process that offers work to itself compares ids with its own).
func workflowIDs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "histories", "workflow-ids.txt"))
	require.NoError(t, err)
	ids := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if file, id, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(line, "#") {
			ids[file] = id
		}
	}
	return ids
}
