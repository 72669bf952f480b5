package routing_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/routing"
	"github.com/casehub/casehub/store"
)

var st *store.Store

func TestMain(m *testing.M) {
	db := testenv.MustDatabase("routing")
	st = db.Store
	code := m.Run()
	db.Close()
	os.Exit(code)
}

// signals records what routing signals, in place of the Temporal client
// (these tests are about PostgreSQL; the end-to-end tests deliver through a
// real Temporal server). Processes named in gone answer NotFound, as
// Temporal does for a process that has ended.
type signals struct {
	mu   sync.Mutex
	sent []signal
	gone map[string]bool
}

type signal struct {
	WorkflowID, Name string
	Arg              any
}

func (s *signals) SignalWorkflow(_ context.Context, workflowID, _, name string, arg any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone[workflowID] {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	s.sent = append(s.sent, signal{workflowID, name, arg})
	return nil
}

// offers returns the offers signalled so far, in order.
func (s *signals) offers() []routing.OfferSignal {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []routing.OfferSignal
	for _, sg := range s.sent {
		if o, ok := sg.Arg.(routing.OfferSignal); ok {
			out = append(out, o)
		}
	}
	return out
}

func (s *signals) named(name string) []signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []signal
	for _, sg := range s.sent {
		if sg.Name == name {
			out = append(out, sg)
		}
	}
	return out
}

func newRouter() (*routing.Router, *signals) {
	sig := &signals{gone: map[string]bool{}}
	return routing.New(st, sig), sig
}

// key is a fresh step key, as one activity would have.
func key() string { return "run-" + uuid.NewString() + "/1" }

// fixture makes a queue with its own agents, all available, idle in the
// order given.
func fixture(t *testing.T, r *routing.Router, agents ...string) (queue string, ids []string) {
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
		_, err = r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: id, Presence: store.PresenceAvailable})
		require.NoError(t, err)
		ids = append(ids, id)
		time.Sleep(2 * time.Millisecond) // distinct idle_since, in order
	}
	return queue, ids
}

func enqueue(t *testing.T, r *routing.Router, queue, channel string) store.WorkItem {
	t.Helper()
	id := "item-" + uuid.NewString()
	e, err := r.Enqueue(context.Background(), key(), store.NewWorkItem{ID: id, Queue: queue, Channel: channel, Kind: "test", WorkflowID: "wf-" + id})
	require.NoError(t, err)
	return e.Item
}

// dispatch books queue and returns the offers it made.
func dispatch(t *testing.T, r *routing.Router, queue string) []store.Offer {
	t.Helper()
	b, err := r.Dispatch(context.Background(), key(), []string{queue})
	require.NoError(t, err)
	return b.Offers
}

func agent(t *testing.T, id string) store.Agent {
	t.Helper()
	a, err := st.GetAgent(context.Background(), id)
	require.NoError(t, err)
	return a
}

func item(t *testing.T, id string) store.WorkItem {
	t.Helper()
	it, err := st.GetWorkItem(context.Background(), id)
	require.NoError(t, err)
	return it
}

func TestDispatchOffersOldestItemToLongestIdleAgent(t *testing.T) {
	r, sig := newRouter()
	queue, agents := fixture(t, r, "ann", "bob")
	first := enqueue(t, r, queue, store.ChannelVoice)
	second := enqueue(t, r, queue, store.ChannelVoice)
	third := enqueue(t, r, queue, store.ChannelVoice)
	require.Less(t, first.Position, second.Position)

	// Each enqueue booked its queue as it went: the first two are offered.
	require.Equal(t, agents[0], *item(t, first.ID).AgentID, "oldest item to the agent idle longest")
	require.Equal(t, agents[1], *item(t, second.ID).AgentID)
	require.Equal(t, store.ItemWaiting, item(t, third.ID).State)

	// Delivered to the items' processes, with ids made from the item.
	offers := sig.offers()
	require.Len(t, offers, 2)
	require.Equal(t, routing.OfferID(first.ID, 1), offers[0].OfferID)
	require.Equal(t, first.ID, offers[0].ItemID)
	require.Equal(t, agents[0], offers[0].AgentID)
	require.Equal(t, "wf-"+first.ID, sig.sent[0].WorkflowID)

	require.Empty(t, dispatch(t, r, queue), "no agent left")
	a := agent(t, agents[0])
	require.Equal(t, store.PresenceBusy, a.Status())
	require.Equal(t, 1, a.VoiceLoad)
}

// A contact draws its place in line when it arrives; its process enqueues
// it a moment later. One that drew first but was enqueued second is still
// offered first.
func TestDispatchByDrawnPlace(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queue, agents := fixture(t, r)
	early, err := st.NextPosition(ctx)
	require.NoError(t, err)
	late, err := st.NextPosition(ctx)
	require.NoError(t, err)
	lateItem, err := r.Enqueue(ctx, key(), store.NewWorkItem{ID: "late-" + queue, Queue: queue, Channel: store.ChannelVoice, Kind: "test", WorkflowID: "wf-late", Position: late})
	require.NoError(t, err)
	earlyItem, err := r.Enqueue(ctx, key(), store.NewWorkItem{ID: "early-" + queue, Queue: queue, Channel: store.ChannelVoice, Kind: "test", WorkflowID: "wf-early", Position: early})
	require.NoError(t, err)
	require.Empty(t, agents)

	_, ids := addAgents(t, r, queue, "one")
	p, err := r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: ids[0], Presence: store.PresenceAvailable})
	require.NoError(t, err)
	offers := p.Offers
	require.Len(t, offers, 1)
	require.Equal(t, earlyItem.Item.ID, offers[0].ItemID, "drew its place first, enqueued second, offered first")
	require.Equal(t, ids[0], offers[0].AgentID)
	require.Equal(t, store.ItemWaiting, item(t, lateItem.Item.ID).State)
}

