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

// Case statuses. A case moves New -> In Progress -> Resolved -> Closed; see
// CaseTransitions for every move allowed.
const (
	CaseNew        = "new"
	CaseInProgress = "in_progress"
	CaseResolved   = "resolved"
	CaseClosed     = "closed"
)

// Case priorities.
const (
	PriorityLow      = "low"
	PriorityMedium   = "medium"
	PriorityHigh     = "high"
	PriorityCritical = "critical"
)

// How an interaction relates to a case.
const (
	RelationCreatedFrom = "created_from" // the case was registered during it
	RelationConsulted   = "consulted"    // the customer was advised on the case during it
)

// CaseTransitions lists, for each status, the statuses a case may move to.
// A resolved case may be reopened; a closed case is final.
var CaseTransitions = map[string][]string{
	CaseNew:        {CaseInProgress, CaseResolved, CaseClosed},
	CaseInProgress: {CaseResolved, CaseClosed},
	CaseResolved:   {CaseInProgress, CaseClosed},
	CaseClosed:     {},
}

// CanTransition reports whether a case in status from may move to status to.
func CanTransition(from, to string) bool { return slices.Contains(CaseTransitions[from], to) }

// Case is a customer's request, numbered for people.
type Case struct {
	ID              uuid.UUID  `db:"id" json:"id"`
	Number          string     `db:"number" json:"number"`
	Subject         string     `db:"subject" json:"subject"`
	Description     string     `db:"description" json:"description"`
	Category        string     `db:"category" json:"category"`
	Priority        string     `db:"priority" json:"priority"`
	Status          string     `db:"status" json:"status"`
	StatusReason    string     `db:"status_reason" json:"status_reason"`
	StatusChangedAt time.Time  `db:"status_changed_at" json:"status_changed_at"`
	ContactID       uuid.UUID  `db:"contact_id" json:"contact_id"`
	ContactName     string     `db:"contact_name" json:"contact_name"`
	CompanyID       *uuid.UUID `db:"company_id" json:"company_id"`
	CompanyName     *string    `db:"company_name" json:"company_name"`
	CreatedAt       time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt       time.Time  `db:"updated_at" json:"updated_at"`
}

// CaseInteraction links a case to an interaction it came from or was
// discussed in.
type CaseInteraction struct {
	InteractionID string    `db:"interaction_id" json:"interaction_id"`
	Relation      string    `db:"relation" json:"relation"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
}

// Consultation is a note of advice given on a case during an interaction.
type Consultation struct {
	ID            uuid.UUID `db:"id" json:"id"`
	CaseNumber    string    `db:"case_number" json:"case_number"`
	InteractionID string    `db:"interaction_id" json:"interaction_id"`
	AgentID       string    `db:"agent_id" json:"agent_id"`
	Note          string    `db:"note" json:"note"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
}

// CaseDetail is a case with its interactions and consultations.
type CaseDetail struct {
	Case
	Interactions  []CaseInteraction `json:"interactions"`
	Consultations []Consultation    `json:"consultations"`
}

// NewCase is what CreateCase needs.
type NewCase struct {
	// RequestID makes creation idempotent: a second CreateCase with the same
	// RequestID returns the case the first one made.
	RequestID   string
	Subject     string
	Description string
	Category    string
	Priority    string // PriorityMedium when empty
	ContactID   uuid.UUID
	CompanyID   *uuid.UUID // the contact's company when nil
	// InteractionID, when set, links the case to the interaction it was
	// created from.
	InteractionID string
}

// CaseQuery filters a case listing; empty fields do not filter.
type CaseQuery struct {
	ContactID *uuid.UUID
	Status    string
	Limit     int
	Offset    int
}

// NewConsultation is what RecordConsultation needs.
type NewConsultation struct {
	ID            uuid.UUID // chosen by the caller, so a retry records nothing twice
	CaseNumber    string
	ContactID     *uuid.UUID // when set, the case must belong to this contact
	InteractionID string
	AgentID       string
	Note          string
}

