package ctisim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/cti/ctisim"
)

const (
	testSecret = "test-secret"
	testToken  = "casehub-token"
	testAPIKey = "platform-key"
	queueNum   = "+15550000000"
	waitFor    = 5 * time.Second
	tick       = 5 * time.Millisecond
)

// receiver stands in for casehub's POST /v1/cti/events: it checks the
// bearer token and the signature, parses the event strictly, acknowledges
// a repeated event id with 200, and keeps every accepted event in arrival
// order.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	events   []cti.Event
	seen     map[string]bool
	problems []string
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{seen: map[string]bool{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/cti/events" {
		rc.problems = append(rc.problems, "unexpected "+r.Method+" "+r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		rc.problems = append(rc.problems, "bad authorization "+got)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if err := cti.Verify([]byte(testSecret), r.Header.Get(cti.SignatureHeader), body, time.Now(), 0); err != nil {
		rc.problems = append(rc.problems, "signature: "+err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ev, err := cti.ParseEvent(body)
	if err != nil {
		rc.problems = append(rc.problems, "parse: "+err.Error()+" in "+string(body))
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	if rc.seen[ev.ID] {
		w.WriteHeader(http.StatusOK)
		return
	}
	rc.seen[ev.ID] = true
	rc.events = append(rc.events, ev)
	w.WriteHeader(http.StatusAccepted)
}

// matching returns the accepted events for which keep is true.
func (rc *receiver) matching(keep func(cti.Event) bool) []cti.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []cti.Event
	for _, ev := range rc.events {
		if keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

func (rc *receiver) all() []cti.Event { return rc.matching(func(cti.Event) bool { return true }) }

func onCall(id string) func(cti.Event) bool {
	return func(ev cti.Event) bool { return ev.CallID == id }
}

func onChat(id string) func(cti.Event) bool {
	return func(ev cti.Event) bool { return ev.ChatID == id && ev.Type != cti.EventAgentLegAnswered }
}

func types(evs []cti.Event) []cti.EventType {
	out := make([]cti.EventType, 0, len(evs))
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// await waits until at least len(want) events match keep, then requires
// that their types are exactly want, in order. It returns those events.
func (rc *receiver) await(t *testing.T, keep func(cti.Event) bool, want ...cti.EventType) []cti.Event {
	t.Helper()
	require.Eventually(t, func() bool { return len(rc.matching(keep)) >= len(want) }, waitFor, tick,
		"waiting for %v", want)
	got := rc.matching(keep)
	require.Equal(t, want, types(got))
	return got
}

// env is a simulator served over HTTP, an adapter pointed at it, and a
// receiver standing in for casehub.
type env struct {
	sim     *ctisim.Simulator
	url     string
	rc      *receiver
	adapter *cti.HTTPAdapter
}

func newEnv(t *testing.T, mutate func(*ctisim.Config)) *env {
	t.Helper()
	rc := newReceiver(t)
	cfg := ctisim.Config{
		EventsURL:        rc.srv.URL + "/v1/cti/events",
		Secret:           testSecret,
		Token:            testToken,
		APIKey:           testAPIKey,
		DefaultOutcome:   ctisim.Outcome{Kind: ctisim.OutcomeAnswer, After: 20 * time.Millisecond},
		RingTime:         10 * time.Millisecond,
		AgentAnswerDelay: 10 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	sim := ctisim.New(cfg)
	srv := httptest.NewServer(sim.Handler())
	// Cleanups run last-registered first: stop serving, stop the
	// simulator, then check what casehub received.
	t.Cleanup(func() {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		assert.Empty(t, rc.problems, "the receiver rejected deliveries")
	})
	t.Cleanup(sim.Close)
	t.Cleanup(srv.Close)
	return &env{sim: sim, url: srv.URL, rc: rc, adapter: cti.NewHTTPAdapter(srv.URL, testAPIKey)}
}

// raw sends a request to the simulator and returns the status, the body
// and the headers.
func (e *env) raw(t *testing.T, method, path string, headers map[string]string, body any) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out, resp.Header
}

// admin calls an admin route, requires the status, and decodes the answer.
func admin[T any](t *testing.T, e *env, method, path string, body any, wantStatus int) T {
	t.Helper()
	status, out, _ := e.raw(t, method, path, nil, body)
	require.Equal(t, wantStatus, status, "body: %s", out)
	var v T
	if len(bytes.TrimSpace(out)) > 0 {
		require.NoError(t, json.Unmarshal(out, &v), "body: %s", out)
	}
	return v
}

func (e *env) call(t *testing.T, id string) ctisim.CallRecord {
	t.Helper()
	return admin[ctisim.CallRecord](t, e, http.MethodGet, "/sim/calls/"+id, nil, http.StatusOK)
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// requireCTIError requires err to be a *cti.Error with the status and
// code, and with the given retryability.
func requireCTIError(t *testing.T, err error, status int, code string, retryable bool) {
	t.Helper()
	require.Error(t, err)
	ce, ok := cti.AsError(err)
	require.True(t, ok, "want *cti.Error, got %T: %v", err, err)
	require.Equal(t, status, ce.Status, "%v", err)
	require.Equal(t, code, ce.Code, "%v", err)
	require.Equal(t, retryable, cti.IsRetryable(err), "%v", err)
}

var keySeq struct {
	sync.Mutex
	n int
}

// key returns a fresh idempotency key.
func key() string {
	keySeq.Lock()
	defer keySeq.Unlock()
	keySeq.n++
	return fmt.Sprintf("key-%d", keySeq.n)
}

func placeReq(to string) cti.PlaceCallRequest {
	return cti.PlaceCallRequest{
		IdempotencyKey: key(), To: to, From: queueNum, Queue: "support",
		Context: map[string]string{"callback_id": "cb_" + to},
	}
}