// addAgents adds available members to an existing queue (each booking the
// queue as it becomes available).
func addAgents(t *testing.T, r *routing.Router, queue string, names ...string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for _, n := range names {
		id := n + "-" + queue
		_, err := st.UpsertAgent(ctx, id, n, 2)
		require.NoError(t, err)
		require.NoError(t, st.SetMembership(ctx, queue, id, true))
		ids = append(ids, id)
	}
	return queue, ids
}

func TestAcceptTimeoutRejectAndFinish(t *testing.T) {
	ctx := context.Background()
	r, sig := newRouter()
	queue, agents := fixture(t, r, "cat", "dan")
	it := enqueue(t, r, queue, store.ChannelVoice)
	o := sig.offers()[0]
	require.Equal(t, agents[0], o.AgentID)

	// Cat lets it run out: on break, the item back in line at its place,
	// and at once offered to Dan.
	closed, err := r.Close(ctx, key(), routing.CloseRequest{OfferID: o.OfferID, State: store.OfferTimedOut, Requeue: true})
	require.NoError(t, err)
	require.True(t, closed.WasOpen)
	again, err := r.Close(ctx, key(), routing.CloseRequest{OfferID: o.OfferID, State: store.OfferTimedOut, Requeue: true})
	require.NoError(t, err)
	require.False(t, again.WasOpen, "closing a closed offer changes nothing")
	cat := agent(t, agents[0])
	require.Equal(t, store.PresenceOnBreak, cat.Presence)
	require.Zero(t, cat.VoiceLoad)
	require.Len(t, sig.named(routing.SignalOfferTimedOut), 1, "the agent's process is told once")
	require.Equal(t, routing.AgentWorkflowID(agents[0]), sig.named(routing.SignalOfferTimedOut)[0].WorkflowID)
	require.Len(t, closed.Offers, 1)
	require.Equal(t, agents[1], closed.Offers[0].AgentID, "the freed item went to the next agent at once")
	require.Equal(t, routing.OfferID(it.ID, 2), closed.Offers[0].ID)
	require.Equal(t, it.Position, item(t, it.ID).Position, "keeps its place in line")

	// Dan rejects: never offered to Dan again; nobody else is available.
	rejected, err := r.Close(ctx, key(), routing.CloseRequest{OfferID: closed.Offers[0].ID, State: store.OfferRejected, Requeue: true, Exclude: true})
	require.NoError(t, err)
	require.Empty(t, rejected.Offers, "the only available agent rejected it")
	require.Equal(t, store.ItemWaiting, item(t, it.ID).State)

	// Cat comes back, gets it, accepts; finishing sends Cat to wrap-up.
	back, err := r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: agents[0], Presence: store.PresenceAvailable})
	require.NoError(t, err)
	require.Len(t, back.Offers, 1)
	third := back.Offers[0].ID
	acc, err := r.Accept(ctx, key(), third, routing.Record{})
	require.NoError(t, err)
	require.Equal(t, routing.Accepted{AgentID: agents[0], ItemID: it.ID, Queue: queue, AgentTold: true}, acc)
	_, err = r.Accept(ctx, key(), third, routing.Record{})
	require.NoError(t, err, "accepting an accepted offer again answers the same")
	_, err = r.Accept(ctx, key(), o.OfferID, routing.Record{})
	require.ErrorIs(t, err, store.ErrConflict, "a timed-out offer cannot be accepted")

	disp := "resolved"
	f, err := r.Finish(ctx, key(), routing.FinishRequest{ItemID: it.ID, Disposition: &disp, WrapUp: 30 * time.Second})
	require.NoError(t, err)
	require.True(t, f.WasAssigned)
	require.True(t, f.WrappingUp)
	require.Equal(t, agents[0], f.AgentID)
	require.NotNil(t, f.WrapUpUntil)
	cat = agent(t, agents[0])
	require.Equal(t, store.PresenceWrapUp, cat.Presence)
	require.Equal(t, it.ID, *cat.WrapUpItem)
	require.WithinDuration(t, cat.PresenceAt.Add(30*time.Second), *cat.WrapUpUntil, time.Millisecond, "the queue's 30 s, as recorded")
	require.True(t, f.WrapUpUntil.Equal(*cat.WrapUpUntil))
	done := item(t, it.ID)
	require.Equal(t, store.ItemDone, done.State)
	require.Equal(t, "resolved", *done.Disposition)
	finished := sig.named(routing.SignalItemFinished)
	require.Len(t, finished, 1)
	require.Equal(t, routing.ItemFinished{ItemID: it.ID, Queue: queue, WrappingUp: true, WrapUp: 30 * time.Second, Until: f.WrapUpUntil,
		Seq: f.PresenceSeq}, finished[0].Arg)
	// Cat's presence changes so far: available, on break (the time-out),
	// available again, wrap-up.
	require.Equal(t, int64(4), f.PresenceSeq, "the wrap-up is the agent's fourth presence change")
	timedOut := sig.named(routing.SignalOfferTimedOut)[0].Arg.(routing.OfferTimedOut)
	require.True(t, timedOut.OnBreak)
	require.Equal(t, int64(2), timedOut.Seq, "the break was the second")

	// Wrap-up ends only from wrap-up: a break taken meanwhile is kept.
	_, err = r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: agents[0], Presence: store.PresenceOnBreak})
	require.NoError(t, err)
	p, err := r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: agents[0], Presence: store.PresenceAvailable, OnlyFrom: []string{store.PresenceWrapUp}})
	require.NoError(t, err)
	require.Equal(t, routing.PresenceResult{Presence: store.PresenceOnBreak, Seq: 5}, p, "not applied: the break (the fifth change) stands")
	require.Nil(t, agent(t, agents[0]).WrapUpUntil, "leaving wrap-up forgets it")
}

