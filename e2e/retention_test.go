package e2e

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/worker"
	"github.com/casehub/casehub/workflows"
)

// The casehub-retention schedule (which ops see under Schedules in the
// Temporal UI) deletes raw platform events and Idempotency-Key records past
// their time; a worker started again keeps one schedule.
func TestRetentionSchedule(t *testing.T) {
	ctx := context.Background()
	oldEvent := "evt-retention-" + uuid.NewString()
	_, err := sys.store.RecordCTIEvent(ctx, store.CTIEvent{ID: oldEvent, Type: "incoming_call", CallID: "call-" + oldEvent,
		Outcome: "started", Payload: json.RawMessage(`{"caller_number": "+12025550143"}`)})
	require.NoError(t, err)
	_, err = sys.store.DB().ExecContext(ctx, `UPDATE cti_events SET received_at = now() - interval '40 days' WHERE id = $1`, oldEvent)
	require.NoError(t, err)
	oldKey := "key-retention-" + uuid.NewString()
	_, err = sys.store.DB().ExecContext(ctx, `INSERT INTO idempotency_keys (principal, key, method, path, request_hash, created_at)
		VALUES ('tok', $1, 'POST', '/v1/callbacks', '\x00', now() - interval '2 days')`, oldKey)
	require.NoError(t, err)

	r := activities.RetentionRequest{CTIEvents: workflows.DefaultCTIEventRetention, IdempotencyKeys: workflows.DefaultIdempotencyKeyRetention}
	require.NoError(t, worker.StartRetention(ctx, sys.client, r))
	require.NoError(t, worker.StartRetention(ctx, sys.client, r), "a second worker's start keeps the one schedule")
	h := sys.client.ScheduleClient().GetHandle(ctx, workflows.RetentionScheduleID)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	require.Equal(t, workflows.RetentionEvery, d.Schedule.Spec.Intervals[0].Every)

	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	eventually(t, func() bool {
		var n int
		err := sys.store.DB().GetContext(ctx, &n, `SELECT (SELECT count(*) FROM cti_events WHERE id = $1) + (SELECT count(*) FROM idempotency_keys WHERE key = $2)`, oldEvent, oldKey)
		return err == nil && n == 0
	}, "the triggered sweep deletes the old event and key")
	d, err = h.Describe(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, d.Info.RecentActions, "the run shows on the schedule")
}
