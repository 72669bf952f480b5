package cti

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/mail"
	"reflect"
	"slices"
	"strings"
	"time"
)

// EventType names an event the platform posts to casehub.
type EventType string

// Event types.
const (
	// EventIncomingCall: an inbound call is ready to be routed by casehub.
	EventIncomingCall EventType = "incoming_call"
	// EventIVRConnected: an inbound caller has entered the IVR.
	EventIVRConnected EventType = "ivr_connected"
	// EventCallAnswered: the customer answered an outbound call.
	EventCallAnswered EventType = "call_answered"
	// EventCallNoAnswer: an outbound call rang out unanswered.
	EventCallNoAnswer EventType = "call_no_answer"
	// EventCallBusy: the customer's line was busy.
	EventCallBusy EventType = "call_busy"
	// EventCallVoicemail: an answering machine or voicemail picked up.
	EventCallVoicemail EventType = "call_voicemail"
	// EventCallFailed: the platform could not place the call.
	EventCallFailed EventType = "call_failed"
	// EventAgentLegAnswered: the agent accepted an offer.
	EventAgentLegAnswered EventType = "agent_leg_answered"
	// EventCallerHungUp: the customer hung up.
	EventCallerHungUp EventType = "caller_hung_up"
	// EventCallEnded: a call leg is over; sent exactly once per leg.
	EventCallEnded EventType = "call_ended"
	// EventChatOffered: a customer started a chat.
	EventChatOffered EventType = "chat_offered"
	// EventChatMessage: a message was posted in a chat.
	EventChatMessage EventType = "chat_message"
	// EventChatEnded: a chat is over.
	EventChatEnded EventType = "chat_ended"
)

// EventTypes lists every event type, in documentation order.
var EventTypes = []EventType{
	EventIncomingCall, EventIVRConnected, EventCallAnswered, EventCallNoAnswer,
	EventCallBusy, EventCallVoicemail, EventCallFailed, EventAgentLegAnswered,
	EventCallerHungUp, EventCallEnded, EventChatOffered, EventChatMessage,
	EventChatEnded,
}

// Chat message senders.
const (
	SenderCustomer = "customer"
	SenderAgent    = "agent"
)

// Event is the envelope of everything the platform posts to casehub at
// POST /v1/cti/events. The envelope fields (ID, Type, OccurredAt, Context)
// are always present; which of the other fields are set depends on Type and
// is checked by ParseEvent.
type Event struct {
	// ID is unique per event; casehub uses it to discard repeated deliveries.
	ID         string    `json:"id"`
	Type       EventType `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	CallID     string    `json:"call_id,omitempty"`
	ChatID     string    `json:"chat_id,omitempty"`
	// Context is echoed from the command that created the call or leg.
	Context map[string]string `json:"context,omitempty"`

	// incoming_call, ivr_connected
	CallerNumber  string            `json:"caller_number,omitempty"`
	DialledNumber string            `json:"dialled_number,omitempty"`
	IVR           map[string]string `json:"ivr,omitempty"`
	CaseNumber    string            `json:"case_number,omitempty"`

	// incoming_call, ivr_connected, chat_offered
	Queue string `json:"queue,omitempty"`

	// call_failed
	Reason string `json:"reason,omitempty"`

	// agent_leg_answered; CustomerCallID is set when a voice call was offered.
	AgentID        string `json:"agent_id,omitempty"`
	CustomerCallID string `json:"customer_call_id,omitempty"`

	// call_ended
	StartedAt       *time.Time `json:"started_at,omitempty"`
	AnsweredAt      *time.Time `json:"answered_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	DurationSeconds *int       `json:"duration_seconds,omitempty"`

	// chat_offered
	CustomerEmail string `json:"customer_email,omitempty"`
	CustomerName  string `json:"customer_name,omitempty"`

	// chat_message: From is SenderCustomer or SenderAgent.
	From string `json:"from,omitempty"`
	Text string `json:"text,omitempty"`
}

