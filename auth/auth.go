// Package auth issues and checks casehub's bearer tokens. A token is
// "chb_<id>_<secret>"; only the SHA-256 of the secret is stored, and a token
// carries a role (agent, supervisor, integration) and, for agents, the one
// agent id it may act for.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/casehub/casehub/store"
)

// Role is what a token may do.
type Role string

// Roles.
const (
	RoleAgent       Role = "agent"       // acts on its own work only
	RoleSupervisor  Role = "supervisor"  // manages queues, agents, anyone's work
	RoleIntegration Role = "integration" // CTI, IVR, schedulers
	RoleOps         Role = "ops"         // reads payloads in the Temporal UI through the codec; nothing else
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAgent, RoleSupervisor, RoleIntegration, RoleOps:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want agent, supervisor, integration or ops)", s)
}

// Principal is who made a request.
type Principal struct {
	TokenID string
	Role    Role
	AgentID string // set for RoleAgent
}

// Is reports whether p has one of roles.
func (p Principal) Is(roles ...Role) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// ErrInvalidToken means the token is malformed, unknown, wrong or revoked.
// The caller is told no more than that.
var ErrInvalidToken = errors.New("invalid or revoked token")

const prefix = "chb_"

// Issue creates a token and returns its plain text, the only time it exists.
func Issue(ctx context.Context, s *store.Store, role Role, agentID, description string) (string, Principal, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", Principal{}, err
	}
	if (role == RoleAgent) != (agentID != "") {
		return "", Principal{}, errors.New("an agent token needs an agent id, and only an agent token may have one")
	}
	idBytes := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(idBytes); err != nil {
		return "", Principal{}, fmt.Errorf("generate token id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return "", Principal{}, fmt.Errorf("generate token secret: %w", err)
	}
	id := hex.EncodeToString(idBytes)
	secretText := base64.RawURLEncoding.EncodeToString(secret)
	t := store.APIToken{ID: id, SecretHash: hash(secretText), Role: string(role), Description: description}
	if agentID != "" {
		t.AgentID = &agentID
	}
	if err := s.CreateToken(ctx, t); err != nil {
		return "", Principal{}, err
	}
	return prefix + id + "_" + secretText, Principal{TokenID: id, Role: role, AgentID: agentID}, nil
}

// Authenticate checks a token's plain text against the store.
func Authenticate(ctx context.Context, s *store.Store, token string) (Principal, error) {
	return AuthenticateWith(token, func(id string) (store.APIToken, error) { return s.GetToken(ctx, id) })
}

// AuthenticateWith is Authenticate with the token's record read by read, for
// a caller that reads it together with something else in one statement.
// read gets the token's id and answers store.ErrNotFound for an unknown one;
// it is not called for a malformed token.
func AuthenticateWith(token string, read func(id string) (store.APIToken, error)) (Principal, error) {
	id, secret, ok := split(token)
	if !ok {
		return Principal{}, ErrInvalidToken
	}
	t, err := read(id)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrInvalidToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up token: %w", err)
	}
	if subtle.ConstantTimeCompare(t.SecretHash, hash(secret)) != 1 || t.RevokedAt != nil {
		return Principal{}, ErrInvalidToken
	}
	p := Principal{TokenID: t.ID, Role: Role(t.Role)}
	if t.AgentID != nil {
		p.AgentID = *t.AgentID
	}
	return p, nil
}

// TokenID returns the id part of a token, for revocation; "" if malformed.
func TokenID(token string) string {
	id, _, _ := split(token)
	return id
}

func split(token string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, prefix)
	if !found {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 16 || secret == "" {
		return "", "", false
	}
	return id, secret, true
}

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
