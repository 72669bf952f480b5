package ctisim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/cti/ctisim"
)

// requireEndedTiming checks the timing fields of a call_ended event.
func requireEndedTiming(t *testing.T, ev cti.Event, answered bool) {
	t.Helper()
	require.Equal(t, cti.EventCallEnded, ev.Type)
	require.NotNil(t, ev.StartedAt)
	require.NotNil(t, ev.EndedAt)
	require.NotNil(t, ev.DurationSeconds)
	require.False(t, ev.EndedAt.Before(*ev.StartedAt))
	require.Equal(t, int(ev.EndedAt.Sub(*ev.StartedAt).Seconds()), *ev.DurationSeconds)
	if !answered {
		require.Nil(t, ev.AnsweredAt)
		return
	}
	require.NotNil(t, ev.AnsweredAt)
	require.False(t, ev.AnsweredAt.Before(*ev.StartedAt))
	require.False(t, ev.EndedAt.Before(*ev.AnsweredAt))
}

func TestContractPlaceCallOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		number    string
		script    string
		want      []cti.EventType
		answered  bool
		endReason string
		state     cti.CallState // after the scripted events
	}{
		{"answer", "+15551230001", "answer:30ms", []cti.EventType{cti.EventCallAnswered}, true, "", cti.CallStateAnswered},
		{"no answer", "+15551230002", "no_answer:30ms", []cti.EventType{cti.EventCallNoAnswer, cti.EventCallEnded}, false, ctisim.EndNoAnswer, cti.CallStateEnded},
		{"busy", "+15551230003", "busy:10ms", []cti.EventType{cti.EventCallBusy, cti.EventCallEnded}, false, ctisim.EndBusy, cti.CallStateEnded},
		{"voicemail", "+15551230004", "voicemail:30ms", []cti.EventType{cti.EventCallVoicemail, cti.EventCallEnded}, true, ctisim.EndVoicemail, cti.CallStateEnded},
		{"hangup", "+15551230005", "hangup:30ms", []cti.EventType{cti.EventCallAnswered, cti.EventCallerHungUp, cti.EventCallEnded}, true, ctisim.EndCallerHungUp, cti.CallStateEnded},
		{"fail", "+15551230006", "fail:10ms", []cti.EventType{cti.EventCallFailed, cti.EventCallEnded}, false, ctisim.EndFailed, cti.CallStateEnded},
		{"default outcome", "+15551239999", "", []cti.EventType{cti.EventCallAnswered}, true, "", cti.CallStateAnswered},
	}
	e := newEnv(t, func(c *ctisim.Config) {
		c.Scripts = map[string]ctisim.Outcome{}
		for _, tc := range tests {
			if tc.script != "" {
				number, o, err := ctisim.ParseScript(tc.number + "=" + tc.script)
				require.NoError(t, err)
				c.Scripts[number] = o
			}
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := placeReq(tc.number)
			call, err := e.adapter.PlaceCall(context.Background(), req)
			require.NoError(t, err)
			require.NotEmpty(t, call.ID)
			require.Equal(t, cti.CallStateRinging, call.State)
			require.Equal(t, cti.DirectionOutbound, call.Direction)
			require.Equal(t, tc.number, call.To)
			require.Equal(t, queueNum, call.From)
			require.WithinDuration(t, time.Now(), call.CreatedAt, time.Minute)

			evs := e.rc.await(t, onCall(call.ID), tc.want...)
			for _, ev := range evs {
				require.Equal(t, req.Context, ev.Context, "context is echoed on %s", ev.Type)
				require.NotEmpty(t, ev.ID)
			}
			if tc.name == "fail" {
				require.NotEmpty(t, evs[0].Reason)
			}
			last := evs[len(evs)-1]
			if last.Type == cti.EventCallEnded {
				requireEndedTiming(t, last, tc.answered)
			}
			rec := e.call(t, call.ID)
			require.Equal(t, tc.state, rec.State)
			require.Equal(t, tc.endReason, rec.EndReason)
			require.Equal(t, req.IdempotencyKey, rec.IdempotencyKey)

			if rec.State != cti.CallStateEnded {
				// casehub hangs up the answered call.
				require.NoError(t, e.adapter.HangUp(context.Background(), cti.HangUpRequest{IdempotencyKey: key(), CallID: call.ID}))
				evs = e.rc.await(t, onCall(call.ID), append(tc.want, cti.EventCallEnded)...)
				requireEndedTiming(t, evs[len(evs)-1], true)
				require.Equal(t, ctisim.EndCompleted, e.call(t, call.ID).EndReason)
			}
		})
	}
}

