package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

func newCallback(t *testing.T, queue, number string) store.NewCallback {
	t.Helper()
	id, err := st.NextCallbackID(context.Background())
	require.NoError(t, err)
	return store.NewCallback{ID: id, WorkflowID: "callback-" + id, Queue: queue, Number: number, Mode: store.CallbackCustomerFirst,
		TimeZone: "Europe/Berlin", ExpiresAt: time.Now().Add(24 * time.Hour), MaxAttempts: 3, Reason: "invoice",
		IVR: map[string]string{"lang": "de"}, CaseNumber: "CS-000001", CreatedBy: "integration"}
}

func TestOnePendingCallbackPerNumberAndQueue(t *testing.T) {
	ctx := context.Background()
	queue, _ := routingFixture(t)

	// Ten requests for one customer at once make one callback.
	var wg sync.WaitGroup
	ids := make(chan string, 10)
	created := make(chan bool, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cb, isNew, err := st.CreateCallback(ctx, newCallback(t, queue, "+12025550101"))
			require.NoError(t, err)
			ids <- cb.ID
			created <- isNew
		}()
	}
	wg.Wait()
	close(ids)
	close(created)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	news := 0
	for c := range created {
		if c {
			news++
		}
	}
	require.Len(t, seen, 1)
	require.Equal(t, 1, news)
	var first string
	for id := range seen {
		first = id
	}
	cb, err := st.GetCallback(ctx, first)
	require.NoError(t, err)
	require.Equal(t, store.CallbackScheduled, cb.State)
	require.Equal(t, map[string]string{"lang": "de"}, cb.IVR)
	require.Equal(t, "CS-000001", *cb.CaseNumber)
	require.Empty(t, cb.LinkedInteractions)

	// Another number, or another queue, is another callback.
	_, isNew, err := st.CreateCallback(ctx, newCallback(t, queue, "+12025550102"))
	require.NoError(t, err)
	require.True(t, isNew)

	// Once the pending one closes, the number may ask again.
	_, err = st.ChangeCallback(ctx, store.CallbackChange{ID: first, Version: 2, State: store.CallbackCompleted, MaxAttempts: 3, ExpiresAt: cb.ExpiresAt})
	require.NoError(t, err)
	again, isNew, err := st.CreateCallback(ctx, newCallback(t, queue, "+12025550101"))
	require.NoError(t, err)
	require.True(t, isNew)
	require.NotEqual(t, first, again.ID)

	pending, err := st.PendingCallbacks(ctx, "+12025550101", queue)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, again.ID, pending[0].ID)
	list, err := st.ListCallbacks(ctx, store.CallbackQuery{Queue: queue, State: store.CallbackPending, Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 2)
	list, err = st.ListCallbacks(ctx, store.CallbackQuery{Queue: queue, State: store.CallbackCompleted, Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NotNil(t, list[0].ClosedAt)
}

func TestCallbackChangesNeverGoBackwards(t *testing.T) {
	ctx := context.Background()
	queue, agents := routingFixture(t, "ann")
	cb, _, err := st.CreateCallback(ctx, newCallback(t, queue, "+12025550103"))
	require.NoError(t, err)
	next := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
	_, err = st.ChangeCallback(ctx, store.CallbackChange{ID: cb.ID, Version: 3, State: store.CallbackInProgress, Attempts: 1,
		MaxAttempts: 3, AgentID: agents[0], NextAttemptAt: &next, TimeZone: "Europe/Berlin", ExpiresAt: cb.ExpiresAt})
	require.NoError(t, err)
	got, err := st.ChangeCallback(ctx, store.CallbackChange{ID: cb.ID, Version: 2, State: store.CallbackQueued, MaxAttempts: 3, ExpiresAt: cb.ExpiresAt})
	require.NoError(t, err, "a late write is not an error")
	require.Equal(t, store.CallbackInProgress, got.State, "and changes nothing")
	require.Equal(t, 3, got.Version)
	require.Equal(t, agents[0], *got.AgentID)
	require.True(t, next.Equal(*got.NextAttemptAt))

	// Attempts: written at the dial and at its end, safely twice.
	started := time.Now()
	call := "call-1"
	for _, a := range []store.CallbackAttempt{
		{Callback: cb.ID, Attempt: 1, Number: cb.Number, Outcome: store.AttemptDialing, StartedAt: started},
		{Callback: cb.ID, Attempt: 1, Number: cb.Number, CallID: &call, Outcome: store.AttemptNoAnswer, StartedAt: started, EndedAt: &started},
		{Callback: cb.ID, Attempt: 1, Number: cb.Number, Outcome: store.AttemptDialing, StartedAt: started}, // a late retry
	} {
		require.NoError(t, st.RecordCallbackAttempt(ctx, a))
	}
	attempts, err := st.CallbackAttempts(ctx, cb.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Equal(t, store.AttemptNoAnswer, attempts[0].Outcome)
	require.Equal(t, "call-1", *attempts[0].CallID)
	require.ErrorIs(t, st.RecordCallbackAttempt(ctx, store.CallbackAttempt{Callback: cb.ID, Attempt: 2, Number: cb.Number, Outcome: "maybe"}), store.ErrInvalid)

	// Linking an inbound call twice keeps it once.
	for range 2 {
		require.NoError(t, st.LinkInteraction(ctx, cb.ID, "IMS0000042"))
	}
	got, err = st.GetCallback(ctx, cb.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"IMS0000042"}, []string(got.LinkedInteractions))
}

func TestCallbackInteractionIsOpenedOnce(t *testing.T) {
	ctx := context.Background()
	queue, agents := routingFixture(t, "ann")
	cb, _, err := st.CreateCallback(ctx, newCallback(t, queue, "+12025550104"))
	require.NoError(t, err)
	n := store.NewInteraction{Channel: store.InteractionPhone, Direction: store.DirectionOutbound, State: store.InteractionWorkInProgress,
		WorkflowID: cb.WorkflowID, ContactPhone: cb.Number, Queue: queue, AgentID: agents[0], CallID: "call-9", Actor: agents[0]}
	first, err := st.OpenCallbackInteraction(ctx, cb.ID, n)
	require.NoError(t, err)
	second, err := st.OpenCallbackInteraction(ctx, cb.ID, n)
	require.NoError(t, err)
	require.Equal(t, first.Number, second.Number)
	require.Equal(t, store.InteractionWorkInProgress, first.State)
	got, err := st.GetCallback(ctx, cb.ID)
	require.NoError(t, err)
	require.Equal(t, first.Number, *got.Interaction)
}
