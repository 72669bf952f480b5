package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/casehub/casehub/store"
)

// RetentionRequest says how long records are kept.
type RetentionRequest struct {
	CTIEvents       time.Duration `json:"cti_events"`       // raw platform events
	IdempotencyKeys time.Duration `json:"idempotency_keys"` // Idempotency-Key records
}

// ExpireRecords deletes what has been kept longer than r says. Deleting
// again deletes nothing more, so a retry is harmless.
func (a *Activities) ExpireRecords(ctx context.Context, r RetentionRequest) (store.Expired, error) {
	now := a.now()
	out, err := a.Store.ExpireRecords(ctx, now.Add(-r.CTIEvents), now.Add(-r.IdempotencyKeys))
	if err != nil {
		return out, classify(err)
	}
	activity.GetLogger(ctx).Info("expired records", "cti_events", out.CTIEvents, "idempotency_keys", out.IdempotencyKeys)
	return out, nil
}
