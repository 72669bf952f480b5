package cti_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
)

func TestRequestValidate(t *testing.T) {
	place := cti.PlaceCallRequest{IdempotencyKey: "k", To: "+15551234567", From: "+15550000000", Queue: "support"}
	offerVoice := cti.OfferRequest{IdempotencyKey: "k", CallID: "call_1", AgentID: "a1", Channel: cti.ChannelVoice}
	offerChat := cti.OfferRequest{IdempotencyKey: "k", ChatID: "chat_1", AgentID: "a1", Channel: cti.ChannelChat}

	tests := []struct {
		name  string
		req   interface{ Validate() error }
		field string // "" means valid
	}{
		{"place call ok", place, ""},
		{"place call no key", with(place, func(r *cti.PlaceCallRequest) { r.IdempotencyKey = "" }), "idempotency_key"},
		{"place call no to", with(place, func(r *cti.PlaceCallRequest) { r.To = "" }), "to"},
		{"place call to not E.164", with(place, func(r *cti.PlaceCallRequest) { r.To = "555-1234" }), "to"},
		{"place call from not E.164", with(place, func(r *cti.PlaceCallRequest) { r.From = "+0123456789" }), "from"},
		{"place call no queue", with(place, func(r *cti.PlaceCallRequest) { r.Queue = "" }), "queue"},
		{"offer voice ok", offerVoice, ""},
		{"offer chat ok", offerChat, ""},
		{"offer no key", with(offerVoice, func(r *cti.OfferRequest) { r.IdempotencyKey = "" }), "idempotency_key"},
		{"offer no agent", with(offerVoice, func(r *cti.OfferRequest) { r.AgentID = "" }), "agent_id"},
		{"offer no channel", with(offerVoice, func(r *cti.OfferRequest) { r.Channel = "" }), "channel"},
		{"offer bad channel", with(offerVoice, func(r *cti.OfferRequest) { r.Channel = "fax" }), "channel"},
		{"offer voice without call", with(offerVoice, func(r *cti.OfferRequest) { r.CallID = "" }), "call_id"},
		{"offer voice with chat", with(offerVoice, func(r *cti.OfferRequest) { r.ChatID = "chat_1" }), "chat_id"},
		{"offer chat without chat", with(offerChat, func(r *cti.OfferRequest) { r.ChatID = "" }), "chat_id"},
		{"offer chat with call", with(offerChat, func(r *cti.OfferRequest) { r.CallID = "call_1" }), "call_id"},
		{"bridge ok", cti.BridgeRequest{IdempotencyKey: "k", CustomerCallID: "c1", AgentCallID: "c2"}, ""},
		{"bridge no key", cti.BridgeRequest{CustomerCallID: "c1", AgentCallID: "c2"}, "idempotency_key"},
		{"bridge no customer", cti.BridgeRequest{IdempotencyKey: "k", AgentCallID: "c2"}, "customer_call_id"},
		{"bridge no agent", cti.BridgeRequest{IdempotencyKey: "k", CustomerCallID: "c1"}, "agent_call_id"},
		{"bridge to itself", cti.BridgeRequest{IdempotencyKey: "k", CustomerCallID: "c1", AgentCallID: "c1"}, "agent_call_id"},
		{"transfer to agent ok", cti.TransferRequest{IdempotencyKey: "k", CallID: "c1", ToAgentID: "a2"}, ""},
		{"transfer to queue ok", cti.TransferRequest{IdempotencyKey: "k", CallID: "c1", ToQueue: "billing"}, ""},
		{"transfer nowhere", cti.TransferRequest{IdempotencyKey: "k", CallID: "c1"}, "to_agent_id"},
		{"transfer to both", cti.TransferRequest{IdempotencyKey: "k", CallID: "c1", ToAgentID: "a2", ToQueue: "q"}, "to_queue"},
		{"transfer no call", cti.TransferRequest{IdempotencyKey: "k", ToQueue: "q"}, "call_id"},
		{"hang up ok", cti.HangUpRequest{IdempotencyKey: "k", CallID: "c1"}, ""},
		{"hang up no key", cti.HangUpRequest{CallID: "c1"}, "idempotency_key"},
		{"hang up no call", cti.HangUpRequest{IdempotencyKey: "k"}, "call_id"},
		{"chat message ok", cti.ChatMessageRequest{IdempotencyKey: "k", ChatID: "ch", Text: "hi", From: "a1"}, ""},
		{"chat message no key", cti.ChatMessageRequest{ChatID: "ch", Text: "hi", From: "a1"}, "idempotency_key"},
		{"chat message no chat", cti.ChatMessageRequest{IdempotencyKey: "k", Text: "hi", From: "a1"}, "chat_id"},
		{"chat message no text", cti.ChatMessageRequest{IdempotencyKey: "k", ChatID: "ch", From: "a1"}, "text"},
		{"chat message no from", cti.ChatMessageRequest{IdempotencyKey: "k", ChatID: "ch", Text: "hi"}, "from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var fe *cti.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.field, fe.Field)
		})
	}
}

func with[T any](v T, f func(*T)) T {
	f(&v)
	return v
}
