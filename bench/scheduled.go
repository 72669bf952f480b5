package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/casehub/casehub/workflows"
)

// callbacksAPI says whether this casehub serves the callbacks API.
func (s *system) callbacksAPI(ctx context.Context) bool {
	st, err := s.do(ctx, http.MethodGet, s.apiURL, "/v1/callbacks?limit=1", s.supervisor, nil, nil)
	return err == nil && st == http.StatusOK
}

const noCallbacksAPI = "not available: callbacks API missing"

// scheduled measures how punctually callbacks dial: callbacks are requested
// a few seconds ahead, staggered, into a queue with agents available; the
// dial is when the platform receives the callback's POST /v1/calls (the
// customer-first flow dials once routing has booked an agent). The line is
// busy and the queue allows one attempt, so each callback then closes.
func (b *bencher) scheduled(ctx context.Context) error {
	s := b.s
	m := Metric{Key: "callback_late_p99", Name: "scheduled callback p99 lateness (dial − scheduled time)", Unit: "ms",
		Target: &Target{Op: "<", Value: 1500}}
	m50 := Metric{Key: "callback_late_p50", Name: "scheduled callback p50 lateness", Unit: "ms"}
	if !s.callbacksAPI(ctx) {
		m.Note, m50.Note = noCallbacksAPI, noCallbacksAPI
		b.res.Metrics = append(b.res.Metrics, m50, m)
		b.note("scheduled callbacks: %s", noCallbacksAPI)
		return nil
	}
	tag := fmt.Sprintf("bench-%s-callbacks", s.runID)
	n := s.opts.ScheduledCallbacks
	const spacing = 250 * time.Millisecond
	var late []time.Duration
	accepted := 0
	err := b.arm(tag, func() error {
		if _, err := s.setupQueue(ctx, tag, map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": 0,
			"settings": map[string]any{"callbacks": map[string]any{"max_attempts": 1}}}, 3, true); err != nil {
			return err
		}
		due := map[string]time.Time{} // dial idempotency key -> scheduled time
		var last time.Time
		for i := range n {
			at := time.Now().Add(s.opts.ScheduledAhead + time.Duration(i)*spacing).UTC()
			var cb struct {
				ID string `json:"id"`
			}
			if err := s.api(ctx, http.StatusCreated, http.MethodPost, "/v1/callbacks", s.integrator,
				map[string]any{"number": s.nextNumber(), "queue": tag, "scheduled_at": at.Format(time.RFC3339Nano)}, &cb); err != nil {
				return err
			}
			accepted++
			due[workflows.CallbackDialKey(cb.ID, 1)] = at
			last = at
		}
		deadline := last.Add(callTimeout)
		for polls := 0; len(due) > 0 && time.Now().Before(deadline); polls++ {
			if polls%50 == 49 { // a process that failed will never dial
				failed, err := s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = "Callback" AND Queue = %q AND ExecutionStatus = "Failed"`, tag))
				if err == nil && failed > 0 {
					return fmt.Errorf("%d of %d callback processes failed before dialling (see the worker's log)", failed, n)
				}
			}
			for key, at := range due {
				if dialed, ok := s.rec.dialed(key); ok {
					late = append(late, dialed.Sub(at))
					delete(due, key)
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
		if len(due) > 0 {
			return fmt.Errorf("%d of %d callbacks never dialled", len(due), n)
		}
		return nil
	})
	b.count(settleCount(ctx, "scheduled callbacks "+tag, "callbacks", accepted,
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT count(*) FROM callbacks WHERE queue = $1`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = "Callback" AND Queue = %q`, tag))
		}, settleWithin, 200*time.Millisecond))
	l := summarize(late)
	m.Casehub, m.Available = f(l.P99ms), l.N > 0 && err == nil
	m50.Casehub, m50.Available = f(l.P50ms), l.N > 0 && err == nil
	if err != nil {
		m.Note, m50.Note = "failed: "+err.Error(), "failed: "+err.Error()
	}
	b.res.Metrics = append(b.res.Metrics, m50, m)
	return err
}
