package store

import (
	"context"
	"fmt"
	"time"
)

// retentionBatch bounds one delete, so a sweep never holds locks long.
const retentionBatch = 5000

const (
	expireCTIEvents = `
DELETE FROM cti_events WHERE id IN (
    SELECT id FROM cti_events WHERE received_at < :before ORDER BY received_at LIMIT :limit)`
	expireIdempotencyKeyBatch = `
DELETE FROM idempotency_keys WHERE (principal, key) IN (
    SELECT principal, key FROM idempotency_keys WHERE created_at < :before ORDER BY created_at LIMIT :limit)`
	expireEvents = `
DELETE FROM events WHERE id IN (
    SELECT id FROM events WHERE at < :before ORDER BY at LIMIT :limit)`
)

// Retain says what to delete: each kind of record from before its instant.
type Retain struct {
	CTIEvents       time.Time
	IdempotencyKeys time.Time
	Events          time.Time
}

// Expired counts what a retention sweep deleted.
type Expired struct {
	CTIEvents       int64 `json:"cti_events"`
	IdempotencyKeys int64 `json:"idempotency_keys"`
	Events          int64 `json:"events"`
}

// ExpireRecords deletes what r says, in batches: raw platform events,
// Idempotency-Key records and live events.
func (s *Store) ExpireRecords(ctx context.Context, r Retain) (Expired, error) {
	var out Expired
	var err error
	if out.CTIEvents, err = s.expireInBatches(ctx, expireCTIEvents, r.CTIEvents); err != nil {
		return out, fmt.Errorf("expire cti events: %w", err)
	}
	if out.IdempotencyKeys, err = s.expireInBatches(ctx, expireIdempotencyKeyBatch, r.IdempotencyKeys); err != nil {
		return out, fmt.Errorf("expire idempotency keys: %w", err)
	}
	if !r.Events.IsZero() {
		if out.Events, err = s.expireInBatches(ctx, expireEvents, r.Events); err != nil {
			return out, fmt.Errorf("expire live events: %w", err)
		}
	}
	return out, nil
}

func (s *Store) expireInBatches(ctx context.Context, query string, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.namedExec(ctx, query, map[string]any{"before": before, "limit": retentionBatch})
		if err != nil {
			return total, err
		}
		total += n
		if n < retentionBatch {
			return total, nil
		}
	}
}
