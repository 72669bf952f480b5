package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cti"
)

var ctiSecret = []byte("test-cti-secret")

func ctiEventBody(t *testing.T, ev cti.Event) string {
	t.Helper()
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	return string(b)
}

func hangUpEvent(callID string) cti.Event {
	return cti.Event{ID: "ev-" + uuid.NewString(), Type: cti.EventCallerHungUp, OccurredAt: time.Now().UTC(), CallID: callID}
}

func TestCTIEventSignatureAndRole(t *testing.T) {
	c := newClient(t, api.Deps{CTISecret: ctiSecret})
	integration := c.as(issue(t, auth.RoleIntegration, ""))
	body := ctiEventBody(t, hangUpEvent("call-unknown"))
	now := time.Now()

	tests := []struct {
		name      string
		client    *client
		signature string
		status    int
		detail    string
	}{
		{"no signature", integration, "", 401, "send the Casehub-Signature header"},
		{"malformed signature", integration, "v1=abc", 401, "malformed"},
		{"wrong secret", integration, cti.Sign([]byte("other"), []byte(body), now), 401, "does not match"},
		{"signed another body", integration, cti.Sign(ctiSecret, []byte(body+" "), now), 401, "does not match"},
		{"stale timestamp", integration, cti.Sign(ctiSecret, []byte(body), now.Add(-10*time.Minute)), 401, "replay window"},
		{"agent role", c.as(issue(t, auth.RoleAgent, "agent-1")), cti.Sign(ctiSecret, []byte(body), now), 403, "integration"},
		{"supervisor role", c.as(issue(t, auth.RoleSupervisor, "")), cti.Sign(ctiSecret, []byte(body), now), 403, "integration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.client.do(http.MethodPost, "/v1/cti/events", body, cti.SignatureHeader, tt.signature)
			require.Equal(t, tt.status, r.Code, r.Body.String())
			require.Contains(t, r.problem(t).Detail, tt.detail)
		})
	}
	// None of the refused deliveries was recorded.
	var n int
	require.NoError(t, st.DB().Get(&n, `SELECT count(*) FROM cti_events WHERE call_id = 'call-unknown'`))
	require.Zero(t, n)
}

func TestCTIEventMalformed(t *testing.T) {
	c := newClient(t, api.Deps{CTISecret: ctiSecret}).as(issue(t, auth.RoleIntegration, ""))
	for name, tc := range map[string]struct{ body, field string }{
		"missing caller number": {`{"id":"e1","type":"incoming_call","occurred_at":"2026-11-21T10:00:00Z","call_id":"c1","dialled_number":"+12025550100","queue":"support"}`, "caller_number"},
		"unknown type":          {`{"id":"e2","type":"fax_received","occurred_at":"2026-11-21T10:00:00Z"}`, "type"},
		"unknown field":         {`{"id":"e3","type":"caller_hung_up","occurred_at":"2026-11-21T10:00:00Z","call_id":"c1","mood":"angry"}`, "mood"},
		"bad time":              {`{"id":"e4","type":"caller_hung_up","occurred_at":"yesterday","call_id":"c1"}`, "occurred_at"},
	} {
		t.Run(name, func(t *testing.T) {
			r := c.do(http.MethodPost, "/v1/cti/events", tc.body, cti.SignatureHeader, cti.Sign(ctiSecret, []byte(tc.body), time.Now()))
			require.Equal(t, http.StatusUnprocessableEntity, r.Code, r.Body.String())
			require.Equal(t, tc.field, r.problem(t).Errors[0].Field)
		})
	}
	r := c.do(http.MethodPost, "/v1/cti/events", `{"id":`, cti.SignatureHeader, cti.Sign(ctiSecret, []byte(`{"id":`), time.Now()))
	require.Contains(t, []int{400, 422}, r.Code)
	r.problem(t)
}

func TestCTIEventForAnUnknownCallIsAnsweredAndRecordedOnce(t *testing.T) {
	c := newClient(t, api.Deps{CTISecret: ctiSecret}).as(issue(t, auth.RoleIntegration, ""))
	ev := hangUpEvent("call-" + uuid.NewString())
	body := ctiEventBody(t, ev)

	r := c.do(http.MethodPost, "/v1/cti/events", body, cti.SignatureHeader, cti.Sign(ctiSecret, []byte(body), time.Now()))
	require.Equal(t, http.StatusNotFound, r.Code)
	p := r.problem(t)
	require.Equal(t, "urn:casehub:problem:unknown-call", p.Type)
	require.Contains(t, p.Detail, ev.CallID)
	require.Contains(t, p.Detail, "recorded")

	rec, err := st.GetCTIEvent(t.Context(), ev.ID)
	require.NoError(t, err)
	require.Equal(t, "unknown_call", rec.Outcome)
	require.Equal(t, ev.CallID, rec.CallID)

	// The platform retries: acknowledged, not recorded again.
	r = c.do(http.MethodPost, "/v1/cti/events", body, cti.SignatureHeader, cti.Sign(ctiSecret, []byte(body), time.Now()))
	require.Equal(t, http.StatusOK, r.Code)
	var ans struct {
		Status    string
		Duplicate bool
	}
	r.decode(t, &ans)
	require.True(t, ans.Duplicate)
	require.Equal(t, "unknown_call", ans.Status)
	var n int
	require.NoError(t, st.DB().Get(&n, `SELECT count(*) FROM cti_events WHERE call_id = $1`, ev.CallID))
	require.Equal(t, 1, n)
}

func TestCTIEventsOffWithoutASecret(t *testing.T) {
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleIntegration, ""))
	body := ctiEventBody(t, hangUpEvent("c"))
	r := c.do(http.MethodPost, "/v1/cti/events", body, cti.SignatureHeader, cti.Sign(ctiSecret, []byte(body), time.Now()))
	require.Equal(t, http.StatusServiceUnavailable, r.Code)
	require.True(t, strings.Contains(r.problem(t).Detail, "not configured"))
}
