package cti_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
)

type recorded struct {
	method, path, auth, key, contentType string
	body                                 map[string]any
}

func TestHTTPAdapterSendsEachCommand(t *testing.T) {
	created := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	reply := cti.Call{ID: "call_9", State: cti.CallStateRinging, Direction: cti.DirectionOutbound, To: "+15551234567", From: "+15550000000", CreatedAt: created}

	var (
		mu  sync.Mutex
		got recorded
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = recorded{method: r.Method, path: r.URL.EscapedPath(), auth: r.Header.Get("Authorization"),
			key: r.Header.Get("Idempotency-Key"), contentType: r.Header.Get("Content-Type")}
		got.body = map[string]any{}
		_ = json.Unmarshal(body, &got.body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(reply)
	}))
	t.Cleanup(srv.Close)
	a := cti.NewHTTPAdapter(srv.URL+"/", "key-123")
	ctx := context.Background()

	tests := []struct {
		name     string
		call     func() (cti.Call, error)
		path     string
		key      string
		wantBody map[string]any
	}{
		{
			name: "place call",
			call: func() (cti.Call, error) {
				return a.PlaceCall(ctx, cti.PlaceCallRequest{IdempotencyKey: "k1", To: "+15551234567", From: "+15550000000", Queue: "support", Context: map[string]string{"callback_id": "cb1"}})
			},
			path: "/v1/calls", key: "k1",
			wantBody: map[string]any{"idempotency_key": "k1", "to": "+15551234567", "from": "+15550000000", "queue": "support", "context": map[string]any{"callback_id": "cb1"}},
		},
		{
			name: "offer to agent",
			call: func() (cti.Call, error) {
				return a.OfferToAgent(ctx, cti.OfferRequest{IdempotencyKey: "k2", CallID: "call_1", AgentID: "a1", Channel: cti.ChannelVoice, Queue: "support"})
			},
			path: "/v1/agent-offers", key: "k2",
			wantBody: map[string]any{"idempotency_key": "k2", "call_id": "call_1", "agent_id": "a1", "channel": "voice", "queue": "support"},
		},
		{
			name: "bridge",
			call: func() (cti.Call, error) {
				return cti.Call{}, a.Bridge(ctx, cti.BridgeRequest{IdempotencyKey: "k3", CustomerCallID: "c1", AgentCallID: "c2"})
			},
			path: "/v1/bridges", key: "k3",
			wantBody: map[string]any{"idempotency_key": "k3", "customer_call_id": "c1", "agent_call_id": "c2"},
		},
		{
			name: "transfer",
			call: func() (cti.Call, error) {
				return cti.Call{}, a.Transfer(ctx, cti.TransferRequest{IdempotencyKey: "k4", CallID: "c1", ToQueue: "billing"})
			},
			path: "/v1/transfers", key: "k4",
			wantBody: map[string]any{"idempotency_key": "k4", "call_id": "c1", "to_queue": "billing"},
		},
		{
			name: "hang up escapes the id",
			call: func() (cti.Call, error) {
				return cti.Call{}, a.HangUp(ctx, cti.HangUpRequest{IdempotencyKey: "k5", CallID: "c/1"})
			},
			path: "/v1/calls/c%2F1/hangup", key: "k5",
			wantBody: map[string]any{"idempotency_key": "k5", "call_id": "c/1"},
		},
		{
			name: "send chat message",
			call: func() (cti.Call, error) {
				return cti.Call{}, a.SendChatMessage(ctx, cti.ChatMessageRequest{IdempotencyKey: "k6", ChatID: "chat_1", Text: "hello", From: "a1"})
			},
			path: "/v1/chats/chat_1/messages", key: "k6",
			wantBody: map[string]any{"idempotency_key": "k6", "chat_id": "chat_1", "text": "hello", "from": "a1"},
		},
		{
			name: "end chat",
			call: func() (cti.Call, error) {
				return cti.Call{}, a.EndChat(ctx, cti.EndChatRequest{IdempotencyKey: "k7", ChatID: "chat_1", Reason: "ended by a1"})
			},
			path: "/v1/chats/chat_1/end", key: "k7",
			wantBody: map[string]any{"idempotency_key": "k7", "chat_id": "chat_1", "reason": "ended by a1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.call()
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, http.MethodPost, got.method)
			require.Equal(t, tc.path, got.path)
			require.Equal(t, "Bearer key-123", got.auth)
			require.Equal(t, tc.key, got.key)
			require.Equal(t, "application/json", got.contentType)
			require.Equal(t, tc.wantBody, got.body)
			if tc.path == "/v1/calls" || tc.path == "/v1/agent-offers" {
				require.Equal(t, reply, c)
			}
		})
	}
}