func TestChatCapacityAndVoiceExclusivity(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queue, agents := addAgents(t, r, mustQueue(t), "eve") // max 2 chats
	chats := []store.WorkItem{enqueue(t, r, queue, store.ChannelChat), enqueue(t, r, queue, store.ChannelChat), enqueue(t, r, queue, store.ChannelChat)}
	voice := enqueue(t, r, queue, store.ChannelVoice)

	p, err := r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: agents[0], Presence: store.PresenceAvailable})
	require.NoError(t, err)
	require.Len(t, p.Offers, 2, "two chat slots")
	for _, o := range p.Offers {
		require.Equal(t, agents[0], o.AgentID)
		require.NotEqual(t, chats[2].ID, o.ItemID)
		require.NotEqual(t, voice.ID, o.ItemID, "no voice while chatting")
	}
	// Finishing one chat frees one slot: the third chat, still not the voice item.
	f, err := r.Finish(ctx, key(), routing.FinishRequest{ItemID: p.Offers[0].ItemID})
	require.NoError(t, err)
	require.Len(t, f.Offers, 1)
	require.Equal(t, chats[2].ID, f.Offers[0].ItemID)
}

func mustQueue(t *testing.T) string {
	t.Helper()
	queue := "q-" + uuid.NewString()[:8]
	_, err := st.UpsertQueue(context.Background(), store.Queue{Name: queue, AcceptanceTimeoutS: 30, WrapUpTimeoutS: 60, OnReject: store.OnRejectReoffer})
	require.NoError(t, err)
	return queue
}

func TestReplacementKeepsThePosition(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queue := mustQueue(t)
	first := enqueue(t, r, queue, store.ChannelVoice)
	waiting := enqueue(t, r, queue, store.ChannelVoice)
	last := enqueue(t, r, queue, store.ChannelVoice)

	got, err := st.WaitingWorkItemOf(ctx, waiting.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, waiting.ID, got.ID)
	cb, err := r.Enqueue(ctx, key(), store.NewWorkItem{ID: "CB-" + queue + "-1", Queue: queue, Channel: store.ChannelVoice, Kind: "callback",
		WorkflowID: "callback-CB-" + queue, ReplacesID: waiting.ID})
	require.NoError(t, err)
	require.True(t, cb.Replaced)
	require.Equal(t, waiting.Position, cb.Item.Position)
	items, err := st.QueueItems(ctx, queue)
	require.NoError(t, err)
	require.Equal(t, []string{first.ID, cb.Item.ID, last.ID}, []string{items[0].ID, items[1].ID, items[2].ID})
	_, err = st.WaitingWorkItemOf(ctx, waiting.WorkflowID)
	require.ErrorIs(t, err, store.ErrNotFound, "the call no longer waits")

	// Replacing an item that no longer waits keeps the new one's own place.
	other, err := r.Enqueue(ctx, key(), store.NewWorkItem{ID: "CB-" + queue + "-2", Queue: queue, Channel: store.ChannelVoice, Kind: "callback",
		WorkflowID: "callback-CB2-" + queue, ReplacesID: waiting.ID})
	require.NoError(t, err)
	require.False(t, other.Replaced)
	require.Greater(t, other.Item.Position, last.Position)
}

// An item that left its queue (a callback when the queue closed) comes back
// at the place it had, ahead of items that arrived after it.
func TestItemReturnsToThePlaceItHad(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queue := mustQueue(t)
	first := enqueue(t, r, queue, store.ChannelVoice)
	later := enqueue(t, r, queue, store.ChannelVoice)
	left, err := r.Finish(ctx, key(), routing.FinishRequest{ItemID: first.ID})
	require.NoError(t, err)
	require.Equal(t, first.Position, left.Position)
	back, err := r.Enqueue(ctx, key(), store.NewWorkItem{ID: first.ID + "-again", Queue: queue, Channel: store.ChannelVoice,
		Kind: "callback", WorkflowID: first.WorkflowID, Position: left.Position})
	require.NoError(t, err)
	items, err := st.QueueItems(ctx, queue)
	require.NoError(t, err)
	require.Equal(t, []string{back.Item.ID, later.ID}, []string{items[0].ID, items[1].ID})
}

func TestTargetedItemGoesOnlyToItsAgent(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queue, agents := fixture(t, r, "fay", "gus")
	id := "item-" + uuid.NewString()
	e, err := r.Enqueue(ctx, key(), store.NewWorkItem{ID: id, Queue: queue, Channel: store.ChannelVoice, Kind: "transfer", WorkflowID: "wf", TargetAgent: agents[1]})
	require.NoError(t, err)
	require.Len(t, e.Offers, 1)
	require.Equal(t, agents[1], e.Offers[0].AgentID, "not the longest idle, the target")
}

