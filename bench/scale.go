package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	enums "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"golang.org/x/sync/errgroup"

	"github.com/casehub/casehub/workflows"
)

// scaleWithin bounds how long the scale phase waits for its processes to
// settle into waiting (callbacks: at least 20 ms each, for a large fill).
const scaleWithin = 10 * time.Minute

// scale leaves many processes waiting and reads what it costs: the
// workers' resident memory with OpenCallbacks callbacks scheduled far
// ahead and OpenInteractions calls waiting in a queue without agents, and
// the API's GET latency at a fixed request rate meanwhile. With several
// workers the memory is their sum (each one's in the metric).
func (b *bencher) scale(ctx context.Context) error {
	s := b.s
	o := s.opts
	base, err := readRSS(s.workerPIDs)
	if err != nil {
		return err
	}
	b.res.Metrics = append(b.res.Metrics, rssMetric("worker_rss_start", "before scale", base))

	// Callbacks far ahead.
	cbTag := fmt.Sprintf("bench-%s-scale-callbacks", s.runID)
	cbWhen := fmt.Sprintf("%d open callbacks", o.OpenCallbacks)
	rssCallbacks := Metric{Key: "worker_rss_callbacks", Name: rssName(cbWhen, len(s.workerPIDs), nil), Unit: "MB"}
	switch o.OpenCallbacks {
	case 10_000:
		rssCallbacks.Target = &Target{Op: "<", Value: 500}
	case 100_000:
		rssCallbacks.Target = &Target{Op: "<", Value: 600}
	default:
		rssCallbacks.Note = "targets: < 500 MB for 10,000, < 600 MB for 100,000"
	}
	if !s.callbacksAPI(ctx) {
		rssCallbacks.Note = noCallbacksAPI
		b.note("scale: %s", noCallbacksAPI)
	} else if err := b.arm(cbTag, func() error {
		n, took, err := b.openCallbacks(ctx, cbTag, o.OpenCallbacks)
		if err != nil {
			return err
		}
		b.res.Metrics = append(b.res.Metrics, Metric{Key: "callback_create_rate", Name: "callbacks requested (batch API) until each process waits (its first task taken)",
			Unit: "/s", Casehub: f(perSecond(n, took)), Available: true})
		rss, err := settledRSS(s.workerPIDs)
		if err != nil {
			return err
		}
		m := rssMetric(rssCallbacks.Key, cbWhen, rss)
		rssCallbacks.Name, rssCallbacks.Casehub, rssCallbacks.PerWorker, rssCallbacks.Available = m.Name, m.Casehub, m.PerWorker, true
		return nil
	}); err != nil {
		return err
	}
	b.res.Metrics = append(b.res.Metrics, rssCallbacks)

	// Calls waiting for agents.
	qTag := fmt.Sprintf("bench-%s-scale-queue", s.runID)
	if err := b.arm(qTag, func() error {
		if err := b.waitingCalls(ctx, qTag, o.OpenInteractions); err != nil {
			return err
		}
		rss, err := settledRSS(s.workerPIDs)
		if err != nil {
			return err
		}
		b.res.Metrics = append(b.res.Metrics, rssMetric("worker_rss_all", fmt.Sprintf("+ %d interactions waiting for agents", o.OpenInteractions), rss))
		return nil
	}); err != nil {
		return err
	}

	// GETs at a fixed rate while all of that waits.
	return b.arm(fmt.Sprintf("bench-%s-scale-gets", s.runID), func() error {
		paths := []string{"/v1/queues/" + qTag, "/v1/interactions?limit=50", "/v1/agents"}
		lats, err := s.getsAtRate(ctx, paths, o.GetRate, o.GetDuration)
		for _, p := range paths {
			l := summarize(lats[p])
			b.res.Metrics = append(b.res.Metrics, Metric{Key: "get_p99 " + p, Unit: "ms", Casehub: f(l.P99ms), Available: l.N > 0,
				Name: fmt.Sprintf("API GET %s p99 (p50 %s ms, %d at %d req/s)", p, trim(l.P50ms), l.N, o.GetRate)})
		}
		return err
	})
}

// rssMetric is the workers' RSS at a moment of the scale phase: one
// worker's, or the sum over several (the name says so and lists each).
func rssMetric(key, when string, rss workersRSS) Metric {
	m := Metric{Key: key, Name: rssName(when, len(rss.Each), rss.Each), Unit: "MB", Casehub: f(rss.Sum), Available: true}
	if len(rss.Each) > 1 {
		m.PerWorker = rss.Each
	}
	return m
}

// rssName names an RSS reading of n workers, each one's value when known.
func rssName(when string, n int, each []float64) string {
	name := "worker RSS"
	if n > 1 {
		name = fmt.Sprintf("workers' RSS summed over %d", n)
		if len(each) > 0 {
			vs := make([]string, len(each))
			for i, v := range each {
				vs[i] = trim(v)
			}
			name += " (" + strings.Join(vs, " + ") + " MB)"
		}
	}
	if strings.HasPrefix(when, "before") {
		return name + " " + when
	}
	return name + ", " + when
}

// settledRSS reads the workers' RSS a few times over two seconds and
// reports the reading with the largest sum.
func settledRSS(pids []int) (workersRSS, error) {
	var peak workersRSS
	for range 5 {
		v, err := readRSS(pids)
		if err != nil {
			return workersRSS{}, err
		}
		if v.Sum > peak.Sum {
			peak = v
		}
		time.Sleep(400 * time.Millisecond)
	}
	return peak, nil
}

