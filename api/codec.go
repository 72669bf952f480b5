package api

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/casehub/casehub/auth"
)

// The codec endpoint lets the Temporal Web UI and CLI read what casehub's
// processes carry: payloads are sealed in Temporal (package codec), and
// opened here for a supervisor or an ops token only. The UI calls it from the browser, so
// it answers CORS for the UI's origins, and a supervisor signs in once at
// /codec/sign-in (a cookie the UI sends with "include cross-origin
// credentials"); the CLI sends the token itself (--codec-auth).

// codecCookie holds a supervisor's token for the codec endpoint.
const codecCookie = "casehub_codec"

func (s *Server) codecRoutes(e *echo.Echo) {
	for _, op := range []string{"encode", "decode"} {
		e.POST("/codec/"+op, s.codecPayloads(op))
		e.OPTIONS("/codec/"+op, s.codecPreflight)
	}
	e.GET("/codec/sign-in", s.codecSignInPage)
	e.POST("/codec/sign-in", s.codecSignIn)
	e.POST("/codec/sign-out", s.codecSignOut)
}

// codecCORS answers an allowed origin with the CORS headers of a
// credentialed request; other origins get none (the browser refuses).
func (s *Server) codecCORS(c echo.Context) {
	h := c.Response().Header()
	h.Add(echo.HeaderVary, echo.HeaderOrigin)
	origin := c.Request().Header.Get(echo.HeaderOrigin)
	if origin == "" || !slices.Contains(s.deps.CodecOrigins, origin) {
		return
	}
	h.Set(echo.HeaderAccessControlAllowOrigin, origin)
	h.Set(echo.HeaderAccessControlAllowCredentials, "true")
}

func (s *Server) codecPreflight(c echo.Context) error {
	s.codecCORS(c)
	h := c.Response().Header()
	h.Set(echo.HeaderAccessControlAllowMethods, http.MethodPost)
	h.Set(echo.HeaderAccessControlAllowHeaders, "Content-Type, Authorization, X-Namespace")
	h.Set(echo.HeaderAccessControlMaxAge, "600")
	return c.NoContent(http.StatusNoContent)
}

// codecPayloads answers POST /codec/decode and /codec/encode with the
// payloads opened or sealed, in the JSON the Temporal UI and CLI use.
func (s *Server) codecPayloads(op string) echo.HandlerFunc {
	return func(c echo.Context) error {
		s.codecCORS(c)
		if s.deps.Codec == nil {
			return problem(http.StatusNotFound, "the codec endpoint is off: this API runs without payload keys")
		}
		if err := s.codecCaller(c); err != nil {
			return err
		}
		if err := requireJSON(c); err != nil {
			return err
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return problem(http.StatusBadRequest, "read the body: "+err.Error())
		}
		var in commonpb.Payloads
		if err := protojson.Unmarshal(body, &in); err != nil {
			return invalidField("payloads", "must be {\"payloads\": [{\"metadata\": {...}, \"data\": \"<base64>\"}]}")
		}
		var out []*commonpb.Payload
		if op == "decode" {
			out, err = s.deps.Codec.Decode(in.GetPayloads())
		} else {
			out, err = s.deps.Codec.Encode(in.GetPayloads())
		}
		if err != nil {
			return invalidField("payloads", err.Error())
		}
		b, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
	}
}

// codecCaller lets a supervisor or ops token through, by bearer token or by the
// sign-in cookie.
func (s *Server) codecCaller(c echo.Context) error {
	token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
	if !ok {
		if ck, err := c.Cookie(codecCookie); err == nil {
			token, ok = ck.Value, true
		}
	}
	if !ok || strings.TrimSpace(token) == "" {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="casehub codec"`)
		return problem(http.StatusUnauthorized, "sign in at /codec/sign-in, or send a supervisor's or an ops bearer token")
	}
	p, err := auth.Authenticate(c.Request().Context(), s.deps.Store, strings.TrimSpace(token))
	if errors.Is(err, auth.ErrInvalidToken) {
		return problem(http.StatusUnauthorized, "the token is invalid or revoked")
	}
	if err != nil {
		return err
	}
	if !p.Is(auth.RoleSupervisor, auth.RoleOps) {
		return forbidden("reading payloads needs the role supervisor or ops")
	}
	return nil
}

var signInPage = template.Must(template.New("sign-in").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>casehub codec sign-in</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>casehub codec</h1>
{{if .Message}}<p><strong>{{.Message}}</strong></p>{{end}}
<p>Sign in with a supervisor's or an ops token to read casehub's payloads in the Temporal Web UI. The UI that
<code>casehub dev</code> runs sends this sign-in along; another UI needs <em>include cross-origin credentials</em>
turned on in its codec server settings.</p>
<form method="post" action="/codec/sign-in">
<label>Supervisor token <input type="password" name="token" size="60" autocomplete="off"></label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/codec/sign-out"><button type="submit">Sign out</button></form>
</body></html>
`))

func (s *Server) codecSignInPage(c echo.Context) error {
	return s.renderSignIn(c, http.StatusOK, "")
}

func (s *Server) renderSignIn(c echo.Context, status int, msg string) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return signInPage.Execute(c.Response(), struct{ Message string }{msg})
}

// codecSignIn checks the token and keeps it in an HttpOnly cookie for the
// codec endpoint only.
func (s *Server) codecSignIn(c echo.Context) error {
	token := strings.TrimSpace(c.FormValue("token"))
	p, err := auth.Authenticate(c.Request().Context(), s.deps.Store, token)
	switch {
	case errors.Is(err, auth.ErrInvalidToken) || token == "":
		return s.renderSignIn(c, http.StatusUnauthorized, "That token is invalid or revoked.")
	case err != nil:
		return err
	case !p.Is(auth.RoleSupervisor, auth.RoleOps):
		return s.renderSignIn(c, http.StatusForbidden, "Reading payloads needs a supervisor's or an ops token.")
	}
	c.SetCookie(&http.Cookie{Name: codecCookie, Value: token, Path: "/codec", HttpOnly: true, Secure: c.Scheme() == "https",
		SameSite: http.SameSiteLaxMode, Expires: time.Now().Add(8 * time.Hour)})
	return s.renderSignIn(c, http.StatusOK, "Signed in: the Temporal Web UI now shows casehub's payloads in clear.")
}

func (s *Server) codecSignOut(c echo.Context) error {
	c.SetCookie(&http.Cookie{Name: codecCookie, Value: "", Path: "/codec", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return s.renderSignIn(c, http.StatusOK, "Signed out.")
}
