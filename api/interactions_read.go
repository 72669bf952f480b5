package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// Record numbers as people read them out; anything else is not found.
var (
	interactionNumber = regexp.MustCompile(`^IMS[0-9]{7,}$`)
	incidentNumber    = regexp.MustCompile(`^INC[0-9]{7,}$`)
	requestNumber     = regexp.MustCompile(`^REQ[0-9]{7,}$`)
)

var (
	interactionStates = []string{store.InteractionNew, store.InteractionPendingAcceptance,
		store.InteractionWorkInProgress, store.InteractionClosedComplete}
	interactionChannels = []string{store.InteractionPhone, store.InteractionChat, store.InteractionEmail,
		store.InteractionWalkIn, store.InteractionSelfService}
)

// interactionDetail is an interaction with everything recorded about it.
type interactionDetail struct {
	store.Interaction
	History    []store.HistoryEntry `json:"history"`
	Notes      []store.WorkNote     `json:"notes"`
	PhoneLogs  []store.PhoneLog     `json:"phone_logs"`
	Transfers  []store.Transfer     `json:"transfers"`
	Transcript []store.ChatMessage  `json:"transcript"`
	// ContactCandidates are, for a chat, the contacts the customer's email
	// matched (the agent may choose another with POST .../choose-contact).
	ContactCandidates []workflows.ContactChoice `json:"contact_candidates,omitempty"`
	// Processes are the case processes started from the interaction (seed
	// 004's call panel), so a desk reloaded mid-process finds its own.
	Processes []processSummary `json:"processes,omitempty"`
}

// processSummary is a case process as the interaction lists it.
type processSummary struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Flow  string `json:"flow"`
	Step  string `json:"step"`
	Ended bool   `json:"ended"`
	Case  string `json:"case,omitempty"` // the case it created
}

func (s *Server) getInteraction(c echo.Context) error {
	ctx := c.Request().Context()
	number := c.Param("number")
	if !interactionNumber.MatchString(number) {
		return notFound("interaction")
	}
	in, err := s.deps.Store.GetInteraction(ctx, number)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("interaction")
	}
	if err != nil {
		return err
	}
	if err := mayReadInteraction(c, in); err != nil {
		return err
	}
	d, err := s.interactionDetail(ctx, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) interactionDetail(ctx context.Context, in store.Interaction) (interactionDetail, error) {
	d := interactionDetail{Interaction: in}
	var err error
	if d.History, err = s.deps.Store.InteractionHistory(ctx, in.Number); err != nil {
		return d, err
	}
	if d.Notes, err = s.deps.Store.WorkNotes(ctx, in.Number); err != nil {
		return d, err
	}
	if d.PhoneLogs, err = s.deps.Store.PhoneLogs(ctx, in.Number); err != nil {
		return d, err
	}
	if d.Transfers, err = s.deps.Store.Transfers(ctx, in.Number); err != nil {
		return d, err
	}
	if d.Transcript, err = s.deps.Store.ChatTranscript(ctx, in.Number); err != nil {
		return d, err
	}
	if d.Processes, err = s.caseProcessesOf(ctx, in.Number); err != nil {
		return d, err
	}
	if in.Channel == workflows.ChannelChat && in.ContactEmail != nil && *in.ContactEmail != "" {
		// The same search that matched the chat's customer when it opened.
		found, err := s.deps.Store.SearchContacts(ctx, store.ContactQuery{Email: *in.ContactEmail, Limit: 20})
		if err != nil {
			return d, err
		}
		for _, c := range found {
			d.ContactCandidates = append(d.ContactCandidates, workflows.ContactChoice{ContactID: c.ID.String(), Name: c.Name})
		}
	}
	return d, nil
}

// mayReadInteraction lets supervisors and integrations read every
// interaction, and an agent those assigned to it or that it opened.
func mayReadInteraction(c echo.Context, in store.Interaction) error {
	p := principal(c)
	switch p.Role {
	case auth.RoleSupervisor, auth.RoleIntegration:
		return nil
	case auth.RoleAgent:
		if (in.AgentID != nil && *in.AgentID == p.AgentID) || (in.CreatedBy != nil && *in.CreatedBy == p.AgentID) {
			return nil
		}
		return forbidden("an agent may read only the interactions assigned to it or that it opened")
	}
	return forbidden("this action needs the role agent, supervisor or integration")
}

func (s *Server) listInteractions(c echo.Context) error {
	limit, offset, err := paging(c)
	if err != nil {
		return err
	}
	q := store.InteractionQuery{State: c.QueryParam("state"), AgentID: c.QueryParam("agent_id"),
		Queue: c.QueryParam("queue"), Channel: c.QueryParam("channel"), Disposition: c.QueryParam("disposition"),
		CallID: c.QueryParam("call_id"), Limit: limit + 1, Offset: offset}
	if q.ContactID, err = queryUUID(c, "contact_id"); err != nil {
		return err
	}
	if q.State != "" && !slices.Contains(interactionStates, q.State) {
		return invalidField("state", "must be one of: "+strings.Join(interactionStates, ", "))
	}
	if q.Channel != "" && !slices.Contains(interactionChannels, q.Channel) {
		return invalidField("channel", "must be one of: "+strings.Join(interactionChannels, ", "))
	}
	if q.From, err = queryTime(c, "from"); err != nil {
		return err
	}
	if q.To, err = queryTime(c, "to"); err != nil {
		return err
	}
	if q.From != nil && q.To != nil && q.To.Before(*q.From) {
		return invalidField("to", "must not be before from")
	}
	if p := principal(c); p.Role == auth.RoleAgent {
		switch q.AgentID {
		case "":
			q.AgentID = p.AgentID
		case p.AgentID:
		default:
			return forbidden("an agent may list only the interactions assigned to it")
		}
	}
	items, err := s.deps.Store.ListInteractions(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(items, limit, offset))
}

// queryTime reads an optional RFC 3339 query parameter.
func queryTime(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, invalidField(name, "must be an RFC 3339 date-time, like 2025-03-01T09:00:00Z")
	}
	return &t, nil
}

// caseProcessesOf asks each case process that may have run on the
// interaction (one per kind) for its state; one that never ran is absent.
// Without a process engine (some API tests) there are none to list.
func (s *Server) caseProcessesOf(ctx context.Context, number string) ([]processSummary, error) {
	if s.deps.Temporal == nil {
		return nil, nil
	}
	var out []processSummary
	for _, kind := range workflows.CaseProcessKinds() {
		id := workflows.CaseProcessWorkflowID(number, kind)
		var st workflows.CaseProcessState
		err := s.query(ctx, id, &st)
		var p *Problem
		if errors.As(err, &p) && p.Status == http.StatusNotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("state of %s: %w", id, err)
		}
		ps := processSummary{ID: id, Kind: st.Kind, Flow: st.Flow, Step: st.Step, Ended: st.Ended()}
		if st.Case != nil {
			ps.Case = st.Case.Number
		}
		out = append(out, ps)
	}
	return out, nil
}
