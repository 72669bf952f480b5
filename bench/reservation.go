package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/cti/ctisim"
	"github.com/casehub/casehub/workflows"
)

// reserveRing is how long the simulator rings each customer of the
// reservation arm before it answers (or, for the unanswered ones, before it
// reports no answer).
const reserveRing = time.Second

// ReservationResult is how long a customer-first callback holds an agent:
// routing books (reserves) the agent, the platform dials the customer, and
// the offer is presented only when the customer answers. Times come from
// the offers' rows (offered_at: booked; presented_at: shown; closed_at:
// ended, the agent freed) and the simulator's call records.
type ReservationResult struct {
	RingMs     float64 `json:"ring_ms"`    // the simulator's ring time for these customers
	Answered   int     `json:"answered"`   // callbacks whose customer answers
	Unanswered int     `json:"unanswered"` // callbacks whose customer does not
	// Held is presented_at − offered_at per answered callback: how long its
	// agent was reserved, with nothing to answer, before the offer showed.
	Held Latency `json:"answered_held"`
	// BookedToDial is offered_at → the platform received the dial;
	// AnsweredToShown is the customer answering (simulator) → presented_at.
	BookedToDial    Latency `json:"booked_to_dial"`
	AnsweredToShown Latency `json:"answered_to_shown"`
	// UnansweredHolding counts the unanswered dials that held an agent (an
	// offer booked, never presented); UnansweredHeld is closed_at −
	// offered_at for them, and RingOutToFreed the platform's no-answer →
	// closed_at (the agent freed).
	UnansweredHolding int     `json:"unanswered_dials_holding_an_agent"`
	UnansweredHeld    Latency `json:"unanswered_held"`
	RingOutToFreed    Latency `json:"ring_out_to_freed"`
	// ReservedSeen counts the callbacks an agent's desk saw under
	// reserved_for while their customer was dialled.
	ReservedSeen int      `json:"reserved_seen"`
	Anomalies    []string `json:"anomalies,omitempty"`
}

// reservationSizes: answered callbacks and unanswered ones (a quarter as
// many, at least 3).
func reservationSizes(o Options) (answered, unanswered int) {
	return o.ReservedCallbacks, max(3, o.ReservedCallbacks/4)
}

// reservation runs customer-first callbacks into a queue with agents at
// their desks: the simulator answers most customers after reserveRing and
// lets the others ring out. Desks accept each offer the instant it shows
// and close the callback; each callback's process is waited for before the
// next starts (as many in flight as agents).
func (b *bencher) reservation(ctx context.Context, answers *AnswersResult) (ReservationResult, error) {
	s := b.s
	tag := fmt.Sprintf("bench-%s-reserve", s.runID)
	nAnswered, nUnanswered := reservationSizes(s.opts)
	total := nAnswered + nUnanswered
	// The unanswered ones spread evenly among the rest.
	rings := make([]bool, total) // true: the customer does not answer
	for j := range nUnanswered {
		rings[j*total/nUnanswered+total/(2*nUnanswered)] = true
	}
	res := ReservationResult{RingMs: ms(reserveRing), Answered: nAnswered, Unanswered: nUnanswered}
	unanswered := map[string]bool{} // callback workflow id -> scripted to ring out
	var mu sync.Mutex
	started := 0
	var d *desk
	err := b.arm(tag, func() error {
		agents, err := s.setupQueue(ctx, tag, map[string]any{"acceptance_timeout_seconds": 10, "wrapup_timeout_seconds": 0,
			"settings": map[string]any{"callbacks": map[string]any{"default_mode": "customer_first", "max_attempts": 1}}},
			deskAgents, true)
		if err != nil {
			return err
		}
		d = newDesk(s, kindCallbackCustomerFirst, 0, total)
		stop := d.start(ctx, agents)
		defer stop()
		var next atomic.Int64
		_, _, err = closedLoop(ctx, total, len(agents), func(ctx context.Context) error {
			ringsOut := rings[next.Add(1)-1]
			number := s.nextNumber()
			o := ctisim.Outcome{Kind: ctisim.OutcomeAnswer, After: reserveRing}
			if ringsOut {
				o.Kind = ctisim.OutcomeNoAnswer
			}
			s.sim.SetScript(number, o)
			var cb struct {
				ID string `json:"id"`
			}
			if err := s.api(ctx, http.StatusCreated, http.MethodPost, "/v1/callbacks", s.integrator,
				map[string]any{"number": number, "queue": tag, "mode": "customer_first"}, &cb); err != nil {
				return err
			}
			wf := workflows.CallbackWorkflowID(cb.ID)
			mu.Lock()
			started++
			unanswered[wf] = ringsOut
			mu.Unlock()
			wctx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			if err := s.client.GetWorkflow(wctx, wf, "").Get(wctx, nil); err != nil {
				return fmt.Errorf("callback %s: %w", cb.ID, err)
			}
			if !ringsOut {
				// Its desk closed it; take the finish off the desk's channel.
				return d.waitFinished(ctx, "callback "+cb.ID)
			}
			return nil
		})
		return err
	})
	if d != nil {
		answers.merge(d, map[string]int{kindCallbackCustomerFirst: nAnswered})
	}
	b.count(settleCount(ctx, "reservation "+tag, "callbacks closed", started,
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT count(*) FROM callbacks WHERE queue = $1 AND state IN ('completed', 'failed')`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = "Callback" AND Queue = %q AND ExecutionStatus = "Completed"`, tag))
		}, settleWithin, 200*time.Millisecond))

	var seen map[string]time.Time
	if d != nil {
		d.mu.Lock()
		seen = d.reserved
		d.mu.Unlock()
	}
	if rerr := s.reservationTimes(ctx, tag, unanswered, seen, &res); rerr != nil && err == nil {
		err = rerr
	}
	return res, err
}

