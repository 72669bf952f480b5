package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

type queueRequest struct {
	Description              string          `json:"description" validate:"max=500"`
	AcceptanceTimeoutSeconds *int            `json:"acceptance_timeout_seconds" validate:"omitnil,min=1,max=3600"`
	WrapUpTimeoutSeconds     *int            `json:"wrapup_timeout_seconds" validate:"omitnil,min=0,max=86400"`
	OnReject                 string          `json:"on_reject" validate:"omitempty,oneof=close reoffer"`
	OnTimeout                string          `json:"on_timeout" validate:"omitempty,oneof=close reoffer"`
	OutboundNumber           string          `json:"outbound_number" validate:"omitempty,e164"`
	DispositionRequired      *bool           `json:"disposition_required"`
	Settings                 json.RawMessage `json:"settings"`
}

type queueView struct {
	store.Queue
	Waiting   []store.WorkItem `json:"waiting"`
	Available []agentView      `json:"agents_available"`
	Members   []agentView      `json:"members"`
}

type agentRequest struct {
	Name     string `json:"name" validate:"max=200"`
	MaxChats *int   `json:"max_chats" validate:"omitnil,min=0,max=20"`
}

type agentView struct {
	store.Agent
	Status string `json:"status"`
	// PendingOffers are the offers shown to the agent: each takes an accept
	// or reject at once.
	PendingOffers []offerView `json:"pending_offers,omitempty"`
	// ReservedFor is the work the agent is booked for but not offered yet:
	// a customer-first callback dialling its customer (the offer comes if
	// they answer), or an offer on its way to its process.
	ReservedFor []reservation `json:"reserved_for,omitempty"`
	// Work is what the agent has accepted and not finished: its calls,
	// chats and callbacks, each with the record it is worked on.
	Work []workView `json:"work,omitempty"`
}

// workView is an accepted item with the record it is worked on.
type workView struct {
	ItemID      string    `json:"item_id"`
	Kind        string    `json:"kind"`
	Queue       string    `json:"queue"`
	Channel     string    `json:"channel"`
	Interaction string    `json:"interaction,omitempty"`
	CallbackID  string    `json:"callback_id,omitempty"`
	Since       time.Time `json:"since"`
}

// offerView is an offer with the record the agent answers it on: the
// interaction's number (POST /v1/interactions/{number}/accept) or the
// callback's id (POST /v1/callbacks/{id}/accept).
type offerView struct {
	store.Offer
	Interaction string `json:"interaction,omitempty"`
	CallbackID  string `json:"callback_id,omitempty"`
	// What the agent sees before answering: who is on the line (or to be
	// called back), what they chose in the IVR, the case they named.
	Caller     string            `json:"caller,omitempty"`
	IVR        map[string]string `json:"ivr,omitempty"`
	CaseNumber string            `json:"case_number,omitempty"`
	Reason     string            `json:"reason,omitempty"`
}

