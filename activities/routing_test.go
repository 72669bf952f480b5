package activities_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/store"
)

var st *store.Store

func TestMain(m *testing.M) {
	db := testenv.MustDatabase("activities")
	st = db.Store
	code := m.Run()
	db.Close()
	os.Exit(code)
}

// twoQueues makes queues a and b (no wrap-up) with one available agent in
// both, an item waiting in each, and the agent offered a's item.
func twoQueues(t *testing.T) (agent string, a, b store.WorkItem, offer store.Offer) {
	t.Helper()
	ctx := context.Background()
	suffix := uuid.NewString()[:8]
	agent = "agent-" + suffix
	_, err := st.UpsertAgent(ctx, agent, "Ann", 1)
	require.NoError(t, err)
	var items []store.WorkItem
	for _, q := range []string{"a-" + suffix, "b-" + suffix} {
		_, err := st.UpsertQueue(ctx, store.Queue{Name: q, AcceptanceTimeoutS: 30, WrapUpTimeoutS: 0, OnReject: store.OnRejectReoffer})
		require.NoError(t, err)
		require.NoError(t, st.SetMembership(ctx, q, agent, true))
		id := "item-" + uuid.NewString()
		it, err := st.Enqueue(ctx, store.NewWorkItem{ID: id, Queue: q, Channel: store.ChannelVoice, Kind: "test", WorkflowID: "wf-" + id})
		require.NoError(t, err)
		items = append(items, it)
	}
	_, err = st.SetPresence(ctx, agent, store.PresenceAvailable)
	require.NoError(t, err)
	offers, err := st.Dispatch(ctx, []string{items[0].Queue})
	require.NoError(t, err)
	require.Len(t, offers, 1)
	require.Equal(t, items[0].ID, offers[0].ItemID)
	return agent, items[0], items[1], offers[0]
}

// An agent freed by one queue's item is offered the work waiting in its
// other queues at once, not at some later, unrelated dispatch.
func TestFreedAgentGetsWorkFromItsOtherQueues(t *testing.T) {
	ctx := context.Background()
	acts := &activities.Activities{Store: st}

	t.Run("after a reject", func(t *testing.T) {
		agent, a, b, offer := twoQueues(t)
		offers, err := acts.CloseOffer(ctx, activities.CloseOfferRequest{OfferID: offer.ID, Queue: a.Queue,
			State: store.OfferRejected, Requeue: true, Exclude: true})
		require.NoError(t, err)
		require.Len(t, offers, 1)
		require.Equal(t, b.ID, offers[0].ItemID)
		require.Equal(t, agent, offers[0].AgentID)
	})

	t.Run("after an item without wrap-up finishes", func(t *testing.T) {
		agent, a, b, offer := twoQueues(t)
		require.NoError(t, st.AcceptOffer(ctx, offer.ID))
		res, err := acts.FinishWorkItem(ctx, activities.FinishWorkItemRequest{ItemID: a.ID, Queue: a.Queue})
		require.NoError(t, err)
		require.Equal(t, agent, res.Finished.AgentID)
		require.Len(t, res.Offers, 1)
		require.Equal(t, b.ID, res.Offers[0].ItemID)
		require.Equal(t, agent, res.Offers[0].AgentID)
	})
}
