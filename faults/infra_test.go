//go:build faults

package faults

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// PostgreSQL goes away with calls in flight: one in progress, two offered
// with their acceptance timers running out during the outage, one waiting.
// While it is down the API says 503 (never 500); when it is back the API
// recovers by itself, the activities that failed meanwhile are retried, and
// every call completes exactly once.
func TestPostgresStoppedUnderLoad(t *testing.T) {
	s := newSystem(t)
	const acceptance = 6 * time.Second
	q, ids, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": int(acceptance.Seconds()), "wrapup_timeout_seconds": 0},
		[]string{"ann", "bob", "cat"}, "ann", "bob", "cat")
	tokenOf := byID(ids, tokens)

	var numbers []string
	var worked string // the call in progress, and its agent
	for i := range 3 {
		_, n := s.ringIn(fmt.Sprintf("+1202555%04d", 1100+i), q)
		numbers = append(numbers, n)
		d := s.waitState(n, "pending_acceptance", "")
		if i == 0 {
			worked = *d.AgentID
			s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokenOf[worked], map[string]any{}, nil)
		}
	}
	_, waiting := s.ringIn("+12025551199", q)
	numbers = append(numbers, waiting)
	require.Equal(t, "new", s.interaction(waiting).State, "no agent is free for the fourth call")

	require.NoError(t, pkg.pg.stop())
	downSince := time.Now()
	s.eventually(func() bool { return s.send("GET", "/readyz", "", "", nil).status == http.StatusServiceUnavailable }, "readyz says 503")
	// Writes and reads while the database is down: 503, never 500.
	for time.Since(downSince) < acceptance+4*time.Second {
		for _, r := range []struct {
			method, path, token string
			body                any
		}{
			{"POST", "/v1/contacts", s.supervisor, map[string]any{"name": "Ann Lee"}},
			{"POST", "/v1/interactions/" + numbers[0] + "/end", tokenOf[worked], map[string]any{}},
			{"PUT", "/v1/agents/" + worked + "/presence", tokenOf[worked], map[string]any{"presence": "on_break"}},
			{"GET", "/v1/interactions/" + numbers[0], s.supervisor, nil},
			{"GET", "/readyz", "", nil},
		} {
			a := s.send(r.method, r.path, r.token, "", r.body)
			require.Equal(t, http.StatusServiceUnavailable, a.status, "%s %s while PostgreSQL is down: %s", r.method, r.path, a.body)
			if r.path != "/readyz" {
				require.Contains(t, string(a.body), `"status":503`, "a problem+json answer")
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.NoError(t, pkg.pg.start())
	// Right after the restart the pools still hold the old, dead
	// connections: an answer may be 503 for a moment, never 500.
	for i := range 20 {
		a := s.send("POST", "/v1/contacts", s.supervisor, "", map[string]any{"name": fmt.Sprintf("Right After %d", i)})
		require.Contains(t, []int{http.StatusCreated, http.StatusServiceUnavailable}, a.status, "POST /v1/contacts after the restart: %s", a.body)
		a = s.send("GET", "/v1/interactions/"+numbers[0], tokenOf[worked], "", nil)
		require.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable}, a.status, "GET an interaction after the restart: %s", a.body)
		time.Sleep(50 * time.Millisecond)
	}
	s.eventually(func() bool { return s.send("GET", "/readyz", "", "", nil).status == http.StatusOK }, "the API is ready again by itself")

	// The acceptance timers fired during the outage; closing those offers
	// was retried until PostgreSQL answered: both agents are on break and
	// their calls wait again.
	for _, n := range numbers[1:3] {
		s.waitState(n, "new", "")
	}
	for id, tok := range tokenOf {
		if id != worked {
			s.eventually(func() bool { return s.agent(id, tok).Presence == "on_break" }, "%s on break after the offer ran out", id)
		}
	}

	// Everyone works until every call is done.
	s.must(http.StatusOK, "POST", "/v1/interactions/"+numbers[0]+"/end", tokenOf[worked], map[string]any{}, nil)
	for id, tok := range tokenOf {
		if id != worked {
			s.presence(id, tok, "available")
		}
	}
	s.workUntilDone(tokenOf, numbers)

	for _, n := range numbers {
		s.requireClean(n, 1)
	}
	require.Equal(t, len(numbers), s.count(`SELECT count(*) FROM interactions WHERE queue = $1`, q), "one interaction per call")
	require.Equal(t, len(numbers), s.count(`SELECT count(*) FROM phone_logs p JOIN interactions i ON i.number = p.interaction WHERE i.queue = $1`, q),
		"one phone log per call")
}