// withContext adds the record's caller, IVR selections and case number.
func (v offerView) withContext(ctx context.Context, tx *store.Store) (offerView, error) {
	switch {
	case v.Interaction != "":
		it, err := tx.GetInteraction(ctx, v.Interaction)
		if err != nil {
			return v, err
		}
		v.Caller, v.IVR, v.CaseNumber = deref(it.ContactPhone), it.IVR, deref(it.IVRCaseNumber)
		if v.Caller == "" {
			v.Caller = deref(it.ContactEmail)
		}
	case v.CallbackID != "":
		cb, err := tx.GetCallback(ctx, v.CallbackID)
		if err != nil {
			return v, err
		}
		v.Caller, v.IVR, v.CaseNumber, v.Reason = cb.Number, cb.IVR, deref(cb.CaseNumber), cb.Reason
	}
	return v, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func offerViewOf(o store.Offer) offerView {
	v := offerView{Offer: o}
	v.Interaction, v.CallbackID = recordOf(o.WorkflowID)
	return v
}

// recordOf names the record a process is for, from its workflow id.
func recordOf(workflowID string) (interaction, callback string) {
	if id, ok := strings.CutPrefix(workflowID, workflows.CallbackWorkflowID("")); ok {
		return "", id
	}
	if n, ok := strings.CutPrefix(workflowID, workflows.InteractionWorkflowID("")); ok {
		return n, ""
	}
	return "", ""
}

// reservation is work an agent is booked for and not yet offered.
type reservation struct {
	OfferID     string    `json:"offer_id"`
	ItemID      string    `json:"item_id"`
	Kind        string    `json:"kind"`
	Queue       string    `json:"queue"`
	Channel     string    `json:"channel"`
	WorkflowID  string    `json:"workflow_id"`
	Interaction string    `json:"interaction,omitempty"`
	CallbackID  string    `json:"callback_id,omitempty"`
	Since       time.Time `json:"since"`
}

func reservationOf(o store.Offer) reservation {
	r := reservation{OfferID: o.ID, ItemID: o.ItemID, Kind: o.Kind, Queue: o.Queue, Channel: o.Channel,
		WorkflowID: o.WorkflowID, Since: o.OfferedAt}
	r.Interaction, r.CallbackID = recordOf(o.WorkflowID)
	return r
}

// agentState is the agent's process state as the API shows it (without what
// the process keeps for itself).
func agentState(st workflows.AgentState) workflows.AgentState {
	st.Settled, st.SkipWrapUps, st.PresenceSeq = nil, 0, 0
	return st
}

type presenceRequest struct {
	Presence string `json:"presence" validate:"required,oneof=available on_break offline"`
	Reason   string `json:"reason" validate:"max=200"`
}

type wrapUpRequest struct {
	Disposition string `json:"disposition" validate:"max=100"`
}

func (s *Server) putQueue(c echo.Context) error {
	var req queueRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	q := store.Queue{Name: c.Param("name"), Description: req.Description, AcceptanceTimeoutS: 30, WrapUpTimeoutS: 60,
		OnReject: store.OnRejectReoffer, OnTimeout: store.OnRejectReoffer, OutboundNumber: req.OutboundNumber, Settings: req.Settings}
	if !validName(q.Name) {
		return invalidField("name", "must be 1-63 lower-case letters, digits, - or _")
	}
	if req.AcceptanceTimeoutSeconds != nil {
		q.AcceptanceTimeoutS = *req.AcceptanceTimeoutSeconds
	}
	if req.WrapUpTimeoutSeconds != nil {
		q.WrapUpTimeoutS = *req.WrapUpTimeoutSeconds
	}
	if req.OnReject != "" {
		q.OnReject = req.OnReject
	}
	if req.OnTimeout != "" {
		q.OnTimeout = req.OnTimeout
	}
	if req.DispositionRequired != nil {
		q.DispositionRequired = *req.DispositionRequired
	}
	if len(req.Settings) > 0 {
		var obj map[string]any
		if json.Unmarshal(req.Settings, &obj) != nil || obj == nil {
			return invalidField("settings", "must be a JSON object")
		}
		if v, ok := obj["service_level_seconds"]; ok {
			if f, isNum := v.(float64); !isNum || f < 1 || f > 86400 {
				return invalidField("settings.service_level_seconds", "must be a number of seconds from 1 to 86400")
			}
		}
		var se *workflows.SettingsError
		if err := workflows.CheckCallbackSettings(req.Settings); errors.As(err, &se) {
			return invalidField(se.Field, se.Detail)
		}
	}
	out, err := s.deps.Store.UpsertQueue(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) listQueues(c echo.Context) error {
	qs, err := s.deps.Store.ListQueues(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": qs})
}

// getQueue shows a queue's waiting items in order and the agents available.
func (s *Server) getQueue(c echo.Context) error {
	ctx := c.Request().Context()
	q, err := s.deps.Store.GetQueue(ctx, c.Param("name"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("queue")
	}
	if err != nil {
		return err
	}
	items, err := s.deps.Store.QueueItems(ctx, q.Name)
	if err != nil {
		return err
	}
	members, err := s.deps.Store.ListAgents(ctx, q.Name, 1000, 0)
	if err != nil {
		return err
	}
	v := queueView{Queue: q, Waiting: items, Available: []agentView{}, Members: []agentView{}}
	for _, a := range members {
		av := agentView{Agent: a, Status: a.Status()}
		v.Members = append(v.Members, av)
		if av.Status == store.PresenceAvailable {
			v.Available = append(v.Available, av)
		}
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) setMember(member bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		queue, agentID := c.Param("name"), c.Param("agent_id")
		if _, err := s.deps.Store.GetQueue(ctx, queue); errors.Is(err, store.ErrNotFound) {
			return notFound("queue")
		} else if err != nil {
			return err
		}
		if _, err := s.deps.Store.GetAgent(ctx, agentID); errors.Is(err, store.ErrNotFound) {
			return notFound("agent")
		} else if err != nil {
			return err
		}
		if err := s.deps.Store.SetMembership(ctx, queue, agentID, member); err != nil {
			return err
		}
		if member {
			// A new member may take waiting work at once.
			if err := s.deps.Temporal.SignalWorkflow(ctx, workflows.AgentWorkflowID(agentID), "", workflows.SignalQueuesChanged, nil); err != nil {
				s.deps.Logger.WarnContext(ctx, "tell agent of its new queue", "agent", agentID, "err", err)
			}
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// putAgent creates or changes an agent and makes sure its process runs.
func (s *Server) putAgent(c echo.Context) error {
	id := c.Param("id")
	if !validAgentID(id) {
		return invalidField("id", "must be 1-63 letters, digits, ., - or _")
	}
	var req agentRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	maxChats := 3
	if cur, err := s.deps.Store.GetAgent(ctx, id); err == nil {
		maxChats = cur.MaxChats
	}
	if req.MaxChats != nil {
		maxChats = *req.MaxChats
	}
	a, err := s.deps.Store.UpsertAgent(ctx, id, req.Name, maxChats)
	if err != nil {
		return err
	}
	if _, err := s.deps.Temporal.ExecuteWorkflow(ctx, s.agentStartOptions(id), workflows.Agent, workflows.AgentInput{AgentID: id}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, agentView{Agent: a, Status: a.Status()})
}

func (s *Server) agentStartOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: workflows.AgentWorkflowID(id), TaskQueue: workflows.TaskQueue,
		WorkflowTaskTimeout:      workflows.TaskTimeout,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "Agent " + id + ": presence and wrap-up",
		StaticDetails:            workflows.AgentStaticDetails(id),
	}
}

func (s *Server) listAgents(c echo.Context) error {
	limit, offset, err := paging(c)
	if err != nil {
		return err
	}
	agents, err := s.deps.Store.ListAgents(c.Request().Context(), c.QueryParam("queue"), limit+1, offset)
	if err != nil {
		return err
	}
	views := make([]agentView, len(agents))
	for i, a := range agents {
		views[i] = agentView{Agent: a, Status: a.Status()}
	}
	return c.JSON(http.StatusOK, page(views, limit, offset))
}

// getAgent shows the agent, its offers and reservations as of one moment.
// They name callers, so an agent reads only its own (GET /v1/agents lists
// everyone's presence).
func (s *Server) getAgent(c echo.Context) error {
	if p := principal(c); p.Role == auth.RoleAgent && p.AgentID != c.Param("id") {
		return forbidden("an agent may read only its own offers and work")
	}
	ctx := c.Request().Context()
	var v agentView
	err := s.deps.Store.InSnapshot(ctx, func(tx *store.Store) error {
		a, err := tx.GetAgent(ctx, c.Param("id"))
		if err != nil {
			return err
		}
		offers, err := tx.PendingOffers(ctx, a.ID)
		if err != nil {
			return err
		}
		held, err := tx.Reservations(ctx, a.ID)
		if err != nil {
			return err
		}
		work, err := tx.AgentWork(ctx, a.ID)
		if err != nil {
			return err
		}
		v = agentView{Agent: a, Status: a.Status()}
		for _, o := range offers {
			ov, err := offerViewOf(o).withContext(ctx, tx)
			if err != nil {
				return err
			}
			v.PendingOffers = append(v.PendingOffers, ov)
		}
		for _, o := range held {
			v.ReservedFor = append(v.ReservedFor, reservationOf(o))
		}
		for _, w := range work {
			wv := workView{ItemID: w.ID, Kind: w.Kind, Queue: w.Queue, Channel: w.Channel, Since: w.UpdatedAt}
			wv.Interaction, wv.CallbackID = recordOf(w.WorkflowID)
			v.Work = append(v.Work, wv)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("agent")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// setPresence: the agent itself or a supervisor.
func (s *Server) setPresence(c echo.Context) error {
	id := c.Param("id")
	if err := actingFor(c, id); err != nil {
		return err
	}
	var req presenceRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.deps.Store.GetAgent(ctx, id); errors.Is(err, store.ErrNotFound) {
		return notFound("agent")
	} else if err != nil {
		return err
	}
	op := s.deps.Temporal.NewWithStartWorkflowOperation(s.agentStartOptions(id), workflows.Agent, workflows.AgentInput{AgentID: id})
	h, err := s.deps.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			WorkflowID: workflows.AgentWorkflowID(id), UpdateName: workflows.UpdateSetPresence,
			Args:         []any{workflows.SetPresenceRequest{Presence: req.Presence, Reason: req.Reason}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return updateProblem(err)
	}
	var st workflows.AgentState
	if err := h.Get(ctx, &st); err != nil {
		return updateProblem(err)
	}
	return c.JSON(http.StatusOK, agentState(st))
}

func (s *Server) endWrapUp(c echo.Context) error {
	id := c.Param("id")
	if err := actingFor(c, id); err != nil {
		return err
	}
	var req wrapUpRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	var st workflows.AgentState
	if err := s.update(c.Request().Context(), workflows.AgentWorkflowID(id), workflows.UpdateEndWrapUp, "",
		workflows.EndWrapUpRequest{Disposition: req.Disposition}, &st); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, agentState(st))
}

func (s *Server) workOffline(c echo.Context) error {
	id := c.Param("id")
	if err := actingFor(c, id); err != nil {
		return err
	}
	ctx := c.Request().Context()
	h, err := s.deps.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.AgentWorkflowID(id), UpdateName: workflows.UpdateWorkOffline, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return updateProblem(err)
	}
	var st workflows.AgentState
	if err := h.Get(ctx, &st); err != nil {
		return updateProblem(err)
	}
	return c.JSON(http.StatusOK, agentState(st))
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_'))
		if !ok {
			return false
		}
	}
	return true
}

func validAgentID(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_' || r == '.'))
		if !ok {
			return false
		}
	}
	return true
}
