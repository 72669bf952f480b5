package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/casehub/casehub/auth"
)

const principalKey = "casehub.principal"

// authenticate requires a valid bearer token on every route it guards.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="casehub"`)
			return problem(http.StatusUnauthorized, "send a bearer token in the Authorization header")
		}
		p, err := auth.Authenticate(c.Request().Context(), s.deps.Store, strings.TrimSpace(token))
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
