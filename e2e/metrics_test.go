package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/metrics"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// scrape reads GET /metrics as Prometheus would.
func scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(sys.apiURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// value is a series' value (a histogram's count), 0 when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// A call answered and one rejected, an agent-first callback with a busy dial
// and a connected redial, and a case process: each contact-center metric
// moves by what happened, in its queue's labels, read from one scrape.
func TestContactCenterMetrics(t *testing.T) {
	notOnCluster(t, "one scrape of the API is read as everything casehub exports; on a cluster the workers' "+
		"counters (case processes finished, CTI commands) are on each worker's own /metrics, and Prometheus sums them")
	calls, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 300, "on_reject": "close",
		"settings": map[string]any{"service_level_seconds": 60}}, "kim")
	kim, tok := "kim-"+calls, tokens["kim-"+calls]
	before := scrape(t)
	voice := map[string]string{"queue": calls, "channel": "voice"}
	require.Equal(t, 60.0, value(before, "casehub_queue_service_level_target_seconds", map[string]string{"queue": calls}))

	// Answered, handled, wrapped up.
	_, n := ringIn(t, "+12025550190", calls, nil)
	offeredTo(t, n, kim)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{"disposition": "resolved"}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+kim+"/end-wrap-up", tok, map[string]any{}, nil)
	// Rejected: the queue closes a rejected call.
	_, m := ringIn(t, "+12025550191", calls, nil)
	offeredTo(t, m, kim)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+m+"/reject", tok, map[string]any{}, nil)
	waitState(t, m, "closed_complete")

	// An agent-first callback: busy, then connected, then closed.
	cbQueue, cbTokens := setupQueue(t, callbackQueueSettings(map[string]any{"default_mode": "agent_first"}), "lou")
	lou := "lou-" + cbQueue
	customer := customerNumber()
	script(t, customer, "busy:100ms")
	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{"number": customer, "queue": cbQueue}, &cb)
	waitCallback(t, cb.ID, step(workflows.CallbackStepOffered), "offered to lou")
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/accept", cbTokens[lou], map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/dial", cbTokens[lou], nil, nil)
	waitCallback(t, cb.ID, func(d callbackDetail) bool { return len(d.Dials) == 1 && d.Dials[0].Outcome == store.AttemptBusy }, "busy")
	script(t, customer, "answer:100ms")
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/dial", cbTokens[lou], nil, nil)
	waitCallback(t, cb.ID, step(workflows.CallbackStepConnected), "connected")
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/close", cbTokens[lou], map[string]any{"outcome": "completed"}, nil)

	// A case process from a call.
	desk := newCallDesk(t)
	process, _ := desk.startCaseProcess(workflows.CaseProcessAddNewCase, "+12025550192")
	mustAPI(t, http.StatusOK, "POST", "/v1/processes/"+process+"/cancel", desk.token, map[string]any{}, nil)
	cancelled := map[string]string{"kind": workflows.CaseProcessAddNewCase, "outcome": workflows.CaseStepCancelled}
	eventually(t, func() bool {
		return value(scrape(t), "casehub_case_processes_finished_total", cancelled) == value(before, "casehub_case_processes_finished_total", cancelled)+1
	}, "the worker counted the cancelled process")

	after := scrape(t)
	moved := func(name string, labels map[string]string) float64 {
		return value(after, name, labels) - value(before, name, labels)
	}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for bk, bv := range base {
			out[bk] = bv
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"casehub_offers_total", voice, 2},
		{"casehub_offer_outcomes_total", with(voice, "outcome", "accepted"), 1},
		{"casehub_offer_outcomes_total", with(voice, "outcome", "rejected"), 1},
		{"casehub_answer_seconds", voice, 1},
		{"casehub_answered_within_target_total", voice, 1},
		{"casehub_dispatch_seconds", voice, 2},
		{"casehub_handle_seconds", voice, 1},
		{"casehub_wrapup_seconds", voice, 1},
		{"casehub_inbound_interactions_closed_total", map[string]string{"queue": calls, "channel": "phone", "result": "answered"}, 1},
		{"casehub_inbound_interactions_closed_total", map[string]string{"queue": calls, "channel": "phone", "result": "unanswered"}, 1},
		{"casehub_queue_waiting_items", map[string]string{"queue": calls}, 0},
		{"casehub_offers_total", map[string]string{"queue": cbQueue, "channel": "voice"}, 1},
		{"casehub_callback_attempts_total", map[string]string{"queue": cbQueue, "outcome": store.AttemptBusy}, 1},
		{"casehub_callback_attempts_total", map[string]string{"queue": cbQueue, "outcome": store.AttemptConnected}, 1},
		{"casehub_callbacks_open", map[string]string{"queue": cbQueue}, 0},
		{"casehub_case_processes_started_total", map[string]string{"kind": workflows.CaseProcessAddNewCase}, 1},
		{"casehub_offers_total", map[string]string{"queue": desk.queue, "channel": "voice"}, 1},
	} {
		require.Equal(t, tc.want, moved(tc.name, tc.labels), "%s %v", tc.name, tc.labels)
	}
	// Commands the worker sent the platform: the two calls' offers to the
	// agent, the callback's two dials.
	require.GreaterOrEqual(t, moved("casehub_cti_commands_total", map[string]string{"command": "offer_to_agent", "outcome": "ok"}), 3.0)
	require.GreaterOrEqual(t, moved("casehub_cti_commands_total", map[string]string{"command": "place_call", "outcome": "ok"}), 2.0)
	// Agents by status are all there, and the answered call's wait was
	// within the histogram's buckets.
	for _, st := range []string{"offline", "available", "busy", "on_break", "wrap_up"} {
		require.Contains(t, statuses(after), st)
	}
	require.Zero(t, value(after, "casehub_metrics_scrape_errors", nil))
}

