package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/phone"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// InteractionSettings are the system-wide interaction properties.
type InteractionSettings struct {
	// CreateInteraction: click-to-call creates an interaction record (like
	// ServiceNow's sn_openframe.create_interaction). Default true.
	CreateInteraction bool
	// CloseOnEscalate: escalating closes the interaction. Default false:
	// as in seed 001 the interaction stays open until closed.
	CloseOnEscalate bool
	// CallerID is the number outbound calls come from when the queue has none.
	CallerID string
}

// startForEvent opens the interaction for a new call or chat from the
// platform (incoming call or IVR connected: seed 000's "created as soon as
// the caller connects"; chat offered: seed 003). The call's first event
// claims it; every later event about it is signalled to the same process.
func (s *Server) startForEvent(c echo.Context, ev cti.Event) (string, string, error) {
	ctx := c.Request().Context()
	leg, channel := ev.CallID, workflows.ChannelPhone
	if ev.Type == cti.EventChatOffered {
		leg, channel = ev.ChatID, workflows.ChannelChat
	}
	// A caller in the IVR takes a place in line when it is done.
	claim, err := s.deps.Store.ClaimInteractionLeg(ctx, leg, workflows.InteractionWorkflowID(""), ev.Type != cti.EventIVRConnected)
	if err != nil {
		return "", "", err
	}
	workflowID, position := claim.WorkflowID, claim.Position
	number := strings.TrimPrefix(workflowID, workflows.InteractionWorkflowID(""))
	in := workflows.InteractionInput{
		Number: number, Channel: channel, Direction: "inbound", Queue: ev.Queue, CallID: ev.CallID, ChatID: ev.ChatID,
		CallerNumber: ev.CallerNumber, DialledNumber: ev.DialledNumber, IVR: ev.IVR, CaseNumber: ev.CaseNumber,
		CustomerEmail: ev.CustomerEmail, CustomerName: ev.CustomerName, CreatedBy: "cti",
		CloseOnEscalate: s.deps.Interactions.CloseOnEscalate, DefaultRegion: s.deps.DefaultRegion,
		QueuePosition: position, InIVR: ev.Type == cti.EventIVRConnected,
	}
	_, err = s.deps.Temporal.SignalWithStartWorkflow(ctx, workflowID, workflows.SignalCTIEvent, ev,
		s.interactionStartOptions(workflowID, in), workflows.Interaction, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return eventProcessClosed, workflowID, nil // the call's interaction is over
	}
	if err != nil {
		return "", "", err
	}
	s.deps.Logger.InfoContext(ctx, "interaction opened for a new contact", "interaction", number, "type", ev.Type, "queue", ev.Queue)
	if channel == workflows.ChannelPhone && ev.CallerNumber != "" {
		s.onInboundCallFromNumber(ctx, ev.CallerNumber, ev.Queue, number) // a pending callback to the caller
	}
	return eventStarted, workflowID, nil
}

func (s *Server) interactionStartOptions(workflowID string, in workflows.InteractionInput) client.StartWorkflowOptions {
	summary := fmt.Sprintf("%s %s interaction %s", in.Direction, in.Channel, in.Number)
	if in.Queue != "" {
		summary += " in queue " + in.Queue
	}
	return client.StartWorkflowOptions{
		ID: workflowID, TaskQueue: workflows.TaskQueue,
		WorkflowTaskTimeout:      workflows.TaskTimeout,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:            summary,
		StaticDetails:            workflows.InteractionStaticDetails(in),
	}
}

type createInteractionRequest struct {
	Channel          string  `json:"channel" validate:"required,oneof=email walk_in self_service"`
	ContactID        *string `json:"contact_id" validate:"omitnil,uuid"`
	ContactEmail     string  `json:"contact_email" validate:"omitempty,email,max=254"`
	ContactPhone     string  `json:"contact_phone" validate:"max=64"`
	Queue            string  `json:"queue" validate:"max=63"`
	AgentID          string  `json:"agent_id" validate:"max=63"`
	ShortDescription string  `json:"short_description" validate:"required,max=160"`
	Description      string  `json:"description" validate:"max=10000"`
}

