package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/casehub/casehub/workflows"
)

// deskPoll is how long a desk waits between two looks at its agent's
// offers. It bounds how soon an offer is seen, not how soon it is answered:
// an offer is answered the instant a look shows it.
const deskPoll = 10 * time.Millisecond

// Kinds of work a desk answers, as the results name them.
const (
	kindCall                  = "call"
	kindChat                  = "chat"
	kindCallbackAgentFirst    = "callback_agent_first"
	kindCallbackCustomerFirst = "callback_customer_first"
)

// deskOffer is an offer as GET /v1/agents/{id} lists it in pending_offers.
type deskOffer struct {
	ID          string     `json:"id"`
	WorkflowID  string     `json:"workflow_id"`
	Channel     string     `json:"channel"`
	OfferedAt   time.Time  `json:"offered_at"`
	PresentedAt *time.Time `json:"presented_at"`
}

// deskView is what a desk reads of its agent.
type deskView struct {
	Presence      string      `json:"presence"`
	PendingOffers []deskOffer `json:"pending_offers"`
	ReservedFor   []struct {
		WorkflowID string `json:"workflow_id"`
		CallbackID string `json:"callback_id"`
	} `json:"reserved_for"`
}

// desk plays agents at their desks as an agent UI would: each agent looks
// at GET /v1/agents/{id} over and over and answers every offer the instant
// it shows in pending_offers, with no sleep and no retry: an accept (or,
// for every rejectEvery-th item, a reject of its first offer) to the
// interaction or callback the offer names. What the API shows it must take
// at once, so every answer that is not 200 is a refusal. An accepted item
// is then worked to its end (ended, or closed) so the agent is free again,
// and its kind goes to finished.
type desk struct {
	s            *system
	callbackKind string // the kind of this queue's callbacks
	rejectEvery  int    // reject the first offer of every n-th item (0: never)
	finished     chan string

	mu        sync.Mutex
	answered  map[string]bool // offer ids answered
	items     map[string]int  // offers seen per workflow id
	seq       int             // items seen
	tally     map[string]*AnswerTally
	refusals  []Refusal
	followUps int                  // end/close answered other than 200
	breaks    int                  // times an agent was found on break
	reserved  map[string]time.Time // workflow id -> first seen under reserved_for
	acceptLat []time.Duration
	errs      []error
	wg        sync.WaitGroup
}

// maxRefusalsKept bounds the refusals the results list in full.
const maxRefusalsKept = 20

func newDesk(s *system, callbackKind string, rejectEvery, items int) *desk {
	return &desk{s: s, callbackKind: callbackKind, rejectEvery: rejectEvery, finished: make(chan string, items+16),
		answered: map[string]bool{}, items: map[string]int{}, tally: map[string]*AnswerTally{}, reserved: map[string]time.Time{}}
}

// start runs one desk per agent until the returned stop is called; stop
// waits for answers in flight.
func (d *desk) start(ctx context.Context, agents []benchAgent) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	for _, a := range agents {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.look(ctx, a)
		}()
	}
	return func() {
		cancel()
		d.wg.Wait()
	}
}

