//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// The platform delivers the same event twice, one after the other and
// several times at once (a retry after a timeout while the first delivery
// still runs): each event has one effect.
func TestDuplicateCTIEvents(t *testing.T) {
	s := newSystem(t)
	q, _, _ := s.queue(map[string]any{"wrapup_timeout_seconds": 0}, []string{"ann"}) // Ann stays offline: the call waits
	callID := "call_dup_" + uuid.NewString()
	incoming := cti.Event{ID: "evt_" + uuid.NewString(), Type: cti.EventIncomingCall, OccurredAt: time.Now().UTC(), CallID: callID,
		CallerNumber: "+12025551301", DialledNumber: "+12025550100", Queue: q}

	first := s.postEvent(incoming)
	require.Equal(t, http.StatusAccepted, first.status, "%s", first.body)
	again := s.postEvent(incoming)
	require.Equal(t, http.StatusOK, again.status, "%s", again.body)
	require.Contains(t, string(again.body), `"duplicate":true`)
	var owner string
	s.eventually(func() bool {
		wf, err := s.store.LegOwner(t.Context(), callID)
		owner = wf
		return err == nil
	}, "the call has its interaction")
	n := owner[len(workflows.InteractionWorkflowID("")):]
	s.waitState(n, "new", "")

	// The customer hangs up; each event arrives four times at once.
	ended := time.Now().UTC()
	started := ended.Add(-5 * time.Second)
	duration := 5
	for _, ev := range []cti.Event{
		{ID: "evt_" + uuid.NewString(), Type: cti.EventCallerHungUp, OccurredAt: ended, CallID: callID},
		{ID: "evt_" + uuid.NewString(), Type: cti.EventCallEnded, OccurredAt: ended, CallID: callID, StartedAt: &started, EndedAt: &ended, DurationSeconds: &duration},
	} {
		var wg sync.WaitGroup
		answers := make([]answer, 4)
		for i := range answers {
			wg.Add(1)
			go func() { defer wg.Done(); answers[i] = s.postEvent(ev) }()
		}
		wg.Wait()
		for _, a := range answers {
			require.Contains(t, []int{http.StatusOK, http.StatusAccepted}, a.status, "%s delivered at once: %s", ev.Type, a.body)
		}
		require.Equal(t, 1, s.count(`SELECT count(*) FROM cti_events WHERE id = $1`, ev.ID))
	}

	d := s.requireClean(n, 1)
	require.Equal(t, []string{"new", "closed_complete"}, states(d))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM interactions WHERE call_id = $1`, callID), "one interaction for the call")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM interactions WHERE queue = $1`, q))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM cti_events WHERE id = $1`, incoming.ID))
}

// The same API request is sent again with the same Idempotency-Key (the
// client timed out and retried), one after the other and at once: one
// effect each.
func TestDuplicateAPIRequests(t *testing.T) {
	s := newSystem(t)
	q, ids, tokens := s.queue(map[string]any{"outbound_number": "+12025550199"}, []string{"gus"})
	tok := tokens["gus"]

	t.Run("create a contact", func(t *testing.T) {
		body := map[string]any{"name": "Dana Duplicate", "communication_options": []map[string]any{{"kind": "phone", "value": "+12025551401"}}}
		a := s.send("POST", "/v1/contacts", s.supervisor, "contact-dana", body)
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		b := s.send("POST", "/v1/contacts", s.supervisor, "contact-dana", body)
		require.Equal(t, http.StatusCreated, b.status, "%s", b.body)
		require.True(t, b.replayed)
		require.JSONEq(t, string(a.body), string(b.body))

		body["name"] = "Dana At Once"
		statuses := s.sendAtOnce(4, "POST", "/v1/contacts", s.supervisor, "contact-dana-2", body)
		for _, st := range statuses {
			require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, st, "statuses %v", statuses)
		}
		require.Contains(t, statuses, http.StatusCreated)
		require.Equal(t, 1, s.count(`SELECT count(*) FROM contacts WHERE name = 'Dana Duplicate'`))
		require.Equal(t, 1, s.count(`SELECT count(*) FROM contacts WHERE name = 'Dana At Once'`))
	})

	t.Run("escalate an interaction", func(t *testing.T) {
		var it store.Interaction
		s.must(http.StatusCreated, "POST", "/v1/interactions", tok, map[string]any{"channel": "walk_in", "queue": q,
			"short_description": "Laptop will not boot"}, &it)
		body := map[string]any{"kind": "request", "short_description": "Loan laptop"}
		path := "/v1/interactions/" + it.Number + "/escalate"
		var first, second workflows.EscalationRef
		a := s.send("POST", path, tok, "escalate-1", body)
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		require.NoError(t, json.Unmarshal(a.body, &first))
		b := s.send("POST", path, tok, "escalate-1", body)
		require.Equal(t, http.StatusCreated, b.status, "%s", b.body)
		require.True(t, b.replayed)
		require.NoError(t, json.Unmarshal(b.body, &second))
		require.Equal(t, first, second)

		inc := map[string]any{"kind": "incident", "short_description": "Screen flickers"}
		statuses := s.sendAtOnce(4, "POST", path, tok, "escalate-2", inc)
		for _, st := range statuses {
			require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, st, "statuses %v", statuses)
		}
		require.Equal(t, 1, s.count(`SELECT count(*) FROM escalations WHERE interaction = $1 AND kind = 'request'`, it.Number))
		require.Equal(t, 1, s.count(`SELECT count(*) FROM escalations WHERE interaction = $1 AND kind = 'incident'`, it.Number))
		require.Equal(t, 1, s.count(`SELECT count(*) FROM service_requests WHERE interaction = $1`, it.Number))
		require.Equal(t, 1, s.count(`SELECT count(*) FROM incidents WHERE interaction = $1`, it.Number))
	})

	t.Run("click to call", func(t *testing.T) {
		body := map[string]any{"to": "+12025551402", "queue": q}
		a := s.send("POST", "/v1/interactions/outbound", tok, "dial-1", body)
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		b := s.send("POST", "/v1/interactions/outbound", tok, "dial-1", body)
		require.Equal(t, http.StatusCreated, b.status, "%s", b.body)
		require.True(t, b.replayed)
		var it store.Interaction
		require.NoError(t, json.Unmarshal(a.body, &it))
		key := it.Number + "-dial"
		s.eventually(func() bool { c := s.simCalls(key); return len(c) == 1 && c[0].State == "answered" }, "the call is answered")
		s.must(http.StatusOK, "POST", "/v1/interactions/"+it.Number+"/end", tok, map[string]any{}, nil)
		d := s.requireClean(it.Number, 1)
		require.Equal(t, ids["gus"], *d.PhoneLogs[0].AgentID)
		require.Equal(t, 1, s.count(`SELECT count(*) FROM interactions WHERE direction = 'outbound' AND contact_phone = '+12025551402'`))
		require.Len(t, s.simCalls(key), 1)
	})
}

// postEvent delivers a signed platform event as the simulator would.
func (s *system) postEvent(ev cti.Event) answer {
	s.t.Helper()
	body, err := json.Marshal(ev)
	require.NoError(s.t, err)
	req, err := http.NewRequest(http.MethodPost, s.apiURL+"/v1/cti/events", bytes.NewReader(body))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.integration)
	req.Header.Set(cti.SignatureHeader, cti.Sign([]byte(ctiSecret), body, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	return answer{status: resp.StatusCode, body: raw.Bytes()}
}

// sendAtOnce sends the same keyed request n times concurrently and returns
// the statuses.
func (s *system) sendAtOnce(n int, method, path, token, key string, body any) []int {
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = s.send(method, path, token, key, body).status }()
	}
	wg.Wait()
	return statuses
}
