package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

// Incidents and requests are worked after the interaction they came from
// (seed 001: "Work the Request or Incident per usual"; seed 003: chat notes
// go on the incident): listed by contact, company, state and assignee,
// moved through their states, assigned, and given work notes, each with a
// line in the record's own activity.

// escalationKind is what the routes of one kind share.
type escalationKind struct {
	kind    string // store.RelatedIncident or store.RelatedRequest
	pattern *regexp.Regexp
}

var (
	incidents = escalationKind{store.RelatedIncident, incidentNumber}
	requests  = escalationKind{store.RelatedRequest, requestNumber}
)

// escalationDetail is an incident or request with its activity.
type escalationDetail struct {
	store.Escalation
	Activity []store.EscalationActivity `json:"activity"`
}

type escalationChangeBody struct {
	State      *string `json:"state" validate:"omitnil,max=40"`
	AssignedTo *string `json:"assigned_to" validate:"omitnil,max=63"`
}

type escalationNoteBody struct {
	Body string `json:"body" validate:"required,max=5000"`
}

func (s *Server) listEscalations(k escalationKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		limit, offset, err := paging(c)
		if err != nil {
			return err
		}
		q := store.EscalationQuery{Kind: k.kind, State: c.QueryParam("state"), AssignedTo: c.QueryParam("assigned_to"),
			Interaction: c.QueryParam("interaction"), Limit: limit + 1, Offset: offset}
		if q.ContactID, err = queryUUID(c, "contact_id"); err != nil {
			return err
		}
		if q.CompanyID, err = queryUUID(c, "company_id"); err != nil {
			return err
		}
		if q.State != "" && !slices.Contains(store.EscalationStates[k.kind], q.State) {
			return invalidField("state", "must be one of: "+strings.Join(store.EscalationStates[k.kind], ", "))
		}
		if p := principal(c); p.Role == auth.RoleAgent {
			// An agent lists what it holds or opened.
			if q.AssignedTo != "" && q.AssignedTo != p.AgentID {
				return forbidden("an agent may list only the " + k.kind + "s assigned to it or that it opened")
			}
			q.Mine = p.AgentID
		}
		items, err := s.deps.Store.ListEscalations(c.Request().Context(), q)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, page(items, limit, offset))
	}
}

func (s *Server) getEscalationDetail(k escalationKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		e, err := s.readEscalation(c, k)
		if err != nil {
			return err
		}
		return s.escalationAnswer(c, http.StatusOK, e)
	}
}

func (s *Server) changeEscalation(k escalationKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req escalationChangeBody
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		if req.State == nil && req.AssignedTo == nil {
			return invalidField("state", "or assigned_to is required")
		}
		e, err := s.workableEscalation(c, k)
		if err != nil {
			return err
		}
		got, err := s.deps.Store.ChangeEscalation(c.Request().Context(), store.EscalationChange{Kind: k.kind, Number: e.Number,
			State: req.State, AssignedTo: req.AssignedTo, Actor: createdBy(principal(c))})
		var fe *store.FieldError
		if errors.As(err, &fe) && errors.Is(err, store.ErrConflict) {
			return &Problem{Type: typeConflict, Title: "Conflict", Status: http.StatusConflict,
				Detail: fe.Field + ": " + fe.Detail, Errors: []FieldProblem{{Field: fe.Field, Detail: fe.Detail}}}
		}
		if err != nil {
			return err
		}
		return s.escalationAnswer(c, http.StatusOK, got)
	}
}

func (s *Server) addEscalationNote(k escalationKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req escalationNoteBody
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		if strings.TrimSpace(req.Body) == "" {
			return invalidField("body", "is required")
		}
		e, err := s.workableEscalation(c, k)
		if err != nil {
			return err
		}
		requestID := c.Request().Header.Get(HeaderIdempotencyKey)
		if requestID == "" {
			requestID = uuid.NewString()
		}
		note, err := s.deps.Store.AddEscalationNote(c.Request().Context(), k.kind, e.Number, createdBy(principal(c)),
			req.Body, principal(c).TokenID+"-"+requestID)
		if err != nil {
			return err
		}
		return created(c, parentOf(c.Request().URL.Path, "notes"), note)
	}
}

func (s *Server) escalationAnswer(c echo.Context, status int, e store.Escalation) error {
	activity, err := s.deps.Store.EscalationHistory(c.Request().Context(), e.Kind, e.Number)
	if err != nil {
		return err
	}
	return c.JSON(status, escalationDetail{Escalation: e, Activity: activity})
}

// readEscalation finds the record of the path and checks the caller may
// read it: an agent reads those it opened or holds, and those of the
// interactions it may read.
func (s *Server) readEscalation(c echo.Context, k escalationKind) (store.Escalation, error) {
	ctx := c.Request().Context()
	number := strings.ToUpper(c.Param("number"))
	if !k.pattern.MatchString(number) {
		return store.Escalation{}, notFound(k.kind)
	}
	e, err := s.getEscalationRecord(ctx, k.kind, number)
	if errors.Is(err, store.ErrNotFound) {
		return store.Escalation{}, notFound(k.kind)
	}
	if err != nil {
		return store.Escalation{}, err
	}
	p := principal(c)
	if p.Role != auth.RoleAgent || e.CreatedBy == p.AgentID || (e.AssignedTo != nil && *e.AssignedTo == p.AgentID) {
		return e, nil
	}
	in, err := s.deps.Store.GetInteraction(ctx, e.Interaction)
	if err != nil {
		return store.Escalation{}, err
	}
	if mayReadInteraction(c, in) != nil {
		return store.Escalation{}, forbidden("an agent may read only the " + k.kind + "s it opened or holds, and those of its own interactions")
	}
	return e, nil
}

// workableEscalation is readEscalation for a change: an agent works the
// records it holds, opened, or that nobody holds yet (taking one).
func (s *Server) workableEscalation(c echo.Context, k escalationKind) (store.Escalation, error) {
	e, err := s.readEscalation(c, k)
	if err != nil {
		return e, err
	}
	p := principal(c)
	if p.Role == auth.RoleAgent && e.CreatedBy != p.AgentID && e.AssignedTo != nil && *e.AssignedTo != p.AgentID {
		return e, forbidden("the " + k.kind + " is assigned to " + *e.AssignedTo)
	}
	return e, nil
}

func (s *Server) getEscalationRecord(ctx context.Context, kind, number string) (store.Escalation, error) {
	if kind == store.RelatedIncident {
		return s.deps.Store.GetIncident(ctx, number)
	}
	return s.deps.Store.GetServiceRequest(ctx, number)
}

// queryUUID reads an optional UUID query parameter.
func queryUUID(c echo.Context, name string) (*uuid.UUID, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return nil, invalidField(name, "must be a UUID")
	}
	return &id, nil
}
