package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/codec"
)

const uiOrigin = "http://localhost:8233"

// The sign-in pages are HTML; the spec checks read them as text.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder) }

func codecClient(t *testing.T) (*client, *codec.Codec) {
	t.Helper()
	line, err := codec.NewKeyLine("test")
	require.NoError(t, err)
	keys, err := codec.ParseKeys(line)
	require.NoError(t, err)
	c := codec.New(keys)
	return newClient(t, api.Deps{Codec: c, CodecOrigins: []string{uiOrigin}}), c
}

type codecBody struct {
	Payloads []struct {
		Metadata map[string]string `json:"metadata"`
		Data     string            `json:"data"`
	} `json:"payloads"`
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// What the Temporal UI sends: a JSON payload with the caller's number.
var plainPayloads = `{"payloads": [{"metadata": {"encoding": "` + b64("json/plain") + `"}, "data": "` + b64(`{"caller":"+12025550143"}`) + `"}]}`

// A supervisor seals and opens payloads at /codec; anyone else is refused,
// and a browser origin the codec does not list gets no CORS answer.
func TestCodecEndpoint(t *testing.T) {
	c, _ := codecClient(t)
	sup := c.as(issue(t, auth.RoleSupervisor, ""))

	r := sup.do(http.MethodPost, "/codec/encode", plainPayloads, "Origin", uiOrigin, "X-Namespace", "default")
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, uiOrigin, r.Header().Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", r.Header().Get("Access-Control-Allow-Credentials"))
	require.NotContains(t, r.Body.String(), b64(`{"caller":"+12025550143"}`))
	var sealed codecBody
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &sealed))
	require.Len(t, sealed.Payloads, 1)
	require.Equal(t, b64(codec.Encoding), sealed.Payloads[0].Metadata["encoding"])
	require.Equal(t, b64("test"), sealed.Payloads[0].Metadata[codec.MetadataKeyID], "the key id rides along")

	r = sup.do(http.MethodPost, "/codec/decode", r.Body.String())
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var opened codecBody
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &opened))
	require.Equal(t, b64(`{"caller":"+12025550143"}`), opened.Payloads[0].Data)

	// Who may not.
	require.Equal(t, http.StatusUnauthorized, c.do(http.MethodPost, "/codec/decode", plainPayloads).Code)
	require.Equal(t, http.StatusForbidden, c.as(issue(t, auth.RoleAgent, "agent-codec")).do(http.MethodPost, "/codec/decode", plainPayloads).Code)
	require.Equal(t, http.StatusForbidden, c.as(issue(t, auth.RoleIntegration, "")).do(http.MethodPost, "/codec/decode", plainPayloads).Code)
	// The ops role reads payloads, and nothing else.
	ops := c.as(issue(t, auth.RoleOps, ""))
	require.Equal(t, http.StatusOK, ops.do(http.MethodPost, "/codec/decode", plainPayloads).Code)
	require.Equal(t, http.StatusForbidden, ops.do(http.MethodGet, "/v1/queues", nil).Code)
	require.Equal(t, http.StatusForbidden, ops.do(http.MethodGet, "/v1/interactions", nil).Code)
	// Bad bodies name the field.
	r = sup.do(http.MethodPost, "/codec/decode", `{"payloads": 7}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)
	require.Equal(t, "payloads", r.problem(t).Errors[0].Field)
	unknownKey := `{"payloads": [{"metadata": {"encoding": "` + b64(codec.Encoding) + `", "encryption-key-id": "` + b64("gone") +
		`", "encryption-cipher": "` + b64(codec.Cipher) + `"}, "data": "` + b64("xxxxxxxxxxxxxxxxxxxxxxxx") + `"}]}`
	r = sup.do(http.MethodPost, "/codec/decode", unknownKey)
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)
	require.Contains(t, r.problem(t).Errors[0].Detail, `"gone"`, "the missing key is named")

	// CORS preflight.
	r = c.do(http.MethodOptions, "/codec/decode", nil, "Origin", uiOrigin, "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusNoContent, r.Code)
	require.Equal(t, uiOrigin, r.Header().Get("Access-Control-Allow-Origin"))
	require.Contains(t, r.Header().Get("Access-Control-Allow-Headers"), "X-Namespace")
	r = c.do(http.MethodOptions, "/codec/decode", nil, "Origin", "http://evil.example", "Access-Control-Request-Method", "POST")
	require.Empty(t, r.Header().Get("Access-Control-Allow-Origin"), "an origin not listed gets no CORS answer")
}

// A supervisor signs in once; the browser then sends the cookie with the
// Temporal UI's codec calls.
func TestCodecSignIn(t *testing.T) {
	c, _ := codecClient(t)
	post := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://localhost:8080/codec/sign-in",
			strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		c.e.ServeHTTP(rec, req)
		return rec
	}
	require.Equal(t, http.StatusUnauthorized, post("chk_nope").Code)
	require.Equal(t, http.StatusForbidden, post(issue(t, auth.RoleAgent, "agent-codec-2")).Code)
	rec := post(issue(t, auth.RoleSupervisor, ""))
	require.Equal(t, http.StatusOK, rec.Code)
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	require.True(t, cookies[0].HttpOnly)
	require.Equal(t, "/codec", cookies[0].Path)

	req := httptest.NewRequest(http.MethodPost, "http://localhost:8080/codec/decode", strings.NewReader(plainPayloads))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", uiOrigin)
	req.AddCookie(cookies[0])
	out := httptest.NewRecorder()
	c.e.ServeHTTP(out, req)
	require.Equal(t, http.StatusOK, out.Code, out.Body.String())

	page := c.do(http.MethodGet, "/codec/sign-in", nil)
	require.Equal(t, http.StatusOK, page.Code)
	require.Contains(t, page.Body.String(), "<form")
}
