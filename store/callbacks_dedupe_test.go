package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// One pending callback per number and queue, through the whole life of the
// callback: a second request while the first waits or is being worked
// (offered, dialled, on the line) finds the first; once it is closed, the
// number may ask again.
func TestSecondCallbackWhileTheFirstIsOpen(t *testing.T) {
	ctx := context.Background()
	queue, agents := routingFixture(t, "ann")
	other, _ := routingFixture(t)
	ann := agents[0]

	// The steps the callback process records, in the order it records them,
	// with the state it stores for each (every step of work is in_progress).
	type step struct{ name, state string }
	walks := map[string][]step{
		store.CallbackCustomerFirst: {
			{"scheduled", store.CallbackScheduled}, {"queued", store.CallbackQueued}, {"dialing", store.CallbackInProgress},
			{"offered", store.CallbackInProgress}, {"holding", store.CallbackInProgress}, {"offered again", store.CallbackInProgress},
			{"connected", store.CallbackInProgress},
		},
		store.CallbackAgentFirst: {
			{"scheduled", store.CallbackScheduled}, {"queued", store.CallbackQueued}, {"offered", store.CallbackInProgress},
			{"preview", store.CallbackInProgress}, {"dialing", store.CallbackInProgress}, {"unanswered", store.CallbackInProgress},
			{"redialing", store.CallbackInProgress}, {"connected", store.CallbackInProgress},
		},
	}
	closings := []string{store.CallbackCompleted, store.CallbackFailed, store.CallbackCancelled, store.CallbackExpired}

	n := 0
	for _, mode := range []string{store.CallbackCustomerFirst, store.CallbackAgentFirst} {
		for _, final := range closings {
			n++
			number := fmt.Sprintf("+1202555%04d", 200+n)
			t.Run(mode+" then "+final, func(t *testing.T) {
				req := newCallback(t, queue, number)
				req.Mode = mode
				first, created, err := st.CreateCallback(ctx, req)
				require.NoError(t, err)
				require.True(t, created)
				version := first.Version

				for i, w := range walks[mode] {
					step, state := w.name, w.state
					require.True(t, store.IsPendingCallbackState(state), "step %s is stored as %s, a pending state", step, state)
					version++
					agent := ""
					if state == store.CallbackInProgress {
						agent = ann
					}
					got, err := st.ChangeCallback(ctx, store.CallbackChange{ID: first.ID, Version: version, State: state,
						Attempts: 1, MaxAttempts: 3, AgentID: agent, TimeZone: first.TimeZone, ExpiresAt: first.ExpiresAt})
					require.NoError(t, err)
					require.Equal(t, state, got.State, step)

					second, created, err := st.CreateCallback(ctx, newCallback(t, queue, number))
					require.NoError(t, err, step)
					require.False(t, created, "a second request while the first is %s (%s) makes no callback", step, state)
					require.Equal(t, first.ID, second.ID, "it answers with the open one while it is %s", step)
					require.Equal(t, state, second.State, step)

					pending, err := st.PendingCallbacks(ctx, number, queue)
					require.NoError(t, err)
					require.Len(t, pending, 1, "one pending callback while it is %s", step)

					// Another queue is another callback, whatever this one does.
					_, created, err = st.CreateCallback(ctx, newCallback(t, other, number))
					require.NoError(t, err)
					if i == 0 {
						require.True(t, created, "the first request in the other queue")
					} else {
						require.False(t, created, "the other queue's callback is still pending")
					}
				}

				version++
				closed, err := st.ChangeCallback(ctx, store.CallbackChange{ID: first.ID, Version: version, State: final,
					Outcome: "closed as " + final, Attempts: 1, MaxAttempts: 3, AgentID: ann, TimeZone: first.TimeZone,
					ExpiresAt: first.ExpiresAt})
				require.NoError(t, err)
				require.Equal(t, final, closed.State)
				require.NotNil(t, closed.ClosedAt)
				require.False(t, closed.Pending())

				again, created, err := st.CreateCallback(ctx, newCallback(t, queue, number))
				require.NoError(t, err)
				require.True(t, created, "once the first is %s, a new request makes a new callback", final)
				require.NotEqual(t, first.ID, again.ID)
				require.Equal(t, store.CallbackScheduled, again.State)

				// And that new one is the pending one a third request finds.
				third, created, err := st.CreateCallback(ctx, newCallback(t, queue, number))
				require.NoError(t, err)
				require.False(t, created)
				require.Equal(t, again.ID, third.ID)
				pending, err := st.PendingCallbacks(ctx, number, queue)
				require.NoError(t, err)
				require.Len(t, pending, 1)
				require.Equal(t, again.ID, pending[0].ID)
				old, err := st.GetCallback(ctx, first.ID)
				require.NoError(t, err)
				require.Equal(t, final, old.State, "the closed one stays closed")
			})
		}
	}
}

// A late write of an earlier, open step (a retried activity) never reopens
// a closed callback, so it cannot collide with the number's new callback.
func TestClosedCallbackStaysClosedForTheNextOne(t *testing.T) {
	ctx := context.Background()
	queue, _ := routingFixture(t)
	number := "+12025550299"
	first, created, err := st.CreateCallback(ctx, newCallback(t, queue, number))
	require.NoError(t, err)
	require.True(t, created)
	_, err = st.ChangeCallback(ctx, store.CallbackChange{ID: first.ID, Version: 3, State: store.CallbackCancelled,
		MaxAttempts: 3, TimeZone: first.TimeZone, ExpiresAt: first.ExpiresAt})
	require.NoError(t, err)
	again, created, err := st.CreateCallback(ctx, newCallback(t, queue, number))
	require.NoError(t, err)
	require.True(t, created)

	got, err := st.ChangeCallback(ctx, store.CallbackChange{ID: first.ID, Version: 2, State: store.CallbackQueued,
		MaxAttempts: 3, TimeZone: first.TimeZone, ExpiresAt: first.ExpiresAt})
	require.NoError(t, err, "a late write is not an error")
	require.Equal(t, store.CallbackCancelled, got.State)
	pending, err := st.PendingCallbacks(ctx, number, queue)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, again.ID, pending[0].ID)
}