// Many dispatchers at once, as with several workers: every item is offered
// at most once at a time, no agent holds two voice offers, and the oldest
// items are the ones offered.
func TestConcurrentDispatchNeverDoubleBooks(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queue := mustQueue(t)
	for range 40 {
		enqueue(t, r, queue, store.ChannelVoice)
	}
	names := make([]string, 12)
	for i := range names {
		names[i] = fmt.Sprintf("agent%02d", i)
	}
	_, ids := addAgents(t, r, queue, names...)
	var wg sync.WaitGroup
	errs := make(chan error, len(ids)+16)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: id, Presence: store.PresenceAvailable}); err != nil {
				errs <- err
			}
		}()
	}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Dispatch(ctx, key(), []string{queue}); err != nil {
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
	var oldestWaiting, newestOffered int64
	require.NoError(t, st.DB().Get(&oldestWaiting, `SELECT min(position) FROM work_items WHERE queue = $1 AND state = 'waiting'`, queue))
	require.NoError(t, st.DB().Get(&newestOffered, `SELECT max(position) FROM work_items WHERE queue = $1 AND state = 'offered'`, queue))
	require.Less(t, newestOffered, oldestWaiting)
}

// An offer is shown to its agent only once its process presents it; until
// then the agent is reserved for it (a customer-first callback dialling).
func TestOfferShowsOnlyOncePresented(t *testing.T) {
	ctx := context.Background()
	r, sig := newRouter()
	queue, agents := fixture(t, r, "hal")
	enqueue(t, r, queue, store.ChannelVoice)
	o := sig.offers()[0]

	shown, err := st.PendingOffers(ctx, agents[0])
	require.NoError(t, err)
	require.Empty(t, shown, "booked, not yet presented")
	held, err := st.Reservations(ctx, agents[0])
	require.NoError(t, err)
	require.Len(t, held, 1)
	require.Equal(t, o.OfferID, held[0].ID)

	require.NoError(t, r.Receive(ctx, o.OfferID))
	p, err := r.Present(ctx, key(), o.OfferID, routing.Record{})
	require.NoError(t, err)
	require.Equal(t, routing.Presented{Presented: true, State: store.OfferPending}, p)
	shown, err = st.PendingOffers(ctx, agents[0])
	require.NoError(t, err)
	require.Len(t, shown, 1)
	require.NotNil(t, shown[0].PresentedAt)
	held, err = st.Reservations(ctx, agents[0])
	require.NoError(t, err)
	require.Empty(t, held)

	// A withdrawn offer is not presented: the process learns it closed.
	_, err = r.Close(ctx, key(), routing.CloseRequest{OfferID: o.OfferID, State: store.OfferWithdrawn, Requeue: true})
	require.NoError(t, err)
	late, err := r.Present(ctx, key(), o.OfferID, routing.Record{})
	require.NoError(t, err)
	require.Equal(t, routing.Presented{State: store.OfferWithdrawn}, late)
}

// A process that names its offer's queue has the step take that queue's
// lock first; naming another queue (or none) costs a second read, never a
// wrong answer.
func TestPresentAndAcceptInTheOffersQueue(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, queue string }{
		{"its own queue", ""}, // filled in below: the fixture's queue
		{"another queue", "elsewhere"},
		{"no queue", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, sig := newRouter()
			queue, agents := fixture(t, r, "kim")
			it := enqueue(t, r, queue, store.ChannelVoice)
			o := sig.offers()[0]
			in := tc.queue
			switch in {
			case "":
				in = queue
			case "-":
				in = ""
			}
			p, err := r.PresentIn(ctx, key(), o.OfferID, in, routing.Record{})
			require.NoError(t, err)
			require.Equal(t, routing.Presented{Presented: true, State: store.OfferPending}, p)
			acc, err := r.AcceptIn(ctx, key(), o.OfferID, in, routing.Record{})
			require.NoError(t, err)
			require.Equal(t, agents[0], acc.AgentID)
			require.Equal(t, it.ID, acc.ItemID)
			require.Equal(t, queue, acc.Queue)
			_, err = r.AcceptIn(ctx, key(), o.OfferID, in, routing.Record{})
			require.NoError(t, err, "accepting an accepted offer answers the same")
		})
	}
}

