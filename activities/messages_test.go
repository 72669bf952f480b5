package activities

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/routing"
	"github.com/casehub/casehub/store"
)

// TestConversionsCarryEveryField converts filled values between the message
// types and the store's rows and checks that every field of the message
// type arrives: a field added to a message type but forgotten in its
// conversion fails here.
func TestConversionsCarryEveryField(t *testing.T) {
	for _, c := range []struct {
		from    any
		convert func(any) any
	}{
		// To the store.
		{NewCase{}, func(v any) any { return v.(NewCase).toStore() }},
		{NewConsultation{}, func(v any) any { return v.(NewConsultation).toStore() }},
		{NewInteraction{}, func(v any) any { return v.(NewInteraction).toStore() }},
		{InteractionChange{}, func(v any) any { return v.(InteractionChange).toStore() }},
		{PhoneLog{}, func(v any) any { return v.(PhoneLog).toStore() }},
		{NewEscalation{}, func(v any) any { return v.(NewEscalation).toStore() }},
		{CallbackChange{}, func(v any) any { return v.(CallbackChange).toStore() }},
		{CallbackAttempt{}, func(v any) any { return v.(CallbackAttempt).toStore() }},
		{NewWorkItem{}, func(v any) any { return v.(NewWorkItem).toStore() }},
		{RecordChange{}, func(v any) any { r := v.(RecordChange); return r.toRouting() }},
		{Transfer{}, func(v any) any { return v.(Transfer).toStore("request") }},
		// From the store and routing.
		{store.Contact{}, func(v any) any { return contactOf(v.(store.Contact)) }},
		{store.Case{}, func(v any) any { return caseOf(v.(store.Case)) }},
		{store.Consultation{}, func(v any) any { return consultationOf(v.(store.Consultation)) }},
		{store.Interaction{}, func(v any) any { return interactionOf(v.(store.Interaction)) }},
		{store.WorkNote{}, func(v any) any { return workNoteOf(v.(store.WorkNote)) }},
		{store.Queue{}, func(v any) any { return queueOf(v.(store.Queue)) }},
		{store.FinishedItem{}, func(v any) any { return finishedItemOf(v.(store.FinishedItem)) }},
		{store.Expired{}, func(v any) any { return expiredOf(v.(store.Expired)) }},
		{store.SelfCheck{}, func(v any) any { return selfCheckOf(v.(store.SelfCheck)) }},
		{routing.Presented{}, func(v any) any { return presentedOf(v.(routing.Presented)) }},
		{routing.Accepted{}, func(v any) any { return acceptedOf(v.(routing.Accepted)) }},
		{routing.WrapUp{}, func(v any) any { return wrapUpOf(v.(routing.WrapUp)) }},
		{routing.Swept{}, func(v any) any { return sweptOf(v.(routing.Swept)) }},
	} {
		from := filled(reflect.TypeOf(c.from))
		to := reflect.ValueOf(c.convert(from.Interface()))
		msg, row := to, from // compare the message type's fields
		if reflect.TypeOf(c.from).PkgPath() == "github.com/casehub/casehub/activities" {
			msg, row = from, to
		}
		for i := range msg.NumField() {
			name := msg.Type().Field(i).Name
			got := row.FieldByName(name)
			require.True(t, got.IsValid(), "%s.%s: no such field in %s", msg.Type(), name, row.Type())
			require.JSONEq(t, asJSON(t, msg.Field(i)), asJSON(t, got), "%s.%s", msg.Type(), name)
		}
	}
}

func asJSON(t *testing.T, v reflect.Value) string {
	t.Helper()
	b, err := json.Marshal(v.Interface())
	require.NoError(t, err)
	return string(b)
}

// filled is a value of t with every exported field set (strings to the
// field's name, numbers to 1, one element in slices and maps).
func filled(t reflect.Type) reflect.Value { return fill(t, "") }

func fill(t reflect.Type, name string) reflect.Value {
	v := reflect.New(t).Elem()
	switch {
	case t == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		return v
	case t == reflect.TypeFor[json.RawMessage]():
		v.SetBytes([]byte(`{"raw":"message"}`))
		return v
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint8:
		v.SetUint(1)
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		p.Elem().Set(fill(t.Elem(), name))
		v.Set(p)
	case reflect.Slice:
		v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), fill(t.Elem(), name)))
	case reflect.Array:
		for i := range t.Len() {
			v.Index(i).Set(fill(t.Elem(), name))
		}
	case reflect.Map:
		m := reflect.MakeMap(t)
		m.SetMapIndex(fill(t.Key(), "key"), fill(t.Elem(), name))
		v.Set(m)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				v.Field(i).Set(fill(f.Type, f.Name))
			}
		}
	}
	return v
}

// The open step completes its present and ring templates with the offer it
// booked: the record change names the offer's agent, and the ring is keyed
// by the offer, for its agent and queue; the templates are left as they
// were, for a step run again.
func TestOpenPresentCompletesItsTemplatesWithTheOffer(t *testing.T) {
	p := OpenPresent{
		Record: InteractionChange{Number: "IMS0000001", Version: 2, State: "pending_acceptance", Actor: "routing", Reason: "offered to "},
		Ring: &RingRequest{WorkflowID: "interaction-IMS0000001",
			Offer: cti.OfferRequest{Channel: cti.ChannelVoice, CallID: "call-1", Context: map[string]string{"workflow_id": "interaction-IMS0000001"}}},
	}
	o := Offer{ID: "offer-item-1-1", ItemID: "item-1", AgentID: "ann", WorkflowID: "interaction-IMS0000001", Queue: "support", Channel: "voice"}

	c := p.change(o.AgentID)
	require.Equal(t, "offered to ann", c.Reason)
	require.Equal(t, "ann", *c.AgentID)
	require.Equal(t, 2, c.Version)
	require.Equal(t, "pending_acceptance", c.State)

	r := p.ring(o)
	require.Equal(t, "offer-item-1-1", r.Offer.IdempotencyKey)
	require.Equal(t, "ann", r.Offer.AgentID)
	require.Equal(t, "support", r.Offer.Queue)
	require.Equal(t, "call-1", r.Offer.CallID)
	require.Equal(t, "interaction-IMS0000001", r.WorkflowID)

	require.Nil(t, p.Record.AgentID, "the template is not changed")
	require.Equal(t, "offered to ", p.Record.Reason)
	require.Empty(t, p.Ring.Offer.IdempotencyKey)
}