func TestContractScriptSetAtRunTime(t *testing.T) {
	e := newEnv(t, nil)
	const number = "+15551231111"
	got := admin[ctisim.ScriptBody](t, e, http.MethodPut, "/sim/scripts/"+number, ctisim.ScriptBody{Outcome: "busy:10ms"}, http.StatusOK)
	require.Equal(t, ctisim.ScriptBody{Number: number, Outcome: "busy:10ms"}, got)

	call, err := e.adapter.PlaceCall(context.Background(), placeReq(number))
	require.NoError(t, err)
	e.rc.await(t, onCall(call.ID), cti.EventCallBusy, cti.EventCallEnded)

	bad, out, _ := e.raw(t, http.MethodPut, "/sim/scripts/"+number, nil, ctisim.ScriptBody{Outcome: "explode"})
	require.Equal(t, http.StatusUnprocessableEntity, bad, "%s", out)
	require.Contains(t, string(out), `"field":"outcome"`)

	status, _, _ := e.raw(t, http.MethodDelete, "/sim/scripts/"+number, nil, nil)
	require.Equal(t, http.StatusNoContent, status)
	call, err = e.adapter.PlaceCall(context.Background(), placeReq(number))
	require.NoError(t, err)
	e.rc.await(t, onCall(call.ID), cti.EventCallAnswered)
}

func TestContractOutboundCallWithAgent(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := placeReq("+15551232222")
	cust, err := e.adapter.PlaceCall(ctx, req)
	require.NoError(t, err)
	e.rc.await(t, onCall(cust.ID), cti.EventCallAnswered)

	leg, err := e.adapter.OfferToAgent(ctx, cti.OfferRequest{IdempotencyKey: key(), CallID: cust.ID, AgentID: "agent_1", Channel: cti.ChannelVoice})
	require.NoError(t, err)
	require.Equal(t, cti.DirectionAgent, leg.Direction)
	require.Equal(t, cti.CallStateRinging, leg.State)
	require.Equal(t, "agent_1", leg.To)
	require.NotEqual(t, cust.ID, leg.ID)

	ans := e.rc.await(t, onCall(leg.ID), cti.EventAgentLegAnswered)[0]
	require.Equal(t, "agent_1", ans.AgentID)
	require.Equal(t, cust.ID, ans.CustomerCallID)
	require.Equal(t, req.Context, ans.Context, "the agent leg inherits the call's context")

	bridge := cti.BridgeRequest{IdempotencyKey: key(), CustomerCallID: cust.ID, AgentCallID: leg.ID}
	require.NoError(t, e.adapter.Bridge(ctx, bridge))
	require.NoError(t, e.adapter.Bridge(ctx, bridge), "a repeated bridge with the same key succeeds")
	for _, id := range []string{cust.ID, leg.ID} {
		require.Equal(t, cti.CallStateBridged, e.call(t, id).State)
	}
	require.Equal(t, leg.ID, e.call(t, cust.ID).BridgedWith)

	// Transfer to a queue emits nothing; to an agent, agent_leg_answered.
	require.NoError(t, e.adapter.Transfer(ctx, cti.TransferRequest{IdempotencyKey: key(), CallID: cust.ID, ToQueue: "billing"}))
	require.NoError(t, e.adapter.Transfer(ctx, cti.TransferRequest{IdempotencyKey: key(), CallID: cust.ID, ToAgentID: "agent_2"}))
	moved := e.rc.await(t, onCall(cust.ID), cti.EventCallAnswered, cti.EventAgentLegAnswered)[1]
	require.Equal(t, "agent_2", moved.AgentID)
	rec := e.call(t, cust.ID)
	require.Len(t, rec.Transfers, 2)
	require.Equal(t, "billing", rec.Transfers[0].ToQueue)
	require.Equal(t, "agent_2", rec.Transfers[1].ToAgentID)

	// casehub hangs up the customer: both bridged legs end.
	require.NoError(t, e.adapter.HangUp(ctx, cti.HangUpRequest{IdempotencyKey: key(), CallID: cust.ID}))
	custEvents := e.rc.await(t, onCall(cust.ID), cti.EventCallAnswered, cti.EventAgentLegAnswered, cti.EventCallEnded)
	requireEndedTiming(t, custEvents[2], true)
	legEvents := e.rc.await(t, onCall(leg.ID), cti.EventAgentLegAnswered, cti.EventCallEnded)
	requireEndedTiming(t, legEvents[1], true)
	require.Equal(t, ctisim.EndPeerEnded, e.call(t, leg.ID).EndReason)

	// Hanging up an ended call is accepted and emits nothing more.
	before := len(e.call(t, cust.ID).Events)
	require.NoError(t, e.adapter.HangUp(ctx, cti.HangUpRequest{IdempotencyKey: key(), CallID: cust.ID}))
	require.Len(t, e.call(t, cust.ID).Events, before)

	// Commands on ended calls are refused as permanent errors.
	_, err = e.adapter.OfferToAgent(ctx, cti.OfferRequest{IdempotencyKey: key(), CallID: cust.ID, AgentID: "agent_3", Channel: cti.ChannelVoice})
	requireCTIError(t, err, http.StatusConflict, "call_not_active", false)
	err = e.adapter.Transfer(ctx, cti.TransferRequest{IdempotencyKey: key(), CallID: cust.ID, ToQueue: "q"})
	requireCTIError(t, err, http.StatusConflict, "call_not_active", false)
}

