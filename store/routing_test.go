package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// routingFixture makes a queue with its own agents, all available, idle in
// the order given.
func routingFixture(t *testing.T, agents ...string) (queue string, ids []string) {
	t.Helper()
	ctx := context.Background()
	queue = "q-" + uuid.NewString()[:8]
	_, err := st.UpsertQueue(ctx, store.Queue{Name: queue, AcceptanceTimeoutS: 30, WrapUpTimeoutS: 60, OnReject: store.OnRejectReoffer})
	require.NoError(t, err)
	for _, a := range agents {
		id := a + "-" + queue
		_, err := st.UpsertAgent(ctx, id, a, 2)
		require.NoError(t, err)
		require.NoError(t, st.SetMembership(ctx, queue, id, true))
		_, err = st.SetPresence(ctx, id, store.PresenceAvailable)
		require.NoError(t, err)
		ids = append(ids, id)
		time.Sleep(2 * time.Millisecond) // distinct idle_since, in order
	}
	return queue, ids
}

func enqueue(t *testing.T, queue, channel string) store.WorkItem {
	t.Helper()
	id := "item-" + uuid.NewString()
	it, err := st.Enqueue(context.Background(), store.NewWorkItem{ID: id, Queue: queue, Channel: channel, Kind: "test", WorkflowID: "wf-" + id})
	require.NoError(t, err)
	return it
}

func TestDispatchOffersOldestItemToLongestIdleAgent(t *testing.T) {
	ctx := context.Background()
	queue, agents := routingFixture(t, "ann", "bob")
	first := enqueue(t, queue, store.ChannelVoice)
	second := enqueue(t, queue, store.ChannelVoice)
	third := enqueue(t, queue, store.ChannelVoice)
	require.Less(t, first.Position, second.Position)

	offers, err := st.Dispatch(ctx, []string{queue})
	require.NoError(t, err)
	require.Len(t, offers, 2, "two agents, two offers; the third item waits")
	byItem := map[string]string{}
	for _, o := range offers {
		byItem[o.ItemID] = o.AgentID
		require.Equal(t, "wf-"+o.ItemID, o.WorkflowID)
	}
	require.Equal(t, agents[0], byItem[first.ID], "oldest item to the agent idle longest")
	require.Equal(t, agents[1], byItem[second.ID])
	_, waiting := byItem[third.ID]
	require.False(t, waiting)

	// Until acknowledged, a recent offer is not handed out again by another dispatch.
	again, err := st.Dispatch(ctx, []string{queue})
	require.NoError(t, err)
	require.Empty(t, again)

	a, err := st.GetAgent(ctx, agents[0])
	require.NoError(t, err)
	require.Equal(t, store.PresenceBusy, a.Status())
	require.Equal(t, 1, a.VoiceLoad)
}