const (
	insertCase = `
INSERT INTO cases (id, request_id, subject, description, category, priority, contact_id, company_id)
VALUES (:id, NULLIF(:request_id, ''), :subject, :description, :category, :priority, :contact_id,
        coalesce(CAST(:company_id AS uuid), (SELECT company_id FROM contacts WHERE id = :contact_id)))
ON CONFLICT (request_id) DO NOTHING
RETURNING id`

	selectCaseIDByRequest = `SELECT id FROM cases WHERE request_id = :request_id`

	caseColumns = `
SELECT k.id, k.number, k.subject, k.description, k.category, k.priority, k.status, k.status_reason,
       k.status_changed_at, k.contact_id, ct.name AS contact_name, k.company_id, co.name AS company_name,
       k.created_at, k.updated_at
FROM cases k
JOIN contacts ct ON ct.id = k.contact_id
LEFT JOIN companies co ON co.id = k.company_id`

	selectCaseByID     = caseColumns + ` WHERE k.id = :id`
	selectCaseByNumber = caseColumns + ` WHERE k.number = :number`

	searchCases = caseColumns + `
WHERE (CAST(:contact_id AS uuid) IS NULL OR k.contact_id = CAST(:contact_id AS uuid))
  AND (:status = '' OR k.status = :status)
ORDER BY k.created_at DESC, k.number DESC
LIMIT :limit OFFSET :offset`

	linkCaseInteraction = `
INSERT INTO case_interactions (case_id, interaction_id, relation) VALUES (:case_id, :interaction_id, :relation)
ON CONFLICT DO NOTHING`

	selectCaseInteractions = `
SELECT interaction_id, relation, created_at FROM case_interactions
WHERE case_id = :case_id ORDER BY created_at, interaction_id, relation`

	consultationColumns = `
SELECT c.id, k.number AS case_number, c.interaction_id, c.agent_id, c.note, c.created_at
FROM case_consultations c JOIN cases k ON k.id = c.case_id`

	selectConsultations = consultationColumns + ` WHERE c.case_id = :case_id ORDER BY c.created_at, c.id`
	selectConsultation  = consultationColumns + ` WHERE c.id = :id`

	insertConsultation = `
INSERT INTO case_consultations (id, case_id, interaction_id, agent_id, note)
VALUES (:id, :case_id, :interaction_id, :agent_id, :note)
ON CONFLICT (id) DO NOTHING`

	selectCaseOwner = `SELECT id, contact_id FROM cases WHERE number = :number`

	// updateCaseStatus moves a case only from a status allowed to reach the
	// new one, so two concurrent changes cannot both pass a stale check.
	updateCaseStatus = `
UPDATE cases SET status = :to, status_reason = :reason, status_changed_at = now(), updated_at = now()
WHERE number = :number AND status = ANY(CAST(:from AS text[]))
RETURNING id`

	selectCaseStatus = `SELECT status FROM cases WHERE number = :number`
)

var caseFields = map[string]string{
	"cases_contact_id_fkey": "contact_id",
	"cases_company_id_fkey": "company_id",
}

// CreateCase adds a case and, when nc names one, links the interaction it
// came from, in one transaction. It is idempotent by nc.RequestID.
func (s *Store) CreateCase(ctx context.Context, nc NewCase) (Case, error) {
	if nc.Priority == "" {
		nc.Priority = PriorityMedium
	}
	var id uuid.UUID
	err := s.InTx(ctx, func(tx *Store) error {
		err := tx.namedGet(ctx, &id, insertCase, map[string]any{
			"id": uuid.New(), "request_id": nc.RequestID, "subject": strings.TrimSpace(nc.Subject),
			"description": strings.TrimSpace(nc.Description), "category": strings.TrimSpace(nc.Category),
			"priority": nc.Priority, "contact_id": nc.ContactID, "company_id": nc.CompanyID,
		})
		if errors.Is(err, ErrNotFound) && nc.RequestID != "" {
			// The request ran before: answer with the case it made.
			err = tx.namedGet(ctx, &id, selectCaseIDByRequest, map[string]any{"request_id": nc.RequestID})
		}
		if err != nil {
			return constraintErr(err, caseFields)
		}
		if nc.InteractionID == "" {
			return nil
		}
		return tx.linkInteraction(ctx, id, nc.InteractionID, RelationCreatedFrom)
	})
	if err != nil {
		return Case{}, fmt.Errorf("create case: %w", err)
	}
	return s.getCaseByID(ctx, id)
}

func (s *Store) linkInteraction(ctx context.Context, caseID uuid.UUID, interactionID, relation string) error {
	_, err := s.namedExec(ctx, linkCaseInteraction, map[string]any{
		"case_id": caseID, "interaction_id": interactionID, "relation": relation,
	})
	if err != nil {
		return fmt.Errorf("link interaction %s: %w", interactionID, err)
	}
	return nil
}

func (s *Store) getCaseByID(ctx context.Context, id uuid.UUID) (Case, error) {
	var c Case
	if err := s.namedGet(ctx, &c, selectCaseByID, map[string]any{"id": id}); err != nil {
		return Case{}, fmt.Errorf("get case %s: %w", id, err)
	}
	return c, nil
}