func TestContractInboundCall(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := ctisim.InboundCall{
		From: "+15551234567", To: "+15550000000", Queue: "support",
		IVR: map[string]string{"language": "en", "reason": "billing"}, CaseNumber: "CS-000123", ViaIVR: true,
	}
	rec := admin[ctisim.CallRecord](t, e, http.MethodPost, "/sim/inbound-calls", in, http.StatusCreated)
	require.Equal(t, cti.DirectionInbound, rec.Direction)
	require.Equal(t, cti.CallStateQueued, rec.State)

	evs := e.rc.await(t, onCall(rec.ID), cti.EventIVRConnected, cti.EventIncomingCall)
	for _, ev := range evs {
		require.Equal(t, in.From, ev.CallerNumber)
		require.Equal(t, in.To, ev.DialledNumber)
		require.Equal(t, in.Queue, ev.Queue)
	}
	require.Equal(t, in.IVR, evs[1].IVR)
	require.Equal(t, "CS-000123", evs[1].CaseNumber)

	leg, err := e.adapter.OfferToAgent(ctx, cti.OfferRequest{
		IdempotencyKey: key(), CallID: rec.ID, AgentID: "agent_9", Channel: cti.ChannelVoice, Queue: "support",
		Context: map[string]string{"interaction_id": "int_1"},
	})
	require.NoError(t, err)
	ans := e.rc.await(t, onCall(leg.ID), cti.EventAgentLegAnswered)[0]
	require.Equal(t, map[string]string{"interaction_id": "int_1"}, ans.Context)
	require.NoError(t, e.adapter.Bridge(ctx, cti.BridgeRequest{IdempotencyKey: key(), CustomerCallID: rec.ID, AgentCallID: leg.ID}))

	// The caller hangs up.
	admin[ctisim.CallRecord](t, e, http.MethodPost, "/sim/calls/"+rec.ID+"/hangup", nil, http.StatusOK)
	evs = e.rc.await(t, onCall(rec.ID), cti.EventIVRConnected, cti.EventIncomingCall, cti.EventCallerHungUp, cti.EventCallEnded)
	requireEndedTiming(t, evs[3], true)
	e.rc.await(t, onCall(leg.ID), cti.EventAgentLegAnswered, cti.EventCallEnded)

	// A second caller hang-up is refused.
	status, out, _ := e.raw(t, http.MethodPost, "/sim/calls/"+rec.ID+"/hangup", nil, nil)
	require.Equal(t, http.StatusConflict, status, "%s", out)
}

