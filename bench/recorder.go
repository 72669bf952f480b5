package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/workflows"
)

// offerSeen is an offer as it reached the platform: the agent's phone rings.
type offerSeen struct {
	At         time.Time
	AgentID    string
	CallID     string
	WorkflowID string
}

// recorder wraps the CTI simulator's handler and timestamps the commands
// casehub sends it: offers to agents (the moment dispatch is done) and
// dials (the moment a callback is placed). Agents of the bench subscribe to
// their offers, as a real agent's phone would ring.
type recorder struct {
	mu        sync.Mutex
	subs      map[string]chan offerSeen // by agent id
	offerAt   map[string]time.Time      // first offer per customer call id
	dialAt    map[string]time.Time      // first dial per idempotency key
	requests  map[string]int            // by "METHOD path"
	maxBodies int64
}

func newRecorder() *recorder {
	return &recorder{subs: map[string]chan offerSeen{}, offerAt: map[string]time.Time{}, dialAt: map[string]time.Time{},
		requests: map[string]int{}, maxBodies: 1 << 20}
}

func (r *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		var offer *cti.OfferRequest
		if req.Method == http.MethodPost {
			switch req.URL.Path {
			case "/v1/agent-offers":
				body, err := io.ReadAll(io.LimitReader(req.Body, r.maxBodies))
				if err == nil {
					req.Body = io.NopCloser(bytes.NewReader(body))
					var o cti.OfferRequest
					if json.Unmarshal(body, &o) == nil {
						offer = &o
					}
				}
			case "/v1/calls":
				r.mu.Lock()
				key := req.Header.Get("Idempotency-Key")
				if _, seen := r.dialAt[key]; !seen && key != "" {
					r.dialAt[key] = at
				}
				r.mu.Unlock()
			}
		}
		r.mu.Lock()
		r.requests[req.Method+" "+req.URL.Path]++
		r.mu.Unlock()
		next.ServeHTTP(w, req)
		if offer != nil {
			r.offered(at, *offer)
		}
	})
}

// offered notes an offer's first arrival and rings the agent's subscriber
// (after the platform took it, as a phone rings once the leg exists).
func (r *recorder) offered(at time.Time, o cti.OfferRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first, seen := r.offerAt[o.CallID]
	if !seen {
		r.offerAt[o.CallID] = at
		first = at
	}
	if ch, ok := r.subs[o.AgentID]; ok {
		select {
		case ch <- offerSeen{At: first, AgentID: o.AgentID, CallID: o.CallID, WorkflowID: o.Context[workflows.ContextWorkflowID]}:
		default: // the agent is not keeping up; it finds the offer on its next look
		}
	}
}

// subscribe returns the channel the agent's offers arrive on.
func (r *recorder) subscribe(agentID string) <-chan offerSeen {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan offerSeen, 64)
	r.subs[agentID] = ch
	return ch
}

func (r *recorder) unsubscribe(agentID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.subs, agentID)
}

// dialed is when the platform first received the dial with key.
func (r *recorder) dialed(key string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.dialAt[key]
	return t, ok
}