// GetCase returns the case numbered number with its interactions and
// consultations, or ErrNotFound.
func (s *Store) GetCase(ctx context.Context, number string) (CaseDetail, error) {
	var d CaseDetail
	if err := s.namedGet(ctx, &d.Case, selectCaseByNumber, map[string]any{"number": number}); err != nil {
		return CaseDetail{}, fmt.Errorf("get case %s: %w", number, err)
	}
	d.Interactions = []CaseInteraction{}
	if err := s.namedSelect(ctx, &d.Interactions, selectCaseInteractions, map[string]any{"case_id": d.ID}); err != nil {
		return CaseDetail{}, fmt.Errorf("get interactions of case %s: %w", number, err)
	}
	d.Consultations = []Consultation{}
	if err := s.namedSelect(ctx, &d.Consultations, selectConsultations, map[string]any{"case_id": d.ID}); err != nil {
		return CaseDetail{}, fmt.Errorf("get consultations of case %s: %w", number, err)
	}
	return d, nil
}

// ListCases lists the cases matching q, newest first.
func (s *Store) ListCases(ctx context.Context, q CaseQuery) ([]Case, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	out := []Case{}
	err := s.namedSelect(ctx, &out, searchCases, map[string]any{
		"contact_id": q.ContactID, "status": q.Status, "limit": q.Limit, "offset": q.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

// ChangeCaseStatus moves case number to status to, if CaseTransitions allows
// it from the case's current status; otherwise the error is ErrConflict
// naming the field "status".
func (s *Store) ChangeCaseStatus(ctx context.Context, number, to, reason string) (Case, error) {
	var from []string
	for _, f := range []string{CaseNew, CaseInProgress, CaseResolved, CaseClosed} {
		if CanTransition(f, to) {
			from = append(from, f)
		}
	}
	var id uuid.UUID
	err := s.namedGet(ctx, &id, updateCaseStatus, map[string]any{
		"number": number, "to": to, "reason": strings.TrimSpace(reason), "from": pqStringArray(from),
	})
	if errors.Is(err, ErrNotFound) {
		var cur string
		if err := s.namedGet(ctx, &cur, selectCaseStatus, map[string]any{"number": number}); err != nil {
			return Case{}, fmt.Errorf("change status of case %s: %w", number, err)
		}
		return Case{}, fmt.Errorf("change status of case %s: %w", number, &FieldError{
			Err: ErrConflict, Field: "status", Detail: fmt.Sprintf("a %s case cannot become %s", cur, to),
		})
	}
	if err != nil {
		return Case{}, fmt.Errorf("change status of case %s: %w", number, err)
	}
	return s.getCaseByID(ctx, id)
}

// RecordConsultation notes advice given on a case during an interaction and
// links the interaction to the case as consulted, in one transaction.
// Recording the same nc.ID again changes nothing.
func (s *Store) RecordConsultation(ctx context.Context, nc NewConsultation) (Consultation, error) {
	err := s.InTx(ctx, func(tx *Store) error {
		var owner struct {
			ID        uuid.UUID `db:"id"`
			ContactID uuid.UUID `db:"contact_id"`
		}
		err := tx.namedGet(ctx, &owner, selectCaseOwner, map[string]any{"number": nc.CaseNumber})
		if errors.Is(err, ErrNotFound) {
			return &FieldError{Err: ErrNotFound, Field: "case_number", Detail: "no case has this number"}
		}
		if err != nil {
			return err
		}
		if nc.ContactID != nil && *nc.ContactID != owner.ContactID {
			return &FieldError{Err: ErrConflict, Field: "case_number", Detail: "the case belongs to another contact"}
		}
		_, err = tx.namedExec(ctx, insertConsultation, map[string]any{
			"id": nc.ID, "case_id": owner.ID, "interaction_id": nc.InteractionID,
			"agent_id": nc.AgentID, "note": strings.TrimSpace(nc.Note),
		})
		if err != nil {
			return err
		}
		return tx.linkInteraction(ctx, owner.ID, nc.InteractionID, RelationConsulted)
	})
	if err != nil {
		return Consultation{}, fmt.Errorf("record consultation on case %s: %w", nc.CaseNumber, err)
	}
	var c Consultation
	if err := s.namedGet(ctx, &c, selectConsultation, map[string]any{"id": nc.ID}); err != nil {
		return Consultation{}, fmt.Errorf("get consultation %s: %w", nc.ID, err)
	}
	return c, nil
}
