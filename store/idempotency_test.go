package store_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

func TestIdempotencyKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	req := store.IdempotentRequest{Principal: "tok1", Key: uuid.NewString(), Method: "POST", Path: "/v1/contacts", RequestHash: []byte("h1")}

	claimed, _, _, err := st.ClaimIdempotencyKey(ctx, req, time.Minute)
	require.NoError(t, err)
	require.True(t, claimed)

	// While running: a second claim sees the running record.
	claimed, _, prior, err := st.ClaimIdempotencyKey(ctx, req, time.Minute)
	require.NoError(t, err)
	require.False(t, claimed)
	require.Nil(t, prior.Status)

	require.NoError(t, st.CompleteIdempotencyKey(ctx, "tok1", req.Key, 201, "application/json", "/v1/things/1", []byte(`{"id":1}`)))
	claimed, _, prior, err = st.ClaimIdempotencyKey(ctx, req, time.Minute)
	require.NoError(t, err)
	require.False(t, claimed)
	require.Equal(t, 201, *prior.Status)
	require.JSONEq(t, `{"id":1}`, string(prior.Body))
	require.Equal(t, []byte("h1"), prior.RequestHash)
	require.Equal(t, "/v1/things/1", *prior.Location)

	// Keys are per principal.
	other := req
	other.Principal = "tok2"
	claimed, _, _, err = st.ClaimIdempotencyKey(ctx, other, time.Minute)
	require.NoError(t, err)
	require.True(t, claimed)
}

func TestIdempotencyKeyReleaseAndStaleTakeover(t *testing.T) {
	ctx := context.Background()
	req := store.IdempotentRequest{Principal: "tok1", Key: uuid.NewString(), Method: "POST", Path: "/x", RequestHash: []byte("h")}

	claimed, _, _, err := st.ClaimIdempotencyKey(ctx, req, time.Hour)
	require.NoError(t, err)
	require.True(t, claimed)
	require.NoError(t, st.ReleaseIdempotencyKey(ctx, req.Principal, req.Key))
	claimed, _, _, err = st.ClaimIdempotencyKey(ctx, req, time.Hour)
	require.NoError(t, err)
	require.True(t, claimed, "a released key can be claimed again")

	// An unfinished claim older than staleAfter is taken over; a fresh one is not.
	claimed, _, _, err = st.ClaimIdempotencyKey(ctx, req, time.Hour)
	require.NoError(t, err)
	require.False(t, claimed)
	time.Sleep(10 * time.Millisecond)
	claimed, _, _, err = st.ClaimIdempotencyKey(ctx, req, time.Millisecond)
	require.NoError(t, err)
	require.True(t, claimed)

	// A completed key is never taken over, however old.
	require.NoError(t, st.CompleteIdempotencyKey(ctx, req.Principal, req.Key, 200, "application/json", "", []byte(`{}`)))
	time.Sleep(10 * time.Millisecond)
	claimed, _, _, err = st.ClaimIdempotencyKey(ctx, req, time.Millisecond)
	require.NoError(t, err)
	require.False(t, claimed)

	n, err := st.ExpireRecords(ctx, store.Retain{IdempotencyKeys: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.GreaterOrEqual(t, n.IdempotencyKeys, int64(1))
}

// A claim whose owner's instance lock is gone (its process died) is taken
// over at once, keeping what the dead attempt set aside; a claim whose
// owner lives is not, and another request's body starts afresh.
func TestIdempotencyClaimOfADeadInstance(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	alive, err := store.HoldInstance(ctx, st.DB(), logger)
	require.NoError(t, err)
	t.Cleanup(alive.Close)
	dying, err := store.HoldInstance(ctx, st.DB(), logger)
	require.NoError(t, err)
	require.NotEqual(t, alive.ID(), dying.ID())

	req := store.IdempotentRequest{Principal: "tok1", Key: uuid.NewString(), Method: "POST", Path: "/v1/callbacks", RequestHash: []byte("h"), Owner: dying.ID()}
	claimed, claim, _, err := st.ClaimIdempotencyKey(ctx, req, time.Hour)
	require.NoError(t, err)
	require.True(t, claimed)
	require.Empty(t, claim.Progress)
	require.NoError(t, st.SetIdempotencyProgress(ctx, claim, "CB0000042"))

	retry := req
	retry.Owner = alive.ID()
	claimed, _, prior, err := st.ClaimIdempotencyKey(ctx, retry, time.Hour)
	require.NoError(t, err)
	require.False(t, claimed, "the first attempt's process lives: its request is still running")
	require.Nil(t, prior.Status)

	dying.Close() // as its process dying closes its connections
	claimed, claim, _, err = st.ClaimIdempotencyKey(ctx, retry, time.Hour)
	require.NoError(t, err)
	require.True(t, claimed, "taken over at once, not after an hour")
	require.Equal(t, "CB0000042", claim.Progress, "the retry resumes what the first attempt set aside")

	// The new owner lives: no one takes it from it.
	claimed, _, _, err = st.ClaimIdempotencyKey(ctx, retry, time.Hour)
	require.NoError(t, err)
	require.False(t, claimed)

	// Another body under a dead owner's key starts with nothing set aside.
	other := req
	other.Key = uuid.NewString()
	gone, err := store.HoldInstance(ctx, st.DB(), logger)
	require.NoError(t, err)
	other.Owner = gone.ID()
	claimed, claim, _, err = st.ClaimIdempotencyKey(ctx, other, time.Hour)
	require.NoError(t, err)
	require.True(t, claimed)
	require.NoError(t, st.SetIdempotencyProgress(ctx, claim, "CB0000043"))
	gone.Close()
	changed := other
	changed.RequestHash, changed.Owner = []byte("another body"), alive.ID()
	claimed, claim, _, err = st.ClaimIdempotencyKey(ctx, changed, time.Hour)
	require.NoError(t, err)
	require.True(t, claimed)
	require.Empty(t, claim.Progress, "what was set aside belonged to another request")
}

// An instance whose connection is cut (PostgreSQL restarted, or an
// administrator's pg_terminate_backend) takes its lock again under the
// same id.
func TestInstanceLockTakenAgainAfterItsConnectionBreaks(t *testing.T) {
	ctx := context.Background()
	in, err := store.HoldInstance(ctx, st.DB(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(in.Close)
	held := func() bool {
		var n int
		require.NoError(t, st.DB().Get(&n, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 7271003 AND objid = $1::oid`, in.ID()))
		return n == 1
	}
	require.True(t, held())
	var cut bool
	require.NoError(t, st.DB().Get(&cut, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7271003 AND objid = $1::oid`, in.ID()))
	require.True(t, cut)
	require.Eventually(t, func() bool { return !held() }, 5*time.Second, 20*time.Millisecond, "the lock goes with its connection")
	require.Eventually(t, held, 10*time.Second, 50*time.Millisecond, "and is taken again")
}
