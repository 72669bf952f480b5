package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// A second POST /v1/callbacks for a number whose callback in the queue is
// still open (waiting, queued, or being worked: offered, dialled, on the
// line) answers 200 with that callback and starts nothing new; once it is
// closed, the same request makes a new callback (201).
func TestCallbackRequestWhileOneIsOpenOrClosed(t *testing.T) {
	ctx := context.Background()
	agent := "cb-dedupe-" + uuid.NewString()[:8]
	_, err := st.UpsertAgent(ctx, agent, agent, 1)
	require.NoError(t, err)

	for i, final := range []string{store.CallbackCompleted, store.CallbackFailed, store.CallbackCancelled, store.CallbackExpired} {
		t.Run(final, func(t *testing.T) {
			queue := callbackQueue(t, `{}`)
			fake := newFakeTemporal()
			c := newClient(t, api.Deps{Temporal: fake}).as(issue(t, auth.RoleIntegration, ""))
			e164 := fmt.Sprintf("+1202555%04d", 400+i)
			national := fmt.Sprintf("(202) 555-%04d", 400+i)

			r := c.do(http.MethodPost, "/v1/callbacks", map[string]any{"number": e164, "queue": queue})
			require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
			var first store.Callback
			r.decode(t, &first)

			version := first.Version
			for _, step := range []string{workflows.CallbackStepQueued, workflows.CallbackStepOffered, workflows.CallbackStepDialing,
				workflows.CallbackStepHolding, workflows.CallbackStepConnected} {
				version++
				state := workflows.CallbackStoredState(step)
				agentID := ""
				if state == store.CallbackInProgress {
					agentID = agent
				}
				_, err := st.ChangeCallback(ctx, store.CallbackChange{ID: first.ID, Version: version, State: state, Attempts: 1,
					MaxAttempts: first.MaxAttempts, AgentID: agentID, TimeZone: first.TimeZone, ExpiresAt: first.ExpiresAt})
				require.NoError(t, err)

				r = c.do(http.MethodPost, "/v1/callbacks", map[string]any{"number": national, "queue": queue,
					"context": map[string]any{"reason": "asked again while " + step}})
				require.Equal(t, http.StatusOK, r.Code, "%s: %s", step, r.Body.String())
				var again store.Callback
				r.decode(t, &again)
				require.Equal(t, first.ID, again.ID, "the open callback, while it is %s", step)
				require.Equal(t, state, again.State, step)
				require.Empty(t, again.Reason, "the open callback's context is kept, not replaced by the second request's")
			}
			fake.mu.Lock()
			require.Len(t, fake.started, 1, "one process for the number")
			fake.mu.Unlock()

			version++
			_, err := st.ChangeCallback(ctx, store.CallbackChange{ID: first.ID, Version: version, State: final, Outcome: final,
				Attempts: 1, MaxAttempts: first.MaxAttempts, AgentID: agent, TimeZone: first.TimeZone, ExpiresAt: first.ExpiresAt})
			require.NoError(t, err)

			r = c.do(http.MethodPost, "/v1/callbacks", map[string]any{"number": national, "queue": queue})
			require.Equal(t, http.StatusCreated, r.Code, "after %s: %s", final, r.Body.String())
			var next store.Callback
			r.decode(t, &next)
			require.NotEqual(t, first.ID, next.ID)
			require.Equal(t, store.CallbackScheduled, next.State)
			fake.mu.Lock()
			require.Contains(t, fake.started, workflows.CallbackWorkflowID(next.ID), "the new callback's process is started")
			fake.mu.Unlock()

			// Who is waiting: only the new one.
			sup := c.as(issue(t, auth.RoleSupervisor, ""))
			r = sup.do(http.MethodGet, "/v1/callbacks?state=pending&queue="+queue, nil)
			require.Equal(t, http.StatusOK, r.Code, r.Body.String())
			var list struct{ Items []store.Callback }
			r.decode(t, &list)
			require.Len(t, list.Items, 1)
			require.Equal(t, next.ID, list.Items[0].ID)
		})
	}
}
