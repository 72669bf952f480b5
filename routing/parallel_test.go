package routing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/routing"
	"github.com/casehub/casehub/store"
)

// sharedFixture makes queues whose members overlap: agent i is a member of
// queue i%len(queues) and of queue (i+1)%len(queues), so dispatchers of
// different queues compete for the same people.
func sharedFixture(t testing.TB, r *routing.Router, queues, agents int) (names []string, ids []string) {
	t.Helper()
	ctx := context.Background()
	tag := uuid.NewString()[:8]
	for q := range queues {
		name := fmt.Sprintf("shared-%s-%d", tag, q)
		_, err := st.UpsertQueue(ctx, store.Queue{Name: name, AcceptanceTimeoutS: 30, WrapUpTimeoutS: 0, OnReject: store.OnRejectReoffer})
		require.NoError(t, err)
		names = append(names, name)
	}
	for i := range agents {
		id := fmt.Sprintf("shared-%s-a%02d", tag, i)
		_, err := st.UpsertAgent(ctx, id, id, 3)
		require.NoError(t, err)
		require.NoError(t, st.SetMembership(ctx, names[i%queues], id, true))
		require.NoError(t, st.SetMembership(ctx, names[(i+1)%queues], id, true))
		ids = append(ids, id)
	}
	return names, ids
}

// Dispatchers of different queues that share agents, agents signing in,
// offers rejected and items finished, all at once: no agent is ever booked
// beyond its room, no item has two open offers, every load matches what the
// agent holds, and every step finishes (no deadlock is left unbroken).
func TestParallelStepsAcrossSharedQueuesNeverDoubleBook(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queues, agents := sharedFixture(t, r, 4, 12)
	var items []string
	for i := range 80 {
		ch := store.ChannelVoice
		if i%3 == 0 {
			ch = store.ChannelChat
		}
		items = append(items, enqueue(t, r, queues[i%len(queues)], ch).ID)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- err
			}
		}()
	}
	for _, a := range agents {
		run(func() error {
			_, err := r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: a, Presence: store.PresenceAvailable})
			return err
		})
	}
	for g := range 16 {
		run(func() error {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 6 {
				q := queues[rng.IntN(len(queues))]
				if _, err := r.Dispatch(ctx, key(), []string{q}); err != nil {
					return err
				}
				// Answer some open offers: reject one, finish another's item.
				ids, err := pendingOffers(q)
				if err != nil {
					return err
				}
				open, err := st.Offers(ctx, ids)
				if err != nil {
					return err
				}
				if len(open) == 0 {
					continue
				}
				o := open[rng.IntN(len(open))]
				if rng.IntN(2) == 0 {
					_, err = r.Close(ctx, key(), routing.CloseRequest{OfferID: o.ID, State: store.OfferRejected, Requeue: true})
				} else {
					_, err = r.Finish(ctx, key(), routing.FinishRequest{ItemID: o.ItemID})
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	// Every agent's load is what it holds, and within its room.
	var loads []struct {
		ID       string `db:"id"`
		Voice    int    `db:"voice_load"`
		Chat     int    `db:"chat_load"`
		MaxChats int    `db:"max_chats"`
		Held     int    `db:"held_voice"`
		HeldChat int    `db:"held_chat"`
	}
	require.NoError(t, st.DB().Select(&loads, `
SELECT a.id, a.voice_load, a.chat_load, a.max_chats,
       (SELECT count(*) FROM work_items w WHERE w.agent_id = a.id AND w.state IN ('offered', 'assigned') AND w.channel = 'voice') AS held_voice,
       (SELECT count(*) FROM work_items w WHERE w.agent_id = a.id AND w.state IN ('offered', 'assigned') AND w.channel = 'chat') AS held_chat
FROM agents a WHERE a.id = ANY($1) ORDER BY a.id`, pq.Array(agents)))
	require.Len(t, loads, len(agents))
	booked := 0
	for _, l := range loads {
		require.Equal(t, l.Held, l.Voice, "voice load of %s", l.ID)
		require.Equal(t, l.HeldChat, l.Chat, "chat load of %s", l.ID)
		require.LessOrEqual(t, l.Voice, 1, l.ID)
		require.True(t, l.Voice == 0 || l.Chat == 0, "%s holds a call and a chat", l.ID)
		require.LessOrEqual(t, l.Chat, l.MaxChats, l.ID)
		booked += l.Voice + l.Chat
	}
	require.Positive(t, booked, "the run booked work")

	// No item has two open offers, and each offered item has exactly one.
	var bad int
	require.NoError(t, st.DB().Get(&bad, `
SELECT count(*) FROM work_items w
WHERE w.id = ANY($1) AND (SELECT count(*) FROM offers o WHERE o.item_id = w.id AND o.state = 'pending')
      <> CASE WHEN w.state = 'offered' THEN 1 ELSE 0 END`, pq.Array(items)))
	require.Zero(t, bad)
}

func pendingOffers(queue string) ([]string, error) {
	var ids []string
	err := st.DB().Select(&ids, `
SELECT o.id FROM offers o JOIN work_items i ON i.id = o.item_id WHERE i.queue = $1 AND o.state = 'pending' ORDER BY o.id`, queue)
	return ids, err
}
