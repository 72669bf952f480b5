package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// IdempotentRequest is the record of one POST made with an Idempotency-Key.
// Status is nil while the first request is still running.
type IdempotentRequest struct {
	Principal   string     `db:"principal"`
	Key         string     `db:"key"`
	Method      string     `db:"method"`
	Path        string     `db:"path"`
	RequestHash []byte     `db:"request_hash"`
	Status      *int       `db:"status"`
	ContentType *string    `db:"content_type"`
	Location    *string    `db:"location"`
	Body        []byte     `db:"body"`
	CreatedAt   time.Time  `db:"created_at"`
	CompletedAt *time.Time `db:"completed_at"`
}

const (
	// claimIdempotencyKey inserts the key, or takes over a claim whose request
	// died without completing (older than :stale_after seconds).
	claimIdempotencyKey = `
INSERT INTO idempotency_keys (principal, key, method, path, request_hash)
VALUES (:principal, :key, :method, :path, :request_hash)
ON CONFLICT (principal, key) DO UPDATE
   SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash, created_at = now()
 WHERE idempotency_keys.completed_at IS NULL
   AND idempotency_keys.created_at < now() - make_interval(secs => :stale_after)
RETURNING principal`

	selectIdempotencyKey = `
SELECT principal, key, method, path, request_hash, status, content_type, location, body, created_at, completed_at
FROM idempotency_keys WHERE principal = :principal AND key = :key`

	completeIdempotencyKey = `
UPDATE idempotency_keys SET status = :status, content_type = :content_type, location = nullif(:location, ''), body = :body, completed_at = now()
WHERE principal = :principal AND key = :key AND completed_at IS NULL`

	releaseIdempotencyKey = `
DELETE FROM idempotency_keys WHERE principal = :principal AND key = :key AND completed_at IS NULL`
)

// ClaimIdempotencyKey records that principal started a request with key.
// It returns claimed=true when this caller owns the key now; otherwise it
// returns the existing record (running or completed) for the caller to judge.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, r IdempotentRequest, staleAfter time.Duration) (claimed bool, existing IdempotentRequest, err error) {
	var owner string
	err = s.namedGet(ctx, &owner, claimIdempotencyKey, map[string]any{
		"principal": r.Principal, "key": r.Key, "method": r.Method, "path": r.Path,
		"request_hash": r.RequestHash, "stale_after": staleAfter.Seconds(),
	})
	if err == nil {
		return true, IdempotentRequest{}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return false, IdempotentRequest{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	if err := s.namedGet(ctx, &existing, selectIdempotencyKey, map[string]any{"principal": r.Principal, "key": r.Key}); err != nil {
		return false, IdempotentRequest{}, fmt.Errorf("read idempotency key: %w", err)
	}
	return false, existing, nil
}

// CompleteIdempotencyKey stores the answer to replay for later requests.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, principal, key string, status int, contentType, location string, body []byte) error {
	_, err := s.namedExec(ctx, completeIdempotencyKey, map[string]any{
		"principal": principal, "key": key, "status": status, "content_type": contentType, "location": location, "body": body,
	})
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets an unfinished claim so the request may be
// retried (used when the first attempt failed on the server's side).
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, principal, key string) error {
	if _, err := s.namedExec(ctx, releaseIdempotencyKey, map[string]any{"principal": principal, "key": key}); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}
