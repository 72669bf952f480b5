package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

type agentView struct {
	ID            string        `json:"id"`
	Status        string        `json:"status"`
	Presence      string        `json:"presence"`
	PendingOffers []store.Offer `json:"pending_offers"`
}

// setupQueue makes a queue with agents who are members and available.
func setupQueue(t *testing.T, settings map[string]any, agents ...string) (string, map[string]string) {
	t.Helper()
	queue := "e2e-" + strings.ToLower(uuid.NewString()[:8])
	mustAPI(t, http.StatusOK, "PUT", "/v1/queues/"+queue, supervisor(), settings, nil)
	tokens := map[string]string{}
	for _, a := range agents {
		id := a + "-" + queue
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+id, supervisor(), map[string]any{"name": a}, nil)
		mustAPI(t, http.StatusNoContent, "PUT", "/v1/queues/"+queue+"/members/"+id, supervisor(), nil, nil)
		tokens[id] = agentToken(t, id)
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+id+"/presence", tokens[id], map[string]any{"presence": "available"}, nil)
	}
	return queue, tokens
}

func number(workflowID string) string {
	return strings.TrimPrefix(workflowID, workflows.InteractionWorkflowID(""))
}

// Many calls and agents at once: calls are offered in arrival order, each
// is accepted by exactly one agent, and no agent ever holds two voice
// offers or calls at a time.
func TestManyCallsManyAgentsNoDoubleBooking(t *testing.T) {
	const calls = 12
	agents := []string{"amy", "ben", "cal", "dee"}
	queue, tokens := setupQueue(t, map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": 0}, agents...)

	var numbers []string
	for i := range calls {
		var call struct{ ID string }
		sim(t, "/sim/inbound-calls", map[string]any{"from": fmt.Sprintf("+1202555%04d", 1000+i), "to": "+12025550100", "queue": queue}, &call)
		// Wait for its interaction so that arrival order is the order of the calls.
		var owner string
		eventually(t, func() bool {
			wf, err := sys.store.LegOwner(t.Context(), call.ID)
			owner = wf
			return err == nil
		}, "call "+call.ID+" opens an interaction")
		numbers = append(numbers, number(owner))
	}

	// Every agent works: accept each offer, end the call, take the next.
	var wg sync.WaitGroup
	var mu sync.Mutex
	handled := map[string]string{}
	for id, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(3 * time.Minute)
			for time.Now().Before(deadline) {
				mu.Lock()
				done := len(handled) == calls
				mu.Unlock()
				if done {
					return
				}
				var me agentView
				if do(t, "GET", "/v1/agents/"+id, tok, nil, &me) != http.StatusOK || len(me.PendingOffers) == 0 {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				if len(me.PendingOffers) > 1 {
					t.Errorf("agent %s holds %d offers at once", id, len(me.PendingOffers))
				}
				n := number(me.PendingOffers[0].WorkflowID)
				if st := do(t, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil); st != http.StatusOK {
					continue // the offer moved on; look again
				}
				mu.Lock()
				if prev, dup := handled[n]; dup {
					t.Errorf("interaction %s accepted by %s and %s", n, prev, id)
				}
				handled[n] = id
				mu.Unlock()
				if st := do(t, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{"disposition": "done"}, nil); st != http.StatusOK {
					t.Errorf("end %s: %d", n, st)
				}
			}
		}()
	}
	wg.Wait()
	require.Len(t, handled, calls, "every call was handled")

	// Offers followed arrival order: the first offer of each item came no
	// earlier than the first offer of every item that arrived before it.
	var firstOffers []struct {
		Position int64     `db:"position"`
		At       time.Time `db:"at"`
	}
	require.NoError(t, sys.store.DB().Select(&firstOffers, `
SELECT i.position, min(o.offered_at) AS at FROM work_items i JOIN offers o ON o.item_id = i.id
WHERE i.queue = $1 GROUP BY i.id, i.position ORDER BY i.position`, queue))
	require.Len(t, firstOffers, calls)
	for i := 1; i < len(firstOffers); i++ {
		require.False(t, firstOffers[i].At.Before(firstOffers[i-1].At), "item %d was offered before an older one", i)
	}
	// No agent held two offers at overlapping times.
	var overlaps int
	require.NoError(t, sys.store.DB().Get(&overlaps, `
SELECT count(*) FROM offers a JOIN offers b ON a.agent_id = b.agent_id AND a.id < b.id
JOIN work_items i ON i.id = a.item_id
WHERE i.queue = $1 AND a.offered_at < coalesce(b.closed_at, now()) AND b.offered_at < coalesce(a.closed_at, now())`, queue))
	require.Zero(t, overlaps)

	// Every interaction ended Closed Complete with a phone log.
	for _, n := range numbers {
		var st struct {
			State     string           `json:"state"`
			PhoneLogs []map[string]any `json:"phone_logs"`
		}
		eventually(t, func() bool {
			return do(t, "GET", "/v1/interactions/"+n, supervisor(), nil, &st) == http.StatusOK &&
				st.State == "closed_complete" && len(st.PhoneLogs) == 1
		}, n+" closed with a phone log")
	}
}
