package cti_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
)

// event builds an event body from the envelope plus extra payload JSON.
func event(typ, payload string) string {
	body := `{"id":"evt_1","type":"` + typ + `","occurred_at":"2026-03-01T10:00:00Z","context":{"callback_id":"cb_1"}`
	if payload != "" {
		body += "," + payload
	}
	return body + "}"
}

const (
	inboundPayload = `"call_id":"call_1","caller_number":"+15551234567","dialled_number":"+15550000000","queue":"support","ivr":{"lang":"en"},"case_number":"CS-000123"`
	endedPayload   = `"call_id":"call_1","started_at":"2026-03-01T09:58:00Z","answered_at":"2026-03-01T09:58:05Z","ended_at":"2026-03-01T10:00:00Z","duration_seconds":120`
)

func TestParseEventValid(t *testing.T) {
	tests := []struct {
		body  string
		check func(t *testing.T, ev cti.Event)
	}{
		{event("incoming_call", inboundPayload), func(t *testing.T, ev cti.Event) {
			require.Equal(t, "+15551234567", ev.CallerNumber)
			require.Equal(t, "+15550000000", ev.DialledNumber)
			require.Equal(t, "support", ev.Queue)
			require.Equal(t, map[string]string{"lang": "en"}, ev.IVR)
			require.Equal(t, "CS-000123", ev.CaseNumber)
		}},
		{event("incoming_call", `"call_id":"call_1","caller_number":"+15551234567","dialled_number":"+15550000000","queue":"support"`), func(t *testing.T, ev cti.Event) {
			require.Nil(t, ev.IVR)
			require.Empty(t, ev.CaseNumber)
		}},
		{event("ivr_connected", inboundPayload), func(t *testing.T, ev cti.Event) {
			require.Equal(t, cti.EventIVRConnected, ev.Type)
			require.Equal(t, "CS-000123", ev.CaseNumber)
		}},
		{event("call_answered", `"call_id":"call_1"`), nil},
		{event("call_no_answer", `"call_id":"call_1"`), nil},
		{event("call_busy", `"call_id":"call_1"`), nil},
		{event("call_voicemail", `"call_id":"call_1"`), nil},
		{event("call_failed", `"call_id":"call_1","reason":"invalid_number"`), func(t *testing.T, ev cti.Event) {
			require.Equal(t, "invalid_number", ev.Reason)
		}},
		{event("agent_leg_answered", `"call_id":"call_2","agent_id":"agent_7","customer_call_id":"call_1"`), func(t *testing.T, ev cti.Event) {
			require.Equal(t, "agent_7", ev.AgentID)
			require.Equal(t, "call_1", ev.CustomerCallID)
		}},
		{event("agent_leg_answered", `"call_id":"call_2","agent_id":"agent_7","chat_id":"chat_1"`), func(t *testing.T, ev cti.Event) {
			require.Equal(t, "chat_1", ev.ChatID)
		}},
		{event("caller_hung_up", `"call_id":"call_1"`), nil},
		{event("call_ended", endedPayload), func(t *testing.T, ev cti.Event) {
			require.Equal(t, time.Date(2026, 3, 1, 9, 58, 0, 0, time.UTC), *ev.StartedAt)
			require.Equal(t, time.Date(2026, 3, 1, 9, 58, 5, 0, time.UTC), *ev.AnsweredAt)
			require.Equal(t, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), *ev.EndedAt)
			require.Equal(t, 120, *ev.DurationSeconds)
		}},
		{event("call_ended", `"call_id":"call_1","started_at":"2026-03-01T09:58:00Z","ended_at":"2026-03-01T09:58:00Z","duration_seconds":0`), func(t *testing.T, ev cti.Event) {
			require.Nil(t, ev.AnsweredAt)
			require.Equal(t, 0, *ev.DurationSeconds)
		}},
		{event("chat_offered", `"chat_id":"chat_1","customer_email":"ann@example.com","customer_name":"Ann","queue":"support"`), func(t *testing.T, ev cti.Event) {
			require.Equal(t, "ann@example.com", ev.CustomerEmail)
			require.Equal(t, "Ann", ev.CustomerName)
		}},
		{event("chat_message", `"chat_id":"chat_1","from":"customer","text":"hello"`), func(t *testing.T, ev cti.Event) {
			require.Equal(t, cti.SenderCustomer, ev.From)
			require.Equal(t, "hello", ev.Text)
		}},
		{event("chat_message", `"chat_id":"chat_1","from":"agent","text":"hi, how can I help?"`), nil},
		{event("chat_ended", `"chat_id":"chat_1"`), nil},
	}
	seen := map[cti.EventType]bool{}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%d", i), func(t *testing.T) {
			ev, err := cti.ParseEvent([]byte(tc.body))
			require.NoError(t, err)
			require.Equal(t, "evt_1", ev.ID)
			require.Equal(t, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), ev.OccurredAt)
			require.Equal(t, map[string]string{"callback_id": "cb_1"}, ev.Context)
			seen[ev.Type] = true
			if tc.check != nil {
				tc.check(t, ev)
			}

			// Encoding the parsed event and parsing it again gives the same event.
			again, err := json.Marshal(ev)
			require.NoError(t, err)
			ev2, err := cti.ParseEvent(again)
			require.NoError(t, err)
			require.Equal(t, ev, ev2)
			require.NoError(t, ev.Validate())
		})
	}
	for _, typ := range cti.EventTypes {
		require.True(t, seen[typ], "no valid example for %s", typ)
	}
}

