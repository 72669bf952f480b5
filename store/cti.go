package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CTIEvent is a recorded platform event.
type CTIEvent struct {
	ID         string          `db:"id"`
	Type       string          `db:"type"`
	CallID     string          `db:"call_id"`
	ChatID     string          `db:"chat_id"`
	Outcome    string          `db:"outcome"`
	WorkflowID string          `db:"workflow_id"`
	Payload    json.RawMessage `db:"payload"`
	ReceivedAt time.Time       `db:"received_at"`
}

const (
	selectCTIEvent = `SELECT id, type, call_id, chat_id, outcome, workflow_id, payload, received_at FROM cti_events WHERE id = :id`

	insertCTIEvent = `
INSERT INTO cti_events (id, type, call_id, chat_id, outcome, workflow_id, payload)
VALUES (:id, :type, :call_id, :chat_id, :outcome, :workflow_id, CAST(CAST(:payload AS text) AS jsonb))
ON CONFLICT (id) DO NOTHING`

	upsertLeg = `
INSERT INTO cti_legs (leg_id, workflow_id) VALUES (:leg_id, :workflow_id)
ON CONFLICT (leg_id) DO UPDATE SET workflow_id = EXCLUDED.workflow_id`

	selectLeg = `SELECT workflow_id FROM cti_legs WHERE leg_id = :leg_id`

	claimLeg = `
INSERT INTO cti_legs (leg_id, workflow_id) VALUES (:leg_id, :workflow_id)
ON CONFLICT (leg_id) DO NOTHING`
)

// GetCTIEvent returns a recorded event or ErrNotFound.
func (s *Store) GetCTIEvent(ctx context.Context, id string) (CTIEvent, error) {
	var e CTIEvent
	if err := s.namedGet(ctx, &e, selectCTIEvent, map[string]any{"id": id}); err != nil {
		return CTIEvent{}, fmt.Errorf("get cti event %s: %w", id, err)
	}
	return e, nil
}

// RecordCTIEvent keeps an event and what was done with it. It reports
// false when the event id was already recorded (a repeated delivery).
func (s *Store) RecordCTIEvent(ctx context.Context, e CTIEvent) (bool, error) {
	n, err := s.namedExec(ctx, insertCTIEvent, e)
	if err != nil {
		return false, fmt.Errorf("record cti event %s: %w", e.ID, err)
	}
	return n == 1, nil
}

// RegisterLeg records that workflowID owns a platform call leg or chat.
func (s *Store) RegisterLeg(ctx context.Context, legID, workflowID string) error {
	if _, err := s.namedExec(ctx, upsertLeg, map[string]any{"leg_id": legID, "workflow_id": workflowID}); err != nil {
		return fmt.Errorf("register leg %s: %w", legID, err)
	}
	return nil
}

// LegOwner returns the workflow that owns a leg, or ErrNotFound.
func (s *Store) LegOwner(ctx context.Context, legID string) (string, error) {
	var wf string
	err := s.namedGet(ctx, &wf, selectLeg, map[string]any{"leg_id": legID})
	if errors.Is(err, ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("find owner of leg %s: %w", legID, err)
	}
	return wf, nil
}

// ClaimLeg makes workflowID the owner of a leg unless another process
// already owns it, and returns the owner either way: of two events about a
// new call handled at once, one opens its process and the other joins it.
func (s *Store) ClaimLeg(ctx context.Context, legID, workflowID string) (string, error) {
	if _, err := s.namedExec(ctx, claimLeg, map[string]any{"leg_id": legID, "workflow_id": workflowID}); err != nil {
		return "", fmt.Errorf("claim leg %s: %w", legID, err)
	}
	return s.LegOwner(ctx, legID)
}