// createInteraction records an email, walk-in or self-service contact
// (seed 001): the agent fills in the form and saves it.
func (s *Server) createInteraction(c echo.Context) error {
	var req createInteractionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	p := principal(c)
	agent := req.AgentID
	if p.Role == auth.RoleAgent {
		if agent != "" && agent != p.AgentID {
			return forbidden("an agent may assign an interaction only to itself")
		}
		agent = p.AgentID
	}
	if agent == "" {
		return invalidField("agent_id", "is required: who works the interaction")
	}
	in := workflows.InteractionInput{Channel: req.Channel, Direction: "inbound", Queue: req.Queue, AgentID: agent,
		ContactEmail: strings.ToLower(req.ContactEmail), ShortDescription: req.ShortDescription, Description: req.Description,
		CreatedBy: createdBy(p), CloseOnEscalate: s.deps.Interactions.CloseOnEscalate, DefaultRegion: s.deps.DefaultRegion}
	if req.ContactPhone != "" {
		n, err := phone.Normalize(req.ContactPhone, s.deps.DefaultRegion)
		if err != nil {
			return invalidField("contact_phone", "must be a telephone number")
		}
		in.ContactPhone = n
	}
	if err := s.checkReferences(c, req.ContactID, req.Queue, agent); err != nil {
		return err
	}
	if req.ContactID != nil {
		in.ContactID = *req.ContactID
	}
	return s.startInteraction(c, in)
}

// checkReferences answers 422 for a contact, queue or agent that does not
// exist, before any process starts.
func (s *Server) checkReferences(c echo.Context, contactID *string, queue, agent string) error {
	ctx := c.Request().Context()
	if contactID != nil {
		id, err := uuid.Parse(*contactID)
		if err != nil {
			return invalidField("contact_id", "must be a UUID")
		}
		if _, err := s.deps.Store.GetContact(ctx, id); errors.Is(err, store.ErrNotFound) {
			return invalidField("contact_id", "refers to a contact that does not exist")
		} else if err != nil {
			return err
		}
	}
	if queue != "" {
		if _, err := s.deps.Store.GetQueue(ctx, queue); errors.Is(err, store.ErrNotFound) {
			return invalidField("queue", "refers to a queue that does not exist")
		} else if err != nil {
			return err
		}
	}
	if agent != "" {
		if _, err := s.deps.Store.GetAgent(ctx, agent); errors.Is(err, store.ErrNotFound) {
			return invalidField("agent_id", "refers to an agent that does not exist")
		} else if err != nil {
			return err
		}
	}
	return nil
}

// startInteraction numbers the interaction, starts its process and answers
// 201 with its state once the record exists.
func (s *Server) startInteraction(c echo.Context, in workflows.InteractionInput) error {
	ctx := c.Request().Context()
	// A retry of a request whose first attempt died keeps its number: the
	// start below then joins the process that attempt started.
	number, _, err := s.resumeOrAllocate(ctx, s.deps.Store.NextInteractionNumber)
	if err != nil {
		return err
	}
	in.Number = number
	if err := s.startAndWaitOpened(ctx, in); err != nil {
		return err
	}
	it, err := s.waitForRecord(c, number)
	if err != nil {
		return err
	}
	return created(c, "/v1/interactions/"+it.Number, it)
}

// startAndWaitOpened starts the interaction's process together with the
// update that answers once its record is written (Update-with-Start), so
// the record can be read as soon as the process has written it. A retried
// request joins the process and its update (one update id for all). When
// the process cannot answer (it has ended, or a worker from before the
// update knows no such update), the caller's read of the record decides.
//
// It waits up to recordWait: a process whose record is not written by then
// (no worker running, PostgreSQL down) is answered 503, and a retry of the
// request (its Idempotency-Key keeps the number) joins it.
func (s *Server) startAndWaitOpened(ctx context.Context, in workflows.InteractionInput) error {
	ctx, cancel := context.WithTimeout(ctx, recordWait)
	defer cancel()
	id := workflows.InteractionWorkflowID(in.Number)
	op := s.deps.Temporal.NewWithStartWorkflowOperation(s.interactionStartOptions(id, in), workflows.Interaction, in)
	err := s.startAndAwait(ctx, op, id, workflows.UpdateOpened, workflows.UpdateOpenedID, recordNotWrittenYet(in.Number))
	if errors.Is(err, errNoAnswer) {
		return nil // the caller reads the record
	}
	return err
}

