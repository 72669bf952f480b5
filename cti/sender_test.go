package cti_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
)

func TestEventSender(t *testing.T) {
	ev := cti.Event{ID: "evt_1", Type: cti.EventChatEnded, OccurredAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), ChatID: "chat_1"}

	tests := []struct {
		name      string
		statuses  []int // answer per attempt; the last one repeats
		wantErr   bool
		retryable bool
		attempts  int
	}{
		{name: "accepted first time", statuses: []int{202}, attempts: 1},
		{name: "duplicate acknowledged with 200", statuses: []int{200}, attempts: 1},
		{name: "5xx then accepted", statuses: []int{500, 503, 202}, attempts: 3},
		{name: "429 then accepted", statuses: []int{429, 202}, attempts: 2},
		{name: "persistent 5xx gives up", statuses: []int{502}, wantErr: true, retryable: true, attempts: 12},
		{name: "401 is not retried", statuses: []int{401}, wantErr: true, attempts: 1},
		{name: "422 is not retried", statuses: []int{422}, wantErr: true, attempts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu      sync.Mutex
				bodies  [][]byte
				verrs   []error
				auths   []string
				ctypes  []string
				attempt int
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				defer mu.Unlock()
				bodies = append(bodies, body)
				verrs = append(verrs, cti.Verify([]byte("sec"), r.Header.Get(cti.SignatureHeader), body, time.Now(), 0))
				auths = append(auths, r.Header.Get("Authorization"))
				ctypes = append(ctypes, r.Header.Get("Content-Type"))
				w.WriteHeader(tc.statuses[min(attempt, len(tc.statuses)-1)])
				attempt++
			}))
			t.Cleanup(srv.Close)

			s := cti.NewEventSender(srv.URL, "sec", "tok", nil)
			s.Backoff, s.MaxBackoff = time.Millisecond, 2*time.Millisecond
			err := s.Send(context.Background(), ev)

			mu.Lock()
			defer mu.Unlock()
			require.Len(t, bodies, tc.attempts)
			for i := range bodies {
				require.NoError(t, verrs[i], "attempt %d signature", i)
				require.Equal(t, "Bearer tok", auths[i])
				require.Equal(t, "application/json", ctypes[i])
				require.Equal(t, bodies[0], bodies[i], "every attempt carries the same body")
				parsed, perr := cti.ParseEvent(bodies[i])
				require.NoError(t, perr)
				require.Equal(t, ev, parsed)
			}
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, tc.retryable, cti.IsRetryable(err))
			require.Contains(t, err.Error(), "evt_1")
		})
	}
}

func TestEventSenderStopsWhenContextEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	s := cti.NewEventSender(srv.URL, "sec", "", nil)
	s.MaxAttempts, s.Backoff, s.MaxBackoff = 100, time.Hour, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)

	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, cti.Event{ID: "evt_1", Type: cti.EventChatEnded, ChatID: "c"}) }()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "gave up after 1 attempts")
	case <-time.After(5 * time.Second):
		t.Fatal("Send did not return after the context was cancelled")
	}
}
