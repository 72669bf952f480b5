package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// traces counts, over every text, JSON and text-array column of every
// table (and stored API answers), the values that hold secret.
func traces(t *testing.T, secret string) map[string]int {
	t.Helper()
	ctx := context.Background()
	var cols []struct {
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
		Type   string `db:"data_type"`
	}
	require.NoError(t, st.DB().SelectContext(ctx, &cols, `
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb', 'ARRAY', 'bytea')
  AND table_name <> 'goose_db_version'`))
	require.NotEmpty(t, cols)
	found := map[string]int{}
	for _, c := range cols {
		expr := fmt.Sprintf("CAST(%q AS text)", c.Column)
		if c.Type == "bytea" {
			expr = fmt.Sprintf("encode(%q, 'escape')", c.Column)
		}
		var n int
		require.NoError(t, st.DB().GetContext(ctx, &n,
			fmt.Sprintf(`SELECT count(*) FROM %q WHERE strpos(lower(%s), lower($1)) > 0`, c.Table, expr), secret))
		if n > 0 {
			found[c.Table+"."+c.Column] = n
		}
	}
	return found
}

// Erasing a contact leaves none of its name, numbers or emails anywhere in
// PostgreSQL; its records keep their numbers, states and links.
func TestEraseContactLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	tag := uuid.NewString()[:8]
	name := "Erin Erasure " + tag
	phone := fmt.Sprintf("+1202555%04d", rand.IntN(10000))
	email := "erin." + tag + "@example.com"
	c, err := st.CreateContact(ctx, store.NewContact{Name: name, CommunicationOptions: []store.CommunicationOption{
		{Kind: store.OptionPhone, Value: phone}, {Kind: store.OptionEmail, Value: email}}})
	require.NoError(t, err)

	// A call from the contact: described, noted, logged, escalated, turned
	// into a case, called back; its raw events and a stored API answer.
	in := f.open(t, func(n *store.NewInteraction) {
		n.ContactID, n.ContactPhone, n.ContactEmail = &c.ID, phone, email
		n.ShortDescription, n.IVR = "Call from "+name, map[string]string{"account": phone}
		n.CallID = "call-" + tag
	})
	_, err = st.AddWorkNote(ctx, in.Number, f.agent, "Called back "+name+" on "+phone, "n-"+tag)
	require.NoError(t, err)
	require.NoError(t, st.AddChatMessage(ctx, in.Number, "evt-"+tag, store.SenderCustomer, "I am "+name+", write to "+email, time.Now()))
	require.NoError(t, st.RecordPhoneLog(ctx, store.PhoneLog{CallID: "call-" + tag, Interaction: in.Number, FromNumber: phone,
		ToNumber: "+12025550100", StartedAt: time.Now().Add(-time.Minute), EndedAt: time.Now(), DurationSeconds: 60}))
	inc, err := st.Escalate(ctx, store.NewEscalation{Interaction: in.Number, Kind: store.RelatedIncident, RequestID: "i-" + tag,
		ShortDescription: "Printer of " + name, Description: "Mail " + email, Transcript: "customer: I am " + name, Actor: f.agent})
	require.NoError(t, err)
	_, err = st.AddEscalationNote(ctx, store.RelatedIncident, inc.Number, f.agent, "Phoned "+phone, "e-"+tag)
	require.NoError(t, err)
	k, err := st.CreateCase(ctx, store.NewCase{Subject: "Case of " + name, Description: "Reach at " + phone, ContactID: c.ID, InteractionID: in.Number})
	require.NoError(t, err)
	_, err = st.RecordConsultation(ctx, store.NewConsultation{ID: uuid.New(), CaseNumber: k.Number, InteractionID: in.Number,
		AgentID: f.agent, Note: "Told " + name + " it ships Friday"})
	require.NoError(t, err)
	cbID, err := st.NextCallbackID(ctx)
	require.NoError(t, err)
	cb, _, err := st.CreateCallback(ctx, store.NewCallback{ID: cbID, WorkflowID: "callback-" + cbID, Queue: f.queue, Number: phone,
		Mode: store.CallbackAgentFirst, ExpiresAt: time.Now().Add(time.Hour), Reason: "asked by " + name, OriginInteraction: in.Number,
		MaxAttempts: 3})
	require.NoError(t, err)
	_, err = st.RecordCTIEvent(ctx, store.CTIEvent{ID: "evt-" + tag, Type: "incoming_call", CallID: "call-" + tag, Outcome: "started",
		Payload: json.RawMessage(`{"caller_number": "` + phone + `"}`)})
	require.NoError(t, err)
	_, err = st.DB().ExecContext(ctx, `INSERT INTO idempotency_keys (principal, key, method, path, request_hash, status, body)
		VALUES ('tok', $1, 'POST', '/v1/contacts', '\x00', 201, $2)`, "k-"+tag, []byte(`{"name": "`+name+`", "communication_options": [{"kind": "email", "value": "`+email+`"}]}`))
	require.NoError(t, err)
	// What a desk was told: the offer with the caller, the chat live.
	_, err = st.DB().ExecContext(ctx, `SELECT casehub_event($1, true, 'offer.presented', jsonb_build_object('interaction', $2::text, 'caller', $3::text)),
		casehub_event($1, false, 'chat.message', jsonb_build_object('interaction', $2::text, 'text', $4::text))`,
		f.agent, in.Number, phone, "I am "+name)
	require.NoError(t, err)

	// Open work is not erased from under its process.
	_, err = st.EraseContact(ctx, c.ID)
	require.ErrorIs(t, err, store.ErrStillActive)
	_, err = st.ChangeInteraction(ctx, store.InteractionChange{Number: in.Number, Version: 2, State: store.InteractionClosedComplete, Actor: f.agent})
	require.NoError(t, err)
	_, err = st.EraseContact(ctx, c.ID)
	require.ErrorIs(t, err, store.ErrStillActive, "the callback is still pending")
	_, err = st.ChangeCallback(ctx, store.CallbackChange{ID: cb.ID, Version: 2, State: store.CallbackCancelled, Outcome: "cancelled",
		MaxAttempts: cb.MaxAttempts, ExpiresAt: cb.ExpiresAt})
	require.NoError(t, err)

	for _, s := range []string{name, phone, email} {
		require.NotEmpty(t, traces(t, s), "%q is stored before the erasure", s)
	}
	e, err := st.EraseContact(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), e.Contact)
	require.Equal(t, int64(2), e.Options)
	require.Equal(t, int64(1), e.Interactions)
	require.Equal(t, int64(1), e.Incidents)
	require.Equal(t, int64(1), e.Cases)
	require.Equal(t, int64(1), e.Callbacks)
	require.GreaterOrEqual(t, e.CTIEvents, int64(1))
	require.GreaterOrEqual(t, e.IdempotencyKeys, int64(1))
	require.GreaterOrEqual(t, e.LiveEvents, int64(2))
	for _, s := range []string{name, phone, email} {
		require.Empty(t, traces(t, s), "%q is still stored", s)
	}

	// The records keep their numbers, states and links.
	got, err := st.GetInteraction(ctx, in.Number)
	require.NoError(t, err)
	require.Equal(t, store.InteractionClosedComplete, got.State)
	require.Equal(t, &c.ID, got.ContactID)
	require.Equal(t, "Call from "+store.Erased, got.ShortDescription)
	after, err := st.GetContact(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, store.Erased, after.Name)
	require.Empty(t, after.CommunicationOptions)
	again, err := st.EraseContact(ctx, c.ID)
	require.NoError(t, err)
	require.Zero(t, again.Options+again.ChatMessages+again.CTIEvents, "erasing twice changes nothing more")
}

