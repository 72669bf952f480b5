package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/internal/testenv"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p50 of two is the lower", ms(1, 2), 50, time.Millisecond},
		{"p50 of three", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"p99 of ten is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p99 of a hundred", ms(hundred...), 99, 99 * time.Millisecond},
		{"p50 of a hundred", ms(hundred...), 50, 50 * time.Millisecond},
		{"p100", ms(1, 5, 9), 100, 9 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, percentile(tc.sorted, tc.p))
		})
	}
}

func TestSummarizeSortsAndDoesNotTouchItsInput(t *testing.T) {
	in := []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}
	l := summarize(in)
	require.Equal(t, Latency{N: 3, P50ms: 20, P99ms: 30, MaxMs: 30, MeanMs: 20}, l)
	require.Equal(t, 30*time.Millisecond, in[0])
	require.Equal(t, Latency{}, summarize(nil))
}

func TestRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b   float64
		want   float64
		wantOK bool
	}{
		{10, 20, 0.5, true},
		{26, 20, 1.3, true},
		{0, 5, 0, true},
		{5, 0, 0, false},
		{5, -1, 0, false},
	} {
		got, ok := ratio(tc.a, tc.b)
		require.Equal(t, tc.wantOK, ok, "%v/%v", tc.a, tc.b)
		require.InDelta(t, tc.want, got, 1e-9, "%v/%v", tc.a, tc.b)
	}
}

func TestMedianRange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		xs     []float64
		want   Spread
		wantOK bool
	}{
		{"none", nil, Spread{}, false},
		{"one", []float64{0.7}, Spread{Median: 0.7, Min: 0.7, Max: 0.7, N: 1}, true},
		{"odd, unsorted", []float64{0.9, 0.5, 0.7}, Spread{Median: 0.7, Min: 0.5, Max: 0.9, N: 3}, true},
		{"even is the mean of the middle two", []float64{4, 1, 3, 2}, Spread{Median: 2.5, Min: 1, Max: 4, N: 4}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := medianRange(tc.xs)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMetricMet(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		m    Metric
		want *bool
	}{
		{"ratio at the bound", Metric{Available: true, Ratio: &Spread{Median: 0.5}, Target: &Target{OnRatio: true, Op: ">=", Value: 0.5}}, &yes},
		{"ratio under", Metric{Available: true, Ratio: &Spread{Median: 0.49}, Target: &Target{OnRatio: true, Op: ">=", Value: 0.5}}, &no},
		{"at most", Metric{Available: true, Ratio: &Spread{Median: 1.31}, Target: &Target{OnRatio: true, Op: "<=", Value: 1.3}}, &no},
		{"strictly less, equal", Metric{Available: true, Casehub: f(250), Target: &Target{Op: "<", Value: 250}}, &no},
		{"strictly less", Metric{Available: true, Casehub: f(249.9), Target: &Target{Op: "<", Value: 250}}, &yes},
		{"no target", Metric{Available: true, Casehub: f(1)}, nil},
		{"not measured", Metric{Available: false, Casehub: f(1), Target: &Target{Op: "<", Value: 250}}, nil},
		{"ratio target without a ratio", Metric{Available: true, Casehub: f(1), Target: &Target{OnRatio: true, Op: ">=", Value: 1}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.m.met())
		})
	}
}

func TestCountCheck(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		accepted, rows, temporal int
		ok                       bool
	}{
		{"all equal", 20, 20, 20, true},
		{"nothing at all", 0, 0, 0, true},
		{"a row missing", 20, 19, 20, false},
		{"a process missing in visibility", 20, 20, 19, false},
		{"more rows than accepted", 20, 21, 21, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCountCheck("arm", "calls", tc.accepted, tc.rows, tc.temporal)
			require.Equal(t, tc.ok, c.OK)
			err := countFailures([]CountCheck{newCountCheck("other", "x", 1, 1, 1), c})
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrCountMismatch)
				require.Contains(t, err.Error(), "arm calls")
				require.NotContains(t, err.Error(), "other")
			}
		})
	}
}

func TestSettleCount(t *testing.T) {
	fixed := func(n int) counter { return func(context.Context) (int, error) { return n, nil } }
	// rising reaches n on its third read, as visibility catches up.
	rising := func(n int) counter {
		reads := 0
		return func(context.Context) (int, error) {
			reads++
			return min(n, n-3+reads), nil
		}
	}
	failing := func(context.Context) (int, error) { return 0, errors.New("visibility unavailable") }
	for _, tc := range []struct {
		name           string
		rows, temporal counter
		ok, wantErr    bool
	}{
		{"equal at once", fixed(5), fixed(5), true, false},
		{"catches up", fixed(5), rising(5), true, false},
		{"never catches up", fixed(5), fixed(4), false, true},
		{"too many rows", fixed(6), fixed(5), false, true},
		{"counter fails", fixed(5), failing, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := settleCount(t.Context(), "arm", "calls", 5, tc.rows, tc.temporal, 200*time.Millisecond, time.Millisecond)
			require.Equal(t, tc.ok, c.OK, c.String())
			require.Equal(t, tc.wantErr, err != nil, "%v", err)
		})
	}
}