// Every step that changes routing state, run again under the same key after
// its first run committed (an activity retried after its commit), answers as
// the first run did, and changes nothing more.
func TestRetriedStepsAnswerAsTheFirstRun(t *testing.T) {
	ctx := context.Background()
	r, sig := newRouter()
	queue, agents := fixture(t, r, "ida", "jon")
	waitingFor := store.NewWorkItem{ID: "item-" + uuid.NewString(), Queue: queue, Channel: store.ChannelVoice, Kind: "test"}
	waitingFor.WorkflowID = "wf-" + waitingFor.ID

	twice := func(t *testing.T, name string, run func(k string) (any, error)) any {
		t.Helper()
		k := key()
		first, err := run(k)
		require.NoError(t, err, name)
		again, err := run(k)
		require.NoError(t, err, name)
		require.Equal(t, first, again, "%s: the retry answers as the first run", name)
		return first
	}

	e := twice(t, "enqueue", func(k string) (any, error) { return r.Enqueue(ctx, k, waitingFor) }).(routing.Enqueued)
	require.Len(t, e.Offers, 1)
	offerID := e.Offers[0].ID
	require.Equal(t, routing.OfferID(waitingFor.ID, 1), offerID)

	twice(t, "present", func(k string) (any, error) { return r.Present(ctx, k, offerID, routing.Record{}) })

	closed := twice(t, "time out", func(k string) (any, error) {
		return r.Close(ctx, k, routing.CloseRequest{OfferID: offerID, State: store.OfferTimedOut, Requeue: true})
	}).(routing.Closed)
	require.True(t, closed.WasOpen, "the retry still says the offer was open")
	require.Len(t, closed.Offers, 1, "and names the offer it made")
	require.Equal(t, agents[1], closed.Offers[0].AgentID)
	require.Equal(t, store.PresenceOnBreak, agent(t, agents[0]).Presence)

	acc := twice(t, "accept", func(k string) (any, error) { return r.Accept(ctx, k, closed.Offers[0].ID, routing.Record{}) }).(routing.Accepted)
	require.Equal(t, agents[1], acc.AgentID)

	f := twice(t, "finish", func(k string) (any, error) {
		return r.Finish(ctx, k, routing.FinishRequest{ItemID: waitingFor.ID, WrapUp: time.Minute})
	}).(routing.Finished)
	require.True(t, f.WasAssigned, "the retry still says the agent handled it")
	require.True(t, f.WrappingUp)
	require.Equal(t, store.PresenceWrapUp, agent(t, agents[1]).Presence)
	require.Zero(t, agent(t, agents[1]).VoiceLoad, "freed once, not twice")

	// Finishing again under another key (a second caller) answers what the
	// first finish did, too.
	other, err := r.Finish(ctx, key(), routing.FinishRequest{ItemID: waitingFor.ID, WrapUp: time.Minute})
	require.NoError(t, err)
	require.Equal(t, f.FinishedItem, other.FinishedItem)

	end := twice(t, "end wrap-up", func(k string) (any, error) {
		return r.SetPresence(ctx, k, routing.PresenceRequest{AgentID: agents[1], Presence: store.PresenceAvailable,
			OnlyFrom: []string{store.PresenceWrapUp}, Disposition: "resolved"})
	}).(routing.PresenceResult)
	require.True(t, end.Changed, "the retry still says the change applied")
	require.Equal(t, waitingFor.ID, end.EndedWrapUp)
	require.Equal(t, "resolved", *item(t, waitingFor.ID).Disposition, "the disposition is kept")

	second := store.NewWorkItem{ID: "item-" + uuid.NewString(), Queue: queue, Channel: store.ChannelVoice, Kind: "test", WorkflowID: "wf-2"}
	_, err = r.Enqueue(ctx, key(), second)
	require.NoError(t, err)
	booked := twice(t, "dispatch", func(k string) (any, error) { return r.Dispatch(ctx, k, []string{queue}) }).(routing.Booked)
	require.Empty(t, booked.Offers, "jon got it as it was enqueued")
	_, err = r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: agents[0], Presence: store.PresenceAvailable})
	require.NoError(t, err)
	twice(t, "dispatch for an agent", func(k string) (any, error) { return r.DispatchAgent(ctx, k, agents[0]) })

	// A retried step delivers its offers again; the process takes each once.
	delivered := map[string]int{}
	for _, o := range sig.offers() {
		delivered[o.OfferID]++
	}
	require.Equal(t, 2, delivered[offerID], "the enqueue's offer was signalled by both runs")
}

// The sweep delivers an offer that no process received (its dispatcher died
// between commit and signal), without waiting for other traffic; an offer
// whose process is gone has its item finished and its agent freed.
func TestSweepDeliversWhatNoProcessReceived(t *testing.T) {
	ctx := context.Background()
	r, sig := newRouter()
	queue, agents := fixture(t, r, "kim", "lou")
	// A dispatcher that dies after its commit: the offers are booked and
	// never signalled.
	dying := routing.New(st, failing{})
	a := store.NewWorkItem{ID: "item-" + uuid.NewString(), Queue: queue, Channel: store.ChannelVoice, Kind: "test", WorkflowID: "wf-alive"}
	b := store.NewWorkItem{ID: "item-" + uuid.NewString(), Queue: queue, Channel: store.ChannelVoice, Kind: "test", WorkflowID: "wf-gone"}
	for _, n := range []store.NewWorkItem{a, b} {
		_, err := dying.Enqueue(ctx, key(), n)
		require.Error(t, err)
	}
	require.Equal(t, 2, agent(t, agents[0]).VoiceLoad+agent(t, agents[1]).VoiceLoad, "both booked")
	sig.gone["wf-gone"] = true

	r.Redeliver = time.Millisecond
	time.Sleep(5 * time.Millisecond)
	swept, err := r.Sweep(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, swept.Redelivered, 2)
	var toAlive []routing.OfferSignal
	for _, o := range sig.offers() {
		if o.ItemID == a.ID {
			toAlive = append(toAlive, o)
		}
	}
	require.Len(t, toAlive, 1, "the living process gets its offer")
	require.Equal(t, store.ItemDone, item(t, b.ID).State, "the gone process's item is finished")
	require.Equal(t, 1, agent(t, agents[0]).VoiceLoad+agent(t, agents[1]).VoiceLoad, "and its agent freed")
}

