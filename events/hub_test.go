package events_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/events"
	"github.com/casehub/casehub/internal/testenv"
)

var db *testenv.Database

func TestMain(m *testing.M) {
	db = testenv.MustDatabase("events")
	code := m.Run()
	db.Close()
	os.Exit(code)
}

// startHub runs a hub until the test ends.
func startHub(t *testing.T) *events.Hub {
	t.Helper()
	h := events.NewHub(db.DB, db.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	select {
	case <-h.Ready():
	case err := <-done:
		t.Fatalf("hub stopped: %v", err)
	}
	return h
}

// next waits for the subscription's next event.
func next(t *testing.T, s *events.Sub) events.Event {
	t.Helper()
	select {
	case e := <-s.Events():
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event in 10 s")
	}
	return events.Event{}
}

func data(t *testing.T, e events.Event) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(e.Data, &m))
	return m
}

// A transaction that started earlier and commits later is still delivered
// before the later ones, and only once: rows are read in (txid, id) order
// and only once every older transaction has ended.
func TestEventsArriveInCommitSafeOrderExactlyOnce(t *testing.T) {
	ctx := context.Background()
	h := startHub(t)
	agent := "hub-order-" + time.Now().Format("150405.000000")
	sub, err := h.Subscribe(ctx, events.ForAgent(agent))
	require.NoError(t, err)
	defer h.Unsubscribe(sub)

	older, err := db.DB.BeginTxx(ctx, nil)
	require.NoError(t, err)
	_, err = older.ExecContext(ctx, `SELECT casehub_event($1, false, 'test.older', '{"n":1}')`, agent)
	require.NoError(t, err)

	// A later transaction commits first: it may not show yet, since the
	// older one could still commit an event before it.
	_, err = db.DB.ExecContext(ctx, `SELECT casehub_event($1, false, 'test.newer', '{"n":2}')`, agent)
	require.NoError(t, err)
	select {
	case e := <-sub.Events():
		t.Fatalf("%s delivered while an older transaction was open", e.Kind)
	case <-time.After(300 * time.Millisecond):
	}

	require.NoError(t, older.Commit())
	first, second := next(t, sub), next(t, sub)
	require.Equal(t, "test.older", first.Kind)
	require.Equal(t, "test.newer", second.Kind)
	require.True(t, second.Cursor.After(first.Cursor))
	select {
	case e := <-sub.Events():
		t.Fatalf("%s delivered twice", e.Kind)
	case <-time.After(100 * time.Millisecond):
	}

	// Resuming after the first gives exactly the second; after the second,
	// nothing.
	missed, err := h.Between(ctx, events.ForAgent(agent), first.Cursor, second.Cursor)
	require.NoError(t, err)
	require.Len(t, missed, 1)
	require.Equal(t, second.Cursor, missed[0].Cursor)
	missed, err = h.Between(ctx, events.ForAgent(agent), second.Cursor, second.Cursor)
	require.NoError(t, err)
	require.Empty(t, missed)
}

// A rolled-back change tells nobody.
func TestRolledBackChangesAreNotEvents(t *testing.T) {
	ctx := context.Background()
	h := startHub(t)
	agent := "hub-rollback-" + time.Now().Format("150405.000000")
	sub, err := h.Subscribe(ctx, events.ForAgent(agent))
	require.NoError(t, err)
	defer h.Unsubscribe(sub)

	tx, err := db.DB.BeginTxx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `SELECT casehub_event($1, false, 'test.undone', '{}')`, agent)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	_, err = db.DB.ExecContext(ctx, `SELECT casehub_event($1, false, 'test.kept', '{}')`, agent)
	require.NoError(t, err)
	require.Equal(t, "test.kept", next(t, sub).Kind)
}

