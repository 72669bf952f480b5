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

	// A leg its process already owns (an inbound call's, claimed as its
	// event came in) is neither written nor locked.
	upsertLeg = `
INSERT INTO cti_legs (leg_id, workflow_id)
SELECT :leg_id, :workflow_id
WHERE NOT EXISTS (SELECT 1 FROM cti_legs WHERE leg_id = :leg_id AND workflow_id = :workflow_id)
ON CONFLICT (leg_id) DO UPDATE SET workflow_id = EXCLUDED.workflow_id`

	selectLeg = `SELECT workflow_id FROM cti_legs WHERE leg_id = :leg_id`

	// The leg's owner if it has one; else the leg claimed for a new
	// interaction's process, its number drawn (and, for a queued caller, its
	// place in line) in the same statement. No number is drawn for a leg
	// owned when the statement starts. Nothing comes back when another claim
	// of the leg commits meanwhile: its owner is read again then.
	claimNewInteractionLeg = `
WITH owner AS (SELECT workflow_id FROM cti_legs WHERE leg_id = :leg_id),
claim AS (
    INSERT INTO cti_legs (leg_id, workflow_id)
    SELECT :leg_id, :prefix || format_record_number('IMS', nextval('interaction_number'))
    WHERE NOT EXISTS (SELECT 1 FROM owner)
    ON CONFLICT (leg_id) DO NOTHING
    RETURNING workflow_id)
SELECT workflow_id, true AS claimed, CASE WHEN :queued THEN nextval('work_item_position') ELSE 0 END AS position FROM claim
UNION ALL
SELECT workflow_id, false, 0 FROM owner`
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

// LegClaim is what ClaimInteractionLeg found or did.
type LegClaim struct {
	WorkflowID string `db:"workflow_id"` // the leg's owner
	Claimed    bool   `db:"claimed"`     // the leg was new, and WorkflowID is a new interaction's
	Position   int64  `db:"position"`    // the caller's place in line, drawn with the claim of a queued caller (else 0)
}

// ClaimInteractionLeg returns the process that owns a platform call leg or
// chat or, for a leg seen for the first time, claims it for a new
// interaction's process: prefix and a new interaction number, with the
// caller's place in line drawn at once when queued (a caller still in an
// IVR takes one when it is done). It is one statement in the common case.
// Of two events about a new call handled at once, one opens its process
// and the other joins it.
func (s *Store) ClaimInteractionLeg(ctx context.Context, legID, prefix string, queued bool) (LegClaim, error) {
	var c LegClaim
	err := s.namedGet(ctx, &c, claimNewInteractionLeg, map[string]any{"leg_id": legID, "prefix": prefix, "queued": queued})
	if errors.Is(err, ErrNotFound) {
		// Claimed by another event meanwhile. This event's input may still
		// be the one that starts the process (whichever start reaches
		// Temporal first), so it draws its place at arrival all the same.
		c.WorkflowID, err = s.LegOwner(ctx, legID)
		if err == nil && queued {
			c.Position, err = s.NextPosition(ctx)
		}
	}
	if err != nil {
		return LegClaim{}, fmt.Errorf("claim leg %s: %w", legID, err)
	}
	return c, nil
}