func TestAcceptTimeoutRejectAndFinish(t *testing.T) {
	ctx := context.Background()
	queue, agents := routingFixture(t, "cat", "dan")
	item := enqueue(t, queue, store.ChannelVoice)
	offers, err := st.Dispatch(ctx, []string{queue})
	require.NoError(t, err)
	require.Len(t, offers, 1)
	o := offers[0]
	require.Equal(t, agents[0], o.AgentID)

	// Cat lets it run out: on break, the item back to waiting at its place.
	require.NoError(t, st.CloseOffer(ctx, o.ID, store.OfferTimedOut, true, false))
	require.NoError(t, st.CloseOffer(ctx, o.ID, store.OfferTimedOut, true, false), "closing twice is a no-op")
	cat, err := st.GetAgent(ctx, agents[0])
	require.NoError(t, err)
	require.Equal(t, store.PresenceOnBreak, cat.Presence)
	require.Zero(t, cat.VoiceLoad)
	it, err := st.GetWorkItem(ctx, item.ID)
	require.NoError(t, err)
	require.Equal(t, store.ItemWaiting, it.State)
	require.Equal(t, item.Position, it.Position, "keeps its place in line")

	// Next to Dan, who rejects: re-offered, never to Dan again.
	offers, err = st.Dispatch(ctx, []string{queue})
	require.NoError(t, err)
	require.Len(t, offers, 1)
	require.Equal(t, agents[1], offers[0].AgentID)
	require.NoError(t, st.CloseOffer(ctx, offers[0].ID, store.OfferRejected, true, true))
	offers, err = st.Dispatch(ctx, []string{queue})
	require.NoError(t, err)
	require.Empty(t, offers, "the only available agent rejected it")

	// Cat comes back, gets it, accepts; finishing sends Cat to wrap-up.
	_, err = st.SetPresence(ctx, agents[0], store.PresenceAvailable)
	require.NoError(t, err)
	offers, err = st.Dispatch(ctx, []string{queue})
	require.NoError(t, err)
	require.Len(t, offers, 1)
	require.NoError(t, st.AcceptOffer(ctx, offers[0].ID))
	require.NoError(t, st.AcceptOffer(ctx, offers[0].ID), "accepting twice is a no-op")
	require.ErrorIs(t, st.AcceptOffer(ctx, o.ID), store.ErrConflict, "a timed-out offer cannot be accepted")

	disp := "resolved"
	f, err := st.FinishItem(ctx, item.ID, &disp, time.Minute)
	require.NoError(t, err)
	require.Equal(t, store.FinishedItem{AgentID: agents[0], AgentLoad: 0, WrappingUp: true, WasAssigned: true, Position: item.Position}, f)
	again, err := st.FinishItem(ctx, item.ID, nil, time.Minute)
	require.NoError(t, err)
	require.Equal(t, store.FinishedItem{Position: item.Position}, again, "finishing twice changes nothing")
	cat, err = st.GetAgent(ctx, agents[0])
	require.NoError(t, err)
	require.Equal(t, store.PresenceWrapUp, cat.Presence)
	it, err = st.GetWorkItem(ctx, item.ID)
	require.NoError(t, err)
	require.Equal(t, store.ItemDone, it.State)
	require.Equal(t, "resolved", *it.Disposition)

	// Wrap-up ends only from wrap-up: a break taken meanwhile is kept.
	_, err = st.SetPresence(ctx, agents[0], store.PresenceOnBreak)
	require.NoError(t, err)
	p, applied, err := st.ChangePresence(ctx, agents[0], store.PresenceAvailable, store.PresenceWrapUp)
	require.NoError(t, err)
	require.Equal(t, store.PresenceOnBreak, p)
	require.False(t, applied)
	p, applied, err = st.ChangePresence(ctx, agents[0], store.PresenceAvailable)
	require.NoError(t, err)
	require.Equal(t, store.PresenceAvailable, p)
	require.True(t, applied)
}

func TestChatCapacityAndVoiceExclusivity(t *testing.T) {
	ctx := context.Background()
	queue, agents := routingFixture(t, "eve") // max 2 chats
	chats := []store.WorkItem{enqueue(t, queue, store.ChannelChat), enqueue(t, queue, store.ChannelChat), enqueue(t, queue, store.ChannelChat)}
	voice := enqueue(t, queue, store.ChannelVoice)

	offers, err := st.Dispatch(ctx, []string{queue})
	require.NoError(t, err)
	require.Len(t, offers, 2, "two chat slots")
	for _, o := range offers {
		require.Equal(t, agents[0], o.AgentID)
		require.NotEqual(t, chats[2].ID, o.ItemID)
		require.NotEqual(t, voice.ID, o.ItemID, "no voice while chatting")
	}
	// Finishing one chat frees one slot: the third chat, still not the voice item.
	_, err = st.FinishItem(ctx, offers[0].ItemID, nil, 0)
	require.NoError(t, err)
	more, err := st.Dispatch(ctx, []string{queue})
	require.NoError(t, err)
	require.Len(t, more, 1)
	require.Equal(t, chats[2].ID, more[0].ItemID)
}