// look is one agent's desk: read, answer what shows, read again.
func (d *desk) look(ctx context.Context, a benchAgent) {
	for ctx.Err() == nil {
		var v deskView
		st, err := d.s.do(ctx, http.MethodGet, d.s.apiURL, "/v1/agents/"+a.id, a.token, nil, &v)
		seen := time.Now()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil || st != http.StatusOK:
			d.fail(fmt.Errorf("GET /v1/agents/%s: status %d: %v", a.id, st, err))
		default:
			d.mu.Lock()
			for _, r := range v.ReservedFor {
				if _, ok := d.reserved[r.WorkflowID]; !ok {
					d.reserved[r.WorkflowID] = seen
				}
			}
			d.mu.Unlock()
			for _, o := range v.PendingOffers {
				if !d.take(o.ID) {
					continue
				}
				d.wg.Add(1)
				go func() {
					defer d.wg.Done()
					d.answer(ctx, a, o)
				}()
			}
			// An offer that ran out put the agent on break (it is not
			// answered again); the agent comes back, as a person would.
			if v.Presence == "on_break" {
				d.mu.Lock()
				d.breaks++
				d.mu.Unlock()
				if err := d.s.presence(ctx, a, "available"); err != nil && ctx.Err() == nil {
					d.fail(err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(deskPoll):
		}
	}
}

// take claims an offer for answering, once.
func (d *desk) take(offerID string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.answered[offerID] {
		return false
	}
	d.answered[offerID] = true
	return true
}

// rejects says whether this offer is rejected: the first offer of every
// rejectEvery-th item the desks see; every later offer is accepted.
func (d *desk) rejects(o deskOffer) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.items[o.WorkflowID]
	d.items[o.WorkflowID] = n + 1
	if n > 0 {
		return false
	}
	d.seq++
	return d.rejectEvery > 0 && d.seq%d.rejectEvery == 0
}

// target names the offer's kind and the resource its answers go to.
func (d *desk) target(o deskOffer) (kind, path string, err error) {
	if id, ok := strings.CutPrefix(o.WorkflowID, workflows.CallbackWorkflowID("")); ok {
		return d.callbackKind, "/v1/callbacks/" + id, nil
	}
	if n, ok := strings.CutPrefix(o.WorkflowID, workflows.InteractionWorkflowID("")); ok {
		if o.Channel == "chat" {
			return kindChat, "/v1/interactions/" + n, nil
		}
		return kindCall, "/v1/interactions/" + n, nil
	}
	return "", "", fmt.Errorf("offer %s: unknown workflow %q", o.ID, o.WorkflowID)
}

// answer sends the one answer to an offer that just showed, and works an
// accepted item to its end.
func (d *desk) answer(ctx context.Context, a benchAgent, o deskOffer) {
	kind, path, err := d.target(o)
	if err != nil {
		d.fail(err)
		return
	}
	action := "accept"
	if d.rejects(o) {
		action = "reject"
	}
	t0 := time.Now()
	st, detail, err := d.s.post(ctx, path+"/"+action, a.token, map[string]any{})
	took := time.Since(t0)
	if ctx.Err() != nil {
		return
	}
	d.record(kind, action, o.ID, st, detail, err, took)
	if action != "accept" || st != http.StatusOK {
		return
	}
	if err := d.workToEnd(ctx, a, kind, path); err != nil {
		if ctx.Err() == nil {
			d.fail(err)
		}
		return
	}
	d.finished <- kind
}

func (d *desk) record(kind, action, offerID string, st int, detail string, err error, took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tally[kind]
	if t == nil {
		t = &AnswerTally{Kind: kind}
		d.tally[kind] = t
	}
	if action == "accept" {
		t.Accepts++
	} else {
		t.Rejects++
	}
	if err != nil || st != http.StatusOK {
		t.Refused++
		if err != nil {
			detail = err.Error()
		}
		if len(d.refusals) < maxRefusalsKept {
			d.refusals = append(d.refusals, Refusal{Kind: kind, Action: action, OfferID: offerID, Status: st, Detail: detail})
		}
		d.s.log.Warn("an offer's answer was refused", "kind", kind, "action", action, "offer", offerID, "status", st, "detail", detail)
		return
	}
	if action == "accept" {
		d.acceptLat = append(d.acceptLat, took)
	}
}

// workToEnd ends an accepted call or chat, or closes an accepted callback.
// The step is the agent's next one, so it too should be taken at once; a
// refusal is counted and the step sent again (the item must end for the
// agent to be free), for up to callTimeout.
func (d *desk) workToEnd(ctx context.Context, a benchAgent, kind, path string) error {
	step, body := "/end", map[string]any{"disposition": "bench"}
	if kind == kindCallbackAgentFirst || kind == kindCallbackCustomerFirst {
		step, body = "/close", map[string]any{"outcome": "completed", "disposition": "bench"}
	}
	deadline := time.Now().Add(callTimeout)
	for {
		st, detail, err := d.s.post(ctx, path+step, a.token, body)
		if err == nil && st == http.StatusOK {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.mu.Lock()
		d.followUps++
		d.mu.Unlock()
		if !time.Now().Before(deadline) {
			return fmt.Errorf("POST %s%s: status %d: %s %v", path, step, st, detail, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (d *desk) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.errs) < 10 {
		d.errs = append(d.errs, err)
	}
}

// err is the first thing that went wrong at a desk, apart from refusals.
func (d *desk) err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.errs) == 0 {
		return nil
	}
	return d.errs[0]
}

// waitFinished waits for one item to be worked to its end.
func (d *desk) waitFinished(ctx context.Context, what string) error {
	select {
	case <-d.finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(callTimeout):
		if err := d.err(); err != nil {
			return fmt.Errorf("%s not worked to its end in %s (a desk failed: %w)", what, callTimeout, err)
		}
		return fmt.Errorf("%s not worked to its end in %s", what, callTimeout)
	}
}

// post sends an agent's step and returns the status and, for a refusal,
// the problem's detail.
func (s *system) post(ctx context.Context, path, token string, body any) (int, string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.apiURL+path, strings.NewReader(string(b)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil || resp.StatusCode == http.StatusOK {
		return resp.StatusCode, "", err
	}
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(raw, &p) == nil && (p.Detail != "" || p.Title != "") {
		return resp.StatusCode, strings.TrimSpace(p.Title + ": " + p.Detail), nil
	}
	return resp.StatusCode, string(raw), nil
}
