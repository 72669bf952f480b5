package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// routingFixture makes a queue with its own agents (offline: these tests
// need them as records, not as routing targets).
func routingFixture(t *testing.T, agents ...string) (queue string, ids []string) {
	t.Helper()
	ctx := context.Background()
	queue = "q-" + uuid.NewString()[:8]
	_, err := st.UpsertQueue(ctx, store.Queue{Name: queue, AcceptanceTimeoutS: 30, WrapUpTimeoutS: 60, OnReject: store.OnRejectReoffer})
	require.NoError(t, err)
	for _, a := range agents {
		id := a + "-" + queue
		_, err := st.UpsertAgent(ctx, id, a, 2)
		require.NoError(t, err)
		require.NoError(t, st.SetMembership(ctx, queue, id, true))
		ids = append(ids, id)
	}
	return queue, ids
}