func TestContractInboundCallWithoutIVR(t *testing.T) {
	e := newEnv(t, nil)
	rec := admin[ctisim.CallRecord](t, e, http.MethodPost, "/sim/inbound-calls",
		ctisim.InboundCall{From: "+15551234567", To: "+15550000000", Queue: "support"}, http.StatusCreated)
	ev := e.rc.await(t, onCall(rec.ID), cti.EventIncomingCall)[0]
	require.Nil(t, ev.IVR)
	require.Empty(t, ev.CaseNumber)

	status, out, _ := e.raw(t, http.MethodPost, "/sim/inbound-calls", nil,
		ctisim.InboundCall{From: "5551234567", To: "+15550000000", Queue: "support"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, string(out), `"field":"from"`)
}

func TestContractChat(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	chat := admin[ctisim.ChatRecord](t, e, http.MethodPost, "/sim/chats",
		ctisim.StartChat{Email: "ann@example.com", Name: "Ann", Queue: "support", Text: "hello"}, http.StatusCreated)
	require.Equal(t, ctisim.ChatOpen, chat.State)

	evs := e.rc.await(t, onChat(chat.ID), cti.EventChatOffered, cti.EventChatMessage)
	require.Equal(t, "ann@example.com", evs[0].CustomerEmail)
	require.Equal(t, "Ann", evs[0].CustomerName)
	require.Equal(t, "support", evs[0].Queue)
	require.Equal(t, cti.SenderCustomer, evs[1].From)
	require.Equal(t, "hello", evs[1].Text)

	leg, err := e.adapter.OfferToAgent(ctx, cti.OfferRequest{IdempotencyKey: key(), ChatID: chat.ID, AgentID: "agent_4", Channel: cti.ChannelChat})
	require.NoError(t, err)
	ans := e.rc.await(t, onCall(leg.ID), cti.EventAgentLegAnswered)[0]
	require.Equal(t, chat.ID, ans.ChatID)
	require.Equal(t, "agent_4", ans.AgentID)

	// An agent message is recorded by the platform, not echoed as an event.
	msg := cti.ChatMessageRequest{IdempotencyKey: key(), ChatID: chat.ID, Text: "hi Ann", From: "agent_4"}
	require.NoError(t, e.adapter.SendChatMessage(ctx, msg))
	require.NoError(t, e.adapter.SendChatMessage(ctx, msg), "a repeated message with the same key succeeds")
	got := admin[ctisim.ChatRecord](t, e, http.MethodGet, "/sim/chats/"+chat.ID, nil, http.StatusOK)
	require.Len(t, got.Messages, 2, "the repeated message is stored once")
	require.Equal(t, cti.SenderAgent, got.Messages[1].Sender)
	require.Equal(t, "hi Ann", got.Messages[1].Text)
	require.Equal(t, "agent_4", got.AgentID)

	admin[ctisim.MessageRecord](t, e, http.MethodPost, "/sim/chats/"+chat.ID+"/messages", ctisim.ChatText{Text: "thanks"}, http.StatusCreated)
	admin[ctisim.ChatRecord](t, e, http.MethodPost, "/sim/chats/"+chat.ID+"/end", nil, http.StatusOK)
	evs = e.rc.await(t, onChat(chat.ID), cti.EventChatOffered, cti.EventChatMessage, cti.EventChatMessage, cti.EventChatEnded)
	require.Equal(t, "thanks", evs[2].Text)

	err = e.adapter.SendChatMessage(ctx, cti.ChatMessageRequest{IdempotencyKey: key(), ChatID: chat.ID, Text: "still there?", From: "agent_4"})
	requireCTIError(t, err, http.StatusConflict, "chat_not_active", false)
	err = e.adapter.SendChatMessage(ctx, cti.ChatMessageRequest{IdempotencyKey: key(), ChatID: "chat_missing", Text: "x", From: "agent_4"})
	requireCTIError(t, err, http.StatusNotFound, "chat_not_found", false)
}

// The agent ends a chat: the platform ends it for the customer (chat_ended
// once), refuses the customer's next message with 409 and keeps it.
func TestContractAgentEndsAChat(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	chat := admin[ctisim.ChatRecord](t, e, http.MethodPost, "/sim/chats",
		ctisim.StartChat{Email: "bo@example.com", Name: "Bo", Queue: "support", Text: "hello"}, http.StatusCreated)
	e.rc.await(t, onChat(chat.ID), cti.EventChatOffered, cti.EventChatMessage)

	end := cti.EndChatRequest{IdempotencyKey: key(), ChatID: chat.ID, Reason: "ended by agent_4"}
	require.NoError(t, e.adapter.EndChat(ctx, end))
	require.NoError(t, e.adapter.EndChat(ctx, end), "a repeated end with the same key succeeds")
	require.NoError(t, e.adapter.EndChat(ctx, cti.EndChatRequest{IdempotencyKey: key(), ChatID: chat.ID}), "an ended chat ends again quietly")
	e.rc.await(t, onChat(chat.ID), cti.EventChatOffered, cti.EventChatMessage, cti.EventChatEnded)
	got := admin[ctisim.ChatRecord](t, e, http.MethodGet, "/sim/chats/"+chat.ID, nil, http.StatusOK)
	require.Equal(t, ctisim.ChatEnded, got.State)
	require.Equal(t, ctisim.EndedByAgent, got.EndedBy)

	admin[ctisim.MessageRecord](t, e, http.MethodPost, "/sim/chats/"+chat.ID+"/messages", ctisim.ChatText{Text: "wait"}, http.StatusConflict)
	got = admin[ctisim.ChatRecord](t, e, http.MethodGet, "/sim/chats/"+chat.ID, nil, http.StatusOK)
	require.Len(t, got.Refused, 1, "the refused message is kept")
	require.Equal(t, "wait", got.Refused[0].Text)
	require.Len(t, got.Messages, 1, "and not delivered")

	require.Error(t, e.adapter.EndChat(ctx, cti.EndChatRequest{IdempotencyKey: key()}), "chat_id is required")
	err := e.adapter.EndChat(ctx, cti.EndChatRequest{IdempotencyKey: key(), ChatID: "chat_missing"})
	requireCTIError(t, err, http.StatusNotFound, "chat_not_found", false)
}

func TestContractIdempotentDial(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := placeReq("+15551233333")

	// The same dial, sent concurrently and then again: one call.
	const tries = 5
	ids := make(chan string, tries)
	errs := make(chan error, tries)
	for range tries {
		go func() {
			c, err := e.adapter.PlaceCall(ctx, req)
			ids <- c.ID
			errs <- err
		}()
	}
	first := ""
	for range tries {
		require.NoError(t, <-errs)
		id := <-ids
		if first == "" {
			first = id
		}
		require.Equal(t, first, id)
	}
	again, err := e.adapter.PlaceCall(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first, again.ID)

	calls := admin[[]ctisim.CallRecord](t, e, http.MethodGet, "/sim/calls?idempotency_key="+req.IdempotencyKey, nil, http.StatusOK)
	require.Len(t, calls, 1)
	require.Len(t, admin[[]ctisim.CallRecord](t, e, http.MethodGet, "/sim/calls", nil, http.StatusOK), 1)

	e.rc.await(t, onCall(first), cti.EventCallAnswered)
	require.Len(t, e.rc.all(), 1, "events are emitted once")

	// Same key, different body: a permanent 422.
	changed := req
	changed.To = "+15551234444"
	_, err = e.adapter.PlaceCall(ctx, changed)
	requireCTIError(t, err, http.StatusUnprocessableEntity, "idempotency_conflict", false)

	// Same key on another command: also a conflict.
	err = e.adapter.HangUp(ctx, cti.HangUpRequest{IdempotencyKey: req.IdempotencyKey, CallID: first})
	requireCTIError(t, err, http.StatusUnprocessableEntity, "idempotency_conflict", false)
	require.Len(t, admin[[]ctisim.CallRecord](t, e, http.MethodGet, "/sim/calls", nil, http.StatusOK), 1)
	require.Equal(t, cti.CallStateAnswered, e.call(t, first).State, "the conflicting hang-up did nothing")
}

func TestIdempotentReplayOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	auth := map[string]string{"Authorization": "Bearer " + testAPIKey, "Idempotency-Key": "raw-1"}
	body := `{"to":"+15551235555","from":"+15550000000","queue":"support"}`

	status1, out1, h1 := e.raw(t, http.MethodPost, "/v1/calls", auth, body)
	require.Equal(t, http.StatusCreated, status1, "%s", out1)
	require.Empty(t, h1.Get("Idempotent-Replayed"))

	// Same request, formatted differently and with the key also in the body.
	status2, out2, h2 := e.raw(t, http.MethodPost, "/v1/calls", auth,
		`{ "queue": "support", "from": "+15550000000", "to": "+15551235555", "idempotency_key": "raw-1" }`)
	require.Equal(t, status1, status2)
	require.Equal(t, string(out1), string(out2))
	require.Equal(t, "true", h2.Get("Idempotent-Replayed"))

	// A failed command is not remembered: fixing the body and retrying
	// with the same key runs it.
	k2 := map[string]string{"Authorization": "Bearer " + testAPIKey, "Idempotency-Key": "raw-2"}
	status, out, _ := e.raw(t, http.MethodPost, "/v1/calls", k2, `{"to":"555","from":"+15550000000","queue":"support"}`)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, string(out), `"field":"to"`)
	status, out, _ = e.raw(t, http.MethodPost, "/v1/calls", k2, body)
	require.Equal(t, http.StatusCreated, status, "%s", out)
	require.Len(t, e.sim.Calls(), 2)
}

