package store

import (
	"context"
	"fmt"
	"time"
)

// APIToken is a stored bearer token: only the SHA-256 of its secret is kept.
type APIToken struct {
	ID          string     `db:"id"`
	SecretHash  []byte     `db:"secret_hash"`
	Role        string     `db:"role"`
	AgentID     *string    `db:"agent_id"`
	Description string     `db:"description"`
	CreatedAt   time.Time  `db:"created_at"`
	RevokedAt   *time.Time `db:"revoked_at"`
}

const (
	insertToken = `
INSERT INTO api_tokens (id, secret_hash, role, agent_id, description)
VALUES (:id, :secret_hash, :role, :agent_id, :description)`

	selectToken = `
SELECT id, secret_hash, role, agent_id, description, created_at, revoked_at
FROM api_tokens WHERE id = :id`

	revokeToken = `UPDATE api_tokens SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL`

	revokeTokensDescribed = `UPDATE api_tokens SET revoked_at = now() WHERE description = :description AND revoked_at IS NULL`
)

// CreateToken stores a token record.
func (s *Store) CreateToken(ctx context.Context, t APIToken) error {
	if _, err := s.namedExec(ctx, insertToken, t); err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, constraintErr(err, nil))
	}
	return nil
}

// GetToken returns the token record with id, revoked or not, or ErrNotFound.
func (s *Store) GetToken(ctx context.Context, id string) (APIToken, error) {
	var t APIToken
	if err := s.namedGet(ctx, &t, selectToken, map[string]any{"id": id}); err != nil {
		return APIToken{}, fmt.Errorf("get token %s: %w", id, err)
	}
	return t, nil
}

// RevokeToken marks a token revoked; revoking twice is a no-op.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	if _, err := s.namedExec(ctx, revokeToken, map[string]any{"id": id}); err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	return nil
}

// RevokeTokensDescribed revokes every live token issued with description
// and says how many it revoked.
func (s *Store) RevokeTokensDescribed(ctx context.Context, description string) (int64, error) {
	n, err := s.namedExec(ctx, revokeTokensDescribed, map[string]any{"description": description})
	if err != nil {
		return 0, fmt.Errorf("revoke tokens %q: %w", description, err)
	}
	return n, nil
}
