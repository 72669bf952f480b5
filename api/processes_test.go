package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// openInteraction records an interaction in work with agent, owned by the
// process named workflowID ("" for its own).
func openInteraction(t testing.TB, agent, workflowID string) store.Interaction {
	t.Helper()
	ctx := context.Background()
	number, err := st.NextInteractionNumber(ctx)
	require.NoError(t, err)
	if workflowID == "" {
		workflowID = workflows.InteractionWorkflowID(number)
	}
	_, err = st.UpsertAgent(ctx, agent, agent, 1)
	require.NoError(t, err)
	it, err := st.CreateInteraction(ctx, store.NewInteraction{Number: number, Channel: "phone", Direction: "inbound",
		State: workflows.StateWorkInProgress, WorkflowID: workflowID, AgentID: agent, ContactPhone: "+12025550143"})
	require.NoError(t, err)
	return it
}

// The configured step timeout reaches every case process the API starts.
func TestStartProcessPassesTheStepTimeout(t *testing.T) {
	fake := &mocks.Client{}
	var started workflows.CaseProcessInput
	fake.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ sdkclient.StartWorkflowOptions, _ any, args ...any) (sdkclient.WorkflowRun, error) {
			started = args[0].(workflows.CaseProcessInput)
			return &mocks.WorkflowRun{}, nil
		})
	fake.On("QueryWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
			p, err := converter.GetDefaultDataConverter().ToPayloads(workflows.CaseProcessState{
				WorkflowID: "case-process-x", Kind: workflows.CaseProcessAddNewCase, Flow: workflows.CaseProcessAddNewCase,
				Step: workflows.CaseStepIdentifyContact, Candidates: []activities.Contact{}, SearchResults: []activities.Contact{},
				History: []activities.CaseSummary{}, Consultations: []activities.Consultation{}})
			return &encoded{p: p}, err
		})
	it := openInteraction(t, "agent-steps", "")
	c := newClient(t, api.Deps{Temporal: fake, CaseStepTimeout: 5 * time.Minute}).as(issue(t, auth.RoleAgent, "agent-steps"))
	r := c.do(http.MethodPost, "/v1/interactions/"+it.Number+"/processes", map[string]any{"kind": workflows.CaseProcessAddNewCase})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	require.Equal(t, 5*time.Minute, started.StepTimeout)
	require.Equal(t, it.Number, started.InteractionID)
}

// A callback's call is an interaction its callback process owns: notes go
// straight to the record, the interaction process's actions are refused
// with the callback's route, and nothing reaches Temporal.
func TestCallbackCallInteraction(t *testing.T) {
	it := openInteraction(t, "agent-cbcall", workflows.CallbackWorkflowID("CB0000077"))
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleAgent, "agent-cbcall"))

	r := c.do(http.MethodPost, "/v1/interactions/"+it.Number+"/notes", map[string]any{"body": "wants a refund"}, "Idempotency-Key", "note-1")
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	r = c.do(http.MethodPost, "/v1/interactions/"+it.Number+"/notes", map[string]any{"body": "wants a refund"}, "Idempotency-Key", "note-1")
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	notes, err := st.WorkNotes(context.Background(), it.Number)
	require.NoError(t, err)
	require.Len(t, notes, 1, "the same key notes once")

	for _, action := range []string{"end", "close", "transfer", "escalate"} {
		body := map[string]any{}
		switch action {
		case "transfer":
			body["to_queue"] = "nowhere"
		case "escalate":
			body = map[string]any{"kind": "incident", "short_description": "x"}
		}
		r := c.do(http.MethodPost, "/v1/interactions/"+it.Number+"/"+action, body)
		require.Equal(t, http.StatusConflict, r.Code, "%s: %s", action, r.Body.String())
		require.Contains(t, r.problem(t).Detail, "/v1/callbacks/CB0000077/close", action)
	}
}

// encoded is a query answer as the SDK hands it over.
type encoded struct{ p *commonpb.Payloads }

func (e *encoded) HasValue() bool { return e.p != nil }

func (e *encoded) Get(v any) error { return converter.GetDefaultDataConverter().FromPayloads(e.p, v) }
