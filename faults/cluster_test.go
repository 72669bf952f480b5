//go:build faults

package faults

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cluster"
	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/devserver"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// Faults with several processes: casehub on a Temporal cluster (package
// cluster, as `make cluster` runs it) whose every store is on the
// package's own PostgreSQL: Temporal's services as separate processes, two
// casehub workers and two API replicas of the binary behind the proxy, and
// the simulator. A killed casehub process stays down until the test starts
// it again, so the other one has to finish the work.

// newClusterSystem starts such a cluster for one test; everything stops,
// and its databases are dropped, when the test ends.
func newClusterSystem(t *testing.T) (*system, *cluster.Cluster) {
	t.Helper()
	s := &system{t: t, dir: t.TempDir()}
	t.Cleanup(s.shutdown)
	if !pkg.pg.running() {
		require.NoError(t, pkg.pg.start(), "an earlier test left PostgreSQL stopped")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	line, err := codec.NewKeyLine("faults")
	require.NoError(t, err)
	s.codecKeys = line
	keys, err := codec.ParseKeys(line)
	require.NoError(t, err)

	s.dbName = "casehub_faults_" + strings.ReplaceAll(strconv.FormatInt(time.Now().UnixNano(), 36), "-", "")
	s.dbURL = pkg.pg.url(s.dbName)
	wd, err := os.Getwd()
	require.NoError(t, err)
	o := cluster.Options{
		StateDir: s.dir, AdminURL: pkg.pg.url("postgres"), DatabaseURL: s.dbURL,
		TemporalDB: s.dbName + "_temporal", VisibilityDB: s.dbName + "_visibility",
		CasehubBin: pkg.bin,
		Env: []string{
			"CASEHUB_LOG_LEVEL=info", "CASEHUB_CODEC_KEYS=" + line,
			"CASEHUB_CTI_WEBHOOK_SECRET=" + ctiSecret, "CASEHUB_CTI_API_KEY=",
		},
		SimArgs: []string{"--ring-time", "200ms", "--agent-answer-delay", "50ms"},
		Logger:  slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	o.Ports, err = cluster.FreePorts(2, 2)
	require.NoError(t, err)
	o.ServerBin, err = devserver.FindServer(ctx, wd)
	require.NoError(t, err)
	o.SQLToolBin, err = devserver.FindSQLTool(ctx, wd)
	require.NoError(t, err)
	s.clusterOpts = o

	c, err := cluster.StartTemporal(ctx, o)
	require.NoError(t, err)
	s.cluster = c
	require.NoError(t, c.Migrate(ctx))
	s.db, err = store.Open(ctx, store.DefaultConfig(s.dbURL))
	require.NoError(t, err)
	s.store = store.New(s.db, 10*time.Second)
	s.supervisor = s.issue(auth.RoleSupervisor, "")
	s.integration = s.issue(auth.RoleIntegration, "")
	require.NoError(t, c.StartCasehub(ctx, s.integration))
	s.apiURL, s.simURL = c.APIURL, c.SimURL
	s.client, err = c.Dial(ctx, client.Options{Logger: quietLogger{}, DataConverter: codec.DataConverter(keys)})
	require.NoError(t, err)
	return s, c
}

// testWriter sends the cluster's warnings (a casehub process exited and
// was started again) to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// workerOf is the index of the casehub worker whose identity ("pid@host@")
// is given, or -1.
func workerOf(c *cluster.Cluster, identity string) int {
	pid, err := strconv.Atoi(strings.SplitN(identity, "@", 2)[0])
	if err != nil {
		return -1
	}
	return c.WorkerIndex(pid)
}

// lastTaskWorker is the identity of the worker that completed the
// workflow's latest workflow task: the one holding it in its cache.
func (s *system) lastTaskWorker(workflowID string) string {
	identity, _ := s.taskWorker(workflowID)
	return identity
}

// settledTaskWorker is lastTaskWorker once the workflow has taken in
// everything sent to it (no workflow task scheduled after the last one
// completed), and "" until then.
func (s *system) settledTaskWorker(workflowID string) string {
	if identity, settled := s.taskWorker(workflowID); settled {
		return identity
	}
	return ""
}

// taskWorker reads the workflow's history: who completed its latest
// workflow task, and whether no task was scheduled after it.
func (s *system) taskWorker(workflowID string) (identity string, settled bool) {
	s.t.Helper()
	it := s.client.GetWorkflowHistory(s.t.Context(), workflowID, "", false, 0)
	settled = true
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(s.t, err)
		switch {
		case ev.GetWorkflowTaskCompletedEventAttributes() != nil:
			identity, settled = ev.GetWorkflowTaskCompletedEventAttributes().GetIdentity(), true
		case ev.GetWorkflowTaskScheduledEventAttributes() != nil:
			settled = false
		}
	}
	return identity, settled
}

// pendingActivityWorker is the identity of the worker running the
// workflow's pending activity of that type ("" when none runs).
func (s *system) pendingActivityWorker(workflowID, activityType string) string {
	d, err := s.client.DescribeWorkflowExecution(s.t.Context(), workflowID, "")
	if err != nil {
		return ""
	}
	for _, a := range d.GetPendingActivities() {
		if a.GetActivityType().GetName() == activityType {
			return a.GetLastWorkerIdentity()
		}
	}
	return ""
}

// One of the two workers is killed, and kept down, in the middle of each
// of the three steps where a worker holds something for someone: routing
// calls to agents, a dial to a customer, an agent's wrap-up. Each time the
// other worker finishes the work: every call closes once, with one offer
// accepted and one phone log, the customer is rung once, the agent comes
// back from wrap-up and takes the next call.
func TestClusterWorkerKilledMidStep(t *testing.T) {
	s, c := newClusterSystem(t)
	const wrapUp = 3 * time.Second
	q, ids, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": int(wrapUp.Seconds()),
		"outbound_number": "+12025550199"}, []string{"ann", "bob", "cat"}, "ann", "bob", "cat")
	tokenOf := byID(ids, tokens)

	t.Run("dispatch", func(t *testing.T) {
		// Six calls at once for three agents; worker 1 dies while they are
		// routed, before any is offered.
		var numbers []string
		for i := range 6 {
			_, n := s.ringIn(fmt.Sprintf("+1202555%04d", 2100+i), q)
			numbers = append(numbers, n)
			if i == 2 {
				c.KillWorker(0)
			}
		}
		s.workUntilDone(tokenOf, numbers)
		for _, n := range numbers {
			s.requireClean(n, 1)
			require.Equal(t, 1, s.count(`SELECT count(*) FROM offers o JOIN work_items i ON i.id = o.item_id
WHERE i.workflow_id = $1 AND o.state = 'accepted'`, workflows.InteractionWorkflowID(n)), "%s accepted once", n)
		}
		require.Zero(t, s.count(`SELECT count(*) FROM agents WHERE voice_load <> 0 OR chat_load <> 0`), "nothing booked at the end")
		require.NoError(t, c.StartWorker(t.Context(), 0))
	})

	t.Run("dial", func(t *testing.T) {
		// Ann clicks to call; the worker placing the call dies while the
		// customer's phone rings. The other retries the dial with the same
		// key: one call, and the process completes.
		ann, tok := ids["ann"], tokens["ann"]
		s.presence(ann, tok, "on_break") // no inbound offer meanwhile
		customer := "+12025552201"
		s.script(customer, "answer:6s")
		var it store.Interaction
		s.must(http.StatusCreated, "POST", "/v1/interactions/outbound", tok, map[string]any{"to": customer, "queue": q}, &it)
		key := it.Number + "-dial"
		s.eventually(func() bool { return len(s.simCalls(key)) > 0 }, "the dial reaches the simulator")
		// The worker still placing the call, or else the one holding the
		// process that waits for the customer to answer.
		w := workerOf(c, s.pendingActivityWorker(it.WorkflowID, "PlaceCall"))
		if w < 0 {
			w = workerOf(c, s.lastTaskWorker(it.WorkflowID))
		}
		require.GreaterOrEqual(t, w, 0, "a casehub worker runs the dial")
		c.KillWorker(w)
		require.Equal(t, "ringing", s.simCalls(key)[0].State, "killed while the customer's phone rings")

		s.eventually(func() bool { return s.pendingAttempt(it.WorkflowID, "PlaceCall") == 0 }, "the other worker finishes the dial")
		s.eventually(func() bool { cs := s.simCalls(key); return len(cs) == 1 && cs[0].State == "answered" }, "the customer answers")
		s.eventually(func() bool {
			wf, err := s.store.LegOwner(t.Context(), s.simCalls(key)[0].ID)
			return err == nil && wf == it.WorkflowID
		}, "the call's leg belongs to the interaction")
		s.must(http.StatusOK, "POST", "/v1/interactions/"+it.Number+"/end", tok, map[string]any{}, nil)
		d := s.requireClean(it.Number, 1)
		require.Equal(t, ann, *d.PhoneLogs[0].AgentID)
		require.Len(t, s.simCalls(key), 1, "the customer was rung once")
		require.NoError(t, c.StartWorker(t.Context(), w))
	})

	t.Run("wrap-up", func(t *testing.T) {
		// Bob ends a call and is in wrap-up; the worker holding his process
		// dies before the wrap-up timer fires. The other worker fires it:
		// Bob is available again and takes the next call.
		bob, tok := ids["bob"], tokens["bob"]
		for _, name := range []string{"ann", "cat"} {
			s.presence(ids[name], tokens[name], "on_break")
		}
		_, n := s.ringIn("+12025552301", q)
		s.waitState(n, "pending_acceptance", bob)
		s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
		s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{}, nil)
		s.eventually(func() bool { return s.agent(bob, tok).Presence == "wrap_up" }, "Bob is in wrap-up")
		// PostgreSQL shows the wrap-up before Bob's process has taken in
		// the signal that tells it; the worker to kill is the one that
		// takes it in (the last one before may be a worker killed in an
		// earlier step).
		w := -1
		s.eventually(func() bool {
			w = workerOf(c, s.settledTaskWorker(workflows.AgentWorkflowID(bob)))
			return w >= 0
		}, "a casehub worker holds Bob's process, the wrap-up taken in")
		c.KillWorker(w)

		s.eventually(func() bool { return s.agent(bob, tok).Presence == "available" }, "the wrap-up timer returns Bob to available")
		require.NotEqual(t, w, workerOf(c, s.lastTaskWorker(workflows.AgentWorkflowID(bob))), "the other worker ran the timer")
		s.requireClean(n, 1)
		_, next := s.ringIn("+12025552302", q)
		s.waitState(next, "pending_acceptance", bob)
		s.must(http.StatusOK, "POST", "/v1/interactions/"+next+"/accept", tok, map[string]any{}, nil)
		s.must(http.StatusOK, "POST", "/v1/interactions/"+next+"/end", tok, map[string]any{}, nil)
		s.requireClean(next, 1)
		require.NoError(t, c.StartWorker(t.Context(), w))
	})
}

