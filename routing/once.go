package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/lib/pq"

	"github.com/casehub/casehub/store"
)

const (
	selectResult = `SELECT result FROM routing_results WHERE key = :key`
	insertResult = `INSERT INTO routing_results (key, result) VALUES (:key, :result)`
	pruneResults = `DELETE FROM routing_results WHERE created_at < now() - interval '1 day'`

	// lockQueues takes queue locks in the order of :keys. Each is an
	// advisory lock keyed (7271002, queueLockKey(name)).
	lockQueues = `SELECT count(pg_advisory_xact_lock(7271002, k)) FROM unnest(CAST(:keys AS int[])) AS k`
)

// queueLockKey is the second key of a queue's advisory lock. Two queues may
// share one (a collision only makes them wait for each other).
func queueLockKey(queue string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(queue))
	return int32(h.Sum32())
}

// locks are the queue locks a step holds (the locking contract). Keys are
// always taken in ascending order, so two steps never wait for each other
// in a cycle.
type locks struct {
	tx   *store.Store
	held map[int32]bool
	// restart: locks were taken after fn had read; it runs again from the
	// start, reading under them.
	restart bool
}

// errRelock asks step to run fn again: with more locks in the same
// transaction (relock.restart), or in a new one that takes them all first.
type errRelock struct{ keys []int32 }

func (e *errRelock) Error() string {
	return fmt.Sprintf("routing: step needs %d more queue locks", len(e.keys))
}

// need takes the locks of queues that the step does not hold yet. Called
// before the step writes anything: whatever it read before may be stale, so
// when it takes a lock it returns errRelock and the step's function runs
// again from the start under the locks.
func (l *locks) need(ctx context.Context, queues ...string) error {
	var missing []int32
	for _, q := range queues {
		if k := queueLockKey(q); !l.held[k] && !slices.Contains(missing, k) {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	for k := range l.held {
		if k > missing[0] {
			// Taking it now would break the order: start over, taking
			// these and the ones held first.
			for k := range l.held {
				missing = append(missing, k)
			}
			return &errRelock{keys: missing}
		}
	}
	if err := l.take(ctx, missing); err != nil {
		return err
	}
	l.restart = true
	return &errRelock{}
}

func (l *locks) take(ctx context.Context, keys []int32) error {
	if _, err := l.tx.Exec(ctx, lockQueues, map[string]any{"keys": pq.Array(keys)}); err != nil {
		return fmt.Errorf("take queue locks: %w", err)
	}
	for _, k := range keys {
		l.held[k] = true
	}
	return nil
}

// holds says whether the step holds the lock of every queue.
func (l *locks) holds(queues ...string) bool {
	for _, q := range queues {
		if !l.held[queueLockKey(q)] {
			return false
		}
	}
	return true
}

// maxRestarts bounds how often a step starts over (more locks than it
// guessed, or a deadlock PostgreSQL broke).
const maxRestarts = 8

// step runs fn in one transaction holding the locks of the queues it
// touches (fn asks for them with l.need before it writes). With a key, the
// answer is stored with the effect; run again under the same key (a retried
// activity whose first attempt committed), it returns that stored answer
// without running fn. Errors are not stored: a refused step is refused
// again by the same state.
func step[T any](ctx context.Context, st *store.Store, key string, fn func(tx *store.Store, l *locks) (T, error)) (T, error) {
	return stepIn(ctx, st, key, nil, fn)
}

// stepIn is step for a caller that knows the queues the step will lock:
// their locks are taken first, so fn reads under them the first time
// rather than reading, locking and reading again.
func stepIn[T any](ctx context.Context, st *store.Store, key string, queues []string, fn func(tx *store.Store, l *locks) (T, error)) (T, error) {
	var out T
	var first []int32 // the locks to take before anything else, in order
	for _, q := range queues {
		if q != "" {
			first = mergeKeys(first, []int32{queueLockKey(q)})
		}
	}
	for attempt := 0; ; attempt++ {
		err := st.InTx(ctx, func(tx *store.Store) error {
			l := &locks{tx: tx, held: map[int32]bool{}}
			if len(first) > 0 {
				if err := l.take(ctx, first); err != nil {
					return err
				}
			}
			if key != "" {
				var raw []byte
				err := tx.Get(ctx, &raw, selectResult, map[string]any{"key": key})
				if err == nil {
					return json.Unmarshal(raw, &out)
				}
				if !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("read the first answer of %s: %w", key, err)
				}
			}
			for {
				var err error
				l.restart = false
				out, err = fn(tx, l)
				var relock *errRelock
				if errors.As(err, &relock) && l.restart {
					continue
				}
				if err != nil {
					return err
				}
				break
			}
			if key == "" {
				return nil
			}
			raw, err := json.Marshal(out)
			if err != nil {
				return fmt.Errorf("encode the answer of %s: %w", key, err)
			}
			if _, err := tx.Exec(ctx, insertResult, map[string]any{"key": key, "result": string(raw)}); err != nil {
				return fmt.Errorf("keep the answer of %s: %w", key, err)
			}
			return nil
		})
		var relock *errRelock
		switch {
		case err == nil:
			return out, nil
		case attempt >= maxRestarts:
			return out, err
		case errors.As(err, &relock):
			first = mergeKeys(first, relock.keys)
		case isDeadlock(err):
			// PostgreSQL broke a wait cycle (a membership changed between
			// reading an agent's queues and locking them): start over.
		default:
			return out, err
		}
	}
}

func mergeKeys(a, b []int32) []int32 {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func isDeadlock(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "40P01"
}
