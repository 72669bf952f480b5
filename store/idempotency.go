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
	// Owner is the Instance running the request (0: none known).
	Owner int32 `db:"-"`
}

const (
	// claimIdempotencyKey inserts the key, or takes over a claim whose request
	// died without completing: its owner's instance lock is gone (the
	// process died), or it is older than :stale_after seconds (no owner
	// known, or a machine gone without closing its connections). A takeover
	// of the same request keeps what the first attempt set aside.
	claimIdempotencyKey = `
INSERT INTO idempotency_keys (principal, key, method, path, request_hash, owner)
VALUES (:principal, :key, :method, :path, :request_hash, nullif(:owner, 0))
ON CONFLICT (principal, key) DO UPDATE
   SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash, created_at = now(),
       owner = EXCLUDED.owner,
       progress = CASE WHEN idempotency_keys.request_hash = EXCLUDED.request_hash THEN idempotency_keys.progress END
 WHERE idempotency_keys.completed_at IS NULL
   AND (idempotency_keys.created_at < now() - make_interval(secs => :stale_after)
        OR (idempotency_keys.owner IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM pg_locks l
               WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid = 7271003 AND l.objid = CAST(idempotency_keys.owner AS oid))))
RETURNING coalesce(progress, '') AS progress`

	setIdempotencyProgress = `
UPDATE idempotency_keys SET progress = :progress
WHERE principal = :principal AND key = :key AND completed_at IS NULL`

	selectIdempotencyKey = `
SELECT principal, key, method, path, request_hash, status, content_type, location, body, created_at, completed_at
FROM idempotency_keys WHERE principal = :principal AND key = :key`

	completeIdempotencyKey = `
UPDATE idempotency_keys SET status = :status, content_type = :content_type, location = nullif(:location, ''), body = :body, completed_at = now()
WHERE principal = :principal AND key = :key AND completed_at IS NULL`

	releaseIdempotencyKey = `
DELETE FROM idempotency_keys WHERE principal = :principal AND key = :key AND completed_at IS NULL`
)

// Claim is a request's hold on its Idempotency-Key.
type Claim struct {
	Principal, Key string
	// Progress is what an earlier attempt of the same request, whose
	// process died, set aside with SetIdempotencyProgress ("" for none).
	Progress string
}

// ClaimIdempotencyKey records that principal started a request with key.
// It returns claimed=true when this caller owns the key now (with what a
// dead earlier attempt had set aside, if it took one over); otherwise it
// returns the existing record (running or completed) for the caller to judge.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, r IdempotentRequest, staleAfter time.Duration) (claimed bool, claim Claim, existing IdempotentRequest, err error) {
	var progress string
	err = s.namedGet(ctx, &progress, claimIdempotencyKey, map[string]any{
		"principal": r.Principal, "key": r.Key, "method": r.Method, "path": r.Path,
		"request_hash": r.RequestHash, "stale_after": staleAfter.Seconds(), "owner": r.Owner,
	})
	if err == nil {
		return true, Claim{Principal: r.Principal, Key: r.Key, Progress: progress}, IdempotentRequest{}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return false, Claim{}, IdempotentRequest{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	if err := s.namedGet(ctx, &existing, selectIdempotencyKey, map[string]any{"principal": r.Principal, "key": r.Key}); err != nil {
		return false, Claim{}, IdempotentRequest{}, fmt.Errorf("read idempotency key: %w", err)
	}
	return false, Claim{}, existing, nil
}

// SetIdempotencyProgress sets aside, on a running request's claim, what
// it allocated before its first side effect, so that a retry taking the
// request over (its process died) resumes that work instead of doing it
// again.
func (s *Store) SetIdempotencyProgress(ctx context.Context, c Claim, progress string) error {
	if _, err := s.namedExec(ctx, setIdempotencyProgress, map[string]any{"principal": c.Principal, "key": c.Key, "progress": progress}); err != nil {
		return fmt.Errorf("set idempotency progress: %w", err)
	}
	return nil
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