type failing struct{}

func (failing) SignalWorkflow(context.Context, string, string, string, any) error {
	return errors.New("worker killed")
}

// twoQueues makes queues a and b (no wrap-up) with one agent in both, an
// item waiting in each, and the agent offered a's item.
func twoQueues(t *testing.T, r *routing.Router) (agentID string, a, b store.WorkItem, offer store.Offer) {
	t.Helper()
	ctx := context.Background()
	suffix := uuid.NewString()[:8]
	agentID = "agent-" + suffix
	_, err := st.UpsertAgent(ctx, agentID, "Ann", 1)
	require.NoError(t, err)
	var items []store.WorkItem
	for _, q := range []string{"a-" + suffix, "b-" + suffix} {
		_, err := st.UpsertQueue(ctx, store.Queue{Name: q, AcceptanceTimeoutS: 30, WrapUpTimeoutS: 0, OnReject: store.OnRejectReoffer})
		require.NoError(t, err)
		require.NoError(t, st.SetMembership(ctx, q, agentID, true))
		items = append(items, enqueue(t, r, q, store.ChannelVoice))
	}
	b2, err := r.Dispatch(ctx, key(), []string{items[0].Queue})
	require.NoError(t, err)
	require.Empty(t, b2.Offers, "nobody is available yet")
	// Available: the agent's queues are booked, the oldest item first.
	p, err := r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: agentID, Presence: store.PresenceAvailable})
	require.NoError(t, err)
	require.Len(t, p.Offers, 1)
	require.Equal(t, items[0].ID, p.Offers[0].ItemID)
	return agentID, items[0], items[1], p.Offers[0]
}

// An agent freed by one queue's item is offered the work waiting in its
// other queues at once, not at some later, unrelated dispatch.
func TestFreedAgentGetsWorkFromItsOtherQueues(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()

	t.Run("after a reject", func(t *testing.T) {
		agentID, _, b, offer := twoQueues(t, r)
		c, err := r.Close(ctx, key(), routing.CloseRequest{OfferID: offer.ID, State: store.OfferRejected, Requeue: true, Exclude: true})
		require.NoError(t, err)
		require.Len(t, c.Offers, 1)
		require.Equal(t, b.ID, c.Offers[0].ItemID)
		require.Equal(t, agentID, c.Offers[0].AgentID)
	})

	t.Run("after an item without wrap-up finishes", func(t *testing.T) {
		agentID, a, b, offer := twoQueues(t, r)
		_, err := r.Accept(ctx, key(), offer.ID, routing.Record{})
		require.NoError(t, err)
		f, err := r.Finish(ctx, key(), routing.FinishRequest{ItemID: a.ID})
		require.NoError(t, err)
		require.Equal(t, agentID, f.AgentID)
		require.False(t, f.WrappingUp, "the queue has no wrap-up")
		require.Len(t, f.Offers, 1)
		require.Equal(t, b.ID, f.Offers[0].ItemID)
		require.Equal(t, agentID, f.Offers[0].AgentID)
	})
}

// A process's record goes with its accept and its finish: written in the
// step's transaction (Work In Progress with the accept; the phone log and
// Closed Complete with the finish), and not at all when the step is
// refused.
func TestRecordsCommitWithAcceptAndFinish(t *testing.T) {
	ctx := context.Background()
	r, sig := newRouter()
	queue, agents := fixture(t, r, "ida", "jon")
	number := newInteraction(t, queue)
	change := func(version int, state, agent string) *store.InteractionChange {
		return &store.InteractionChange{Number: number, Version: version, State: state, AgentID: &agent, Actor: agent, Reason: state}
	}
	state := func() string {
		in, err := st.GetInteraction(ctx, number)
		require.NoError(t, err)
		return in.State
	}

	it := enqueue(t, r, queue, store.ChannelVoice)
	first := sig.offers()[0]
	require.NoError(t, r.Receive(ctx, first.OfferID))
	_, err := r.Present(ctx, key(), first.OfferID, routing.Record{})
	require.NoError(t, err)
	closed, err := r.Close(ctx, key(), routing.CloseRequest{OfferID: first.OfferID, State: store.OfferRejected, Requeue: true, Exclude: true})
	require.NoError(t, err)
	_, err = r.Accept(ctx, key(), first.OfferID, routing.Record{Interaction: change(2, store.InteractionWorkInProgress, first.AgentID)})
	require.ErrorIs(t, err, store.ErrConflict)
	require.Equal(t, store.InteractionNew, state(), "a refused accept writes no record")

	next := closed.Offers[0]
	require.NoError(t, r.Receive(ctx, next.ID))
	_, err = r.Present(ctx, key(), next.ID, routing.Record{})
	require.NoError(t, err)
	k := key()
	_, err = r.Accept(ctx, k, next.ID, routing.Record{Interaction: change(3, store.InteractionWorkInProgress, next.AgentID)})
	require.NoError(t, err)
	require.Equal(t, store.InteractionWorkInProgress, state(), "the record is in step with the accept")
	_, err = r.Accept(ctx, k, next.ID, routing.Record{Interaction: change(3, store.InteractionWorkInProgress, next.AgentID)})
	require.NoError(t, err, "the retried step answers as the first")

	start := time.Now().UTC().Truncate(time.Second)
	log := &store.PhoneLog{CallID: "call-" + number, Interaction: number, FromNumber: "+15550001", ToNumber: "+15550002",
		AgentID: &next.AgentID, StartedAt: start, EndedAt: start.Add(time.Minute), DurationSeconds: 60}
	f, err := r.Finish(ctx, key(), routing.FinishRequest{ItemID: it.ID, WrapUp: 30 * time.Second,
		Record: routing.Record{Interaction: change(4, store.InteractionClosedComplete, next.AgentID), PhoneLog: log}})
	require.NoError(t, err)
	require.True(t, f.WrappingUp)
	require.Equal(t, store.InteractionClosedComplete, state(), "closed with the finish")
	logs, err := st.PhoneLogs(ctx, number)
	require.NoError(t, err)
	require.Len(t, logs, 1)
	require.Equal(t, 60, logs[0].DurationSeconds)
	require.Contains(t, agents, next.AgentID)
}