func TestCommandRejections(t *testing.T) {
	e := newEnv(t, nil)
	good := `{"to":"+15551236666","from":"+15550000000","queue":"support"}`
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		body    string
		status  int
		code    string
		field   string
	}{
		{"no API key", "/v1/calls", map[string]string{"Idempotency-Key": "r1"}, good, 401, "unauthorized", ""},
		{"wrong API key", "/v1/calls", map[string]string{"Authorization": "Bearer nope", "Idempotency-Key": "r1"}, good, 401, "unauthorized", ""},
		{"no idempotency key", "/v1/calls", map[string]string{"Authorization": "Bearer " + testAPIKey}, good, 400, "missing_idempotency_key", ""},
		{"not JSON", "/v1/calls", map[string]string{"Authorization": "Bearer " + testAPIKey, "Idempotency-Key": "r2"}, `{`, 400, "malformed_request", ""},
		{"unknown field", "/v1/calls", map[string]string{"Authorization": "Bearer " + testAPIKey, "Idempotency-Key": "r3"}, `{"to":"+15551236666","colour":"red"}`, 400, "malformed_request", ""},
		{"body key differs from header", "/v1/calls", map[string]string{"Authorization": "Bearer " + testAPIKey, "Idempotency-Key": "r4"}, `{"idempotency_key":"other","to":"+15551236666","from":"+15550000000","queue":"support"}`, 422, "invalid_request", "idempotency_key"},
		{"path id differs from body", "/v1/calls/call_a/hangup", map[string]string{"Authorization": "Bearer " + testAPIKey, "Idempotency-Key": "r5"}, `{"call_id":"call_b"}`, 422, "invalid_request", "call_id"},
		{"hang up unknown call", "/v1/calls/call_a/hangup", map[string]string{"Authorization": "Bearer " + testAPIKey, "Idempotency-Key": "r6"}, `{}`, 404, "call_not_found", ""},
		{"offer without channel", "/v1/agent-offers", map[string]string{"Authorization": "Bearer " + testAPIKey, "Idempotency-Key": "r7"}, `{"call_id":"c","agent_id":"a"}`, 422, "invalid_request", "channel"},
		{"unknown route", "/v1/nothing", nil, `{}`, 404, "not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out, h := e.raw(t, http.MethodPost, tc.path, tc.headers, tc.body)
			require.Equal(t, tc.status, status, "%s", out)
			require.Equal(t, "application/json", h.Get("Content-Type"))
			var ae apiError
			require.NoError(t, json.Unmarshal(out, &ae))
			require.Equal(t, tc.code, ae.Code)
			require.NotEmpty(t, ae.Message)
			require.Equal(t, tc.field, ae.Field)
		})
	}
	require.Empty(t, e.sim.Calls(), "no rejected command placed a call")

	// Through the adapter: a wrong key is a permanent error.
	_, err := cti.NewHTTPAdapter(e.url, "wrong").PlaceCall(context.Background(), placeReq("+15551236666"))
	requireCTIError(t, err, http.StatusUnauthorized, "unauthorized", false)
}