// wireEvent mirrors Event with timestamps as strings so that ParseEvent can
// name the field holding a malformed time.
type wireEvent struct {
	ID              string            `json:"id"`
	Type            EventType         `json:"type"`
	OccurredAt      *string           `json:"occurred_at"`
	CallID          string            `json:"call_id"`
	ChatID          string            `json:"chat_id"`
	Context         map[string]string `json:"context"`
	CallerNumber    string            `json:"caller_number"`
	DialledNumber   string            `json:"dialled_number"`
	IVR             map[string]string `json:"ivr"`
	CaseNumber      string            `json:"case_number"`
	Queue           string            `json:"queue"`
	Reason          string            `json:"reason"`
	AgentID         string            `json:"agent_id"`
	CustomerCallID  string            `json:"customer_call_id"`
	StartedAt       *string           `json:"started_at"`
	AnsweredAt      *string           `json:"answered_at"`
	EndedAt         *string           `json:"ended_at"`
	DurationSeconds *int              `json:"duration_seconds"`
	CustomerEmail   string            `json:"customer_email"`
	CustomerName    string            `json:"customer_name"`
	From            string            `json:"from"`
	Text            string            `json:"text"`
}

// wireFields holds the JSON member names an event may have.
var wireFields = func() map[string]bool {
	t := reflect.TypeFor[wireEvent]()
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	return names
}()

// field is one optional payload field: its JSON name and whether the parsed
// event carries it.
type field struct {
	name    string
	present func(*Event) bool
}

var payloadFields = []field{
	{"call_id", func(e *Event) bool { return e.CallID != "" }},
	{"chat_id", func(e *Event) bool { return e.ChatID != "" }},
	{"caller_number", func(e *Event) bool { return e.CallerNumber != "" }},
	{"dialled_number", func(e *Event) bool { return e.DialledNumber != "" }},
	{"ivr", func(e *Event) bool { return e.IVR != nil }},
	{"case_number", func(e *Event) bool { return e.CaseNumber != "" }},
	{"queue", func(e *Event) bool { return e.Queue != "" }},
	{"reason", func(e *Event) bool { return e.Reason != "" }},
	{"agent_id", func(e *Event) bool { return e.AgentID != "" }},
	{"customer_call_id", func(e *Event) bool { return e.CustomerCallID != "" }},
	{"started_at", func(e *Event) bool { return e.StartedAt != nil }},
	{"answered_at", func(e *Event) bool { return e.AnsweredAt != nil }},
	{"ended_at", func(e *Event) bool { return e.EndedAt != nil }},
	{"duration_seconds", func(e *Event) bool { return e.DurationSeconds != nil }},
	{"customer_email", func(e *Event) bool { return e.CustomerEmail != "" }},
	{"customer_name", func(e *Event) bool { return e.CustomerName != "" }},
	{"from", func(e *Event) bool { return e.From != "" }},
	{"text", func(e *Event) bool { return e.Text != "" }},
}

// eventSpec lists, per type, the payload fields that must be present and
// those that may be present. Any other payload field is rejected.
type eventSpec struct {
	required []string
	optional []string
}

var inboundSpec = eventSpec{
	required: []string{"call_id", "caller_number", "dialled_number", "queue"},
	optional: []string{"ivr", "case_number"},
}

func callOnly(extra ...string) eventSpec {
	return eventSpec{required: append([]string{"call_id"}, extra...)}
}

var eventSpecs = map[EventType]eventSpec{
	EventIncomingCall:  inboundSpec,
	EventIVRConnected:  inboundSpec,
	EventCallAnswered:  callOnly(),
	EventCallNoAnswer:  callOnly(),
	EventCallBusy:      callOnly(),
	EventCallVoicemail: callOnly(),
	EventCallFailed:    callOnly("reason"),
	EventAgentLegAnswered: {
		required: []string{"call_id", "agent_id"},
		optional: []string{"chat_id", "customer_call_id"},
	},
	EventCallerHungUp: callOnly(),
	EventCallEnded: {
		required: []string{"call_id", "started_at", "ended_at", "duration_seconds"},
		optional: []string{"answered_at"},
	},
	EventChatOffered: {
		required: []string{"chat_id", "customer_email", "queue"},
		optional: []string{"customer_name"},
	},
	EventChatMessage: {required: []string{"chat_id", "from", "text"}},
	EventChatEnded:   {required: []string{"chat_id"}},
}

