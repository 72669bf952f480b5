package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

const (
	principalKey = "casehub.principal"
	// recordKey holds the record of the interaction a request acts on, when
	// authenticateActing read it with the token.
	recordKey = "casehub.interaction"
)

// authenticate requires a valid bearer token on every route it guards.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		return s.authenticateBy(c, next, func(id string) (store.APIToken, error) {
			return s.deps.Store.GetToken(c.Request().Context(), id)
		})
	}
}

// authenticateActing is authenticate for the routes that act on the
// interaction in their path. It reads the token's record and the
// interaction's in one statement and keeps the interaction's for whoActs,
// which would otherwise read it in a second one. When either is missing it
// reads the token alone, and whoActs reads the record again and answers for it.
func (s *Server) authenticateActing(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		number := c.Param("number")
		if !interactionNumber.MatchString(number) {
			return s.authenticate(next)(c)
		}
		return s.authenticateBy(c, next, func(id string) (store.APIToken, error) {
			t, it, err := s.deps.Store.GetTokenAndInteraction(ctx, id, number)
			if errors.Is(err, store.ErrNotFound) {
				return s.deps.Store.GetToken(ctx, id)
			}
			if err == nil {
				c.Set(recordKey, it)
			}
			return t, err
		})
	}
}

// authenticateBy checks the request's bearer token, its record read by read,
// and runs next as its principal.
func (s *Server) authenticateBy(c echo.Context, next echo.HandlerFunc, read func(id string) (store.APIToken, error)) error {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="casehub"`)
		return problem(http.StatusUnauthorized, "send a bearer token in the Authorization header")
	}
	p, err := auth.AuthenticateWith(strings.TrimSpace(token), read)
	if errors.Is(err, auth.ErrInvalidToken) {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="casehub", error="invalid_token"`)
		return problem(http.StatusUnauthorized, "the bearer token is invalid or revoked")
	}
	if err != nil {
		return err
	}
	c.Set(principalKey, p)
	return next(c)
}

// principal returns who made the request; routes behind authenticate only.
func principal(c echo.Context) auth.Principal {
	p, _ := c.Get(principalKey).(auth.Principal)
	return p
}

// allow guards a route to some roles.
func allow(roles ...auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !principal(c).Is(roles...) {
				return forbidden("this action needs the role " + roleList(roles))
			}
			return next(c)
		}
	}
}

// actingFor checks that the caller may act for agentID: the agent itself, or
// a supervisor.
func actingFor(c echo.Context, agentID string) error {
	p := principal(c)
	switch {
	case p.Role == auth.RoleSupervisor:
		return nil
	case p.Role == auth.RoleAgent && p.AgentID == agentID:
		return nil
	case p.Role == auth.RoleAgent:
		return forbidden("an agent may act only on its own work")
	}
	return forbidden("this action needs the agent itself or a supervisor")
}

func roleList(roles []auth.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, " or ")
}
