package api_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

// A queue's callback settings are checked when the queue is saved, so a typo
// is a 422 naming the field instead of a silent fall-back to the defaults.
func TestPutQueueRefusesBadCallbackSettings(t *testing.T) {
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleSupervisor, ""))
	for _, tc := range []struct {
		name, callbacks, field string
	}{
		{"unknown setting", `{"max_atempts": 3}`, "settings.callbacks.max_atempts"},
		{"unknown mode", `{"default_mode": "agent-first"}`, "settings.callbacks.default_mode"},
		{"unknown inbound action", `{"on_inbound_call": "drop"}`, "settings.callbacks.on_inbound_call"},
		{"negative attempts", `{"max_attempts": -1}`, "settings.callbacks.max_attempts"},
		{"too many attempts", `{"max_attempts": 21}`, "settings.callbacks.max_attempts"},
		{"interval as text", `{"retry_interval_seconds": "600"}`, "settings.callbacks.retry_interval_seconds"},
		{"not an object", `[1, 2]`, "settings.callbacks"},
		{"zone unknown", `{"business_hours": {"time_zone": "Mars/Olympus", "windows": [{"days": ["mon"], "open": "09:00", "close": "17:00"}]}}`, "settings.callbacks.business_hours.time_zone"},
		{"zone of the machine", `{"business_hours": {"time_zone": "Local", "windows": [{"days": ["mon"], "open": "09:00", "close": "17:00"}]}}`, "settings.callbacks.business_hours.time_zone"},
		{"no windows", `{"business_hours": {"time_zone": "Europe/Berlin", "windows": []}}`, "settings.callbacks.business_hours.windows"},
		{"closes before it opens", `{"business_hours": {"time_zone": "Europe/Berlin", "windows": [{"days": ["mon"], "open": "17:00", "close": "09:00"}]}}`, "settings.callbacks.business_hours.windows[0]"},
		{"no such day", `{"business_hours": {"time_zone": "Europe/Berlin", "windows": [{"days": ["monday"], "open": "09:00", "close": "17:00"}]}}`, "settings.callbacks.business_hours.windows[0].days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "q-" + uuid.NewString()[:8]
			r := c.do(http.MethodPut, "/v1/queues/"+name, `{"settings": {"callbacks": `+tc.callbacks+`}}`)
			require.Equal(t, http.StatusUnprocessableEntity, r.Code, r.Body.String())
			p := r.problem(t)
			require.Len(t, p.Errors, 1, r.Body.String())
			require.Equal(t, tc.field, p.Errors[0].Field)
			_, err := st.GetQueue(context.Background(), name)
			require.True(t, errors.Is(err, store.ErrNotFound), "a refused queue must not be written: %v", err)
		})
	}

	t.Run("good settings are saved as sent", func(t *testing.T) {
		name := "q-" + uuid.NewString()[:8]
		r := c.do(http.MethodPut, "/v1/queues/"+name, `{"settings": {"callbacks": {"default_mode": "agent_first", "max_attempts": 5,
			"business_hours": {"time_zone": "America/New_York", "windows": [{"days": ["mon", "fri"], "open": "08:30", "close": "24:00"}]}}, "other": 1}}`)
		require.Equal(t, http.StatusOK, r.Code, r.Body.String())
		q, err := st.GetQueue(context.Background(), name)
		require.NoError(t, err)
		require.JSONEq(t, `{"callbacks": {"default_mode": "agent_first", "max_attempts": 5,
			"business_hours": {"time_zone": "America/New_York", "windows": [{"days": ["mon", "fri"], "open": "08:30", "close": "24:00"}]}}, "other": 1}`, string(q.Settings))
	})
}

// What a rejected offer and one not picked up do are queue settings, both
// reoffer unless set; another value is a 422 naming the field.
func TestQueueOnRejectAndOnTimeout(t *testing.T) {
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleSupervisor, ""))
	name := "q-" + uuid.NewString()[:8]
	var q store.Queue
	r := c.do(http.MethodPut, "/v1/queues/"+name, `{}`)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	r.decode(t, &q)
	require.Equal(t, store.OnRejectReoffer, q.OnReject)
	require.Equal(t, store.OnRejectReoffer, q.OnTimeout)

	r = c.do(http.MethodPut, "/v1/queues/"+name, `{"on_reject": "close", "on_timeout": "close"}`)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	r.decode(t, &q)
	require.Equal(t, store.OnRejectClose, q.OnReject)
	require.Equal(t, store.OnRejectClose, q.OnTimeout)

	r = c.do(http.MethodPut, "/v1/queues/"+name, `{"on_timeout": "drop"}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.Code, r.Body.String())
	require.Equal(t, "on_timeout", r.problem(t).Errors[0].Field)
	got, err := st.GetQueue(context.Background(), name)
	require.NoError(t, err)
	require.Equal(t, store.OnRejectClose, got.OnTimeout, "a refused change writes nothing")
}

// The service-level target must be a number of seconds: the metrics read it.
func TestPutQueueRefusesBadServiceLevel(t *testing.T) {
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleSupervisor, ""))
	for _, tc := range []struct {
		name, value string
		status      int
	}{
		{"text", `"20"`, http.StatusUnprocessableEntity},
		{"zero", `0`, http.StatusUnprocessableEntity},
		{"over a day", `86401`, http.StatusUnprocessableEntity},
		{"a number", `45.5`, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "q-" + uuid.NewString()[:8]
			r := c.do(http.MethodPut, "/v1/queues/"+name, `{"settings": {"service_level_seconds": `+tc.value+`}}`)
			require.Equal(t, tc.status, r.Code, r.Body.String())
			if tc.status == http.StatusOK {
				return
			}
			p := r.problem(t)
			require.Equal(t, "settings.service_level_seconds", p.Errors[0].Field)
			_, err := st.GetQueue(context.Background(), name)
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	}
}