func TestBridgeRequiresAnsweredLegs(t *testing.T) {
	e := newEnv(t, func(c *ctisim.Config) { c.AgentAnswerDelay = time.Hour })
	ctx := context.Background()
	cust, err := e.adapter.PlaceCall(ctx, placeReq("+15551237777"))
	require.NoError(t, err)
	e.rc.await(t, onCall(cust.ID), cti.EventCallAnswered)
	leg, err := e.adapter.OfferToAgent(ctx, cti.OfferRequest{IdempotencyKey: key(), CallID: cust.ID, AgentID: "a", Channel: cti.ChannelVoice})
	require.NoError(t, err)

	err = e.adapter.Bridge(ctx, cti.BridgeRequest{IdempotencyKey: key(), CustomerCallID: cust.ID, AgentCallID: leg.ID})
	requireCTIError(t, err, http.StatusConflict, "call_not_answered", false)
	err = e.adapter.Bridge(ctx, cti.BridgeRequest{IdempotencyKey: key(), CustomerCallID: cust.ID, AgentCallID: "call_missing"})
	requireCTIError(t, err, http.StatusNotFound, "call_not_found", false)
	err = e.adapter.Bridge(ctx, cti.BridgeRequest{IdempotencyKey: key(), CustomerCallID: leg.ID, AgentCallID: cust.ID})
	requireCTIError(t, err, http.StatusNotFound, "call_not_found", false)

	// casehub hangs up the customer while the agent leg still rings: the
	// leg ends too and the agent never answers.
	require.NoError(t, e.adapter.HangUp(ctx, cti.HangUpRequest{IdempotencyKey: key(), CallID: cust.ID}))
	ended := e.rc.await(t, onCall(leg.ID), cti.EventCallEnded)[0]
	requireEndedTiming(t, ended, false)
}

