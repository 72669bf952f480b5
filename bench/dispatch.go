package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// dispatch measures how soon routing offers work, observed where it lands:
// the offer's arrival at the telephony platform. Two kinds, alternating:
//
//   - an agent becomes available (PUT presence) with a call waiting;
//   - a call arrives (the simulator's incoming event) with the agent idle.
//
// Each sample's call is accepted and ended before the next.
func (b *bencher) dispatch(ctx context.Context) error {
	s := b.s
	tag := fmt.Sprintf("bench-%s-dispatch", s.runID)
	var onAvailable, onArrival []time.Duration
	var samples []dispatchSample
	var accepted int
	err := b.arm(tag, func() error {
		agents, err := s.setupQueue(ctx, tag, map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": 0}, 1, false)
		if err != nil {
			return err
		}
		a := agents[0]
		offers := s.rec.subscribe(a.id)
		defer s.rec.unsubscribe(a.id)
		available := false
		for i := range b.s.opts.DispatchSamples {
			var callID string
			var t0 time.Time
			if i%2 == 0 {
				// Available: a call waits first, then the agent comes.
				if available {
					if err := s.presence(ctx, a, "offline"); err != nil {
						return err
					}
					available = false
				}
				if callID, err = s.ring(ctx, tag); err != nil {
					return err
				}
				accepted++
				if err := s.waitWaiting(ctx, tag, 1); err != nil {
					return err
				}
				t0 = time.Now()
				if err := s.presence(ctx, a, "available"); err != nil {
					return err
				}
				available = true
			} else {
				// Arrival: the agent is idle and available; the call comes.
				if err := s.waitAvailable(ctx, a); err != nil {
					return err
				}
				t0 = time.Now()
				if callID, err = s.ring(ctx, tag); err != nil {
					return err
				}
				accepted++
			}
			o, err := waitOffer(ctx, offers, callID, callTimeout)
			if err != nil {
				return err
			}
			samples = append(samples, dispatchSample{onAvailable: i%2 == 0, t0: t0, offer: o})
			if i%2 == 0 {
				onAvailable = append(onAvailable, o.At.Sub(t0))
			} else {
				onArrival = append(onArrival, o.At.Sub(t0))
			}
			if _, err := s.work(ctx, a, o); err != nil {
				return err
			}
			// The agent is free again once the call's process has finished.
			wctx, cancel := context.WithTimeout(ctx, callTimeout)
			err = s.client.GetWorkflow(wctx, o.WorkflowID, "").Get(wctx, nil)
			cancel()
			if err != nil {
				return fmt.Errorf("call %s: %w", o.WorkflowID, err)
			}
		}
		return nil
	})
	b.count(settleCount(ctx, "dispatch "+tag, "calls handled", accepted,
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT count(*) FROM interactions i WHERE i.queue = $1 AND i.state = 'closed_complete'
AND EXISTS (SELECT 1 FROM phone_logs p WHERE p.interaction = i.number)`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = "Interaction" AND Queue = %q AND ExecutionStatus = "Completed"`, tag))
		}, settleWithin, 200*time.Millisecond))
	av, ar := summarize(onAvailable), summarize(onArrival)
	b.res.Metrics = append(b.res.Metrics,
		Metric{Key: "dispatch_available_p50", Name: "dispatch p50: agent available → offer at CTI", Unit: "ms", Casehub: f(av.P50ms), Available: av.N > 0},
		Metric{Key: "dispatch_available_p99", Name: "dispatch p99: agent available → offer at CTI", Unit: "ms", Casehub: f(av.P99ms), Available: av.N > 0,
			Target: &Target{Op: "<", Value: 250}},
		Metric{Key: "dispatch_arrival_p50", Name: "dispatch p50: call arrives, agent waiting → offer at CTI", Unit: "ms", Casehub: f(ar.P50ms), Available: ar.N > 0},
		Metric{Key: "dispatch_arrival_p99", Name: "dispatch p99: call arrives, agent waiting → offer at CTI", Unit: "ms", Casehub: f(ar.P99ms), Available: ar.N > 0,
			Target: &Target{Op: "<", Value: 250}},
	)
	// How much of the machine the arm's processes took (arm has just
	// recorded their CPU time), though its samples run one at a time.
	used := busy("dispatch_busy", "CPU taken during the dispatch arm, its samples one at a time",
		b.res.CPU[len(b.res.CPU)-1], b.res.Machine.NumCPU)
	if s.opts.TemporalAddress != "" && used.Available {
		used.Note += "; not counting the Temporal server, which the bench did not start"
	}
	b.res.Metrics = append(b.res.Metrics, used)
	if err != nil {
		return err
	}
	// Where each offer's time went, from the events of its processes:
	// their times are the server's clock, the bench's own unless the
	// server is elsewhere.
	if !onThisMachine(s.opts.TemporalAddress) {
		samples = nil
	}
	avStages, arStages, err := dispatchStages(ctx, s.client, samples)
	if err != nil {
		return fmt.Errorf("dispatch stages: %w", err)
	}
	b.res.Metrics = append(b.res.Metrics, stageMetrics("available", "agent available", availableStages, avStages)...)
	b.res.Metrics = append(b.res.Metrics, stageMetrics("arrival", "call arrives", arrivalStages, arStages)...)
	return nil
}

// waitAvailable waits until the agent is available with nothing offered
// (after an item, its process returns it from wrap-up).
func (s *system) waitAvailable(ctx context.Context, a benchAgent) error {
	deadline := time.Now().Add(callTimeout)
	for time.Now().Before(deadline) {
		var v struct {
			Status        string `json:"status"`
			PendingOffers []any  `json:"pending_offers"`
		}
		if err := s.api(ctx, http.StatusOK, http.MethodGet, "/v1/agents/"+a.id, a.token, nil, &v); err != nil {
			return err
		}
		if v.Status == "available" && len(v.PendingOffers) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("agent %s not available again in %s", a.id, callTimeout)
}

// waitWaiting waits until queue holds n waiting work items.
func (s *system) waitWaiting(ctx context.Context, queue string, n int) error {
	deadline := time.Now().Add(callTimeout)
	for time.Now().Before(deadline) {
		got, err := s.countRows(ctx, `SELECT count(*) FROM work_items WHERE queue = $1 AND state = 'waiting'`, queue)
		if err != nil {
			return err
		}
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("queue %s: %d waiting items not reached in %s", queue, n, callTimeout)
}
