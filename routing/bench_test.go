package routing_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/routing"
	"github.com/casehub/casehub/store"
)

// benchQueue makes a queue with no wrap-up and one available agent of its
// own.
func benchQueue(b *testing.B, r *routing.Router) (queue, agentID string) {
	b.Helper()
	ctx := context.Background()
	queue = "bench-" + uuid.NewString()[:8]
	_, err := st.UpsertQueue(ctx, store.Queue{Name: queue, AcceptanceTimeoutS: 30, OnReject: store.OnRejectReoffer})
	require.NoError(b, err)
	agentID = "agent-" + queue
	_, err = st.UpsertAgent(ctx, agentID, agentID, 1)
	require.NoError(b, err)
	require.NoError(b, st.SetMembership(ctx, queue, agentID, true))
	_, err = r.SetPresence(ctx, key(), routing.PresenceRequest{AgentID: agentID, Presence: store.PresenceAvailable})
	require.NoError(b, err)
	return queue, agentID
}

// cycle is one call's routing in a queue with one agent: the item is
// enqueued and booked, accepted, and finished (which frees the agent).
func cycle(ctx context.Context, r *routing.Router, queue string) error {
	id := "item-" + uuid.NewString()
	e, err := r.Enqueue(ctx, key(), store.NewWorkItem{ID: id, Queue: queue, Channel: store.ChannelVoice, Kind: "bench", WorkflowID: "wf-" + id})
	if err != nil {
		return err
	}
	if len(e.Offers) != 1 {
		return fmt.Errorf("enqueue %s booked %d offers", id, len(e.Offers))
	}
	if _, err := r.Accept(ctx, key(), e.Offers[0].ID, routing.Record{}); err != nil {
		return err
	}
	_, err = r.Finish(ctx, key(), routing.FinishRequest{ItemID: id})
	return err
}

// Dispatchers on disjoint queues do not wait for each other: calls/s with
// 1, 2 and 4 queues routed at once, each by its own goroutine (compare
// calls/s across the sub-benchmarks; ns/op is per call).
//
//	go test -run '^$' -bench BenchmarkDisjointQueues -benchtime 400x ./routing/
func BenchmarkDisjointQueues(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("dispatchers=%d", n), func(b *testing.B) {
			ctx := context.Background()
			r, _ := newRouter()
			queues := make([]string, n)
			for i := range queues {
				queues[i], _ = benchQueue(b, r)
			}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			b.ResetTimer()
			start := time.Now()
			for i, q := range queues {
				calls := b.N / n
				if i < b.N%n {
					calls++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range calls {
						if err := cycle(ctx, r, q); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			took := time.Since(start)
			b.StopTimer()
			close(errs)
			for err := range errs {
				require.NoError(b, err)
			}
			b.ReportMetric(float64(b.N)/took.Seconds(), "calls/s")
		})
	}
}

// An agent accepting in a small queue while a queue of 500 waiting items
// (each targeted at an agent who is away, so every dispatch walks all of
// them) is dispatched over and over: the accept does not wait for those
// dispatches. Reports the accept's p50 and p99.
//
//	go test -run '^$' -bench BenchmarkAcceptBesideABigQueue -benchtime 200x ./routing/
func BenchmarkAcceptBesideABigQueue(b *testing.B) {
	ctx := context.Background()
	r, _ := newRouter()
	big, free := benchQueue(b, r)
	away := "away-" + big
	_, err := st.UpsertAgent(ctx, away, away, 1)
	require.NoError(b, err)
	require.NoError(b, st.SetMembership(ctx, big, away, true))
	for range 500 {
		id := "item-" + uuid.NewString()
		_, err := r.Enqueue(ctx, key(), store.NewWorkItem{ID: id, Queue: big, Channel: store.ChannelVoice, Kind: "bench",
			WorkflowID: "wf-" + id, TargetAgent: away})
		require.NoError(b, err)
	}
	// The big queue's free agent takes none of them (each is for the one away).
	a, err := st.GetAgent(ctx, free)
	require.NoError(b, err)
	require.Zero(b, a.VoiceLoad)

	small, _ := benchQueue(b, r)
	stop := make(chan struct{})
	var dispatches int
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := r.Dispatch(ctx, key(), []string{big}); err != nil {
				done <- err
				return
			}
			dispatches++
		}
	}()

	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		id := "item-" + uuid.NewString()
		e, err := r.Enqueue(ctx, key(), store.NewWorkItem{ID: id, Queue: small, Channel: store.ChannelVoice, Kind: "bench", WorkflowID: "wf-" + id})
		require.NoError(b, err)
		require.Len(b, e.Offers, 1)
		t0 := time.Now()
		_, err = r.Accept(ctx, key(), e.Offers[0].ID, routing.Record{})
		took = append(took, time.Since(t0))
		require.NoError(b, err)
		_, err = r.Finish(ctx, key(), routing.FinishRequest{ItemID: id})
		require.NoError(b, err)
	}
	b.StopTimer()
	close(stop)
	require.NoError(b, <-done)
	require.Positive(b, dispatches, "the big queue was dispatched meanwhile")
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "accept-p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "accept-p99-ms")
	b.ReportMetric(float64(dispatches), "big-dispatches")
}