// A phone log the database refuses (ended before it started) is left out:
// the finish and the record's close still commit.
func TestRefusedPhoneLogDoesNotHoldUpTheFinish(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queue, _ := fixture(t, r)
	number := newInteraction(t, queue)
	it := enqueue(t, r, queue, store.ChannelVoice)
	start := time.Now().UTC().Truncate(time.Second)
	log := &store.PhoneLog{CallID: "call-" + number, Interaction: number, FromNumber: "+15550001", ToNumber: "+15550002",
		StartedAt: start, EndedAt: start.Add(-time.Minute)}
	none := ""
	_, err := r.Finish(ctx, key(), routing.FinishRequest{ItemID: it.ID, Record: routing.Record{PhoneLog: log,
		Interaction: &store.InteractionChange{Number: number, Version: 2, State: store.InteractionClosedComplete, AgentID: &none, Actor: "cti", Reason: "abandoned"}}})
	require.NoError(t, err)
	in, err := st.GetInteraction(ctx, number)
	require.NoError(t, err)
	require.Equal(t, store.InteractionClosedComplete, in.State)
	logs, err := st.PhoneLogs(ctx, number)
	require.NoError(t, err)
	require.Empty(t, logs)
	require.Equal(t, store.ItemDone, item(t, it.ID).State)
}

// An interaction's open step enqueues its item inside its own workflow task:
// the offer booked for that item comes back in the answer instead of as a
// signal, while the offers booked for other items are delivered as ever.
// Run again with the same key, the step answers the same offer.
func TestEnqueueKeepingOwnReturnsTheOwnOfferAndDeliversTheRest(t *testing.T) {
	r, sig := newRouter()
	ctx := context.Background()
	_, agents := fixture(t, r, "ann", "bob")
	queue := "q-" + uuid.NewString()[:8]
	_, err := st.UpsertQueue(ctx, store.Queue{Name: queue, AcceptanceTimeoutS: 30, WrapUpTimeoutS: 60, OnReject: store.OnRejectReoffer})
	require.NoError(t, err)
	older := enqueue(t, r, queue, store.ChannelVoice) // no member yet: it waits
	require.Equal(t, store.ItemWaiting, item(t, older.ID).State)
	for _, a := range agents { // members now, with nothing booked for them yet
		require.NoError(t, st.SetMembership(ctx, queue, a, true))
	}

	id := "item-" + uuid.NewString()
	n := store.NewWorkItem{ID: id, Queue: queue, Channel: store.ChannelVoice, Kind: "test", WorkflowID: "wf-" + id}
	k := key()
	e, own, err := r.EnqueueKeepingOwn(ctx, k, n)
	require.NoError(t, err)
	require.Len(t, e.Offers, 2, "the waiting item and the new one are both booked")
	require.Len(t, own, 1)
	require.Equal(t, id, own[0].ItemID)
	require.Equal(t, agents[1], own[0].AgentID, "the older item took the agent idle longest")

	delivered := sig.offers()
	require.Len(t, delivered, 1, "only the other item's offer is signalled")
	require.Equal(t, older.ID, delivered[0].ItemID)

	_, again, err := r.EnqueueKeepingOwn(ctx, k, n)
	require.NoError(t, err)
	require.Equal(t, own, again, "a step run again answers the same offer")
	for _, o := range sig.offers() {
		require.NotEqual(t, id, o.ItemID, "the own offer is never signalled")
	}
}