func TestHTTPAdapterErrorMapping(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		retryable bool
		code      string
		message   string
	}{
		{"500 with error body", 500, `{"code":"internal","message":"boom"}`, true, "internal", "boom"},
		{"502 plain text", 502, "bad gateway from proxy", true, cti.CodeHTTPStatus, "bad gateway from proxy"},
		{"503 empty", 503, "", true, cti.CodeHTTPStatus, "Service Unavailable"},
		{"429", 429, `{"code":"rate_limited","message":"slow down"}`, true, "rate_limited", "slow down"},
		{"408", 408, "", true, cti.CodeHTTPStatus, "Request Timeout"},
		{"400", 400, `{"code":"malformed_request","message":"bad json"}`, false, "malformed_request", "bad json"},
		{"401", 401, `{"code":"unauthorized","message":"wrong key"}`, false, "unauthorized", "wrong key"},
		{"404", 404, `{"code":"call_not_found","message":"no call c1"}`, false, "call_not_found", "no call c1"},
		{"409", 409, `{"code":"call_not_active","message":"ended"}`, false, "call_not_active", "ended"},
		{"422", 422, `{"code":"idempotency_conflict","message":"key reused"}`, false, "idempotency_conflict", "key reused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			a := cti.NewHTTPAdapter(srv.URL, "k")
			err := a.HangUp(context.Background(), cti.HangUpRequest{IdempotencyKey: "key", CallID: "c1"})
			require.Error(t, err)
			require.Equal(t, tc.retryable, cti.IsRetryable(err))
			ce, ok := cti.AsError(err)
			require.True(t, ok)
			require.Equal(t, cti.OpHangUp, ce.Op)
			require.Equal(t, tc.status, ce.Status)
			require.Equal(t, tc.code, ce.Code)
			require.Equal(t, tc.message, ce.Message)
		})
	}
}

func TestHTTPAdapterTransportErrors(t *testing.T) {
	req := cti.PlaceCallRequest{IdempotencyKey: "k", To: "+15551234567", From: "+15550000000", Queue: "q"}

	t.Run("closed port is retryable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		_, err = cti.NewHTTPAdapter("http://"+addr, "k").PlaceCall(context.Background(), req)
		require.True(t, cti.IsRetryable(err), "%v", err)
		ce, _ := cti.AsError(err)
		require.Equal(t, cti.CodeNetwork, ce.Code)
		require.Zero(t, ce.Status)
	})

	// A server that never answers: the request stays open until the client
	// gives up (or the test ends).
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })

	t.Run("request timeout is retryable", func(t *testing.T) {
		a := cti.NewHTTPAdapter(hang.URL, "k", cti.WithTimeout(50*time.Millisecond))
		_, err := a.PlaceCall(context.Background(), req)
		require.True(t, cti.IsRetryable(err), "%v", err)
		ce, _ := cti.AsError(err)
		require.Equal(t, cti.CodeTimeout, ce.Code)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})

	t.Run("caller cancellation is not retryable", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err := cti.NewHTTPAdapter(hang.URL, "k").PlaceCall(ctx, req)
		require.False(t, cti.IsRetryable(err), "%v", err)
		ce, _ := cti.AsError(err)
		require.Equal(t, cti.CodeCanceled, ce.Code)
	})

	t.Run("invalid request never reaches the platform", func(t *testing.T) {
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
		t.Cleanup(srv.Close)
		bad := req
		bad.IdempotencyKey = ""
		_, err := cti.NewHTTPAdapter(srv.URL, "k").PlaceCall(context.Background(), bad)
		require.False(t, cti.IsRetryable(err))
		ce, _ := cti.AsError(err)
		require.Equal(t, cti.CodeInvalidRequest, ce.Code)
		var fe *cti.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "idempotency_key", fe.Field)
		require.Zero(t, hits.Load())
	})

	t.Run("unreadable success body is retryable", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "<html>")
		}))
		t.Cleanup(srv.Close)
		_, err := cti.NewHTTPAdapter(srv.URL, "k").PlaceCall(context.Background(), req)
		require.True(t, cti.IsRetryable(err))
		ce, _ := cti.AsError(err)
		require.Equal(t, cti.CodeBadResponse, ce.Code)
	})
}

func TestIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("x"), false},
		{"retryable *Error wrapped", wrap(&cti.Error{Op: "x", Retryable: true}), true},
		{"permanent *Error wrapped", wrap(&cti.Error{Op: "x", Status: 404}), false},
		{"deadline", context.DeadlineExceeded, true},
		{"net error", &net.OpError{Op: "dial", Err: errors.New("refused")}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, cti.IsRetryable(tc.err))
		})
	}
}

func TestErrorMessage(t *testing.T) {
	e := &cti.Error{Op: cti.OpPlaceCall, Status: 429, Code: "rate_limited", Message: "slow down", Retryable: true}
	require.Equal(t, "cti place call: HTTP 429 rate_limited: slow down (retryable)", e.Error())
}

func wrap(err error) error { return errors.Join(errors.New("context"), err) }
