package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

func TestIdempotencyKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	req := store.IdempotentRequest{Principal: "tok1", Key: uuid.NewString(), Method: "POST", Path: "/v1/contacts", RequestHash: []byte("h1")}

	claimed, _, err := st.ClaimIdempotencyKey(ctx, req, time.Minute)
	require.NoError(t, err)
	require.True(t, claimed)

	// While running: a second claim sees the running record.
	claimed, prior, err := st.ClaimIdempotencyKey(ctx, req, time.Minute)
	require.NoError(t, err)
	require.False(t, claimed)
	require.Nil(t, prior.Status)

	require.NoError(t, st.CompleteIdempotencyKey(ctx, "tok1", req.Key, 201, "application/json", "/v1/things/1", []byte(`{"id":1}`)))
	claimed, prior, err = st.ClaimIdempotencyKey(ctx, req, time.Minute)
	require.NoError(t, err)
	require.False(t, claimed)
	require.Equal(t, 201, *prior.Status)
	require.JSONEq(t, `{"id":1}`, string(prior.Body))
	require.Equal(t, []byte("h1"), prior.RequestHash)
	require.Equal(t, "/v1/things/1", *prior.Location)

	// Keys are per principal.
	other := req
	other.Principal = "tok2"
	claimed, _, err = st.ClaimIdempotencyKey(ctx, other, time.Minute)
	require.NoError(t, err)
	require.True(t, claimed)
}

func TestIdempotencyKeyReleaseAndStaleTakeover(t *testing.T) {
	ctx := context.Background()
	req := store.IdempotentRequest{Principal: "tok1", Key: uuid.NewString(), Method: "POST", Path: "/x", RequestHash: []byte("h")}

	claimed, _, err := st.ClaimIdempotencyKey(ctx, req, time.Hour)
	require.NoError(t, err)
	require.True(t, claimed)
	require.NoError(t, st.ReleaseIdempotencyKey(ctx, req.Principal, req.Key))
	claimed, _, err = st.ClaimIdempotencyKey(ctx, req, time.Hour)
	require.NoError(t, err)
	require.True(t, claimed, "a released key can be claimed again")

	// An unfinished claim older than staleAfter is taken over; a fresh one is not.
	claimed, _, err = st.ClaimIdempotencyKey(ctx, req, time.Hour)
	require.NoError(t, err)
	require.False(t, claimed)
	time.Sleep(10 * time.Millisecond)
	claimed, _, err = st.ClaimIdempotencyKey(ctx, req, time.Millisecond)
	require.NoError(t, err)
	require.True(t, claimed)

	// A completed key is never taken over, however old.
	require.NoError(t, st.CompleteIdempotencyKey(ctx, req.Principal, req.Key, 200, "application/json", "", []byte(`{}`)))
	time.Sleep(10 * time.Millisecond)
	claimed, _, err = st.ClaimIdempotencyKey(ctx, req, time.Millisecond)
	require.NoError(t, err)
	require.False(t, claimed)

	n, err := st.ExpireRecords(ctx, store.Retain{IdempotencyKeys: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.GreaterOrEqual(t, n.IdempotencyKeys, int64(1))
}
