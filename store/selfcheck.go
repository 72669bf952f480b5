package store

import (
	"context"
	"fmt"
	"time"
)

// SelfCheck is the row a self-check workflow writes through its activity.
type SelfCheck struct {
	WorkflowID string    `db:"workflow_id"`
	RunID      string    `db:"run_id"`
	Note       string    `db:"note"`
	CheckedAt  time.Time `db:"checked_at"`
}

const (
	upsertSelfCheck = `
INSERT INTO self_checks (workflow_id, run_id, note) VALUES (:workflow_id, :run_id, :note)
ON CONFLICT (workflow_id) DO UPDATE SET run_id = EXCLUDED.run_id, note = EXCLUDED.note
RETURNING workflow_id, run_id, note, checked_at`

	selectSelfCheck = `SELECT workflow_id, run_id, note, checked_at FROM self_checks WHERE workflow_id = :workflow_id`
)

// RecordSelfCheck writes (or rewrites, on retry) the self-check row.
func (s *Store) RecordSelfCheck(ctx context.Context, c SelfCheck) (SelfCheck, error) {
	var out SelfCheck
	if err := s.namedGet(ctx, &out, upsertSelfCheck, c); err != nil {
		return SelfCheck{}, fmt.Errorf("record self check %s: %w", c.WorkflowID, err)
	}
	return out, nil
}

// GetSelfCheck reads a self-check row, or ErrNotFound.
func (s *Store) GetSelfCheck(ctx context.Context, workflowID string) (SelfCheck, error) {
	var out SelfCheck
	if err := s.namedGet(ctx, &out, selectSelfCheck, map[string]any{"workflow_id": workflowID}); err != nil {
		return SelfCheck{}, fmt.Errorf("get self check %s: %w", workflowID, err)
	}
	return out, nil
}