// recordWait bounds how long a request that creates an interaction waits
// for its record.
const recordWait = 10 * time.Second

func recordNotWrittenYet(number string) error {
	return problem(http.StatusServiceUnavailable, "the interaction "+number+" was started but its record is not written yet; GET it shortly")
}

// waitForRecord reads a new interaction's record, giving its process up to
// ten seconds to write it (the process has answered that it is written,
// unless it could not answer: startAndWaitOpened).
func (s *Server) waitForRecord(c echo.Context, number string) (store.Interaction, error) {
	ctx := c.Request().Context()
	for range 500 {
		it, err := s.deps.Store.GetInteraction(ctx, number)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return it, err
		}
		select {
		case <-ctx.Done():
			return store.Interaction{}, ctx.Err()
		case <-s.after(20):
		}
	}
	return store.Interaction{}, recordNotWrittenYet(number)
}

type outboundRequest struct {
	To                string  `json:"to" validate:"required,max=64"`
	ContactID         *string `json:"contact_id" validate:"omitnil,uuid"`
	Queue             string  `json:"queue" validate:"required,max=63"`
	AgentID           string  `json:"agent_id" validate:"max=63"`
	ShortDescription  string  `json:"short_description" validate:"max=160"`
	CreateInteraction *bool   `json:"create_interaction"`
}

// outbound is click-to-call (seed 000): with create_interaction an
// interaction in Work In Progress, assigned to the agent, drives the call;
// without, the call is placed with its context and no record.
func (s *Server) outbound(c echo.Context) error {
	var req outboundRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	p := principal(c)
	agent := req.AgentID
	if p.Role == auth.RoleAgent {
		if agent != "" && agent != p.AgentID {
			return forbidden("an agent places calls only for itself")
		}
		agent = p.AgentID
	}
	if agent == "" {
		return invalidField("agent_id", "is required: who makes the call")
	}
	to, err := phone.Normalize(req.To, s.deps.DefaultRegion)
	if err != nil {
		return invalidField("to", "must be a dialable telephone number")
	}
	if err := s.checkReferences(c, req.ContactID, req.Queue, agent); err != nil {
		return err
	}
	q, err := s.deps.Store.GetQueue(c.Request().Context(), req.Queue)
	if err != nil {
		return err
	}
	from := q.OutboundNumber
	if from == "" {
		from = s.deps.Interactions.CallerID
	}
	create := s.deps.Interactions.CreateInteraction
	if req.CreateInteraction != nil {
		create = *req.CreateInteraction
	}
	if !create {
		key := c.Request().Header.Get(HeaderIdempotencyKey)
		if key == "" {
			key = "click-to-call-" + uuid.NewString()
		}
		ctxMap := map[string]string{"agent_id": agent}
		if req.ContactID != nil {
			ctxMap["contact_id"] = *req.ContactID
		}
		if s.deps.CTI == nil {
			return problem(http.StatusServiceUnavailable, "no telephony platform is configured")
		}
		call, err := s.deps.CTI.PlaceCall(c.Request().Context(), cti.PlaceCallRequest{IdempotencyKey: key, To: to, From: from, Queue: req.Queue, Context: ctxMap})
		if err != nil {
			return ctiProblem(err)
		}
		return c.JSON(http.StatusAccepted, map[string]any{"call": call, "interaction": nil})
	}
	in := workflows.InteractionInput{Channel: workflows.ChannelPhone, Direction: "outbound", Queue: req.Queue, AgentID: agent,
		ContactPhone: to, DialledNumber: from, ShortDescription: req.ShortDescription, CreatedBy: createdBy(p),
		CloseOnEscalate: s.deps.Interactions.CloseOnEscalate, DefaultRegion: s.deps.DefaultRegion}
	if req.ContactID != nil {
		in.ContactID = *req.ContactID
	}
	return s.startInteraction(c, in)
}