func TestReplacementKeepsThePosition(t *testing.T) {
	ctx := context.Background()
	queue, _ := routingFixture(t)
	waitingCall := enqueue(t, queue, store.ChannelVoice)
	later := enqueue(t, queue, store.ChannelVoice)
	cb, err := st.Enqueue(ctx, store.NewWorkItem{ID: "cb-" + uuid.NewString(), Queue: queue, Channel: store.ChannelVoice,
		Kind: "callback", WorkflowID: "wf-cb", ReplacesID: waitingCall.ID})
	require.NoError(t, err)
	require.Equal(t, waitingCall.Position, cb.Position)
	items, err := st.QueueItems(ctx, queue)
	require.NoError(t, err)
	require.Equal(t, []string{cb.ID, later.ID}, []string{items[0].ID, items[1].ID})
}

// An item that left its queue (a callback when the queue closed) comes back
// at the place it had, ahead of items that arrived after it.
func TestItemReturnsToThePlaceItHad(t *testing.T) {
	ctx := context.Background()
	queue, _ := routingFixture(t)
	first := enqueue(t, queue, store.ChannelVoice)
	later := enqueue(t, queue, store.ChannelVoice)
	left, err := st.FinishItem(ctx, first.ID, nil, 0)
	require.NoError(t, err)
	require.Equal(t, first.Position, left.Position)
	back, err := st.Enqueue(ctx, store.NewWorkItem{ID: first.ID + "-again", Queue: queue, Channel: store.ChannelVoice,
		Kind: "callback", WorkflowID: first.WorkflowID, Position: left.Position})
	require.NoError(t, err)
	items, err := st.QueueItems(ctx, queue)
	require.NoError(t, err)
	require.Equal(t, []string{back.ID, later.ID}, []string{items[0].ID, items[1].ID})
}

func TestTargetedItemGoesOnlyToItsAgent(t *testing.T) {
	ctx := context.Background()
	queue, agents := routingFixture(t, "fay", "gus")
	id := "item-" + uuid.NewString()
	_, err := st.Enqueue(ctx, store.NewWorkItem{ID: id, Queue: queue, Channel: store.ChannelVoice, Kind: "transfer", WorkflowID: "wf", TargetAgent: agents[1]})
	require.NoError(t, err)
	offers, err := st.Dispatch(ctx, []string{queue})
	require.NoError(t, err)
	require.Len(t, offers, 1)
	require.Equal(t, agents[1], offers[0].AgentID, "not the longest idle, the target")
}

// Many dispatchers at once, as with several workers: every item is offered
// at most once at a time and no agent holds two voice offers.
func TestConcurrentDispatchNeverDoubleBooks(t *testing.T) {
	ctx := context.Background()
	names := make([]string, 12)
	for i := range names {
		names[i] = fmt.Sprintf("agent%02d", i)
	}
	queue, _ := routingFixture(t, names...)
	for range 40 {
		enqueue(t, queue, store.ChannelVoice)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.Dispatch(ctx, []string{queue}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var rows []struct {
		AgentID string `db:"agent_id"`
		N       int    `db:"n"`
	}
	require.NoError(t, st.DB().Select(&rows, `
SELECT o.agent_id, count(*) AS n FROM offers o JOIN work_items i ON i.id = o.item_id
WHERE i.queue = $1 AND o.state = 'pending' GROUP BY o.agent_id`, queue))
	require.Len(t, rows, 12, "every agent got exactly one offer")
	for _, r := range rows {
		require.Equal(t, 1, r.N, r.AgentID)
	}
	var offered, maxPerItem int
	require.NoError(t, st.DB().Get(&offered, `SELECT count(*) FROM work_items WHERE queue = $1 AND state = 'offered'`, queue))
	require.Equal(t, 12, offered)
	require.NoError(t, st.DB().Get(&maxPerItem, `
SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM offers o JOIN work_items i ON i.id = o.item_id
WHERE i.queue = $1 GROUP BY o.item_id) x`, queue))
	require.Equal(t, 1, maxPerItem)
	// The twelve oldest items were the ones offered.
	var oldestWaiting, newestOffered int64
	require.NoError(t, st.DB().Get(&oldestWaiting, `SELECT min(position) FROM work_items WHERE queue = $1 AND state = 'waiting'`, queue))
	require.NoError(t, st.DB().Get(&newestOffered, `SELECT max(position) FROM work_items WHERE queue = $1 AND state = 'offered'`, queue))
	require.Less(t, newestOffered, oldestWaiting)
}
