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

// Many calls and agents at once: each call is accepted by exactly one
// agent, the instant its offer shows (never refused), and no agent ever
// holds two voice offers or calls at a time.
func TestManyCallsManyAgentsNoDoubleBooking(t *testing.T) {
	const calls = 12
	agents := []string{"amy", "ben", "cal", "dee"}
	queue, tokens := setupQueue(t, map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": 0}, agents...)

	var numbers []string
	for i := range calls {
		_, n := ringIn(t, fmt.Sprintf("+1202555%04d", 1000+i), queue, nil)
		numbers = append(numbers, n)
	}

	// Every agent works: accept each offer as it shows, end the call, take
	// the next.
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
					time.Sleep(20 * time.Millisecond)
					continue
				}
				if len(me.PendingOffers) > 1 {
					t.Errorf("agent %s holds %d offers at once", id, len(me.PendingOffers))
				}
				n := number(me.PendingOffers[0].WorkflowID)
				if st := do(t, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil); st != http.StatusOK {
					t.Errorf("agent %s was shown %s and its accept was refused: %d", id, n, st)
					return
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

	// No agent held two offers at overlapping times.
	var overlaps int
	require.NoError(t, sys.store.DB().Get(&overlaps, `
SELECT count(*) FROM offers a JOIN offers b ON a.agent_id = b.agent_id AND a.id < b.id
JOIN work_items i ON i.id = a.item_id
WHERE i.queue = $1 AND a.offered_at < coalesce(b.closed_at, now()) AND b.offered_at < coalesce(a.closed_at, now())`, queue))
	require.Zero(t, overlaps)
	var perItem int
	require.NoError(t, sys.store.DB().Get(&perItem, `
SELECT max(n) FROM (SELECT count(*) AS n FROM offers o JOIN work_items i ON i.id = o.item_id WHERE i.queue = $1 GROUP BY i.id) x`, queue))
	require.Equal(t, 1, perItem, "each call was offered once: every offer shown was taken")

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

// Calls wait in the order they drew their places when they arrived (their
// processes enqueue them a moment later, in any order): with every agent
// away while they arrive, each agent that becomes available is offered the
// head of the line.
func TestDispatchFollowsPlacesInLine(t *testing.T) {
	const calls = 6
	queue, tokens := setupQueue(t, map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 0}, "eli", "fox")
	for id, tok := range tokens {
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+id+"/presence", tok, map[string]any{"presence": "on_break"}, nil)
	}
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() { // arriving together: processes enqueue in any order
			defer wg.Done()
			ringIn(t, fmt.Sprintf("+1202555%04d", 3000+i), queue, nil)
		}()
	}
	wg.Wait()
	var q struct {
		Waiting []store.WorkItem `json:"waiting"`
	}
	eventually(t, func() bool {
		q.Waiting = nil
		return do(t, "GET", "/v1/queues/"+queue, supervisor(), nil, &q) == http.StatusOK && len(q.Waiting) == calls
	}, "every call waits in the queue")
	for i := 1; i < len(q.Waiting); i++ {
		require.Less(t, q.Waiting[i-1].Position, q.Waiting[i].Position, "listed in line order")
	}

	ids := []string{}
	for id := range tokens {
		ids = append(ids, id)
	}
	for i := range calls {
		id := ids[i%len(ids)]
		mustAPI(t, http.StatusOK, "GET", "/v1/queues/"+queue, supervisor(), nil, &q)
		head := q.Waiting[0]
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+id+"/presence", tokens[id], map[string]any{"presence": "available"}, nil)
		var me agentView
		eventually(t, func() bool {
			me = agentView{}
			return do(t, "GET", "/v1/agents/"+id, tokens[id], nil, &me) == http.StatusOK && len(me.PendingOffers) == 1
		}, id+" is offered a call")
		require.Equal(t, head.ID, me.PendingOffers[0].ItemID, "offer %d goes to the head of the line", i)
		n := number(me.PendingOffers[0].WorkflowID)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[id], map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+id+"/presence", tokens[id], map[string]any{"presence": "on_break"}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[id], map[string]any{}, nil)
	}
}

// The wrap-up after an item lasts the queue's post-processing time: what
// PostgreSQL (and so the API) shows and the countdown the agent's process
// runs end at the same instant, 30 s after the wrap-up began.
func TestWrapUpLastsTheQueuesTime(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 30}, "gil")
	id := "gil-" + queue
	tok := tokens[id]
	_, n := ringIn(t, "+12025554001", queue, nil)
	offeredTo(t, n, id)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{"disposition": "done"}, nil)

	var me struct {
		Presence    string     `json:"presence"`
		PresenceAt  time.Time  `json:"presence_at"`
		WrapUpItem  *string    `json:"wrapup_item"`
		WrapUpUntil *time.Time `json:"wrapup_until"`
	}
	mustAPI(t, http.StatusOK, "GET", "/v1/agents/"+id, tok, nil, &me)
	require.Equal(t, store.PresenceWrapUp, me.Presence, "in wrap-up the moment the end answered")
	require.NotNil(t, me.WrapUpUntil)
	require.WithinDuration(t, me.PresenceAt.Add(30*time.Second), *me.WrapUpUntil, time.Millisecond)
	var st workflows.AgentState
	eventually(t, func() bool {
		v, err := sys.client.QueryWorkflow(t.Context(), workflows.AgentWorkflowID(id), "", workflows.QueryState)
		if err != nil || v.Get(&st) != nil {
			return false
		}
		return st.Presence == store.PresenceWrapUp && st.WrapUpUntil != nil
	}, "the agent's process counts down its wrap-up")
	require.True(t, me.WrapUpUntil.Equal(*st.WrapUpUntil), "the process counts down to the instant shown: %s vs %s", me.WrapUpUntil, st.WrapUpUntil)

	// Work offline the instant wrap-up shows, then end it with a disposition.
	mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+id+"/work-offline", tok, nil, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+id+"/end-wrap-up", tok, map[string]any{"disposition": "callback promised"}, nil)
	var after struct {
		Presence    string     `json:"presence"`
		WrapUpUntil *time.Time `json:"wrapup_until"`
	}
	mustAPI(t, http.StatusOK, "GET", "/v1/agents/"+id, tok, nil, &after)
	require.Equal(t, store.PresenceAvailable, after.Presence)
	require.Nil(t, after.WrapUpUntil)
}