func ctiProblem(err error) error {
	var ce *cti.Error
	if errors.As(err, &ce) && !ce.Retryable {
		return &Problem{Type: "urn:casehub:problem:telephony", Title: "Telephony refused the call", Status: http.StatusUnprocessableEntity, Detail: ce.Message}
	}
	return problem(http.StatusServiceUnavailable, "the telephony platform is unavailable; retry later")
}

func createdBy(p auth.Principal) string {
	if p.AgentID != "" {
		return p.AgentID
	}
	return string(p.Role)
}

// ---- agent actions ----

// decisionBody is an accept or reject; who decides comes from the token
// (an agent) or the record (the agent a supervisor acts for).
type decisionBody struct {
	Reason string `json:"reason" validate:"max=500"`
}

type transferBody struct {
	ToAgentID string `json:"to_agent_id" validate:"max=63"`
	ToQueue   string `json:"to_queue" validate:"max=63"`
	Reason    string `json:"reason" validate:"max=500"`
}

type noteBody struct {
	Body string `json:"body" validate:"required,max=10000"`
}

type endBody struct {
	Disposition  string `json:"disposition" validate:"max=100"`
	Reason       string `json:"reason" validate:"max=500"`
	OpenIncident bool   `json:"open_incident"`
}

type escalateBody struct {
	Kind             string `json:"kind" validate:"required,oneof=incident request"`
	ShortDescription string `json:"short_description" validate:"required,max=160"`
	Description      string `json:"description" validate:"max=10000"`
	CaseNumber       string `json:"case_number" validate:"max=32"`
}

type chooseContactBody struct {
	ContactID string `json:"contact_id" validate:"required,uuid"`
}

type messageBody struct {
	Text string `json:"text" validate:"required,max=4000"`
}

// actor finds the interaction's process state and the agent the action is
// taken as: an agent acts as itself and only on interactions assigned or
// offered to it; a supervisor acts as the assigned (or offered) agent.
func (s *Server) actor(c echo.Context) (string, store.Interaction, error) {
	agent, it, err := s.whoActs(c)
	if err == nil {
		err = ownProcess(it)
	}
	return agent, it, err
}

// whoActs is actor for actions any owning process takes (work notes).
func (s *Server) whoActs(c echo.Context) (string, store.Interaction, error) {
	number := c.Param("number")
	if !interactionNumber.MatchString(number) {
		return "", store.Interaction{}, notFound("open interaction")
	}
	// The record answers who may act: its process writes the assigned (or
	// offered) agent before it lets that agent act, so there is no need to
	// ask the process itself. Its related records do not matter here.
	// authenticateActing has read it with the request's token, where both
	// were there to read.
	it, read := c.Get(recordKey).(store.Interaction)
	if !read {
		var err error
		it, err = s.deps.Store.GetInteractionRecord(c.Request().Context(), number)
		if errors.Is(err, store.ErrNotFound) {
			return "", it, notFound("open interaction")
		}
		if err != nil {
			return "", it, err
		}
	}
	if it.State == workflows.StateClosedComplete {
		return "", it, &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict, Detail: "the interaction is closed"}
	}
	assigned := ""
	if it.AgentID != nil {
		assigned = *it.AgentID
	}
	p := principal(c)
	switch p.Role {
	case auth.RoleAgent:
		if p.AgentID != assigned {
			return "", it, forbidden("the interaction is not assigned or offered to you")
		}
		return p.AgentID, it, nil
	case auth.RoleSupervisor:
		return assigned, it, nil
	}
	return "", it, forbidden("this action needs the agent or a supervisor")
}