func TestHangingUpAgentLegEndsBridgedCall(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rec := admin[ctisim.CallRecord](t, e, http.MethodPost, "/sim/inbound-calls",
		ctisim.InboundCall{From: "+15551234567", To: "+15550000000", Queue: "support"}, http.StatusCreated)
	leg, err := e.adapter.OfferToAgent(ctx, cti.OfferRequest{IdempotencyKey: key(), CallID: rec.ID, AgentID: "a1", Channel: cti.ChannelVoice})
	require.NoError(t, err)
	e.rc.await(t, onCall(leg.ID), cti.EventAgentLegAnswered)
	require.NoError(t, e.adapter.Bridge(ctx, cti.BridgeRequest{IdempotencyKey: key(), CustomerCallID: rec.ID, AgentCallID: leg.ID}))

	require.NoError(t, e.adapter.HangUp(ctx, cti.HangUpRequest{IdempotencyKey: key(), CallID: leg.ID}))
	e.rc.await(t, onCall(leg.ID), cti.EventAgentLegAnswered, cti.EventCallEnded)
	evs := e.rc.await(t, onCall(rec.ID), cti.EventIncomingCall, cti.EventCallEnded)
	requireEndedTiming(t, evs[1], true)
	require.Equal(t, ctisim.EndCompleted, e.call(t, leg.ID).EndReason)
	require.Equal(t, ctisim.EndPeerEnded, e.call(t, rec.ID).EndReason)
}

// A call is never placed after its not_after: a late command is refused as
// too late (not retryable), while a repeat of a key already placed replays
// the call it placed.
func TestContractPlaceCallNotAfter(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	past := time.Now().Add(-time.Second)
	late := placeReq("+15551230101")
	late.NotAfter = &past
	_, err := e.adapter.PlaceCall(ctx, late)
	require.Error(t, err)
	require.True(t, cti.IsTooLate(err), "refused as too late: %v", err)
	require.False(t, cti.IsRetryable(err))

	soon := time.Now().Add(200 * time.Millisecond)
	req := placeReq("+15551230102")
	req.NotAfter = &soon
	first, err := e.adapter.PlaceCall(ctx, req)
	require.NoError(t, err, "in time")
	require.Eventually(t, func() bool { return time.Now().After(soon) }, time.Second, 10*time.Millisecond)
	again, err := e.adapter.PlaceCall(ctx, req)
	require.NoError(t, err, "the same key after not_after replays the call it placed")
	require.Equal(t, first.ID, again.ID)
}
