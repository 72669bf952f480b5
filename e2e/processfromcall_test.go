package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// From a real call: the agent accepts it, starts Add new case from the
// interaction, and the case ends up linked both ways.
func TestAddNewCaseFromAnAcceptedCall(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "kim")
	agent := "kim-" + queue
	tok := tokens[agent]
	e164, _ := callerNumber(t)
	kim := seedContact(t, "Kim Caller", nil, e164)

	_, n := ringIn(t, e164, queue, nil)
	offeredTo(t, n, agent)

	// Only the interaction's agent (or a supervisor) may start a process on it.
	require.Equal(t, http.StatusForbidden, do(t, "POST", "/v1/interactions/"+n+"/processes", agentToken(t, "not-"+agent),
		map[string]any{"kind": "add_new_case"}, nil))
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)

	var ps workflows.CaseProcessState
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+n+"/processes", tok, map[string]any{"kind": "add_new_case"}, &ps)
	require.Equal(t, workflows.CaseStepEnterCase, ps.Step, "one contact has the number: straight to the case page")
	require.Equal(t, kim.ID, ps.Contact.ID)
	var running api.Problem
	require.Equal(t, http.StatusConflict, do(t, "POST", "/v1/interactions/"+n+"/processes", tok, map[string]any{"kind": "add_new_case"}, &running),
		"one Add new case process per interaction")
	require.Equal(t, ps.WorkflowID, running.ProcessID, "the refusal names the running process")
	// A desk reloaded mid-process finds it on the interaction.
	var reloaded struct {
		Processes []struct {
			ID, Kind, Step string
			Ended          bool
		} `json:"processes"`
	}
	mustAPI(t, http.StatusOK, "GET", "/v1/interactions/"+n, tok, nil, &reloaded)
	require.Len(t, reloaded.Processes, 1)
	require.Equal(t, ps.WorkflowID, reloaded.Processes[0].ID)
	require.Equal(t, workflows.CaseProcessAddNewCase, reloaded.Processes[0].Kind)
	require.Equal(t, workflows.CaseStepEnterCase, reloaded.Processes[0].Step)
	require.False(t, reloaded.Processes[0].Ended)
	require.Equal(t, http.StatusUnprocessableEntity, do(t, "POST", "/v1/interactions/"+n+"/processes", tok, map[string]any{"kind": "sell_insurance"}, nil))

	var done workflows.CaseProcessState
	mustAPI(t, http.StatusOK, "POST", "/v1/processes/"+ps.WorkflowID+"/submit-case", tok, submitted, &done)
	require.NotNil(t, done.Case)
	d := getInteraction(t, n)
	require.Contains(t, d.Related, store.RelatedRecord{Kind: "case", Ref: done.Case.Number, CreatedAt: relatedAt(d, done.Case.Number)},
		"the case number is recorded on the interaction")

	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{}, nil)
	waitState(t, n, "closed_complete")
	var c store.CaseDetail
	mustAPI(t, http.StatusOK, "GET", "/v1/cases/"+done.Case.Number, tok, nil, &c)
	requireCreatedFrom(t, c, n)
}

func relatedAt(d interactionDetail, ref string) time.Time {
	for _, r := range d.Related {
		if r.Ref == ref {
			return r.CreatedAt
		}
	}
	return time.Time{}
}