// callbackOf names the callback whose process owns an interaction (the
// voice interaction of a connected callback), or "" when the interaction
// has its own process.
func callbackOf(it store.Interaction) string {
	id, ok := strings.CutPrefix(it.WorkflowID, workflows.CallbackWorkflowID(""))
	if !ok {
		return ""
	}
	return id
}

// ownProcess refuses an action the interaction's own process would take
// when a callback's process owns the interaction instead, and says where
// that call's steps are.
func ownProcess(it store.Interaction) error {
	if cb := callbackOf(it); cb != "" {
		return &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict,
			Detail: fmt.Sprintf("interaction %s is the call of callback %s; end it with POST /v1/callbacks/%s/close (work notes are taken here)", it.Number, cb, cb)}
	}
	return nil
}

// act runs one agent action as an Update and answers with its result.
func (s *Server) act(c echo.Context, name string, arg any, answer any) error {
	updateID := c.Request().Header.Get(HeaderIdempotencyKey)
	if updateID != "" {
		updateID = name + "-" + principal(c).TokenID + "-" + updateID
	}
	if err := s.update(c.Request().Context(), workflows.InteractionWorkflowID(c.Param("number")), name, updateID, arg, answer); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, answer)
}

// agentAction binds an action's body, finds who acts, and sends the Update
// that build makes of the two; the answer is the interaction's state.
func agentAction[B any](s *Server, name string, build func(agent string, body B) any) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req B
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		agent, _, err := s.actor(c)
		if err != nil {
			return err
		}
		var st workflows.InteractionState
		return s.act(c, name, build(agent, req), &st)
	}
}

func (s *Server) decide(accept bool) echo.HandlerFunc {
	name := workflows.UpdateReject
	if accept {
		name = workflows.UpdateAccept
	}
	return agentAction(s, name, func(agent string, b decisionBody) any {
		return workflows.DecisionRequest{AgentID: agent, Reason: b.Reason}
	})
}

func (s *Server) transferInteraction(c echo.Context) error {
	var req transferBody
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	agent, it, err := s.actor(c)
	if err != nil {
		return err
	}
	if req.ToAgentID != "" || req.ToQueue != "" {
		if err := s.checkReferences(c, nil, req.ToQueue, req.ToAgentID); err != nil {
			if p, ok := err.(*Problem); ok && len(p.Errors) == 1 && p.Errors[0].Field == "agent_id" {
				return invalidField("to_agent_id", "refers to an agent that does not exist")
			} else if ok && len(p.Errors) == 1 && p.Errors[0].Field == "queue" {
				return invalidField("to_queue", "refers to a queue that does not exist")
			}
			return err
		}
	}
	if req.ToAgentID != "" {
		if err := s.canTakeTransfer(c, req.ToAgentID, it); err != nil {
			return err
		}
	}
	var st workflows.InteractionState
	return s.act(c, workflows.UpdateTransfer, workflows.TransferRequest{AgentID: agent, ToAgentID: req.ToAgentID, ToQueue: req.ToQueue, Reason: req.Reason}, &st)
}

// canTakeTransfer refuses a transfer routing would offer to nobody: to an
// agent who is offline or on a break, or who is not a member of the queue
// the interaction waits in for that agent.
func (s *Server) canTakeTransfer(c echo.Context, agentID string, it store.Interaction) error {
	ctx := c.Request().Context()
	to, err := s.deps.Store.GetAgent(ctx, agentID)
	if err != nil {
		return err
	}
	refuse := func(why string) error {
		return &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict,
			Detail: fmt.Sprintf("agent %s %s; transfer to a working member of the queue, or to a queue", to.ID, why),
			Errors: []FieldProblem{{Field: "to_agent_id", Detail: why}}}
	}
	if to.Presence == store.PresenceOffline || to.Presence == store.PresenceOnBreak {
		return refuse("is " + strings.ReplaceAll(to.Presence, "_", " "))
	}
	if it.Queue == nil {
		return nil
	}
	queues, err := s.deps.Store.AgentQueues(ctx, agentID)
	if err != nil {
		return err
	}
	if !slices.Contains(queues, *it.Queue) {
		return refuse("is not a member of queue " + *it.Queue)
	}
	return nil
}

