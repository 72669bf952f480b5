package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/events"
)

// stream is an open SSE connection, read as a desk reads it.
type stream struct {
	t      *testing.T
	resp   *http.Response
	sc     *events.Scanner
	cancel context.CancelFunc
	msgs   chan events.Message
	errc   chan error
	// history is every event next returned.
	history []events.Message
}

// openStream opens path with token, resuming after lastID when it is set.
func openStream(t *testing.T, path, token, lastID string) *stream {
	t.Helper()
	return openStreamAt(t, sys.apiURL, path, token, lastID)
}

// openStreamAt is openStream on the API at base.
func openStreamAt(t *testing.T, base, path, token, lastID string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	s := &stream{t: t, resp: resp, sc: events.NewScanner(resp.Body), cancel: cancel,
		msgs: make(chan events.Message, 1000), errc: make(chan error, 1)}
	go func() {
		for {
			m, err := s.sc.Next()
			if err != nil {
				s.errc <- err
				close(s.msgs)
				return
			}
			s.msgs <- m
		}
	}()
	t.Cleanup(s.close)
	return s
}

// close drops the connection, as a network failure would.
func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the next event (skipping keep-alives and the retry hint).
func (s *stream) next() events.Message {
	s.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				s.t.Fatalf("stream ended: %v", <-s.errc)
			}
			if m.Event != "" {
				s.history = append(s.history, m)
				return m
			}
		case <-deadline:
			s.t.Fatal("no event in 20 s")
		}
	}
}

// until returns the events up to and including the first of kind.
func (s *stream) until(kind string) []events.Message {
	s.t.Helper()
	var out []events.Message
	for {
		m := s.next()
		out = append(out, m)
		if m.Event == kind {
			return out
		}
	}
}

func field(t *testing.T, m events.Message, name string) any {
	t.Helper()
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(m.Data), &d), m.Data)
	return d[name]
}

func kinds(ms []events.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Event
	}
	return out
}

// The stream refuses, before it starts, whoever may not read it.
func TestEventStreamsRefuseStrangers(t *testing.T) {
	queue, tokens := setupQueue(t, nil, "eve", "fay")
	eve, fay := "eve-"+queue, "fay-"+queue
	for _, tc := range []struct {
		name, path, token, lastID string
		status                    int
	}{
		{"no token", "/v1/agents/" + eve + "/events", "", "", http.StatusUnauthorized},
		{"a bad token", "/v1/agents/" + eve + "/events", "chb_nope", "", http.StatusUnauthorized},
		{"another agent", "/v1/agents/" + eve + "/events", tokens[fay], "", http.StatusForbidden},
		{"an agent on the wall", "/v1/events", tokens[eve], "", http.StatusForbidden},
		{"the integration", "/v1/events", sys.tokens["integration"], "", http.StatusForbidden},
		{"an unknown agent", "/v1/agents/nobody-" + queue + "/events", supervisor(), "", http.StatusNotFound},
		{"a malformed Last-Event-ID", "/v1/agents/" + eve + "/events", tokens[eve], "yesterday", http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, sys.apiURL+tc.path, nil)
			require.NoError(t, err)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.lastID != "" {
				req.Header.Set("Last-Event-ID", tc.lastID)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			var p struct {
				Detail string
				Errors []struct{ Field string }
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
			require.NotEmpty(t, p.Detail)
			if tc.lastID != "" {
				require.Equal(t, "Last-Event-ID", p.Errors[0].Field)
			}
		})
	}
}

