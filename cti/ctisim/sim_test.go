package ctisim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/cti/ctisim"
)

func TestCloseCancelsPendingWork(t *testing.T) {
	var deliveries atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		deliveries.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rcv.Close)

	sim := ctisim.New(ctisim.Config{
		EventsURL:      rcv.URL,
		Secret:         testSecret,
		DefaultOutcome: ctisim.Outcome{Kind: ctisim.OutcomeAnswer, After: time.Hour},
	})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	a := cti.NewHTTPAdapter(srv.URL, "")
	_, err := a.PlaceCall(context.Background(), placeReq("+15551238888"))
	require.NoError(t, err)

	closed := make(chan struct{})
	go func() {
		sim.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a call was waiting to be answered")
	}
	sim.Close() // a second Close is harmless

	require.Zero(t, deliveries.Load())
	_, err = a.PlaceCall(context.Background(), placeReq("+15551238888"))
	requireCTIError(t, err, http.StatusServiceUnavailable, "unavailable", true)
}

func TestDeliveryOutcomeIsRecorded(t *testing.T) {
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(rejecting.Close)

	tests := []struct {
		name      string
		eventsURL string
		want      string
	}{
		{"casehub refuses", rejecting.URL, ctisim.DeliveryFailed},
		{"no events URL", "", ctisim.DeliverySkipped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := ctisim.New(ctisim.Config{EventsURL: tc.eventsURL, Secret: testSecret})
			t.Cleanup(sim.Close)
			srv := httptest.NewServer(sim.Handler())
			t.Cleanup(srv.Close)
			e := &env{sim: sim, url: srv.URL}
			rec := admin[ctisim.ChatRecord](t, e, http.MethodPost, "/sim/chats",
				ctisim.StartChat{Email: "bo@example.com", Queue: "support"}, http.StatusCreated)
			require.Len(t, rec.Events, 1)
			require.Equal(t, cti.EventChatOffered, rec.Events[0].Type)

			require.Eventually(t, func() bool {
				return sim.Chats()[0].Events[0].Delivery == tc.want
			}, waitFor, tick)
			if tc.want == ctisim.DeliveryFailed {
				require.Contains(t, sim.Chats()[0].Events[0].Error, "401")
			}
		})
	}
}

func TestAdminRoutes(t *testing.T) {
	e := newEnv(t, nil)
	health := admin[map[string]string](t, e, http.MethodGet, "/healthz", nil, http.StatusOK)
	require.Equal(t, "ok", health["status"])

	status, _, _ := e.raw(t, http.MethodGet, "/sim/calls/call_missing", nil, nil)
	require.Equal(t, http.StatusNotFound, status)
	status, _, _ = e.raw(t, http.MethodPost, "/sim/chats/chat_missing/end", nil, nil)
	require.Equal(t, http.StatusNotFound, status)

	status, out, _ := e.raw(t, http.MethodPost, "/sim/chats", nil, ctisim.StartChat{Email: "not an email", Queue: "q"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, string(out), `"field":"email"`)

	chat := admin[ctisim.ChatRecord](t, e, http.MethodPost, "/sim/chats", ctisim.StartChat{Email: "cy@example.com", Queue: "q"}, http.StatusCreated)
	status, out, _ = e.raw(t, http.MethodPost, "/sim/chats/"+chat.ID+"/messages", nil, ctisim.ChatText{Text: "x", From: "bot"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, string(out), `"field":"from"`)

	// An agent typing in the platform's own desktop is reported.
	admin[ctisim.MessageRecord](t, e, http.MethodPost, "/sim/chats/"+chat.ID+"/messages", ctisim.ChatText{Text: "hello from the desktop", From: "agent"}, http.StatusCreated)
	evs := e.rc.await(t, onChat(chat.ID), cti.EventChatOffered, cti.EventChatMessage)
	require.Equal(t, cti.SenderAgent, evs[1].From)

	admin[ctisim.ChatRecord](t, e, http.MethodPost, "/sim/chats/"+chat.ID+"/end", nil, http.StatusOK)
	status, _, _ = e.raw(t, http.MethodPost, "/sim/chats/"+chat.ID+"/end", nil, nil)
	require.Equal(t, http.StatusConflict, status)

	chats := admin[[]ctisim.ChatRecord](t, e, http.MethodGet, "/sim/chats", nil, http.StatusOK)
	require.Len(t, chats, 1)
	require.Equal(t, ctisim.ChatEnded, chats[0].State)
}