func (s *Server) addNote(c echo.Context) error {
	var req noteBody
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	_, it, err := s.whoActs(c)
	if err != nil {
		return err
	}
	requestID := c.Request().Header.Get(HeaderIdempotencyKey)
	if requestID == "" {
		requestID = uuid.NewString()
	}
	author := createdBy(principal(c))
	if callbackOf(it) != "" {
		// A callback's call: its process keeps no notes, so the note goes
		// straight to the record (idempotent by its request id).
		note, err := s.deps.Store.AddWorkNote(c.Request().Context(), it.Number, author, req.Body, principal(c).TokenID+"-"+requestID)
		if err != nil {
			return err
		}
		return created(c, parentOf(c.Request().URL.Path, "notes"), note)
	}
	var note activities.WorkNote // the process's answer, in its own type
	if err := s.update(c.Request().Context(), workflows.InteractionWorkflowID(c.Param("number")), workflows.UpdateAddNote, "",
		workflows.NoteRequest{Author: author, Body: req.Body, RequestID: principal(c).TokenID + "-" + requestID}, &note); err != nil {
		return err
	}
	return created(c, parentOf(c.Request().URL.Path, "notes"), note)
}

func (s *Server) endInteraction(close bool) echo.HandlerFunc {
	name := workflows.UpdateEnd
	if close {
		name = workflows.UpdateClose
	}
	return agentAction(s, name, func(agent string, b endBody) any {
		return workflows.EndRequest{AgentID: agent, Disposition: b.Disposition, Reason: b.Reason, OpenIncident: b.OpenIncident}
	})
}

func (s *Server) escalateInteraction(c echo.Context) error {
	var req escalateBody
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	agent, _, err := s.actor(c)
	if err != nil {
		return err
	}
	r := workflows.EscalateRequest{AgentID: agent, Kind: req.Kind, ShortDescription: req.ShortDescription,
		Description: req.Description, CaseNumber: req.CaseNumber}
	if key := c.Request().Header.Get(HeaderIdempotencyKey); key != "" {
		r.RequestID = c.Param("number") + "-" + principal(c).TokenID + "-" + key
	}
	var ref workflows.EscalationRef
	if err := s.update(c.Request().Context(), workflows.InteractionWorkflowID(c.Param("number")), workflows.UpdateEscalate, "", r, &ref); err != nil {
		return err
	}
	location := "/v1/requests/" + ref.Number
	if ref.Kind == "incident" {
		location = "/v1/incidents/" + ref.Number
	}
	return created(c, location, ref)
}

func (s *Server) chooseChatContact() echo.HandlerFunc {
	return agentAction(s, workflows.UpdateChooseChatContact, func(agent string, b chooseContactBody) any {
		return workflows.ChatContactRequest{AgentID: agent, ContactID: b.ContactID}
	})
}

func (s *Server) sendMessage() echo.HandlerFunc {
	return agentAction(s, workflows.UpdateSendMessage, func(agent string, b messageBody) any {
		return workflows.MessageRequest{AgentID: agent, Text: b.Text}
	})
}

type processBody struct {
	Kind string `json:"kind" validate:"required,oneof=add_new_case advise_on_existing_case"`
}

// startProcess starts Add new case or Advise on existing case from an open
// interaction (seed 004), for the interaction's agent.
func (s *Server) startProcess(c echo.Context) error {
	var req processBody
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	// A case process reads and writes records only, so it may start from
	// any open interaction, a callback's call included.
	agent, it, err := s.whoActs(c)
	if err != nil {
		return err
	}
	caller := ""
	if it.ContactPhone != nil {
		caller = *it.ContactPhone
	}
	ps, err := s.startCaseProcess(c.Request().Context(), it.Number, caller, agent, req.Kind)
	if err != nil {
		return err
	}
	return created(c, "/v1/processes/"+ps.WorkflowID, ps)
}