func countRejects(r AnswersResult) int {
	n := 0
	for _, k := range r.ByKind {
		n += k.Rejects
	}
	return n
}

func TestMetricLine(t *testing.T) {
	for _, tc := range []struct {
		line  string
		name  string
		value float64
		ok    bool
	}{
		{`temporal_activity_schedule_to_start_latency_seconds_sum{activity_type="A",namespace="default"} 0.25`, "temporal_activity_schedule_to_start_latency_seconds_sum", 0.25, true},
		{`temporal_sticky_cache_hit_total 42`, "temporal_sticky_cache_hit_total", 42, true},
		{`broken{a="b"}`, "", 0, false},
	} {
		name, v, ok := metricLine(tc.line)
		require.Equal(t, tc.ok, ok, tc.line)
		if ok {
			require.Equal(t, tc.name, name)
			require.InDelta(t, tc.value, v, 1e-9)
		}
	}
}

// TestRunTiny runs the whole bench with tiny sizes against a real dev
// server and PostgreSQL: every metric is there and every count matched.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	srv, err := testenv.StartTemporal()
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	admin := os.Getenv("CASEHUB_TEST_DATABASE_URL")
	if admin == "" {
		admin = testenv.DefaultAdminURL
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		TemporalAddress: srv.HostPort, AdminDatabaseURL: admin,
		Concurrency: 4, Calls: 12, Blocks: 1, StepSamples: 20, DispatchSamples: 4, EventAgents: 10, EventSamples: 5,
		ScheduledCallbacks: 3, ScheduledAhead: 2 * time.Second, OpenCallbacks: 50, OpenInteractions: 20,
		AnswerSamples: 3, ReservedCallbacks: 3,
		GetRate: 10, GetDuration: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LogOutput: io.Discard,
	})
	var table strings.Builder
	WriteTable(&table, res)
	t.Log("\n" + table.String())
	require.NoError(t, err)

	// The run's length is what the results say it took (it was 0 when the
	// deferred assignment came after the results were returned).
	require.Greater(t, res.Seconds, 1.0)
	require.WithinDuration(t, time.Now(), res.StartedAt.Add(time.Duration(res.Seconds*float64(time.Second))), 10*time.Second)
	require.Greater(t, res.Shape.Activities, 0)
	keys := map[string]Metric{}
	for _, m := range res.Metrics {
		keys[m.Key] = m
		require.True(t, m.Available, "%s: %s", m.Key, m.Note)
		require.NotNil(t, m.Casehub, m.Key)
	}
	for _, k := range []string{"throughput", "throughput_reference", "call_history_events", "call_workflow_tasks", "call_agent_signals", "call_agent_upserts", "call_activities", "step_p50", "step_p99", "step_local_p50", "step_local_p99", "step_straight_p50", "step_api_p50", "dispatch_available_p50", "dispatch_available_p99",
		"dispatch_arrival_p50", "dispatch_arrival_p99", "dispatch_busy",
		"dispatch_available_stage1_p50", "dispatch_available_stage2_p50", "dispatch_available_stage3_p50", "dispatch_available_stage4_p50",
		"dispatch_arrival_stage1_p50", "dispatch_arrival_stage2_p50", "dispatch_arrival_stage3_p50", "event_offer_p50", "event_offer_p99", "callback_late_p50", "callback_late_p99",
		"offers_refused", "callback_reserved_p50", "callback_reserved_p99", "callback_unanswered_held_p50", "callback_unanswered_held_p99",
		"worker_rss_start", "worker_rss_callbacks", "worker_rss_all",
		"get_p99 /v1/queues/bench-" + res.RunID + "-scale-queue", "get_p99 /v1/interactions?limit=50", "get_p99 /v1/agents"} {
		require.Contains(t, keys, k)
	}
	// Each offer's time splits into stages, each of them some of it, found
	// in every sample (the kinds alternate, agent available first).
	for k, m := range keys {
		if strings.HasPrefix(k, "dispatch_") && strings.Contains(k, "_stage") {
			n := res.Options.DispatchSamples / 2
			if strings.HasPrefix(k, "dispatch_available_") {
				n = (res.Options.DispatchSamples + 1) / 2
			}
			require.Positive(t, *m.Casehub, k)
			require.Contains(t, m.Note, fmt.Sprintf(", %d samples", n), k)
		}
	}
	// The dispatch arm's row is its CPU time over its wall time on every CPU.
	dispatchArm := slices.IndexFunc(res.CPU, func(u CPUUse) bool { return u.Arm == "bench-"+res.RunID+"-dispatch" })
	require.GreaterOrEqual(t, dispatchArm, 0)
	var cpuSeconds float64
	for _, v := range res.CPU[dispatchArm].CPU {
		cpuSeconds += v
	}
	require.InDelta(t, 100*cpuSeconds/(res.CPU[dispatchArm].Seconds*float64(res.Machine.NumCPU)), *keys["dispatch_busy"].Casehub, 1e-9)
	require.Contains(t, keys["dispatch_busy"].Note, fmt.Sprintf("of %d CPU", res.Machine.NumCPU))
	require.NotNil(t, keys["throughput"].Ratio)
	require.NotNil(t, keys["throughput"].Bare)
	require.NotNil(t, keys["throughput_reference"].Ratio)
	require.Equal(t, float64(res.Shape.Events), *keys["call_history_events"].Casehub)
	// The twin does what the call did, and takes as many workflow tasks and
	// writes as many events to within two tasks (now and then each side
	// takes two of its events, an activity's answer and a signal say, in one
	// task); each call brings its agent's process the item assigned and
	// finished, and the twin's bare agent as many.
	twin, call := res.TwinShape, res.Shape
	for _, n := range [][2]int{{twin.Activities, call.Activities}, {twin.LocalActivities, call.LocalActivities},
		{twin.TimersStarted, call.TimersStarted}, {twin.TimersFired, call.TimersFired}, {twin.TimersCanceled, call.TimersCanceled},
		{twin.SignalsReceived, call.SignalsReceived}, {twin.Updates, call.Updates}, {twin.Upserts, call.Upserts}, {twin.Versions, call.Versions}} {
		require.Equal(t, n[1], n[0], "twin %+v\ncall %+v", twin, call)
	}
	require.InDelta(t, call.WorkflowTasks, twin.WorkflowTasks, 2, "twin %+v\ncall %+v", twin, call)
	require.InDelta(t, call.Events, twin.Events, 6, "twin %+v\ncall %+v", twin, call)
	require.InDelta(t, 2, call.AgentSignals, 0.01)
	require.Equal(t, call.AgentSignals, twin.AgentSignals)
	require.Equal(t, math.Round(call.AgentUpserts), twin.AgentUpserts)
	require.NotNil(t, keys["step_p50"].Ratio)
	require.NotNil(t, keys["step_local_p50"].Ratio)
	// The step is also timed sent straight to the process, once per POST,
	// and both kinds of note are counted in PostgreSQL and in Temporal.
	require.NotNil(t, keys["step_straight_p50"].Ratio)
	require.NotNil(t, keys["step_api_p50"].Ratio)
	for _, blk := range res.Blocks {
		require.Equal(t, 20, blk.CasehubStep.N)
		require.Equal(t, 20, blk.CasehubStepStraight.N)
		require.Positive(t, blk.StraightLocalRatioP50)
	}
	notes := 0
	for _, c := range res.Counts {
		if strings.HasPrefix(c.Arm, "agent step casehub ") && c.What == "notes" {
			require.Equal(t, 2*20, c.Accepted, "%+v", c)
			require.True(t, c.OK, "%+v", c)
			notes++
		}
	}
	require.Equal(t, 1, notes, "one notes check per block")
	// Every offer was answered the instant it showed, and taken.
	require.NotNil(t, res.Answers)
	require.Equal(t, 3*3+3, res.Answers.Sent-countRejects(*res.Answers), "one accept per item")
	require.Zero(t, res.Answers.Refused, "%+v", res.Answers.Refusals)
	// Customer-first: each answered callback's agent was reserved, then
	// offered; each unanswered dial held its agent and let it go.
	require.NotNil(t, res.Reservation)
	require.Empty(t, res.Reservation.Anomalies)
	require.Equal(t, 3, res.Reservation.Held.N)
	require.Equal(t, res.Reservation.Unanswered, res.Reservation.UnansweredHolding)
	require.Equal(t, res.Reservation.Unanswered, res.Reservation.UnansweredHeld.N)
	require.GreaterOrEqual(t, res.Reservation.Held.P50ms, res.Reservation.RingMs, "the offer shows only once the customer answers")
	require.NotEmpty(t, res.Counts)
	for _, c := range res.Counts {
		require.True(t, c.OK, c.String())
		require.Greater(t, c.Accepted, 0, c.String())
	}
}