// An API replica is killed with requests in flight. A request it had
// answered is replayed by the other replica under the same
// Idempotency-Key; a request it was still running (its process started,
// no answer yet) is taken over by the other replica at once, not after the
// key's two minutes, and resumes the same work: the same interaction, the
// customer rung once.
func TestClusterAPIReplicaKilledWithARequestInFlight(t *testing.T) {
	s, c := newClusterSystem(t)
	q, ids, tokens := s.queue(map[string]any{"outbound_number": "+12025550199"}, []string{"eve"})
	eve, tok := ids["eve"], tokens["eve"]
	replica1 := &system{t: t, apiURL: c.APIURLs[0]}

	// Answered before the kill: replayed through the other replica.
	cbBody := map[string]any{"number": "+12025552401", "queue": q, "scheduled_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	done := replica1.send("POST", "/v1/callbacks", s.integration, "cb-before-kill", cbBody)
	require.Equal(t, http.StatusCreated, done.status, "%s", done.body)

	// In flight at the kill: no worker runs, so replica 1 waits for the
	// new interaction's record after starting its process.
	customer := "+12025552402"
	s.script(customer, "answer:6s")
	c.KillWorker(0)
	c.KillWorker(1)
	inFlight := make(chan answer, 1)
	go func() {
		inFlight <- replica1.send("POST", "/v1/interactions/outbound", tok, "click-"+eve, map[string]any{"to": customer, "queue": q})
	}()
	var number string
	s.eventually(func() bool {
		var p *string
		if s.db.Get(&p, `SELECT progress FROM idempotency_keys WHERE key = $1`, "click-"+eve) != nil || p == nil {
			return false
		}
		number = *p
		_, err := s.client.DescribeWorkflowExecution(t.Context(), workflows.InteractionWorkflowID(number), "")
		return err == nil
	}, "replica 1 started the interaction's process")
	c.KillAPI(0)
	first := <-inFlight
	require.Zero(t, first.status, "the client saw the connection drop, not an answer: %s", first.body)
	// The dead replica's connections are gone (the kernel closed them):
	// only replica 2's instance lock is left.
	s.eventually(func() bool {
		return s.count(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7271003 AND granted
AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`) == 1
	}, "replica 1's instance lock went with its process")
	require.NoError(t, c.StartWorker(t.Context(), 0))
	require.NoError(t, c.StartWorker(t.Context(), 1))

	// The client's one retry, through the proxy (replica 2 alone is up).
	retry := s.send("POST", "/v1/interactions/outbound", tok, "click-"+eve, map[string]any{"to": customer, "queue": q})
	require.Equal(t, http.StatusCreated, retry.status, "%s", retry.body)
	require.Contains(t, string(retry.body), `"number":"`+number+`"`, "the retry answers with the interaction the first attempt opened")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM interactions WHERE agent_id = $1`, eve), "one interaction")
	key := number + "-dial"
	s.eventually(func() bool { cs := s.simCalls(key); return len(cs) == 1 && cs[0].State == "answered" }, "the customer answers")
	s.must(http.StatusOK, "POST", "/v1/interactions/"+number+"/end", tok, map[string]any{}, nil)
	s.requireClean(number, 1)
	require.Len(t, s.simCalls(key), 1, "the customer was rung once")

	again := s.send("POST", "/v1/callbacks", s.integration, "cb-before-kill", cbBody)
	require.Equal(t, http.StatusCreated, again.status, "%s", again.body)
	require.True(t, again.replayed, "the other replica replays the first answer")
	require.JSONEq(t, string(done.body), string(again.body))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM callbacks WHERE queue = $1`, q), "one callback")
	require.NoError(t, c.StartAPI(t.Context(), 0))
}

// underLoad runs the call queue's desks and a stream of calls and
// as-soon-as-possible callbacks for run, applies fault in the middle, and
// then checks that every call and callback reached its end once. While the
// fault lasts the API may say 503 (and a killed process drops
// connections); it must never say 500.
func (s *system) underLoad(run time.Duration, fault func(l *load)) {
	t := s.t
	q, ids, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": 30, "wrapup_timeout_seconds": 2},
		[]string{"ann", "bob", "cat"}, "ann", "bob", "cat")
	cbq, cbIDs, cbTokens := s.queue(map[string]any{"acceptance_timeout_seconds": 30, "wrapup_timeout_seconds": 0, "outbound_number": "+12025550100",
		"settings": map[string]any{"callbacks": map[string]any{"default_mode": "customer_first", "retry_interval_seconds": 3, "max_attempts": 5}}},
		[]string{"eve"}, "eve")
	l := &load{s: s}
	ctx, stopDesks := context.WithCancel(context.Background())
	defer stopDesks()
	var desks sync.WaitGroup
	for i, name := range []string{"ann", "bob", "cat"} {
		d := &callDesk{l: l, id: ids[name], token: tokens[name], ignoreEvery: 1 << 30, timerEvery: 2 + i}
		desks.Add(1)
		go func() { defer desks.Done(); d.work(ctx) }()
	}
	desks.Add(1)
	go func() { defer desks.Done(); l.callbackDesk(ctx, cbIDs["eve"], cbTokens["eve"]) }()

	var mu sync.Mutex
	var rung []string
	var callbacks []store.Callback
	stop := time.Now().Add(run)
	ringing := make(chan struct{})
	go func() {
		defer close(ringing)
		for i := 0; time.Now().Before(stop); i++ {
			if id, err := l.ringIn(fmt.Sprintf("+1202557%04d", i), q); err != nil {
				l.errorf("ring in: %v", err)
			} else {
				mu.Lock()
				rung = append(rung, id)
				mu.Unlock()
			}
			if i%3 == 0 && !l.faulting.Load() {
				var cb store.Callback
				if st := l.do("POST", "/v1/callbacks", s.integration, map[string]any{"number": fmt.Sprintf("+1202558%04d", i), "queue": cbq}, &cb); st == http.StatusCreated {
					mu.Lock()
					callbacks = append(callbacks, cb)
					mu.Unlock()
				}
			}
			time.Sleep(time.Second)
		}
	}()
	time.Sleep(run / 3)
	l.faulting.Store(true)
	fault(l)
	l.faulting.Store(false)
	<-ringing
	for _, cb := range callbacks {
		var d callbackDetail
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
			if l.do("GET", "/v1/callbacks/"+cb.ID, s.supervisor, nil, &d) == http.StatusOK && d.State == store.CallbackCompleted {
				break
			}
			if time.Now().After(deadline) {
				s.logRouting(cbq, byID(cbIDs, cbTokens))
				t.Fatalf("callback %s did not complete: %+v; its process: %s", cb.ID, d, s.explain(cb.WorkflowID, cb.CreatedAt, time.Now()))
			}
		}
	}
	t.Logf("load: %d calls, %d callbacks over %s", len(rung), len(callbacks), run)
	require.NotEmpty(t, callbacks)
	l.requireAllDone(q, rung, nil, byID(ids, tokens), stopDesks, &desks)
	for _, cb := range callbacks {
		d := s.callback(cb.ID)
		require.NotNil(t, d.Interaction, "callback %s", cb.ID)
		s.requireClean(*d.Interaction, 1)
		for _, a := range d.Dials {
			require.LessOrEqual(t, len(s.simCalls(workflows.CallbackDialKey(cb.ID, a.Attempt))), 1, "callback %s attempt %d: the customer rung at most once", cb.ID, a.Attempt)
		}
		require.Len(t, s.simCalls(workflows.CallbackDialKey(cb.ID, d.Attempts)), 1, "callback %s: its last attempt's call", cb.ID)
	}
}

// The Temporal history service (which owns every workflow's state) is
// killed under load and comes back 3 s later on the same shards.
func TestClusterHistoryRestartedUnderLoad(t *testing.T) {
	s, c := newClusterSystem(t)
	s.underLoad(30*time.Second, func(*load) {
		require.NoError(t, c.RestartService(t.Context(), "history", 3*time.Second))
		time.Sleep(3 * time.Second) // the frontend and matching find it again
	})
}

// PostgreSQL, which holds casehub's records and Temporal's state and
// visibility alike, stops under load for 8 s.
func TestClusterPostgresStoppedUnderLoad(t *testing.T) {
	s, _ := newClusterSystem(t)
	s.underLoad(30*time.Second, func(*load) {
		require.NoError(t, pkg.pg.stop())
		time.Sleep(8 * time.Second)
		require.NoError(t, pkg.pg.start())
		s.eventually(func() bool { return s.send("GET", "/readyz", "", "", nil).status == http.StatusOK }, "the API is ready again by itself")
	})
}
