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

	// A token and an interaction's record, in one row when both exist.
	selectTokenAndInteraction = `
SELECT t.*, i.*
FROM (SELECT id AS "token.id", secret_hash AS "token.secret_hash", role AS "token.role", agent_id AS "token.agent_id",
             description AS "token.description", created_at AS "token.created_at", revoked_at AS "token.revoked_at"
      FROM api_tokens WHERE id = :id) t
CROSS JOIN (` + selectInteraction + `) i`

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

// GetTokenAndInteraction reads a token's record and an interaction's record
// (without its related records) in one statement: what a request that acts
// on an interaction reads first, to know who sent it and whether they may.
// It answers ErrNotFound when either is missing, without saying which.
func (s *Store) GetTokenAndInteraction(ctx context.Context, id, number string) (APIToken, Interaction, error) {
	var row struct {
		Token APIToken `db:"token"`
		interactionRow
	}
	if err := s.namedGet(ctx, &row, selectTokenAndInteraction, map[string]any{"id": id, "number": number}); err != nil {
		return APIToken{}, Interaction{}, fmt.Errorf("get token %s and interaction %s: %w", id, number, err)
	}
	it, err := row.interaction()
	return row.Token, it, err
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