// A desk that acts on what the stream says: the offer is accepted the
// instant offer.presented arrives, and the call goes on to wrap-up and back
// to available, each step an event.
func TestAgentStreamDrivesACall(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 300}, "gil")
	gil := "gil-" + queue
	s := openStream(t, "/v1/agents/"+gil+"/events", tokens[gil], "")
	ready := s.next()
	require.Equal(t, "ready", ready.Event)
	require.NotEmpty(t, ready.ID)

	_, n := ringIn(t, "+12025550177", queue, map[string]any{"ivr": map[string]string{"reason": "billing"}, "via_ivr": true})
	got := s.until("offer.presented")
	require.Contains(t, kinds(got), "offer.booked", "booked before presented")
	offer := got[len(got)-1]
	require.Equal(t, n, field(t, offer, "interaction"))
	require.Equal(t, "voice", field(t, offer, "channel"))
	require.Equal(t, "+12025550177", field(t, offer, "caller"))
	require.Equal(t, map[string]any{"reason": "billing"}, field(t, offer, "ivr"))
	require.NotEmpty(t, field(t, offer, "accept_by"))
	// A desk that reloads here reads the same offer from the agent's state.
	var me struct {
		PendingOffers []struct {
			Interaction, Caller string
			AcceptBy            string `json:"accept_by"`
			IVR                 map[string]string
		} `json:"pending_offers"`
		Work []struct{ Interaction string } `json:"work"`
	}
	mustAPI(t, http.StatusOK, "GET", "/v1/agents/"+gil, tokens[gil], nil, &me)
	require.Len(t, me.PendingOffers, 1)
	shown := me.PendingOffers[0]
	require.Equal(t, n, shown.Interaction)
	require.Equal(t, "+12025550177", shown.Caller)
	require.Equal(t, map[string]string{"reason": "billing"}, shown.IVR)
	eventAcceptBy, err := time.Parse(time.RFC3339Nano, field(t, offer, "accept_by").(string))
	require.NoError(t, err)
	shownAcceptBy, err := time.Parse(time.RFC3339Nano, shown.AcceptBy)
	require.NoError(t, err)
	require.True(t, eventAcceptBy.Equal(shownAcceptBy), "the same deadline: %s and %s", eventAcceptBy, shownAcceptBy)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[gil], map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "GET", "/v1/agents/"+gil, tokens[gil], nil, &me)
	require.Equal(t, n, me.Work[0].Interaction, "the accepted call is the agent's work")

	got = s.until("offer.accepted")
	require.Equal(t, n, field(t, got[len(got)-1], "interaction"))
	var wip events.Message
	for wip.Event == "" || field(t, wip, "state") != "work_in_progress" {
		wip = s.next()
	}
	require.Equal(t, "interaction", wip.Event)

	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[gil], map[string]any{"disposition": "resolved"}, nil)
	got = s.until("wrapup.started")
	require.Equal(t, n, field(t, got[len(got)-1], "interaction"))
	until, err := time.Parse(time.RFC3339Nano, field(t, got[len(got)-1], "until").(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(300*time.Second), until, 30*time.Second)

	mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+gil+"/end-wrap-up", tokens[gil], map[string]any{}, nil)
	got = s.until("wrapup.ended")
	require.Equal(t, "available", field(t, got[len(got)-1], "presence"))
}

// from returns ms from the first event of kind on.
func from(ms []events.Message, kind string) []events.Message {
	for i, m := range ms {
		if m.Event == kind {
			return ms[i:]
		}
	}
	return nil
}

