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
	// Events are the live events desks resume from (docs/events.md); zero
	// (a schedule made before they were kept) is DefaultEventRetention.
	Events time.Duration `json:"events,omitempty"`
}

// DefaultEventRetention is how long live events are kept for streams to
// resume from.
const DefaultEventRetention = 24 * time.Hour

// ExpireRecords deletes what has been kept longer than r says. Deleting
// again deletes nothing more, so a retry is harmless.
func (a *Activities) ExpireRecords(ctx context.Context, r RetentionRequest) (Expired, error) {
	now := a.now()
	keepEvents := r.Events
	if keepEvents <= 0 {
		keepEvents = DefaultEventRetention
	}
	out, err := a.Store.ExpireRecords(ctx, store.Retain{CTIEvents: now.Add(-r.CTIEvents),
		IdempotencyKeys: now.Add(-r.IdempotencyKeys), Events: now.Add(-keepEvents)})
	if err != nil {
		return expiredOf(out), classify(err)
	}
	activity.GetLogger(ctx).Info("expired records", "cti_events", out.CTIEvents, "idempotency_keys", out.IdempotencyKeys, "events", out.Events)
	return expiredOf(out), nil
}