// openCallbacks requests n callbacks a week ahead through the batch API, two
// batches at a time, and waits until every one's process is waiting for
// its time. It reports how many were accepted and how long it all took.
func (b *bencher) openCallbacks(ctx context.Context, tag string, n int) (int, time.Duration, error) {
	s := b.s
	if err := s.api(ctx, http.StatusOK, http.MethodPut, "/v1/queues/"+tag, s.supervisor, map[string]any{}, nil); err != nil {
		return 0, 0, err
	}
	at := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	start := time.Now()
	var mu sync.Mutex
	accepted := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for from := 0; from < n; from += 1000 {
		size := min(1000, n-from)
		items := make([]map[string]any, size)
		for i := range items {
			items[i] = map[string]any{"number": s.nextNumber(), "queue": tag, "scheduled_at": at}
		}
		g.Go(func() error {
			var out struct {
				Items []struct {
					Status int `json:"status"`
				} `json:"items"`
			}
			if err := s.api(gctx, http.StatusOK, http.MethodPost, "/v1/callbacks:batch", s.integrator, map[string]any{"items": items}, &out); err != nil {
				return err
			}
			ok := 0
			for _, it := range out.Items {
				if it.Status == http.StatusCreated {
					ok++
				}
			}
			mu.Lock()
			accepted += ok
			mu.Unlock()
			if ok != size {
				return fmt.Errorf("batch of %d callbacks: %d created", size, ok)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return accepted, time.Since(start), err
	}
	b.res.Metrics = append(b.res.Metrics, Metric{Key: "callback_accept_rate", Name: "callbacks accepted by the batch API (records written, processes started)",
		Unit: "/s", Casehub: f(perSecond(accepted, time.Since(start))), Available: true})
	s.log.Info("callbacks requested; waiting for their processes to settle", "n", accepted, "took", time.Since(start).Round(time.Millisecond))
	c, err := settleCount(ctx, "scale "+tag, "callbacks waiting", accepted,
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT count(*) FROM callbacks WHERE queue = $1 AND state = 'scheduled'`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = "Callback" AND Queue = %q AND ProcessState = "scheduled" AND ExecutionStatus = "Running"`, tag))
		}, max(scaleWithin, time.Duration(accepted)*20*time.Millisecond), time.Second)
	b.count(c, err)
	// A callback's record and search attributes say scheduled from its
	// start; it waits once its first workflow task has set its timer, so
	// the fill ends when the task queue holds no more workflow tasks (the
	// server's count, refreshed every few seconds).
	if err := s.drainWorkflowTasks(ctx, max(scaleWithin, time.Duration(accepted)*20*time.Millisecond)); err != nil {
		s.log.Warn("workflow tasks not drained; the rate counts until now", "err", err)
		b.note("scale: %v", err)
	}
	return accepted, time.Since(start), nil
}

// drainWorkflowTasks waits until casehub's task queue has no workflow task
// waiting for a worker (the server's approximate backlog count).
func (s *system) drainWorkflowTasks(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		resp, err := s.client.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: s.opts.Namespace, TaskQueue: &taskqueuepb.TaskQueue{Name: workflows.TaskQueue, Kind: enums.TASK_QUEUE_KIND_NORMAL},
			TaskQueueType: enums.TASK_QUEUE_TYPE_WORKFLOW, ReportStats: true,
		})
		if err != nil {
			return fmt.Errorf("workflow task backlog: %w", err)
		}
		if resp.GetStats().GetApproximateBacklogCount() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("workflow task backlog still %d after %s: %w", resp.GetStats().GetApproximateBacklogCount(), within, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// waitingCalls rings n calls into a queue without agents and waits until
// each one's process waits in the queue.
func (b *bencher) waitingCalls(ctx context.Context, tag string, n int) error {
	s := b.s
	if err := s.api(ctx, http.StatusOK, http.MethodPut, "/v1/queues/"+tag, s.supervisor, map[string]any{}, nil); err != nil {
		return err
	}
	var mu sync.Mutex
	accepted := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for range n {
		g.Go(func() error {
			if _, err := s.ring(gctx, tag); err != nil {
				return err
			}
			mu.Lock()
			accepted++
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	c, cerr := settleCount(ctx, "scale "+tag, "calls waiting", accepted,
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT count(*) FROM interactions i JOIN work_items w ON w.workflow_id = i.workflow_id
WHERE i.queue = $1 AND i.state = 'new' AND w.state = 'waiting'`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = "Interaction" AND Queue = %q AND ExecutionStatus = "Running"`, tag))
		}, scaleWithin, time.Second)
	b.count(c, cerr)
	return err
}

// getsAtRate sends GETs round the paths at rate per second for d (open
// loop: a slow answer does not slow the sending), at most 2×rate in flight.
func (s *system) getsAtRate(ctx context.Context, paths []string, rate int, d time.Duration) (map[string][]time.Duration, error) {
	out := map[string][]time.Duration{}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	slots := make(chan struct{}, 2*rate)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.After(d)
	skipped := 0
loop:
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			break loop
		case <-end:
			break loop
		case <-tick.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			skipped++
			continue
		}
		p := paths[i%len(paths)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			t0 := time.Now()
			err := s.api(ctx, http.StatusOK, http.MethodGet, p, s.supervisor, nil, nil)
			lat := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			out[p] = append(out[p], lat)
		}()
	}
	wg.Wait()
	if skipped > 0 && firstErr == nil {
		firstErr = fmt.Errorf("%d GETs not sent: %d already in flight", skipped, 2*rate)
	}
	return out, firstErr
}