// Erasing one contact leaves other people's data alone: a number another
// contact also holds stays on that contact's records, a short name is
// erased as a whole word in the contact's own texts only, and raw events
// and stored answers go only for values that are the contact's alone.
func TestEraseContactSparesOthers(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	tag := uuid.NewString()[:8]
	switchboard := fmt.Sprintf("+1202555%04d", rand.IntN(10000))
	al, err := st.CreateContact(ctx, store.NewContact{Name: "Al", CommunicationOptions: []store.CommunicationOption{
		{Kind: store.OptionPhone, Value: switchboard}, {Kind: store.OptionEmail, Value: "al." + tag + "@example.com"}}})
	require.NoError(t, err)
	bea, err := st.CreateContact(ctx, store.NewContact{Name: "Bea " + tag, CommunicationOptions: []store.CommunicationOption{
		{Kind: store.OptionPhone, Value: switchboard}}})
	require.NoError(t, err)

	alsCall := f.open(t, func(n *store.NewInteraction) {
		n.ContactID, n.ContactPhone, n.ShortDescription = &al.ID, switchboard, "Al asked about normal billing"
	})
	beasCall := f.open(t, func(n *store.NewInteraction) {
		n.ContactID, n.ContactPhone, n.ShortDescription = &bea.ID, switchboard, "Bea asked Al and Albert"
	})
	for _, in := range []store.Interaction{alsCall, beasCall} {
		_, err := st.ChangeInteraction(ctx, store.InteractionChange{Number: in.Number, Version: 2, State: store.InteractionClosedComplete})
		require.NoError(t, err)
	}
	_, err = st.RecordCTIEvent(ctx, store.CTIEvent{ID: "evt-sw-" + tag, Type: "incoming_call", CallID: "call-sw-" + tag,
		Outcome: "started", Payload: json.RawMessage(`{"caller_number": "` + switchboard + `", "note": "Al"}`)})
	require.NoError(t, err)

	_, err = st.EraseContact(ctx, al.ID)
	require.NoError(t, err)
	got, err := st.GetInteraction(ctx, alsCall.Number)
	require.NoError(t, err)
	require.Equal(t, "[erased] asked about normal billing", got.ShortDescription, "the name as a word, not inside others")
	require.Nil(t, got.ContactPhone)
	other, err := st.GetInteraction(ctx, beasCall.Number)
	require.NoError(t, err)
	require.Equal(t, "Bea asked Al and Albert", other.ShortDescription, "another contact's record is not touched")
	require.Equal(t, switchboard, *other.ContactPhone)
	_, err = st.GetCTIEvent(ctx, "evt-sw-"+tag)
	require.NoError(t, err, "an event with a number others hold stays")
	b, err := st.GetContact(ctx, bea.ID)
	require.NoError(t, err)
	require.Equal(t, switchboard, b.Phone())
}