// A connection dropped in the middle of a call and opened again with the
// last event's id gets what happened meanwhile, then `ready`, then the live
// stream: event for event what an unbroken stream got, none lost, none twice.
func TestStreamResumesAfterADroppedConnection(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 300}, "hal")
	hal, tok := "hal-"+queue, tokens["hal-"+queue]
	path := "/v1/agents/" + hal + "/events"
	unbroken := openStream(t, path, tok, "")
	require.Equal(t, "ready", unbroken.next().Event)
	dropped := openStream(t, path, tok, "")
	require.Equal(t, "ready", dropped.next().Event)

	_, n := ringIn(t, "+12025550178", queue, nil)
	before := dropped.until("offer.presented")
	dropped.close()

	// While the desk is away: accepted, ended, wrapped up, back.
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{"disposition": "resolved"}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+hal+"/end-wrap-up", tok, map[string]any{}, nil)
	unbroken.until("wrapup.ended")

	resumed := openStream(t, path, tok, before[len(before)-1].ID)
	missed := resumed.until("ready")
	missed = missed[:len(missed)-1]
	require.Contains(t, kinds(missed), "offer.accepted")
	require.Contains(t, kinds(missed), "wrapup.ended")

	// And live from there.
	mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+hal+"/presence", tok, map[string]any{"presence": "on_break", "reason": "lunch"}, nil)
	isBreak := func(m events.Message) bool { return m.Event == "presence" && field(t, m, "presence") == "on_break" }
	var live []events.Message
	for len(live) == 0 || !isBreak(live[len(live)-1]) {
		live = append(live, resumed.next())
	}
	for !isBreak(unbroken.next()) {
	}
	whole := unbroken.history

	pieced := append(append(append([]events.Message{}, before...), missed...), live...)
	require.Equal(t, ids(from(whole, "offer.booked")), ids(from(pieced, "offer.booked")), "the resumed stream is the unbroken one")
	seen := map[string]bool{}
	for _, m := range pieced {
		require.False(t, seen[m.ID], "event %s (%s) twice", m.ID, m.Event)
		seen[m.ID] = true
	}
}

func ids(ms []events.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Event + " " + m.ID
	}
	return out
}

// An idle stream sends keep-alive comments (every 500 ms in these tests,
// 15 s by default), and the wall sees a call enter its queue and be taken.
func TestWallStreamKeepsAliveAndSeesQueues(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "ida")
	ida := "ida-" + queue
	wall := openStream(t, "/v1/events", supervisor(), "")
	require.Equal(t, "ready", wall.next().Event)

	deadline := time.After(20 * time.Second)
	for alive := false; !alive; {
		select {
		case m := <-wall.msgs:
			alive = m.Comment
		case <-deadline:
			t.Fatal("no keep-alive in 20 s")
		}
	}

	_, n := ringIn(t, "+12025550179", queue, nil)
	states := map[string]bool{}
	for !states["assigned"] {
		m := wall.next()
		if m.Event == "item" && field(t, m, "queue") == queue {
			require.Equal(t, n, field(t, m, "interaction"))
			states[field(t, m, "state").(string)] = true
		}
		if m.Event == "offer.presented" && field(t, m, "queue") == queue {
			mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[ida], map[string]any{}, nil)
		}
	}
	require.True(t, states["waiting"], "the wall saw the call wait")
	require.True(t, states["offered"], "the wall saw the call offered")
	for _, m := range wall.history {
		require.NotEqual(t, "chat.message", m.Event, "chat text is not on the wall")
	}
}

// A second API process (its own hub and LISTEN connection, over the same
// database) streams what the first one's requests changed, and a stream
// dropped on one resumes on the other from the same id.
func TestEventsReachEveryReplica(t *testing.T) {
	hub := events.NewHub(sys.db.DB, sys.db.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	replica := httptest.NewServer(api.NewServer(api.Deps{Store: sys.store, Temporal: sys.client, Events: hub}))
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		replica.Close()
	})

	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 300}, "jon")
	jon, tok := "jon-"+queue, tokens["jon-"+queue]
	path := "/v1/agents/" + jon + "/events"
	here := openStream(t, path, tok, "")
	there := openStreamAt(t, replica.URL, path, tok, "")
	require.Equal(t, "ready", here.next().Event)
	require.Equal(t, "ready", there.next().Event)

	_, n := ringIn(t, "+12025550180", queue, nil)
	offerHere, offerThere := here.until("offer.presented"), there.until("offer.presented")
	require.Equal(t, ids(from(offerHere, "offer.booked")), ids(from(offerThere, "offer.booked")))
	there.close()

	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
	accepted := here.until("offer.accepted")
	// The stream dropped on the replica resumes on the first process.
	resumed := openStream(t, path, tok, offerThere[len(offerThere)-1].ID)
	missed := resumed.until("ready")
	require.GreaterOrEqual(t, len(missed), len(accepted))
	require.Equal(t, ids(accepted), ids(missed[:len(accepted)]), "what the first process streamed, from the replica's last id")
}