// reservationRow is one offer of a callback item, with its times.
type reservationRow struct {
	WorkflowID  string     `db:"workflow_id"`
	State       string     `db:"state"`
	OfferedAt   time.Time  `db:"offered_at"`
	PresentedAt *time.Time `db:"presented_at"`
	ClosedAt    *time.Time `db:"closed_at"`
}

// reservationTimes reads the offers of the queue's callback items and the
// simulator's calls, and fills in res.
func (s *system) reservationTimes(ctx context.Context, queue string, unanswered map[string]bool, seen map[string]time.Time, res *ReservationResult) error {
	var rows []reservationRow
	if err := s.db.SelectContext(ctx, &rows, `
SELECT w.workflow_id, o.state, o.offered_at, o.presented_at, o.closed_at
FROM offers o JOIN work_items w ON w.id = o.item_id
WHERE w.kind = 'callback' AND w.queue = $1 ORDER BY o.offered_at`, queue); err != nil {
		return fmt.Errorf("read the callbacks' offers: %w", err)
	}
	// The platform's side: when each callback's (only) dial was placed,
	// answered or given up, by the callback's workflow id.
	type call struct {
		created       time.Time
		answered, end *time.Time
	}
	calls := map[string]call{}
	for _, c := range s.sim.Calls() {
		if wf := c.Context[workflows.ContextWorkflowID]; c.Direction == cti.DirectionOutbound && wf != "" {
			if _, ok := unanswered[wf]; ok {
				calls[wf] = call{created: c.CreatedAt, answered: c.AnsweredAt, end: c.EndedAt}
			}
		}
	}
	rowsBy := rowsByWorkflow(rows)
	var held, toDial, toShown, unHeld, freed []time.Duration
	for wf, ringsOut := range unanswered {
		if _, ok := seen[wf]; ok {
			res.ReservedSeen++
		}
		c, dialled := calls[wf]
		var presented, booked []reservationRow
		for _, r := range rowsBy[wf] {
			if r.PresentedAt != nil {
				presented = append(presented, r)
			} else {
				booked = append(booked, r)
			}
		}
		switch {
		case !ringsOut && len(presented) == 0:
			res.Anomalies = append(res.Anomalies, fmt.Sprintf("%s: answered, but no offer was presented", wf))
		case !ringsOut:
			r := presented[0]
			held = append(held, r.PresentedAt.Sub(r.OfferedAt))
			if dialled {
				toDial = append(toDial, c.created.Sub(r.OfferedAt))
				if c.answered != nil {
					toShown = append(toShown, r.PresentedAt.Sub(*c.answered))
				}
			}
			if len(presented) > 1 || len(booked) > 0 {
				res.Anomalies = append(res.Anomalies, fmt.Sprintf("%s: answered, %d offers presented and %d not", wf, len(presented), len(booked)))
			}
		case len(presented) > 0:
			res.Anomalies = append(res.Anomalies, fmt.Sprintf("%s: never answered, yet an offer was presented", wf))
		case len(booked) > 0:
			res.UnansweredHolding++
			r := booked[0]
			if r.ClosedAt == nil {
				res.Anomalies = append(res.Anomalies, fmt.Sprintf("%s: never answered, and its agent is still held (offer %s)", wf, r.State))
				continue
			}
			unHeld = append(unHeld, r.ClosedAt.Sub(r.OfferedAt))
			if dialled && c.end != nil {
				freed = append(freed, r.ClosedAt.Sub(*c.end))
			}
		}
	}
	res.Held, res.BookedToDial, res.AnsweredToShown = summarize(held), summarize(toDial), summarize(toShown)
	res.UnansweredHeld, res.RingOutToFreed = summarize(unHeld), summarize(freed)
	return nil
}

func rowsByWorkflow(rows []reservationRow) map[string][]reservationRow {
	out := map[string][]reservationRow{}
	for _, r := range rows {
		out[r.WorkflowID] = append(out[r.WorkflowID], r)
	}
	return out
}

// reservationMetrics are the reservation rows of the table.
func reservationMetrics(r ReservationResult, err error) []Metric {
	ring := trim(r.RingMs) + " ms"
	held := fmt.Sprintf("customer-first callback: agent reserved per answered callback, presented − offered (simulator rings %s)", ring)
	un := fmt.Sprintf("customer-first dial unanswered: agent held, closed − offered (rings out after %s; %d of %d dials held an agent)",
		ring, r.UnansweredHolding, r.Unanswered)
	ms := []Metric{
		{Key: "callback_reserved_p50", Name: held + " p50", Unit: "ms", Casehub: f(r.Held.P50ms), Available: r.Held.N > 0},
		{Key: "callback_reserved_p99", Name: held + " p99", Unit: "ms", Casehub: f(r.Held.P99ms), Available: r.Held.N > 0},
		{Key: "callback_unanswered_held_p50", Name: un + " p50", Unit: "ms", Casehub: f(r.UnansweredHeld.P50ms), Available: r.UnansweredHeld.N > 0},
		{Key: "callback_unanswered_held_p99", Name: un + " p99", Unit: "ms", Casehub: f(r.UnansweredHeld.P99ms), Available: r.UnansweredHeld.N > 0},
	}
	for i := range ms {
		switch {
		case err != nil:
			ms[i].Note = "failed: " + err.Error()
		case !ms[i].Available:
			ms[i].Note = "not measured"
		}
	}
	return ms
}