// Each audience sees its own: an agent its events, the wall what is marked
// for it, nobody another agent's.
func TestAudiences(t *testing.T) {
	ctx := context.Background()
	h := startHub(t)
	stamp := time.Now().Format("150405.000000")
	ann, bob := "ann-"+stamp, "bob-"+stamp
	annSub, err := h.Subscribe(ctx, events.ForAgent(ann))
	require.NoError(t, err)
	wall, err := h.Subscribe(ctx, events.ForWall())
	require.NoError(t, err)

	for _, ev := range []struct {
		agent any
		wall  bool
		kind  string
	}{{bob, true, "test.bob-wall"}, {ann, false, "test.ann-desk"}, {nil, true, "test.wall-only"}, {ann, true, "test.ann-wall"}} {
		_, err := db.DB.ExecContext(ctx, `SELECT casehub_event($1, $2, $3, '{}')`, ev.agent, ev.wall, ev.kind)
		require.NoError(t, err)
	}
	require.Equal(t, "test.ann-desk", next(t, annSub).Kind)
	require.Equal(t, "test.ann-wall", next(t, annSub).Kind)
	var kinds []string
	for range 3 {
		kinds = append(kinds, next(t, wall).Kind)
	}
	require.Equal(t, []string{"test.bob-wall", "test.wall-only", "test.ann-wall"}, kinds)
}

// The triggers speak for the tables: an agent going available is a presence
// event on its desk and on the wall.
func TestTriggersWriteEvents(t *testing.T) {
	ctx := context.Background()
	h := startHub(t)
	agent := "hub-trigger-" + time.Now().Format("150405000000")
	_, err := db.DB.ExecContext(ctx, `INSERT INTO agents (id, name) VALUES ($1, 'Ann')`, agent)
	require.NoError(t, err)
	sub, err := h.Subscribe(ctx, events.ForAgent(agent))
	require.NoError(t, err)
	defer h.Unsubscribe(sub)
	_, err = db.DB.ExecContext(ctx, `UPDATE agents SET presence = 'available', presence_seq = presence_seq + 1 WHERE id = $1`, agent)
	require.NoError(t, err)
	e := next(t, sub)
	if e.Kind == "agent.changed" { // the insert, if the hub had not read it yet
		e = next(t, sub)
	}
	require.Equal(t, "presence", e.Kind)
	d := data(t, e)
	require.Equal(t, "available", d["presence"])
	require.Equal(t, "offline", d["previous"])
	require.Equal(t, agent, d["agent_id"])
}

// A swept event cannot be resumed from; the zero cursor always can.
func TestKnownCursors(t *testing.T) {
	ctx := context.Background()
	h := startHub(t)
	agent := "hub-known-" + time.Now().Format("150405.000000")
	sub, err := h.Subscribe(ctx, events.ForAgent(agent))
	require.NoError(t, err)
	defer h.Unsubscribe(sub)
	_, err = db.DB.ExecContext(ctx, `SELECT casehub_event($1, false, 'test.known', '{}')`, agent)
	require.NoError(t, err)
	e := next(t, sub)

	ok, err := h.Known(ctx, e.Cursor)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = h.Known(ctx, events.Cursor{})
	require.NoError(t, err)
	require.True(t, ok)

	_, err = db.DB.ExecContext(ctx, `DELETE FROM events WHERE id = $1`, e.Cursor.ID)
	require.NoError(t, err)
	ok, err = h.Known(ctx, e.Cursor)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestCursorsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want events.Cursor
		bad  bool
	}{
		{in: "0-0", want: events.Cursor{}},
		{in: "812-40521", want: events.Cursor{Tx: 812, ID: 40521}},
		{in: " 9-1 ", want: events.Cursor{Tx: 9, ID: 1}},
		{in: "", bad: true},
		{in: "812", bad: true},
		{in: "a-1", bad: true},
		{in: "1--1", bad: true},
		{in: "1-x", bad: true},
	} {
		got, err := events.ParseCursor(tc.in)
		if tc.bad {
			require.ErrorIs(t, err, events.ErrBadCursor, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got)
		back, err := events.ParseCursor(got.String())
		require.NoError(t, err)
		require.Equal(t, got, back)
	}
}

func TestEncodedEventsSayWhen(t *testing.T) {
	at := time.Date(2026, 11, 30, 16, 2, 11, 200_000_000, time.UTC)
	for _, tc := range []struct{ data, want string }{
		{`{"offer_id": "o-1"}`, `{"at":"2026-11-30T16:02:11.2Z","offer_id": "o-1"}`},
		{`{}`, `{"at":"2026-11-30T16:02:11.2Z"}`},
	} {
		got := string(events.EncodeEvent(events.Event{Cursor: events.Cursor{Tx: 7, ID: 3}, Kind: "offer.booked", Data: []byte(tc.data), At: at}))
		require.Equal(t, "id: 7-3\nevent: offer.booked\ndata: "+tc.want+"\n\n", got)
	}
}
