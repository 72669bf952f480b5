package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casehub/casehub/cti/ctisim"
)

// AnswersResult is how the API took offers answered the instant they
// showed: every answer that was not 200 was refused.
type AnswersResult struct {
	Sent     int           `json:"sent"`
	Refused  int           `json:"refused"`
	ByKind   []AnswerTally `json:"by_kind"`
	Refusals []Refusal     `json:"refusals,omitempty"` // the first few, with the API's reason
	// FollowUpsRefused counts the agent's next steps (end a call or chat,
	// close a callback) answered other than 200; each was sent again.
	FollowUpsRefused int `json:"follow_ups_refused"`
	// BreaksResumed counts the times a desk found its agent on break (an
	// offer it had answered ran out) and made it available again.
	BreaksResumed int `json:"breaks_resumed"`
	// AcceptLatency is how long the API took to answer the accepts.
	AcceptLatency Latency `json:"accept_latency"`

	acceptLat []time.Duration
}

// AnswerTally is one kind of work's answers.
type AnswerTally struct {
	Kind    string `json:"kind"`
	Items   int    `json:"items"` // items of this kind the bench started
	Accepts int    `json:"accepts"`
	Rejects int    `json:"rejects"`
	Refused int    `json:"refused"`
}

// Refusal is one answer the API did not take.
type Refusal struct {
	Kind    string `json:"kind"`
	Action  string `json:"action"`
	OfferID string `json:"offer_id"`
	Status  int    `json:"status"` // 0: no HTTP answer at all
	Detail  string `json:"detail"`
}

// deskAgents is how many agents answer at their desks in these arms.
const deskAgents = 3

// answerRejectEvery: the first offer of every fourth item is rejected.
const answerRejectEvery = 4

// answers measures what the API does with an answer sent the instant an
// offer shows (the desks of desk.go) for calls, chats and agent-first
// callbacks in one queue, then for customer-first callbacks, whose agent is
// reserved while the customer is dialled (reservation.go). It reports the
// refusals of both and the reservation times.
func (b *bencher) answers(ctx context.Context) error {
	s := b.s
	if !s.callbacksAPI(ctx) {
		ms := append([]Metric{refusalMetric(AnswersResult{}, nil)}, reservationMetrics(ReservationResult{}, nil)...)
		for i := range ms {
			ms[i].Note = noCallbacksAPI
		}
		b.res.Metrics = append(b.res.Metrics, ms...)
		b.note("immediate answers: %s", noCallbacksAPI)
		return nil
	}
	res := &AnswersResult{}
	errA := b.immediateAnswers(ctx, res)
	rsv, errR := b.reservation(ctx, res)
	b.res.Answers, b.res.Reservation = res, &rsv
	err := errors.Join(errA, errR)
	b.res.Metrics = append(b.res.Metrics, refusalMetric(*res, err))
	b.res.Metrics = append(b.res.Metrics, reservationMetrics(rsv, errR)...)
	return err
}

// refusalMetric is the row for the refusals: N of M, target 0.
func refusalMetric(r AnswersResult, err error) Metric {
	m := Metric{Key: "offers_refused", Name: "offer answers refused, sent the instant GET /v1/agents shows the offer",
		Unit: fmt.Sprintf("of %d", r.Sent), Casehub: f(float64(r.Refused)), Count: true,
		Target: &Target{Op: "<=", Value: 0}, Available: r.Sent > 0}
	var parts []string
	for _, t := range r.ByKind {
		_, label := kindRank(t.Kind)
		parts = append(parts, fmt.Sprintf("%s %d/%d", label, t.Refused, t.Accepts+t.Rejects))
	}
	m.Note = strings.Join(parts, ", ")
	if err != nil {
		if m.Note != "" {
			m.Note += "; "
		}
		m.Note += "failed: " + err.Error()
		if r.Sent == 0 {
			m.Note = "failed: " + err.Error()
		}
	}
	return m
}

// kindOrder is the order kinds are listed in, with their labels.
var kindOrder = []struct{ kind, label string }{
	{kindCall, "calls"}, {kindChat, "chats"},
	{kindCallbackAgentFirst, "agent-first callbacks"}, {kindCallbackCustomerFirst, "customer-first callbacks"},
}

func kindRank(k string) (int, string) {
	for i, o := range kindOrder {
		if o.kind == k {
			return i, o.label
		}
	}
	return len(kindOrder), k
}

