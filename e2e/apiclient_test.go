package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/apiclient"
)

// openapi.yaml is enough to build a client: an inbound call, taken the
// instant its offer shows and ended with a disposition, entirely through
// the client oapi-codegen generated from it.
func TestAnInboundCallThroughTheGeneratedClient(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "gen")
	agent := "gen-" + queue
	ctx := context.Background()
	c, err := apiclient.NewClientWithResponses(sys.apiURL, apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+tokens[agent])
		return nil
	}))
	require.NoError(t, err)

	_, n := ringIn(t, "+12025550117", queue, nil)
	eventually(t, func() bool {
		r, err := c.GetAgentWithResponse(ctx, agent)
		if err != nil || r.JSON200 == nil || r.JSON200.PendingOffers == nil {
			return false
		}
		offers := *r.JSON200.PendingOffers
		return len(offers) == 1 && offers[0].Interaction != nil && *offers[0].Interaction == n
	}, "the offer shows")
	accepted, err := c.AcceptInteractionWithResponse(ctx, n, nil, apiclient.DecisionBody{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, accepted.StatusCode(), string(accepted.Body))

	disposition := "resolved"
	ended, err := c.EndInteractionWithResponse(ctx, n, nil, apiclient.EndBody{Disposition: &disposition})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ended.StatusCode(), string(ended.Body))

	got, err := c.GetInteractionWithResponse(ctx, n)
	require.NoError(t, err)
	require.NotNil(t, got.JSON200, string(got.Body))
	require.Equal(t, apiclient.InteractionRecordStateClosedComplete, got.JSON200.State)
	require.Equal(t, "resolved", *got.JSON200.Disposition)
	require.Equal(t, agent, *got.JSON200.AgentId)

	refused, err := c.AcceptInteractionWithResponse(ctx, n, nil, apiclient.DecisionBody{})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, refused.StatusCode())
	require.NotNil(t, refused.ApplicationproblemJSON409, "a refusal decodes as a problem")
}