// The Temporal server restarts (same SQLite file) with an agent in wrap-up,
// an offer's acceptance timer running and a call waiting. The processes
// resume, both timers fire, and every call completes once.
func TestTemporalRestarted(t *testing.T) {
	s := newSystem(t)
	const acceptance, wrapUp = 8 * time.Second, 5 * time.Second
	q, ids, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": int(acceptance.Seconds()), "wrapup_timeout_seconds": int(wrapUp.Seconds())},
		[]string{"ann", "bob"}, "ann", "bob")
	tokenOf := byID(ids, tokens)

	_, first := s.ringIn("+12025551201", q)
	x := *s.waitState(first, "pending_acceptance", "").AgentID
	s.must(http.StatusOK, "POST", "/v1/interactions/"+first+"/accept", tokenOf[x], map[string]any{}, nil)
	s.must(http.StatusOK, "POST", "/v1/interactions/"+first+"/end", tokenOf[x], map[string]any{}, nil)
	s.eventually(func() bool { return s.agent(x, tokenOf[x]).Presence == "wrap_up" }, "%s in wrap-up", x)
	_, offered := s.ringIn("+12025551202", q)
	y := *s.waitState(offered, "pending_acceptance", "").AgentID
	require.NotEqual(t, x, y)
	_, waiting := s.ringIn("+12025551203", q)
	require.Equal(t, "new", s.interaction(waiting).State)

	// Down for longer than both timers.
	require.NoError(t, s.temporal.Stop())
	s.eventually(func() bool { return s.send("GET", "/readyz", "", "", nil).status == http.StatusServiceUnavailable }, "readyz says 503 without Temporal")
	time.Sleep(acceptance)
	s.startTemporal()
	s.eventually(func() bool { return s.send("GET", "/readyz", "", "", nil).status == http.StatusOK }, "the API is ready again by itself")

	s.eventually(func() bool { return s.agent(x, tokenOf[x]).Presence != "wrap_up" }, "the wrap-up timer fires after the restart")
	s.eventually(func() bool { return s.agent(y, tokenOf[y]).Presence == "on_break" }, "the acceptance timer fires after the restart")
	s.presence(y, tokenOf[y], "available")
	numbers := []string{first, offered, waiting}
	s.workUntilDone(tokenOf, numbers)
	for _, n := range numbers {
		s.requireClean(n, 1)
	}
	d := s.interaction(offered)
	require.Contains(t, states(d), "new", "the timed-out offer went back to the queue")
	require.Equal(t, len(numbers), s.count(`SELECT count(*) FROM interactions WHERE queue = $1`, q))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM offers o JOIN work_items i ON i.id = o.item_id WHERE i.workflow_id = $1 AND o.state = $2`,
		workflows.InteractionWorkflowID(offered), store.OfferTimedOut), "the offer timed out once")
}

// The telephony platform is down when an agent clicks to call: the dial is
// retried with backoff; once the platform is back (same address) the call
// is placed exactly once and the process completes.
func TestSimulatorStoppedDuringClickToCall(t *testing.T) {
	s := newSystem(t)
	q, ids, tokens := s.queue(map[string]any{"outbound_number": "+12025550199"}, []string{"eve"})
	tok := tokens["eve"]
	s.sim.kill()

	var it store.Interaction
	s.must(http.StatusCreated, "POST", "/v1/interactions/outbound", tok, map[string]any{"to": "+12025550141", "queue": q}, &it)
	s.eventually(func() bool { return s.pendingAttempt(it.WorkflowID, "PlaceCall") >= 2 }, "the dial is retried while the platform is down")
	s.startSim()

	key := it.Number + "-dial"
	s.eventually(func() bool { c := s.simCalls(key); return len(c) == 1 && c[0].State == "answered" }, "the call is placed and answered")
	s.eventually(func() bool { return s.pendingAttempt(it.WorkflowID, "PlaceCall") == 0 }, "the dial activity completed")
	s.must(http.StatusOK, "POST", "/v1/interactions/"+it.Number+"/end", tok, map[string]any{}, nil)
	d := s.requireClean(it.Number, 1)
	require.Equal(t, ids["eve"], *d.PhoneLogs[0].AgentID)
	require.Len(t, s.simCalls(key), 1, "exactly one call")
}

// pendingAttempt is the attempt number of the workflow's pending activity
// of that type (0 when none is pending).
func (s *system) pendingAttempt(workflowID, activityType string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := s.client.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return -1
	}
	for _, a := range d.GetPendingActivities() {
		if a.GetActivityType().GetName() == activityType {
			return int(a.GetAttempt())
		}
	}
	return 0
}

// byID maps agent ids to their tokens.
func byID(ids, tokens map[string]string) map[string]string {
	out := map[string]string{}
	for name, id := range ids {
		out[id] = tokens[name]
	}
	return out
}

// workUntilDone has every agent take its offers (accept, then end) until
// every interaction in numbers is closed.
func (s *system) workUntilDone(tokenOf map[string]string, numbers []string) {
	s.t.Helper()
	done := func() bool {
		for _, n := range numbers {
			var d interactionDetail
			if s.do("GET", "/v1/interactions/"+n, s.supervisor, nil, &d) != http.StatusOK || d.State != "closed_complete" {
				return false
			}
		}
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for id, tok := range tokenOf {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var me agentView
				if s.do("GET", "/v1/agents/"+id, tok, nil, &me) != http.StatusOK || len(me.PendingOffers) == 0 {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				n := strings.TrimPrefix(me.PendingOffers[0].WorkflowID, workflows.InteractionWorkflowID(""))
				if st := s.do("POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil); st != http.StatusOK {
					if st >= 500 {
						s.t.Errorf("accept %s: %d", n, st)
					}
					continue // the offer moved on; look again
				}
				if st := s.do("POST", "/v1/interactions/"+n+"/end", tok, map[string]any{}, nil); st != http.StatusOK {
					s.t.Errorf("end %s: %d", n, st)
				}
				// Skip a wrap-up, if the queue has one (409 otherwise).
				if st := s.do("POST", "/v1/agents/"+id+"/end-wrap-up", tok, map[string]any{}, nil); st >= 500 {
					s.t.Errorf("end wrap-up %s: %d", id, st)
				}
			}
		}()
	}
	deadline := time.Now().Add(3 * time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			cancel()
			wg.Wait()
			s.t.Fatalf("not every interaction closed in time: %v", numbers)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	wg.Wait()
}
