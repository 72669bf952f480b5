package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/casehub/casehub/store"
)

const (
	selectResult = `SELECT result FROM routing_results WHERE key = :key`
	insertResult = `INSERT INTO routing_results (key, result) VALUES (:key, :result)`
	pruneResults = `DELETE FROM routing_results WHERE created_at < now() - interval '1 day'`
)

// step runs fn in one transaction under the dispatch lock. With a key, the
// answer is stored with the effect; run again under the same key (a retried
// activity whose first attempt committed), it returns that stored answer
// without running fn. Errors are not stored: a refused step is refused
// again by the same state.
func step[T any](ctx context.Context, st *store.Store, key string, fn func(tx *store.Store) (T, error)) (T, error) {
	var out T
	err := st.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.Exec(ctx, dispatchLock, map[string]any{}); err != nil {
			return fmt.Errorf("take the dispatch lock: %w", err)
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
		var err error
		if out, err = fn(tx); err != nil {
			return err
		}
		if key == "" {
			return nil
		}
		raw, err := json.Marshal(out)
		if err != nil {
			return fmt.Errorf("encode the answer of %s: %w", key, err)
		}
		if _, err := tx.Exec(ctx, insertResult, map[string]any{"key": key, "result": raw}); err != nil {
			return fmt.Errorf("keep the answer of %s: %w", key, err)
		}
		return nil
	})
	return out, err
}
