package api

import (
	"bytes"
	"errors"
	"io"
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
// interaction's in one statement and, once the token holds, keeps the
// interaction's for whoActs, which would otherwise read it in a second one.
// The body is read first, so that the record is as fresh as when whoActs
// read it after the body. When the joined read finds nothing or fails, it
// reads the token alone, and whoActs reads the record again and answers
// for it.
func (s *Server) authenticateActing(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		number := c.Param("number")
		if !interactionNumber.MatchString(number) {
			return s.authenticate(next)(c)
		}
		var record *store.Interaction
		return s.authenticateBy(c, func(c echo.Context) error {
			if record != nil {
				c.Set(recordKey, *record)
			}
			return next(c)
		}, func(id string) (store.APIToken, error) {
			if !bufferBody(c) {
				return s.deps.Store.GetToken(ctx, id)
			}
			t, it, err := s.deps.Store.GetTokenAndInteraction(ctx, id, number)
			if err != nil {
				return s.deps.Store.GetToken(ctx, id)
			}
			record = &it
			return t, nil
		})
	}
}

// bufferBody reads the request's body into memory and puts it back to be
// read again. When reading it fails (too large, the client gone), it puts
// back what it read followed by the same error, for the handler to answer
// as it would have, and says false.
func bufferBody(c echo.Context) bool {
	body, err := io.ReadAll(c.Request().Body)
	rest := io.Reader(bytes.NewReader(body))
	if err != nil {
		rest = io.MultiReader(rest, failing{err})
	}
	c.Request().Body = io.NopCloser(rest)
	return err == nil
}

// failing is a reader that fails with err.
type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }

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
