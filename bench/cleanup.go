package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"golang.org/x/sync/errgroup"
)

// terminateLeftovers ends the processes this run left running (callbacks
// and calls waiting, agents) on a server the bench did not start, before
// their database is dropped under them. A dev server the bench started
// goes away whole.
func (s *system) terminateLeftovers(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	prefix := "bench-" + s.runID
	var ids []string
	var token []byte
	for page := 0; page < 100; page++ {
		resp, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.opts.Namespace, PageSize: 1000, NextPageToken: token, Query: `ExecutionStatus = "Running"`})
		if err != nil {
			s.log.Warn("list the run's processes to end them", "err", err)
			return
		}
		for _, e := range resp.GetExecutions() {
			id := e.GetExecution().GetWorkflowId()
			var queue string
			if p := e.GetSearchAttributes().GetIndexedFields()["Queue"]; p != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &queue)
			}
			if strings.HasPrefix(queue, prefix) || strings.HasPrefix(id, prefix) || strings.HasPrefix(id, "agent-"+prefix) {
				ids = append(ids, id)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	s.log.Info("ending the run's processes on the reused server", "n", len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, id := range ids {
		g.Go(func() error {
			if err := s.client.TerminateWorkflow(gctx, id, "", "casehub bench finished"); err != nil {
				s.log.Debug("terminate", "workflow_id", id, "err", err)
			}
			return nil
		})
	}
	_ = g.Wait()
}

// workerHistograms are the SDK metrics that say where a worker's time goes.
var workerHistograms = []string{
	"temporal_workflow_task_schedule_to_start_latency",
	"temporal_workflow_task_execution_latency",
	"temporal_workflow_task_replay_latency",
	"temporal_activity_schedule_to_start_latency",
	"temporal_activity_execution_latency",
	"temporal_request_latency",
}

// workerGauges are read as they stand at the end (the scale phase's
// processes still waiting): where the worker's memory is.
var workerGauges = []string{
	"go_goroutines",
	"go_memstats_heap_inuse_bytes",
	"go_memstats_stack_inuse_bytes",
	"temporal_sticky_cache_size",
}

var workerCounters = []string{
	"temporal_sticky_cache_hit",
	"temporal_sticky_cache_miss",
	"temporal_sticky_cache_total_forced_eviction",
	"temporal_workflow_task_execution_failed",
	"temporal_activity_execution_failed",
	"temporal_request_failure",
}

// collectWorkerMetrics reads the child workers' Temporal SDK metrics: the
// mean of each latency histogram and the counters, over the whole run,
// pooled over the workers (sums of sums, counts, counters and gauges).
func (b *bencher) collectWorkerMetrics(ctx context.Context) {
	s := b.s
	if len(s.children) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	m := workerMetrics{sums: map[string]float64{}, counts: map[string]float64{}, totals: map[string]float64{}, gauges: map[string]float64{}}
	for i, w := range s.children {
		if err := s.readWorkerMetrics(ctx, w.metricsURL, m); err != nil {
			s.log.Warn("read a worker's metrics", "worker", i+1, "err", err)
			return
		}
	}
	b.res.WorkerMetrics = m.lines()
}

// workerMetrics adds up the SDK metrics of one or more workers.
type workerMetrics struct{ sums, counts, totals, gauges map[string]float64 }

func (s *system) readWorkerMetrics(ctx context.Context, metricsURL string, m workerMetrics) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sums, counts, totals, gauges := m.sums, m.counts, m.totals, m.gauges
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := metricLine(line)
		if !ok {
			continue
		}
		for _, h := range workerHistograms {
			switch name {
			case h + "_seconds_sum", h + "_sum":
				sums[h] += value
			case h + "_seconds_count", h + "_count":
				counts[h] += value
			}
		}
		for _, g := range workerGauges {
			if name == g {
				gauges[g] += value
			}
		}
		for _, c := range workerCounters {
			if name == c || name == c+"_total" {
				totals[c] += value
			}
		}
	}
	return sc.Err()
}

func (m workerMetrics) lines() []string {
	sums, counts, totals, gauges := m.sums, m.counts, m.totals, m.gauges
	var lines []string
	for _, h := range workerHistograms {
		if counts[h] > 0 {
			lines = append(lines, fmt.Sprintf("%s: mean %.1f ms over %.0f", h, sums[h]/counts[h]*1000, counts[h]))
		}
	}
	var gs []string
	for _, g := range workerGauges {
		v := gauges[g]
		if strings.HasSuffix(g, "_bytes") {
			gs = append(gs, fmt.Sprintf("%s %.0f MB", g, v/1024/1024))
		} else {
			gs = append(gs, fmt.Sprintf("%s %.0f", g, v))
		}
	}
	lines = append(lines, "at the end: "+strings.Join(gs, ", "))
	var cs []string
	for c, v := range totals {
		cs = append(cs, fmt.Sprintf("%s %.0f", c, v))
	}
	sort.Strings(cs)
	if len(cs) > 0 {
		lines = append(lines, "counters: "+strings.Join(cs, ", "))
	}
	return lines
}

// metricLine splits a Prometheus text line into its name and value.
func metricLine(line string) (string, float64, bool) {
	name := line
	if i := strings.IndexAny(line, "{ "); i >= 0 {
		name = line[:i]
	}
	rest := strings.Fields(line)[1:]
	if i := strings.LastIndexByte(line, '}'); i >= 0 {
		rest = strings.Fields(line[i+1:])
	}
	fields := rest
	if len(fields) == 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	return name, v, err == nil
}