func statuses(fams map[string]*dto.MetricFamily) []string {
	var out []string
	for _, m := range fams["casehub_agents"].GetMetric() {
		for _, l := range m.GetLabel() {
			out = append(out, l.GetValue())
		}
	}
	return out
}

// The exposition passes the checks `promtool check metrics` runs (promlint:
// names, units, HELP, counters' _total).
func TestMetricsPassPromlint(t *testing.T) {
	resp, err := http.Get(sys.apiURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	problems, err := promlint.New(resp.Body).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}

// Every query of the Grafana dashboard names a metric this system exports:
// casehub's (as scraped here, after a call) and the Temporal SDK's (as used
// here, or documented by the SDK).
func TestDashboardQueriesNameExportedMetrics(t *testing.T) {
	notOnCluster(t, "one scrape of the API is read as everything casehub exports; on a cluster the workers' "+
		"counters (case processes finished, CTI commands) are on each worker's own /metrics, and Prometheus sums them")
	queue, tokens := setupQueue(t, callbackQueueSettings(nil), "max")
	max := "max-" + queue
	mustAPI(t, http.StatusOK, "PUT", "/v1/queues/"+queue, supervisor(), map[string]any{"wrapup_timeout_seconds": 300, "outbound_number": "+12025550100"}, nil)
	_, n := ringIn(t, "+12025550193", queue, nil)
	offeredTo(t, n, max)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[max], map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[max], map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+max+"/end-wrap-up", tokens[max], map[string]any{}, nil)
	// A scheduled callback's dial, for its lateness.
	customer := customerNumber()
	script(t, customer, "busy:100ms")
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{"number": customer, "queue": queue,
		"scheduled_at": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)}, nil)
	eventually(t, func() bool {
		return value(scrape(t), "casehub_callback_late_seconds", map[string]string{"queue": queue}) == 1
	}, "the scheduled callback dialled")
	// A case process, and a platform event refused for its signature.
	newCallDesk(t).startCaseProcess(workflows.CaseProcessAdvise, "+12025550195")
	req, err := http.NewRequest(http.MethodPost, sys.apiURL+"/v1/cti/events", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+sys.tokens[auth.RoleIntegration])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	// And a queue nobody serves: a call and a callback wait there.
	empty, _ := setupQueue(t, callbackQueueSettings(nil))
	ringIn(t, "+12025550194", empty, nil)
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{"number": customerNumber(), "queue": empty}, nil)
	eventually(t, func() bool {
		return value(scrape(t), "casehub_queue_waiting_items", map[string]string{"queue": empty}) == 2
	}, "the call and the callback wait")

	exported := map[string]bool{}
	add := func(name string, histogram bool) {
		exported[name] = true
		if histogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[name+s] = true
			}
		}
	}
	for name, f := range scrape(t) {
		add(name, f.GetType() == dto.MetricType_HISTOGRAM)
	}
	for _, name := range metrics.SDKExported() {
		add(name, strings.HasSuffix(name, "_seconds"))
	}

	raw, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "casehub.json"))
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Panels)
	name := regexp.MustCompile(`\b(?:casehub|temporal)_[a-z0-9_]+`)
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			names := name.FindAllString(tg.Expr, -1)
			require.NotEmpty(t, names, "%s: %s", p.Title, tg.Expr)
			for _, n := range names {
				require.True(t, exported[n], "panel %q queries %s, which casehub does not export", p.Title, n)
			}
		}
	}
}
