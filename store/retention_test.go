package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// Raw platform events and Idempotency-Key records past their time go; newer
// ones stay; a second sweep deletes nothing more.
func TestExpireRecordsDeletesOnlyWhatIsPastItsTime(t *testing.T) {
	ctx := context.Background()
	old, fresh := "evt-old-"+uuid.NewString(), "evt-new-"+uuid.NewString()
	for _, id := range []string{old, fresh} {
		_, err := st.RecordCTIEvent(ctx, store.CTIEvent{ID: id, Type: "incoming_call", CallID: "call-" + id, Outcome: "started",
			Payload: json.RawMessage(`{"caller_number": "+12025550143"}`)})
		require.NoError(t, err)
	}
	_, err := st.DB().ExecContext(ctx, `UPDATE cti_events SET received_at = now() - interval '40 days' WHERE id = $1`, old)
	require.NoError(t, err)

	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	got, err := st.ExpireRecords(ctx, store.Retain{CTIEvents: cutoff})
	require.NoError(t, err)
	require.GreaterOrEqual(t, got.CTIEvents, int64(1))
	var left []string
	require.NoError(t, st.DB().SelectContext(ctx, &left, `SELECT id FROM cti_events WHERE id = ANY($1)`, pq.Array([]string{old, fresh})))
	require.Equal(t, []string{fresh}, left)

	again, err := st.ExpireRecords(ctx, store.Retain{CTIEvents: cutoff})
	require.NoError(t, err)
	require.Zero(t, again.CTIEvents)
}

// Live events older than their retention go; newer ones stay.
func TestExpireRecordsDeletesOldLiveEvents(t *testing.T) {
	ctx := context.Background()
	kind := "test.retention-" + uuid.NewString()[:8]
	_, err := st.DB().ExecContext(ctx, `INSERT INTO events (kind, data, at) VALUES ($1, '{"n": 1}', now() - interval '2 days'), ($1, '{"n": 2}', now())`, kind)
	require.NoError(t, err)

	got, err := st.ExpireRecords(ctx, store.Retain{Events: time.Now().Add(-24 * time.Hour)})
	require.NoError(t, err)
	require.GreaterOrEqual(t, got.Events, int64(1))
	var left []int
	require.NoError(t, st.DB().SelectContext(ctx, &left, `SELECT (data->>'n')::int FROM events WHERE kind = $1`, kind))
	require.Equal(t, []int{2}, left)
}