// An arriving contact's open step, once its record exists: the item is
// queued and booked, and the offer booked for the item's own process is
// presented with the record's Pending Acceptance, in one transaction. Run
// again with the same key, the step answers the same and presents nothing
// again; with no agent free, the record stays New and nothing is presented.
func TestEnqueuePresentingOwnQueuesAndPresentsInOneStep(t *testing.T) {
	ctx := context.Background()
	r, sig := newRouter()
	queue, agents := fixture(t, r, "kim")
	open := func() (string, store.NewWorkItem, func(store.Offer) routing.Record, *int) {
		number := newInteraction(t, queue)
		id := "item-" + number
		n := store.NewWorkItem{ID: id, Queue: queue, Channel: store.ChannelVoice, Kind: "interaction", WorkflowID: "interaction-" + number}
		presented := 0
		present := func(o store.Offer) routing.Record {
			presented++
			agent := o.AgentID
			return routing.Record{Interaction: &store.InteractionChange{Number: number, Version: 2,
				State: store.InteractionPendingAcceptance, AgentID: &agent, Actor: "routing", Reason: "offered to " + agent}}
		}
		return number, n, present, &presented
	}
	record := func(number string) store.Interaction {
		in, err := st.GetInteraction(ctx, number)
		require.NoError(t, err)
		return in
	}

	number, n, present, presented := open()
	k := key()
	e, own, err := r.EnqueuePresentingOwn(ctx, k, n, present)
	require.NoError(t, err)
	require.Equal(t, 1, *presented)
	require.Len(t, own, 1)
	require.Equal(t, agents[0], own[0].AgentID)
	require.Equal(t, own[0].ID, e.Presented)
	offers, err := st.Offers(ctx, []string{own[0].ID})
	require.NoError(t, err)
	require.Len(t, offers, 1)
	require.NotNil(t, offers[0].PresentedAt, "the offer shows to its agent")
	in := record(number)
	require.Equal(t, store.InteractionPendingAcceptance, in.State, "in step with the offer")
	require.Equal(t, 2, in.Version)
	require.Equal(t, agents[0], *in.AgentID)
	require.Empty(t, sig.offers(), "the own offer is not signalled")

	again, ownAgain, err := r.EnqueuePresentingOwn(ctx, k, n, present)
	require.NoError(t, err)
	require.Equal(t, 1, *presented, "a step run again presents nothing again")
	require.Equal(t, own, ownAgain)
	require.Equal(t, e.Presented, again.Presented)

	// The agent is busy now: the next contact waits, its record New.
	number, n, present, presented = open()
	e, own, err = r.EnqueuePresentingOwn(ctx, key(), n, present)
	require.NoError(t, err)
	require.Zero(t, *presented)
	require.Empty(t, own)
	require.Empty(t, e.Presented)
	require.Equal(t, store.ItemWaiting, item(t, n.ID).State)
	in = record(number)
	require.Equal(t, store.InteractionNew, in.State)
	require.Equal(t, 1, in.Version)
}

// Presenting is part of the step: when it fails (here the record change
// names a record that does not exist), the item and the booking are rolled
// back with it, and the agent stays free.
func TestEnqueuePresentingOwnIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queue, agents := fixture(t, r, "lou")
	number := newInteraction(t, queue)
	n := store.NewWorkItem{ID: "item-" + number, Queue: queue, Channel: store.ChannelVoice, Kind: "interaction", WorkflowID: "interaction-" + number}
	_, _, err := r.EnqueuePresentingOwn(ctx, key(), n, func(o store.Offer) routing.Record {
		return routing.Record{Interaction: &store.InteractionChange{Number: "no-such-" + number, Version: 2,
			State: store.InteractionPendingAcceptance, AgentID: &o.AgentID, Actor: "routing", Reason: "offered"}}
	})
	require.Error(t, err)
	_, err = st.GetWorkItem(ctx, n.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "the item is rolled back with the step")
	require.Zero(t, count(t, `SELECT count(*) FROM offers WHERE item_id = $1`, n.ID), "so is the booking")
	require.Zero(t, count(t, `SELECT voice_load FROM agents WHERE id = $1`, agents[0]), "the agent is free")
	in, err := st.GetInteraction(ctx, number)
	require.NoError(t, err)
	require.Equal(t, store.InteractionNew, in.State, "the record is as it was")
}

// newInteraction creates an inbound call's record, New, in queue.
func newInteraction(t *testing.T, queue string) string {
	t.Helper()
	ctx := context.Background()
	number, err := st.NextInteractionNumber(ctx)
	require.NoError(t, err)
	_, err = st.CreateInteraction(ctx, store.NewInteraction{Number: number, Channel: store.InteractionPhone,
		Direction: store.DirectionInbound, State: store.InteractionNew, WorkflowID: "interaction-" + number, Queue: queue,
		Actor: "cti", Reason: "opened"})
	require.NoError(t, err)
	return number
}

// count runs a query answering one number.
func count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, st.DB().Get(&n, query, args...))
	return n
}

// A booking answers its offers as the store reads them (every column of
// store.Offer, in the store's order), though it reads them back in the
// statement that records them: here one dispatch books two.
func TestBookedOffersAreAsTheStoreReadsThem(t *testing.T) {
	ctx := context.Background()
	r, _ := newRouter()
	queue, _ := fixture(t, r) // nobody yet: the items wait
	enqueue(t, r, queue, store.ChannelVoice)
	enqueue(t, r, queue, store.ChannelVoice)
	for _, name := range []string{"oli", "pam"} {
		id := name + "-" + queue
		_, err := st.UpsertAgent(ctx, id, name, 2)
		require.NoError(t, err)
		_, err = r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: id, Presence: store.PresenceAvailable})
		require.NoError(t, err)
		require.NoError(t, st.SetMembership(ctx, queue, id, true))
	}
	b, err := r.Dispatch(ctx, key(), []string{queue})
	require.NoError(t, err)
	require.Len(t, b.Offers, 2, "one step books both")
	ids := []string{b.Offers[0].ID, b.Offers[1].ID}
	read, err := st.Offers(ctx, ids)
	require.NoError(t, err)
	require.Len(t, read, 2)
	for i := range read {
		got, want := b.Offers[i], read[i]
		require.True(t, got.OfferedAt.Equal(want.OfferedAt))
		got.OfferedAt, want.OfferedAt = time.Time{}, time.Time{}
		require.Equal(t, want, got)
		require.NotEmpty(t, got.WorkflowID)
		require.Equal(t, queue, got.Queue)
		require.Equal(t, "test", got.Kind)
	}
}
