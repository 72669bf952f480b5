package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// desk plays an agent's desktop the way an agent UI works: it watches the
// agent (GET /v1/agents/{id}) and acts on each offer the instant it shows,
// with no sleep and no retry between seeing an offer and answering it.
type desk struct {
	t      *testing.T
	id     string
	token  string
	accept bool // accept every offer, or reject every one
	// then runs after a 200 answer (end the call, close the callback); it
	// reports a refusal the same way.
	then func(o store.Offer) (int, string)

	mu       sync.Mutex
	seen     map[string]bool
	answered int
	refused  []string
}

func newDesk(t *testing.T, id, token string, accept bool, then func(store.Offer) (int, string)) *desk {
	return &desk{t: t, id: id, token: token, accept: accept, then: then, seen: map[string]bool{}}
}

// answerPath is the route that answers an offer: the interaction's or the
// callback's accept or reject.
func answerPath(o store.Offer, accept bool) string {
	verb := "reject"
	if accept {
		verb = "accept"
	}
	if id, ok := strings.CutPrefix(o.WorkflowID, workflows.CallbackWorkflowID("")); ok {
		return "/v1/callbacks/" + id + "/" + verb
	}
	return "/v1/interactions/" + number(o.WorkflowID) + "/" + verb
}

// work answers offers until done says so or the deadline passes.
func (d *desk) work(done func() bool, deadline time.Time) {
	for time.Now().Before(deadline) && !done() {
		var me agentView
		if st := do(d.t, "GET", "/v1/agents/"+d.id, d.token, nil, &me); st != http.StatusOK {
			d.t.Errorf("GET agent %s: %d", d.id, st)
			return
		}
		fresh := 0
		for _, o := range me.PendingOffers {
			if d.seen[o.ID] {
				continue
			}
			d.seen[o.ID] = true
			fresh++
			var problem map[string]any
			st := do(d.t, "POST", answerPath(o, d.accept), d.token, map[string]any{}, &problem)
			d.mu.Lock()
			d.answered++
			if st != http.StatusOK {
				d.refused = append(d.refused, fmt.Sprintf("%s %s: %d %v", answerPath(o, d.accept), o.ID, st, problem["detail"]))
			}
			d.mu.Unlock()
			if st == http.StatusOK && d.then != nil {
				if st, detail := d.then(o); st != http.StatusOK {
					d.mu.Lock()
					d.refused = append(d.refused, fmt.Sprintf("after %s: %d %s", o.ID, st, detail))
					d.mu.Unlock()
				}
			}
		}
		if fresh == 0 {
			time.Sleep(5 * time.Millisecond) // the next look; acting never waits
		}
	}
}

// post sends a step and returns its status and problem detail.
func post(t *testing.T, path, token string, body any) (int, string) {
	var p map[string]any
	st := do(t, "POST", path, token, body, &p)
	detail, _ := p["detail"].(string)
	return st, detail
}

// What an agent is shown, it can do at once: 100 offers of each kind,
// accepted (and, in another queue, rejected) the instant each shows, with
// zero refusals. After an accept, the next step (end the call or chat,
// close the callback) is taken at once too.
func TestWhatAnAgentSeesItCanDoAtOnce(t *testing.T) {
	const contacts = 100
	kinds := []struct {
		name   string
		queue  map[string]any
		arrive func(t *testing.T, queue string, i int)
		then   func(t *testing.T, token string) func(store.Offer) (int, string)
	}{
		{
			name:  "calls",
			queue: map[string]any{},
			arrive: func(t *testing.T, queue string, i int) {
				sim(t, "/sim/inbound-calls", map[string]any{"from": fmt.Sprintf("+1202556%04d", i), "to": "+12025550100", "queue": queue}, nil)
			},
			then: func(t *testing.T, token string) func(store.Offer) (int, string) {
				return func(o store.Offer) (int, string) {
					return post(t, "/v1/interactions/"+number(o.WorkflowID)+"/end", token, map[string]any{"disposition": "done"})
				}
			},
		},
		{
			name:  "chats",
			queue: map[string]any{},
			arrive: func(t *testing.T, queue string, i int) {
				sim(t, "/sim/chats", map[string]any{"email": fmt.Sprintf("desk-%d@example.com", i), "name": "Customer", "queue": queue, "text": "hello"}, nil)
			},
			then: func(t *testing.T, token string) func(store.Offer) (int, string) {
				return func(o store.Offer) (int, string) {
					return post(t, "/v1/interactions/"+number(o.WorkflowID)+"/end", token, map[string]any{"disposition": "done"})
				}
			},
		},
		{
			name:  "agent-first callbacks",
			queue: map[string]any{"outbound_number": "+12025550100", "settings": map[string]any{"callbacks": map[string]any{"default_mode": "agent_first"}}},
			arrive: func(t *testing.T, queue string, i int) {
				mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration],
					map[string]any{"number": fmt.Sprintf("+1202557%04d", i), "queue": queue}, nil)
			},
			then: func(t *testing.T, token string) func(store.Offer) (int, string) {
				return func(o store.Offer) (int, string) {
					id := strings.TrimPrefix(o.WorkflowID, workflows.CallbackWorkflowID(""))
					return post(t, "/v1/callbacks/"+id+"/close", token, map[string]any{"outcome": "completed"})
				}
			},
		},
	}
	for _, k := range kinds {
		for _, accept := range []bool{true, false} {
			name := k.name + " rejected"
			if accept {
				name = k.name + " accepted"
			}
			t.Run(name, func(t *testing.T) {
				settings := map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 0, "on_reject": "close"}
				for key, v := range k.queue {
					settings[key] = v
				}
				queue, tokens := setupQueue(t, settings, "una", "vic", "wes")
				var desks []*desk
				for id, tok := range tokens {
					var then func(store.Offer) (int, string)
					if accept {
						then = k.then(t, tok)
					}
					desks = append(desks, newDesk(t, id, tok, accept, then))
				}
				var arrivals sync.WaitGroup
				for w := range 4 {
					arrivals.Add(1)
					go func() {
						defer arrivals.Done()
						for i := w; i < contacts; i += 4 {
							k.arrive(t, queue, i)
						}
					}()
				}
				deadline := time.Now().Add(5 * time.Minute)
				var working sync.WaitGroup
				total := func() int {
					n := 0
					for _, d := range desks {
						d.mu.Lock()
						n += d.answered
						d.mu.Unlock()
					}
					return n
				}
				for _, d := range desks {
					working.Add(1)
					go func() {
						defer working.Done()
						d.work(func() bool { return total() >= contacts }, deadline)
					}()
				}
				arrivals.Wait()
				working.Wait()

				var refused []string
				for _, d := range desks {
					refused = append(refused, d.refused...)
				}
				require.Empty(t, refused, "every offer shown was answered at once")
				require.Equal(t, contacts, total(), "every contact was offered and answered once")
				var offers, answered int
				require.NoError(t, sys.store.DB().Get(&offers, `SELECT count(*) FROM offers o JOIN work_items i ON i.id = o.item_id WHERE i.queue = $1`, queue))
				want := store.OfferRejected
				if accept {
					want = store.OfferAccepted
				}
				require.NoError(t, sys.store.DB().Get(&answered, `
SELECT count(*) FROM offers o JOIN work_items i ON i.id = o.item_id WHERE i.queue = $1 AND o.state = $2`, queue, want))
				require.Equal(t, contacts, offers, "one offer per contact")
				require.Equal(t, contacts, answered)
			})
		}
	}
}
