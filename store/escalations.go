package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Incident states (ServiceNow's incident life cycle): a resolved incident
// may be reopened; closed and cancelled are final.
const (
	IncidentNew        = "new"
	IncidentInProgress = "in_progress"
	IncidentOnHold     = "on_hold"
	IncidentResolved   = "resolved"
	IncidentClosed     = "closed"
	IncidentCancelled  = "cancelled"
)

// Request states: the closed ones and cancelled are final.
const (
	RequestOpen             = "open"
	RequestWorkInProgress   = "work_in_progress"
	RequestClosedComplete   = "closed_complete"
	RequestClosedIncomplete = "closed_incomplete"
	RequestCancelled        = "cancelled"
)

// EscalationTransitions lists, for each kind and state, the states a
// record may move to.
var EscalationTransitions = map[string]map[string][]string{
	RelatedIncident: {
		IncidentNew:        {IncidentInProgress, IncidentOnHold, IncidentResolved, IncidentCancelled},
		IncidentInProgress: {IncidentOnHold, IncidentResolved, IncidentCancelled},
		IncidentOnHold:     {IncidentInProgress, IncidentResolved, IncidentCancelled},
		IncidentResolved:   {IncidentInProgress, IncidentClosed},
	},
	RelatedRequest: {
		RequestOpen:           {RequestWorkInProgress, RequestClosedComplete, RequestClosedIncomplete, RequestCancelled},
		RequestWorkInProgress: {RequestClosedComplete, RequestClosedIncomplete, RequestCancelled},
	},
}

// EscalationStates lists a kind's states, the first one a record opens in.
var EscalationStates = map[string][]string{
	RelatedIncident: {IncidentNew, IncidentInProgress, IncidentOnHold, IncidentResolved, IncidentClosed, IncidentCancelled},
	RelatedRequest:  {RequestOpen, RequestWorkInProgress, RequestClosedComplete, RequestClosedIncomplete, RequestCancelled},
}

// Activity lines of an incident or request.
const (
	ActivityOpened   = "opened"
	ActivityState    = "state"
	ActivityAssignee = "assignee"
	ActivityWorkNote = "work_note"
)

// EscalationActivity is one line of an incident's or request's own
// history: opened, a change of state or assignee, or a work note.
type EscalationActivity struct {
	ID    int64     `db:"id" json:"id"`
	What  string    `db:"what" json:"what"`
	From  string    `db:"from_value" json:"from"`
	To    string    `db:"to_value" json:"to"`
	Body  string    `db:"body" json:"body"`
	Actor string    `db:"actor" json:"actor"`
	At    time.Time `db:"at" json:"at"`
}

// EscalationQuery filters a listing of one kind; empty fields do not
// filter. Mine, when set, keeps the records assigned to that agent or
// opened by it.
type EscalationQuery struct {
	Kind        string
	ContactID   *uuid.UUID
	CompanyID   *uuid.UUID
	State       string
	AssignedTo  string
	Interaction string
	Mine        string
	Limit       int
	Offset      int
}

// EscalationChange is a change of state and/or assignee; nil fields stay.
// An empty AssignedTo unassigns.
type EscalationChange struct {
	Kind       string
	Number     string
	State      *string
	AssignedTo *string
	Actor      string
}

const (
	escalationFilter = `
WHERE (CAST(:contact_id AS uuid) IS NULL OR contact_id = CAST(:contact_id AS uuid))
  AND (CAST(:company_id AS uuid) IS NULL OR contact_id IN (SELECT id FROM contacts WHERE company_id = CAST(:company_id AS uuid)))
  AND (:state = '' OR state = :state)
  AND (:assigned_to = '' OR assigned_to = :assigned_to)
  AND (:interaction = '' OR interaction = :interaction)
  AND (:mine = '' OR assigned_to = :mine OR created_by = :mine)
ORDER BY created_at DESC, number DESC
LIMIT :limit OFFSET :offset`

	lockIncident       = selectIncident + ` FOR UPDATE`
	lockServiceRequest = selectServiceRequest + ` FOR UPDATE`

	updateIncidentWork = `
UPDATE incidents SET state = :state, assigned_to = NULLIF(:assigned_to, ''), updated_at = now() WHERE number = :number`
	updateServiceRequestWork = `
UPDATE service_requests SET state = :state, assigned_to = NULLIF(:assigned_to, ''), updated_at = now() WHERE number = :number`

	insertActivity = `
INSERT INTO escalation_activity (kind, number, what, from_value, to_value, body, actor, request_id)
VALUES (:kind, :number, :what, :from_value, :to_value, :body, :actor, NULLIF(:request_id, ''))
ON CONFLICT DO NOTHING
RETURNING id, what, from_value, to_value, body, actor, at`

	selectActivityByRequest = `
SELECT id, what, from_value, to_value, body, actor, at FROM escalation_activity
WHERE kind = :kind AND number = :number AND request_id = :request_id`

	selectActivity = `
SELECT id, what, from_value, to_value, body, actor, at FROM escalation_activity
WHERE kind = :kind AND number = :number ORDER BY id`

	touchIncident       = `UPDATE incidents SET updated_at = now() WHERE number = :number`
	touchServiceRequest = `UPDATE service_requests SET updated_at = now() WHERE number = :number`
)

var escalationFields = map[string]string{
	"incidents_assigned_to_fkey":        "assigned_to",
	"service_requests_assigned_to_fkey": "assigned_to",
}

// escalationSQL holds the statements of one kind.
type escalationSQL struct{ list, lock, update, touch string }

func sqlFor(kind string) (escalationSQL, error) {
	switch kind {
	case RelatedIncident:
		return escalationSQL{incidentColumns + escalationFilter, lockIncident, updateIncidentWork, touchIncident}, nil
	case RelatedRequest:
		return escalationSQL{serviceRequestColumns + escalationFilter, lockServiceRequest, updateServiceRequestWork, touchServiceRequest}, nil
	}
	return escalationSQL{}, &FieldError{Err: ErrInvalid, Field: "kind", Detail: "must be one of: incident, request"}
}

// recordOpened writes a new record's first activity line.
func (s *Store) recordOpened(ctx context.Context, kind, number, actor string) error {
	var a EscalationActivity
	err := s.namedGet(ctx, &a, insertActivity, map[string]any{"kind": kind, "number": number, "what": ActivityOpened,
		"from_value": "", "to_value": EscalationStates[kind][0], "body": "", "actor": actor, "request_id": ""})
	if err != nil {
		return fmt.Errorf("record %s %s opened: %w", kind, number, err)
	}
	return nil
}

// ListEscalations lists the incidents or requests matching q, newest first.
func (s *Store) ListEscalations(ctx context.Context, q EscalationQuery) ([]Escalation, error) {
	stmts, err := sqlFor(q.Kind)
	if err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	out := []Escalation{}
	err = s.namedSelect(ctx, &out, stmts.list, map[string]any{
		"contact_id": q.ContactID, "company_id": q.CompanyID, "state": q.State, "assigned_to": q.AssignedTo,
		"interaction": q.Interaction, "mine": q.Mine, "limit": q.Limit, "offset": q.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", q.Kind, err)
	}
	return out, nil
}

// ChangeEscalation moves an incident or request to another state and/or
// assignee in one transaction, with an activity line for each field that
// changed. Asking for what it already is changes nothing (a retry is
// harmless). A move its state does not allow is ErrConflict naming state.
func (s *Store) ChangeEscalation(ctx context.Context, c EscalationChange) (Escalation, error) {
	stmts, err := sqlFor(c.Kind)
	if err != nil {
		return Escalation{}, err
	}
	var out Escalation
	err = s.InTx(ctx, func(tx *Store) error {
		var cur Escalation
		if err := tx.namedGet(ctx, &cur, stmts.lock, map[string]any{"number": c.Number}); err != nil {
			return err
		}
		next := cur
		var lines []map[string]any
		line := func(what, from, to string) {
			lines = append(lines, map[string]any{"kind": c.Kind, "number": c.Number, "what": what,
				"from_value": from, "to_value": to, "body": "", "actor": c.Actor, "request_id": ""})
		}
		if c.State != nil && *c.State != cur.State {
			if !slices.Contains(EscalationStates[c.Kind], *c.State) {
				return &FieldError{Err: ErrInvalid, Field: "state", Detail: "must be one of: " + strings.Join(EscalationStates[c.Kind], ", ")}
			}
			if !slices.Contains(EscalationTransitions[c.Kind][cur.State], *c.State) {
				return &FieldError{Err: ErrConflict, Field: "state",
					Detail: fmt.Sprintf("a %s %s cannot move to %s", cur.State, c.Kind, *c.State)}
			}
			next.State = *c.State
			line(ActivityState, cur.State, next.State)
		}
		if c.AssignedTo != nil && *c.AssignedTo != deref(cur.AssignedTo) {
			next.AssignedTo = nullable(*c.AssignedTo)
			line(ActivityAssignee, deref(cur.AssignedTo), *c.AssignedTo)
		}
		if len(lines) > 0 {
			if _, err := tx.namedExec(ctx, stmts.update, map[string]any{"number": c.Number, "state": next.State,
				"assigned_to": deref(next.AssignedTo)}); err != nil {
				return constraintErr(err, escalationFields)
			}
			for _, l := range lines {
				var a EscalationActivity
				if err := tx.namedGet(ctx, &a, insertActivity, l); err != nil {
					return fmt.Errorf("record activity: %w", err)
				}
			}
		}
		var err error
		out, err = tx.getEscalation(ctx, c.Kind, c.Number)
		return err
	})
	if err != nil {
		return Escalation{}, fmt.Errorf("change %s %s: %w", c.Kind, c.Number, err)
	}
	return out, nil
}

// AddEscalationNote adds a work note to an incident or request; a note
// sent again with the same requestID is recorded once and answered as it
// was.
func (s *Store) AddEscalationNote(ctx context.Context, kind, number, author, body, requestID string) (EscalationActivity, error) {
	stmts, err := sqlFor(kind)
	if err != nil {
		return EscalationActivity{}, err
	}
	var out EscalationActivity
	err = s.InTx(ctx, func(tx *Store) error {
		var cur Escalation
		if err := tx.namedGet(ctx, &cur, stmts.lock, map[string]any{"number": number}); err != nil {
			return err
		}
		args := map[string]any{"kind": kind, "number": number, "what": ActivityWorkNote, "from_value": "", "to_value": "",
			"body": body, "actor": author, "request_id": requestID}
		err := tx.namedGet(ctx, &out, insertActivity, args)
		if errors.Is(err, ErrNotFound) && requestID != "" {
			return tx.namedGet(ctx, &out, selectActivityByRequest, args)
		}
		if err != nil {
			return constraintErr(err, nil)
		}
		_, err = tx.namedExec(ctx, stmts.touch, map[string]any{"number": number})
		return err
	})
	if err != nil {
		return EscalationActivity{}, fmt.Errorf("add a work note to %s %s: %w", kind, number, err)
	}
	return out, nil
}

// EscalationHistory lists an incident's or request's activity, oldest
// first.
func (s *Store) EscalationHistory(ctx context.Context, kind, number string) ([]EscalationActivity, error) {
	out := []EscalationActivity{}
	if err := s.namedSelect(ctx, &out, selectActivity, map[string]any{"kind": kind, "number": number}); err != nil {
		return nil, fmt.Errorf("activity of %s %s: %w", kind, number, err)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