// MaxEventBytes is the largest event body ParseEvent accepts.
const MaxEventBytes = 1 << 20

// MaxEventIDBytes is the longest event id: it is a key in casehub's tables.
const MaxEventIDBytes = 200

// ParseEvent decodes and validates an event body. It is strict: unknown
// fields, trailing data, fields that do not belong to the event's type and
// missing required fields are rejected. Every failure is a *FieldError
// naming the offending field by its JSON name.
func ParseEvent(body []byte) (Event, error) {
	if len(body) > MaxEventBytes {
		return Event{}, &FieldError{Detail: fmt.Sprintf("body exceeds %d bytes", MaxEventBytes)}
	}
	// First pass: one JSON object, and only known member names. Checking
	// names here, rather than relying on the decoder's error text, names
	// the unknown field reliably.
	dec := json.NewDecoder(bytes.NewReader(body))
	var members map[string]json.RawMessage
	if err := dec.Decode(&members); err != nil {
		return Event{}, decodeFieldError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Event{}, &FieldError{Detail: "unexpected data after the JSON object"}
	}
	if members == nil {
		return Event{}, &FieldError{Detail: "body must be a JSON object"}
	}
	var unknown []string
	for name := range members {
		if !wireFields[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return Event{}, &FieldError{Field: unknown[0], Detail: "is not a known field"}
	}

	for _, name := range slices.Sorted(maps.Keys(members)) {
		var v any
		if json.Unmarshal(members[name], &v) == nil && holdsNUL(v) {
			// PostgreSQL text cannot hold U+0000: refuse it here, named,
			// rather than let a write fail and retry later.
			return Event{}, &FieldError{Field: name, Detail: "must not contain U+0000"}
		}
	}

	dec = json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var w wireEvent
	if err := dec.Decode(&w); err != nil {
		return Event{}, decodeFieldError(err)
	}

	ev := Event{
		ID: w.ID, Type: w.Type, CallID: w.CallID, ChatID: w.ChatID, Context: w.Context,
		CallerNumber: w.CallerNumber, DialledNumber: w.DialledNumber, IVR: w.IVR,
		CaseNumber: w.CaseNumber, Queue: w.Queue, Reason: w.Reason, AgentID: w.AgentID,
		CustomerCallID: w.CustomerCallID, DurationSeconds: w.DurationSeconds,
		CustomerEmail: w.CustomerEmail, CustomerName: w.CustomerName, From: w.From, Text: w.Text,
	}
	if ev.ID == "" {
		return Event{}, &FieldError{Field: "id", Detail: "is required"}
	}
	if len(ev.ID) > MaxEventIDBytes {
		return Event{}, &FieldError{Field: "id", Detail: fmt.Sprintf("must be at most %d bytes", MaxEventIDBytes)}
	}
	if ev.Type == "" {
		return Event{}, &FieldError{Field: "type", Detail: "is required"}
	}
	spec, ok := eventSpecs[ev.Type]
	if !ok {
		return Event{}, &FieldError{Field: "type", Detail: fmt.Sprintf("unknown event type %q", ev.Type)}
	}
	if w.OccurredAt == nil {
		return Event{}, &FieldError{Field: "occurred_at", Detail: "is required"}
	}
	var err error
	if ev.OccurredAt, err = parseTime("occurred_at", *w.OccurredAt); err != nil {
		return Event{}, err
	}
	for _, t := range []struct {
		name string
		src  *string
		dst  **time.Time
	}{
		{"started_at", w.StartedAt, &ev.StartedAt},
		{"answered_at", w.AnsweredAt, &ev.AnsweredAt},
		{"ended_at", w.EndedAt, &ev.EndedAt},
	} {
		if t.src == nil {
			continue
		}
		v, err := parseTime(t.name, *t.src)
		if err != nil {
			return Event{}, err
		}
		*t.dst = &v
	}

	if err := checkFields(&ev, spec); err != nil {
		return Event{}, err
	}
	if err := checkValues(&ev); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// Validate runs the same checks as ParseEvent on an event built in memory,
// for senders that want to catch a malformed event before posting it.
func (e Event) Validate() error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	_, err = ParseEvent(body)
	return err
}

func checkFields(ev *Event, spec eventSpec) error {
	allowed := make(map[string]bool, len(spec.required)+len(spec.optional))
	for _, n := range spec.optional {
		allowed[n] = true
	}
	present := make(map[string]bool, len(payloadFields))
	for _, f := range payloadFields {
		present[f.name] = f.present(ev)
	}
	for _, n := range spec.required {
		allowed[n] = true
		if !present[n] {
			return &FieldError{Field: n, Detail: fmt.Sprintf("is required for type %s", ev.Type)}
		}
	}
	for _, f := range payloadFields {
		if present[f.name] && !allowed[f.name] {
			return &FieldError{Field: f.name, Detail: fmt.Sprintf("is not allowed for type %s", ev.Type)}
		}
	}
	return nil
}

func checkValues(ev *Event) error {
	if ev.CallerNumber != "" && !IsE164(ev.CallerNumber) {
		return &FieldError{Field: "caller_number", Detail: "must be an E.164 number"}
	}
	if ev.DialledNumber != "" && !IsE164(ev.DialledNumber) {
		return &FieldError{Field: "dialled_number", Detail: "must be an E.164 number"}
	}
	if ev.CustomerEmail != "" {
		if a, err := mail.ParseAddress(ev.CustomerEmail); err != nil || a.Address != ev.CustomerEmail {
			return &FieldError{Field: "customer_email", Detail: "must be a bare email address"}
		}
	}
	if ev.From != "" && ev.From != SenderCustomer && ev.From != SenderAgent {
		return &FieldError{Field: "from", Detail: `must be "customer" or "agent"`}
	}
	if ev.DurationSeconds != nil && *ev.DurationSeconds < 0 {
		return &FieldError{Field: "duration_seconds", Detail: "must not be negative"}
	}
	if ev.StartedAt != nil && ev.EndedAt != nil && ev.EndedAt.Before(*ev.StartedAt) {
		return &FieldError{Field: "ended_at", Detail: "is before started_at"}
	}
	if ev.AnsweredAt != nil && ev.StartedAt != nil && ev.AnsweredAt.Before(*ev.StartedAt) {
		return &FieldError{Field: "answered_at", Detail: "is before started_at"}
	}
	if ev.AnsweredAt != nil && ev.EndedAt != nil && ev.EndedAt.Before(*ev.AnsweredAt) {
		return &FieldError{Field: "ended_at", Detail: "is before answered_at"}
	}
	return nil
}

func parseTime(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &FieldError{Field: name, Detail: "must be an RFC 3339 timestamp"}
	}
	return t, nil
}

// decodeFieldError turns an encoding/json error into a *FieldError, naming
// the field when the decoder reports one.
func decodeFieldError(err error) *FieldError {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		name, _, _ := strings.Cut(typeErr.Field, ".")
		return &FieldError{Field: name, Detail: "must be of JSON type " + jsonKind(typeErr.Type.Kind().String())}
	case errors.As(err, &typeErr):
		return &FieldError{Detail: "body must be a JSON object"}
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &FieldError{Detail: "malformed JSON"}
	}
	return &FieldError{Detail: "malformed JSON: " + err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "map", "struct":
		return "object"
	case "int", "int64":
		return "integer"
	default:
		return goKind
	}
}

// holdsNUL reports whether a decoded JSON value has U+0000 in a string or a
// member name anywhere inside it.
func holdsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		return slices.ContainsFunc(v, holdsNUL)
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}