func TestParseEventInvalid(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"not JSON", `{"id":`, ""},
		{"empty body", ``, ""},
		{"JSON array", `[]`, ""},
		{"trailing data", event("chat_ended", `"chat_id":"c"`) + `{}`, ""},
		{"unknown field", event("chat_ended", `"chat_id":"c","colour":"red"`), "colour"},
		{"wrong JSON type", event("call_ended", `"call_id":"c","started_at":"2026-03-01T09:58:00Z","ended_at":"2026-03-01T10:00:00Z","duration_seconds":"120"`), "duration_seconds"},
		{"ivr value not a string", event("incoming_call", `"call_id":"call_1","caller_number":"+15551234567","dialled_number":"+15550000000","queue":"q","ivr":{"lang":1}`), "ivr"},
		{"missing id", `{"type":"chat_ended","occurred_at":"2026-03-01T10:00:00Z","chat_id":"c"}`, "id"},
		{"id too long", `{"id":"` + strings.Repeat("e", 201) + `","type":"chat_ended","occurred_at":"2026-03-01T10:00:00Z","chat_id":"c"}`, "id"},
		{"missing type", `{"id":"e","occurred_at":"2026-03-01T10:00:00Z","chat_id":"c"}`, "type"},
		{"unknown type", event("call_exploded", `"call_id":"c"`), "type"},
		{"missing occurred_at", `{"id":"e","type":"chat_ended","chat_id":"c"}`, "occurred_at"},
		{"bad occurred_at", `{"id":"e","type":"chat_ended","occurred_at":"yesterday","chat_id":"c"}`, "occurred_at"},
		{"incoming_call without caller_number", event("incoming_call", `"call_id":"call_1","dialled_number":"+15550000000","queue":"q"`), "caller_number"},
		{"incoming_call without dialled_number", event("incoming_call", `"call_id":"call_1","caller_number":"+15551234567","queue":"q"`), "dialled_number"},
		{"incoming_call without queue", event("incoming_call", `"call_id":"call_1","caller_number":"+15551234567","dialled_number":"+15550000000"`), "queue"},
		{"incoming_call without call_id", event("incoming_call", `"caller_number":"+15551234567","dialled_number":"+15550000000","queue":"q"`), "call_id"},
		{"incoming_call caller_number not E.164", event("incoming_call", `"call_id":"call_1","caller_number":"5551234567","dialled_number":"+15550000000","queue":"q"`), "caller_number"},
		{"ivr_connected without queue", event("ivr_connected", `"call_id":"call_1","caller_number":"+15551234567","dialled_number":"+15550000000"`), "queue"},
		{"call_answered without call_id", event("call_answered", ""), "call_id"},
		{"call_no_answer without call_id", event("call_no_answer", ""), "call_id"},
		{"call_busy without call_id", event("call_busy", ""), "call_id"},
		{"call_voicemail without call_id", event("call_voicemail", ""), "call_id"},
		{"call_failed without reason", event("call_failed", `"call_id":"c"`), "reason"},
		{"agent_leg_answered without agent_id", event("agent_leg_answered", `"call_id":"c"`), "agent_id"},
		{"caller_hung_up without call_id", event("caller_hung_up", `"chat_id":"c"`), "call_id"},
		{"call_ended without started_at", event("call_ended", `"call_id":"c","ended_at":"2026-03-01T10:00:00Z","duration_seconds":1`), "started_at"},
		{"call_ended without ended_at", event("call_ended", `"call_id":"c","started_at":"2026-03-01T10:00:00Z","duration_seconds":1`), "ended_at"},
		{"call_ended without duration_seconds", event("call_ended", `"call_id":"c","started_at":"2026-03-01T10:00:00Z","ended_at":"2026-03-01T10:00:00Z"`), "duration_seconds"},
		{"call_ended negative duration", event("call_ended", `"call_id":"c","started_at":"2026-03-01T10:00:00Z","ended_at":"2026-03-01T10:00:00Z","duration_seconds":-1`), "duration_seconds"},
		{"call_ended ends before it starts", event("call_ended", `"call_id":"c","started_at":"2026-03-01T10:00:00Z","ended_at":"2026-03-01T09:00:00Z","duration_seconds":0`), "ended_at"},
		{"call_ended bad answered_at", event("call_ended", `"call_id":"c","started_at":"2026-03-01T10:00:00Z","answered_at":"soon","ended_at":"2026-03-01T10:00:00Z","duration_seconds":0`), "answered_at"},
		{"chat_offered without customer_email", event("chat_offered", `"chat_id":"c","queue":"q"`), "customer_email"},
		{"chat_offered bad customer_email", event("chat_offered", `"chat_id":"c","queue":"q","customer_email":"Ann <ann@example.com>"`), "customer_email"},
		{"chat_offered without queue", event("chat_offered", `"chat_id":"c","customer_email":"ann@example.com"`), "queue"},
		{"chat_message without text", event("chat_message", `"chat_id":"c","from":"customer"`), "text"},
		{"chat_message without from", event("chat_message", `"chat_id":"c","text":"hi"`), "from"},
		{"chat_message bad from", event("chat_message", `"chat_id":"c","from":"bot","text":"hi"`), "from"},
		{"chat_ended without chat_id", event("chat_ended", ""), "chat_id"},
		{"field of another type", event("call_answered", `"call_id":"c","text":"hello"`), "text"},
		{"chat_id on a voice event", event("call_busy", `"call_id":"c","chat_id":"x"`), "chat_id"},
		{"NUL in chat text", event("chat_message", `"chat_id":"c","from":"customer","text":"hi\u0000there"`), "text"},
		{"NUL in an ivr value", event("incoming_call", `"call_id":"call_1","caller_number":"+15551234567","dialled_number":"+15550000000","queue":"q","ivr":{"lang":"en\u0000"}`), "ivr"},
		{"NUL in an ivr key", event("incoming_call", `"call_id":"call_1","caller_number":"+15551234567","dialled_number":"+15550000000","queue":"q","ivr":{"la\u0000ng":"en"}`), "ivr"},
		{"NUL in the event id", `{"id":"e\u0000","type":"chat_ended","occurred_at":"2026-03-01T10:00:00Z","chat_id":"c"}`, "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cti.ParseEvent([]byte(tc.body))
			require.Error(t, err)
			fe, ok := err.(*cti.FieldError)
			require.True(t, ok, "want *cti.FieldError, got %T: %v", err, err)
			require.Equal(t, tc.field, fe.Field, "detail: %s", fe.Detail)
			require.NotEmpty(t, fe.Detail)
		})
	}
}

func TestParseEventRejectsOversizedBody(t *testing.T) {
	body := event("chat_message", `"chat_id":"c","from":"customer","text":"`+strings.Repeat("a", cti.MaxEventBytes)+`"`)
	_, err := cti.ParseEvent([]byte(body))
	var fe *cti.FieldError
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe.Detail, "exceeds")
}
