package api_test

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	token := issue(t, auth.RoleSupervisor, "")
	c := newClient(t, api.Deps{}).as(token)
	key := uuid.NewString()
	name := "Idem " + uuid.NewString()[:8]
	body := map[string]any{"name": name}

	first := c.do(http.MethodPost, "/v1/contacts", body, api.HeaderIdempotencyKey, key)
	require.Equal(t, http.StatusCreated, first.Code)
	second := c.do(http.MethodPost, "/v1/contacts", body, api.HeaderIdempotencyKey, key)
	require.Equal(t, http.StatusCreated, second.Code)
	require.Equal(t, "true", second.Header().Get("Idempotent-Replayed"))
	require.JSONEq(t, first.Body.String(), second.Body.String())

	found, err := st.SearchContacts(t.Context(), store.ContactQuery{Name: name})
	require.NoError(t, err)
	require.Len(t, found, 1, "one contact for two requests with one key")

	// The same key with another body is refused.
	r := c.do(http.MethodPost, "/v1/contacts", map[string]any{"name": name + " 2"}, api.HeaderIdempotencyKey, key)
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)
	require.Equal(t, api.HeaderIdempotencyKey, r.problem(t).Errors[0].Field)

	// Another token's identical key is its own.
	other := c.as(issue(t, auth.RoleSupervisor, ""))
	r = other.do(http.MethodPost, "/v1/contacts", body, api.HeaderIdempotencyKey, key)
	require.Equal(t, http.StatusCreated, r.Code)
	require.Empty(t, r.Header().Get("Idempotent-Replayed"))

	// Without a key, every POST is a new request.
	c.do(http.MethodPost, "/v1/contacts", body)
	found, err = st.SearchContacts(t.Context(), store.ContactQuery{Name: name})
	require.NoError(t, err)
	require.Len(t, found, 3)
}

func TestIdempotencyKeyErrorsAreReplayedToo(t *testing.T) {
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleSupervisor, ""))
	key := uuid.NewString()
	r1 := c.do(http.MethodPost, "/v1/contacts", map[string]any{"nickname": "x"}, api.HeaderIdempotencyKey, key)
	require.Equal(t, http.StatusUnprocessableEntity, r1.Code)
	r2 := c.do(http.MethodPost, "/v1/contacts", map[string]any{"nickname": "x"}, api.HeaderIdempotencyKey, key)
	require.Equal(t, http.StatusUnprocessableEntity, r2.Code)
	require.Equal(t, "true", r2.Header().Get("Idempotent-Replayed"))
	require.Equal(t, "application/problem+json", r2.Header().Get("Content-Type"))
}

func TestIdempotencyKeyWhileTheFirstRequestRuns(t *testing.T) {
	token := issue(t, auth.RoleSupervisor, "")
	c := newClient(t, api.Deps{}).as(token)
	key := uuid.NewString()
	body := `{"name":"Concurrent"}`

	// The first request holds the key (as if still running in another replica).
	h := sha256.New()
	h.Write([]byte("POST /v1/contacts\n"))
	h.Write([]byte(body))
	claimed, _, _, err := st.ClaimIdempotencyKey(t.Context(), store.IdempotentRequest{
		Principal: auth.TokenID(token), Key: key, Method: "POST", Path: "/v1/contacts", RequestHash: h.Sum(nil),
	}, time.Hour)
	require.NoError(t, err)
	require.True(t, claimed)

	r := c.do(http.MethodPost, "/v1/contacts", body, api.HeaderIdempotencyKey, key)
	require.Equal(t, http.StatusConflict, r.Code)
	r.problem(t)

	r = c.do(http.MethodPost, "/v1/contacts", body, api.HeaderIdempotencyKey, strings.Repeat("k", 256))
	require.Equal(t, http.StatusBadRequest, r.Code)
	require.Equal(t, api.HeaderIdempotencyKey, r.problem(t).Errors[0].Field)
}