func byKindOrder(a, b string) int {
	ra, _ := kindRank(a)
	rb, _ := kindRank(b)
	if ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

// merge adds a desk's answers to the results.
func (r *AnswersResult) merge(d *desk, items map[string]int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	kinds := map[string]bool{}
	for k := range items {
		kinds[k] = true
	}
	for k := range d.tally {
		kinds[k] = true
	}
	for _, k := range slices.SortedFunc(maps.Keys(kinds), byKindOrder) {
		t := AnswerTally{Kind: k}
		if dt := d.tally[k]; dt != nil {
			t = *dt
		}
		t.Items = items[k]
		r.ByKind = append(r.ByKind, t)
		r.Sent += t.Accepts + t.Rejects
		r.Refused += t.Refused
	}
	for _, x := range d.refusals {
		if len(r.Refusals) < maxRefusalsKept {
			r.Refusals = append(r.Refusals, x)
		}
	}
	r.FollowUpsRefused += d.followUps
	r.BreaksResumed += d.breaks
	r.acceptLat = append(r.acceptLat, d.acceptLat...)
	r.AcceptLatency = summarize(r.acceptLat)
}

// immediateAnswers: calls, chats and agent-first callbacks, one after the
// other in turn, into one queue with three agents at their desks; as many in
// flight as agents. Every fourth item's first offer is rejected (it goes to
// another agent); every other offer is accepted and worked to its end.
func (b *bencher) immediateAnswers(ctx context.Context, res *AnswersResult) error {
	s := b.s
	tag := fmt.Sprintf("bench-%s-answers", s.runID)
	perKind := s.opts.AnswerSamples
	total := 3 * perKind
	kinds := []string{kindCall, kindChat, kindCallbackAgentFirst}
	var mu sync.Mutex
	items := map[string]int{}
	var d *desk
	err := b.arm(tag, func() error {
		// A short acceptance time: an offer that was refused would otherwise
		// hold its agent for long; it runs out, and the item goes on.
		agents, err := s.setupQueue(ctx, tag, map[string]any{"acceptance_timeout_seconds": 10, "wrapup_timeout_seconds": 0,
			"on_reject": "reoffer", "settings": map[string]any{"callbacks": map[string]any{"default_mode": "agent_first", "max_attempts": 1}}},
			deskAgents, true)
		if err != nil {
			return err
		}
		d = newDesk(s, kindCallbackAgentFirst, answerRejectEvery, total)
		stop := d.start(ctx, agents)
		defer stop()
		var next atomic.Int64
		_, _, err = closedLoop(ctx, total, len(agents), func(ctx context.Context) error {
			i := next.Add(1)
			kind := kinds[int(i)%len(kinds)]
			if err := s.startItem(ctx, tag, kind, i); err != nil {
				return err
			}
			mu.Lock()
			items[kind]++
			mu.Unlock()
			return d.waitFinished(ctx, kind)
		})
		return err
	})
	if d != nil {
		res.merge(d, items)
	}
	started := 0
	for _, n := range items {
		started += n
	}
	b.count(settleCount(ctx, "answers "+tag, "calls, chats and callbacks worked", started,
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT (SELECT count(*) FROM interactions WHERE queue = $1 AND state = 'closed_complete')
 + (SELECT count(*) FROM callbacks WHERE queue = $1 AND state = 'completed')`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`(WorkflowType = "Interaction" OR WorkflowType = "Callback") AND Queue = %q AND ExecutionStatus = "Completed"`, tag))
		}, settleWithin, 200*time.Millisecond))
	return err
}

// startItem starts one item of kind in queue: a customer calls, starts a
// chat, or asks for an agent-first callback.
func (s *system) startItem(ctx context.Context, queue, kind string, i int64) error {
	switch kind {
	case kindCall:
		_, err := s.ring(ctx, queue)
		return err
	case kindChat:
		st, err := s.do(ctx, http.MethodPost, s.simURL, "/sim/chats", "", ctisim.StartChat{
			Email: fmt.Sprintf("bench-%s-%d@example.com", s.runID, i), Name: "Bench Customer", Queue: queue, Text: "hello"}, nil)
		if err != nil {
			return err
		}
		if st != http.StatusCreated {
			return fmt.Errorf("simulator refused the chat: status %d", st)
		}
		return nil
	case kindCallbackAgentFirst:
		return s.api(ctx, http.StatusCreated, http.MethodPost, "/v1/callbacks", s.integrator,
			map[string]any{"number": s.nextNumber(), "queue": queue, "mode": "agent_first"}, nil)
	}
	return fmt.Errorf("unknown kind %q", kind)
}
