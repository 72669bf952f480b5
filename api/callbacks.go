package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/phone"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// maxCallbackBatch is how many callbacks one batch request may hold.
const maxCallbackBatch = 1000

var callbackID = regexp.MustCompile(`^CB[0-9]{7,}$`)

type callbackContext struct {
	Reason      string            `json:"reason" validate:"max=500"`
	IVR         map[string]string `json:"ivr" validate:"max=50,dive,keys,max=64,endkeys,max=500"`
	Interaction string            `json:"interaction" validate:"max=32"`
	CaseNumber  string            `json:"case_number" validate:"max=32"`
}

type callbackRequest struct {
	Number              string           `json:"number" validate:"required,max=64"`
	Queue               string           `json:"queue" validate:"required,max=63"`
	Mode                string           `json:"mode" validate:"omitempty,oneof=customer_first agent_first"`
	ScheduledAt         string           `json:"scheduled_at" validate:"max=64"`
	TimeZone            string           `json:"time_zone" validate:"max=64"`
	ExpiresAt           *time.Time       `json:"expires_at"`
	Context             *callbackContext `json:"context"`
	ReplacesInteraction string           `json:"replaces_interaction" validate:"max=32"`
	Reschedule          bool             `json:"reschedule"`
}

type callbackBatchRequest struct {
	Items []callbackRequest `json:"items" validate:"required,min=1,max=1000,dive"`
}

type callbackBatchResult struct {
	Index    int             `json:"index"`
	Status   int             `json:"status"`
	Callback *store.Callback `json:"callback,omitempty"`
	Problem  *Problem        `json:"problem,omitempty"`
}

type rescheduleBody struct {
	ScheduledAt string     `json:"scheduled_at" validate:"max=64"`
	TimeZone    string     `json:"time_zone" validate:"max=64"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

type cancelBody struct {
	Reason string `json:"reason" validate:"max=500"`
}

type callbackCloseBody struct {
	Outcome     string `json:"outcome" validate:"required,oneof=completed failed cancelled"`
	Disposition string `json:"disposition" validate:"max=100"`
}

// callbackDetail is a callback with every dial and, while it runs, its
// process's view (step, next attempt, the agent it is offered to).
type callbackDetail struct {
	store.Callback
	Dials   []store.CallbackAttempt  `json:"dials"`
	Process *workflows.CallbackState `json:"process"`
}

func (s *Server) callbackHorizon() time.Duration {
	if s.deps.CallbackHorizon > 0 {
		return s.deps.CallbackHorizon
	}
	return workflows.DefaultCallbackHorizon
}

// createCallback takes one callback request (seed 002: from the IVR, a
// scheduler, an agent or a supervisor): 201 with a new callback, or 200 with
// the number's pending callback in the queue (rescheduled when asked).
func (s *Server) createCallback(c echo.Context) error {
	var req callbackRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	status, cb, err := s.requestCallback(c.Request().Context(), req, principal(c), true)
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		c.Response().Header().Set(echo.HeaderLocation, "/v1/callbacks/"+cb.ID)
	}
	return c.JSON(status, cb)
}

// dueAt is when a pending callback is next due: its time or its next
// attempt, or now for as soon as possible, at the queue's next opening.
func dueAt(cb store.Callback, settings workflows.CallbackSettings, now time.Time) *time.Time {
	if !cb.Pending() {
		return nil
	}
	due := now
	for _, t := range []*time.Time{cb.ScheduledAt, cb.NextAttemptAt} {
		if t != nil && t.After(due) {
			due = *t
		}
	}
	if bh := settings.BusinessHours; bh != nil {
		due = bh.NextOpening(due)
	}
	return &due
}

// batchParallelism is how many requests of one batch are taken at once.
const batchParallelism = 16

// createCallbacks takes up to 1,000 requests from a scheduler, several at
// a time, and answers each one at its index; one refused request does not
// stop the others. Two items for the same number and queue still make one
// callback: PostgreSQL's unique pending index decides which is first.
func (s *Server) createCallbacks(c echo.Context) error {
	var req callbackBatchRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	who := principal(c)
	out := make([]callbackBatchResult, len(req.Items))
	var g errgroup.Group
	g.SetLimit(batchParallelism)
	for i, item := range req.Items {
		g.Go(func() error {
			status, cb, err := s.requestCallback(ctx, item, who, false)
			r := callbackBatchResult{Index: i, Status: status}
			if err != nil {
				p := toProblem(err)
				if p.Status >= 500 {
					s.deps.Logger.ErrorContext(ctx, "batch callback failed", "index", i, "err", err)
				}
				r.Status, r.Problem = p.Status, p
			} else {
				r.Callback = &cb
			}
			out[i] = r
			return nil
		})
	}
	_ = g.Wait() // every item's outcome is in out
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// requestCallback validates, deduplicates, records and starts one callback.
// A resumable request (one callback per request) sets its callback's id
// aside on its Idempotency-Key, so that a retry after its process died
// answers with that callback as created.
func (s *Server) requestCallback(ctx context.Context, req callbackRequest, p auth.Principal, resumable bool) (int, store.Callback, error) {
	number, err := phone.Normalize(req.Number, s.deps.DefaultRegion)
	if err != nil {
		return 0, store.Callback{}, invalidField("number", "must be a dialable telephone number (E.164, like +12025550143)")
	}
	q, err := s.deps.Store.GetQueue(ctx, req.Queue)
	if errors.Is(err, store.ErrNotFound) {
		return 0, store.Callback{}, invalidField("queue", "refers to a queue that does not exist")
	}
	if err != nil {
		return 0, store.Callback{}, err
	}
	settings, _ := workflows.ParseCallbackSettings(q.Settings)
	now := time.Now()
	at, expires, err := s.resolveWhen(now, req.ScheduledAt, req.TimeZone, req.ExpiresAt, settings)
	if err != nil {
		return 0, store.Callback{}, err
	}
	status, cb, err := s.recordCallback(ctx, req, p, q, number, settings, at, expires, resumable)
	if err == nil {
		cb.DueAt = dueAt(cb, settings, now)
	}
	return status, cb, err
}

// recordCallback records a checked callback request and starts its
// process, or finds the number's pending callback in the queue.
func (s *Server) recordCallback(ctx context.Context, req callbackRequest, p auth.Principal, q store.Queue, number string,
	settings workflows.CallbackSettings, at *time.Time, expires time.Time, resumable bool) (int, store.Callback, error) {
	var err error
	n := store.NewCallback{Queue: q.Name, Number: number, Mode: req.Mode, ScheduledAt: at, TimeZone: req.TimeZone,
		ExpiresAt: expires, MaxAttempts: settings.MaxAttempts, CreatedBy: createdBy(p)}
	if n.Mode == "" {
		n.Mode = settings.DefaultMode
	}
	if n.TimeZone == "" {
		n.TimeZone = "UTC"
	}
	if ctxt := req.Context; ctxt != nil {
		n.Reason, n.IVR, n.OriginInteraction, n.CaseNumber = ctxt.Reason, ctxt.IVR, ctxt.Interaction, ctxt.CaseNumber
	}
	if req.ReplacesInteraction != "" {
		if at != nil {
			return 0, store.Callback{}, invalidField("replaces_interaction", "keeps a waiting call's place only for a callback as soon as possible (no scheduled_at)")
		}
		item, err := s.waitingItem(ctx, req.ReplacesInteraction, q.Name)
		if err != nil {
			return 0, store.Callback{}, err
		}
		n.ReplacesInteraction, n.ReplacesItem = req.ReplacesInteraction, item
	}
	if resumable {
		n.ID, _, err = s.resumeOrAllocate(ctx, s.deps.Store.NextCallbackID)
	} else {
		n.ID, err = s.deps.Store.NextCallbackID(ctx)
	}
	if err != nil {
		return 0, store.Callback{}, err
	}
	n.WorkflowID = workflows.CallbackWorkflowID(n.ID)
	cb, created, err := s.deps.Store.CreateCallback(ctx, n)
	if err != nil {
		return 0, store.Callback{}, err
	}
	if !created && cb.ID == n.ID {
		created = true // this request's own, recorded by its first attempt before that attempt's process died
	}
	if !created {
		// One pending callback per number and queue: this is the one.
		if err := s.startCallback(ctx, cb); err != nil {
			return 0, store.Callback{}, err
		}
		if !req.Reschedule {
			return http.StatusOK, cb, nil
		}
		var st workflows.CallbackState
		r := workflows.RescheduleRequest{ScheduledAt: req.ScheduledAt, TimeZone: req.TimeZone, ExpiresAt: req.ExpiresAt, By: createdBy(p)}
		if err := s.update(ctx, cb.WorkflowID, workflows.UpdateRescheduleCallback, "", r, &st); err != nil {
			return 0, store.Callback{}, err
		}
		cb, err = s.deps.Store.GetCallback(ctx, cb.ID)
		return http.StatusOK, cb, err
	}
	if n.ReplacesItem != "" {
		// Answer once the callback holds the call's place, so the caller's
		// line can be dropped without losing it.
		if err := s.startCallbackHoldingPlace(ctx, cb); err != nil {
			return 0, store.Callback{}, err
		}
	} else if err := s.startCallback(ctx, cb); err != nil {
		return 0, store.Callback{}, err
	}
	s.deps.Logger.InfoContext(ctx, "callback requested", "callback", cb.ID, "queue", cb.Queue, "mode", cb.Mode)
	return http.StatusCreated, cb, nil
}

// placeWait bounds how long a request for a callback that replaces a
// waiting call waits for the callback to hold the call's place.
const placeWait = 10 * time.Second

// startCallbackHoldingPlace starts a callback that takes a waiting call's
// place together with the update that answers once its first work item is
// queued (Update-with-Start), and returns then. When the process cannot
// answer (it has ended, or a worker from before the update knows no such
// update), the work item in PostgreSQL decides.
func (s *Server) startCallbackHoldingPlace(ctx context.Context, cb store.Callback) error {
	if s.deps.Temporal == nil {
		return problem(http.StatusServiceUnavailable, "the process engine is not configured")
	}
	ctx, cancel := context.WithTimeout(ctx, placeWait)
	defer cancel()
	in := s.callbackInput(cb)
	op := s.deps.Temporal.NewWithStartWorkflowOperation(s.callbackStartOptions(cb, in), workflows.Callback, in)
	err := s.startAndAwait(ctx, op, cb.WorkflowID, workflows.UpdateQueued, workflows.UpdateQueuedID, notHoldingPlaceYet())
	if errors.Is(err, errNoAnswer) {
		return s.waitForItem(ctx, cb.ID+"-1")
	}
	return err
}

func notHoldingPlaceYet() error {
	return problem(http.StatusServiceUnavailable, "the callback was recorded but has not taken the call's place yet; GET it shortly")
}

// resolveWhen checks a callback's time like every new request: a known
// zone, not in the past, within the horizon; and its expiry after it.
func (s *Server) resolveWhen(now time.Time, scheduledAt, zone string, expiresAt *time.Time, settings workflows.CallbackSettings) (*time.Time, time.Time, error) {
	var at *time.Time
	if scheduledAt != "" || zone != "" {
		value := scheduledAt
		if value == "" {
			value = now.UTC().Format(time.RFC3339)
		}
		t, err := workflows.ResolveSchedule(value, zone)
		if err != nil {
			return nil, time.Time{}, updateProblem(err)
		}
		if scheduledAt != "" {
			if err := workflows.CheckSchedule(now, t, s.callbackHorizon()); err != nil {
				return nil, time.Time{}, updateProblem(err)
			}
			at = &t
		}
	}
	base := now
	if at != nil {
		base = *at
	}
	expires := settings.ExpiresFrom(base)
	if expiresAt != nil {
		if !expiresAt.After(base) {
			return nil, time.Time{}, invalidField("expires_at", "must be after the callback's time")
		}
		// Outside business hours the first attempt waits for the opening: a
		// callback that expired before it would never be tried.
		if settings.BusinessHours != nil {
			if first := settings.BusinessHours.NextOpening(base); !expiresAt.After(first) {
				return nil, time.Time{}, invalidField("expires_at",
					"must be after the queue first opens for the callback ("+first.UTC().Format(time.RFC3339)+")")
			}
		}
		expires = *expiresAt
	}
	return at, expires, nil
}

// waitingItem finds the work item the interaction's call waits in.
func (s *Server) waitingItem(ctx context.Context, number, queue string) (string, error) {
	if _, err := s.deps.Store.GetInteraction(ctx, number); errors.Is(err, store.ErrNotFound) {
		return "", invalidField("replaces_interaction", "refers to an interaction that does not exist")
	} else if err != nil {
		return "", err
	}
	it, err := s.deps.Store.WaitingWorkItemOf(ctx, workflows.InteractionWorkflowID(number))
	if errors.Is(err, store.ErrNotFound) {
		return "", &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict,
			Detail: "interaction " + number + " is not waiting in a queue (an agent has it, or it ended)"}
	}
	if err != nil {
		return "", err
	}
	if it.Queue != queue {
		return "", invalidField("queue", "must be the queue the replaced call waits in ("+it.Queue+")")
	}
	return it.ID, nil
}

// waitForItem reads whether a new callback's first item is in the queue,
// until ctx's deadline: for a process that could not answer itself
// (startCallbackHoldingPlace).
func (s *Server) waitForItem(ctx context.Context, id string) error {
	for {
		_, err := s.deps.Store.GetWorkItem(ctx, id)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return notHoldingPlaceYet()
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		select {
		case <-ctx.Done():
			return notHoldingPlaceYet()
		case <-s.after(20):
		}
	}
}

// startCallback starts the callback's process; starting it again (a retried
// request, or the pending callback found by a duplicate) joins it.
func (s *Server) startCallback(ctx context.Context, cb store.Callback) error {
	if s.deps.Temporal == nil {
		return problem(http.StatusServiceUnavailable, "the process engine is not configured")
	}
	in := s.callbackInput(cb)
	_, err := s.deps.Temporal.ExecuteWorkflow(ctx, s.callbackStartOptions(cb, in), workflows.Callback, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // it ran and ended; its record says how
	}
	return err
}

// callbackStartOptions are the options a callback's process starts with.
func (s *Server) callbackStartOptions(cb store.Callback, in workflows.CallbackInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: cb.WorkflowID, TaskQueue: workflows.TaskQueue,
		WorkflowTaskTimeout:      workflows.TaskTimeout,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:            fmt.Sprintf("%s callback %s in queue %s", cb.Mode, cb.ID, cb.Queue),
		StaticDetails:            workflows.CallbackStaticDetails(in),
		// What the record says at version 1, so the process need not
		// upsert it (changeCallbackQuickStart).
		TypedSearchAttributes: workflows.CallbackStartAttributes(in),
		// Scheduled ahead: below live work (workflows.PriorityLater).
		Priority: workflows.CallbackStartPriority(in, time.Now()),
	}
}

// callbackInput builds the process's input from the stored request.
func (s *Server) callbackInput(cb store.Callback) workflows.CallbackInput {
	in := workflows.CallbackInput{ID: cb.ID, Queue: cb.Queue, Number: cb.Number, Mode: cb.Mode, ScheduledAt: cb.ScheduledAt,
		TimeZone: cb.TimeZone, ExpiresAt: cb.ExpiresAt, MaxAttempts: cb.MaxAttempts, Reason: cb.Reason, IVR: cb.IVR,
		CallerID: s.deps.Interactions.CallerID, Horizon: s.callbackHorizon(), CreatedBy: cb.CreatedBy}
	if cb.OriginInteraction != nil {
		in.OriginInteraction = *cb.OriginInteraction
	}
	if cb.CaseNumber != nil {
		in.CaseNumber = *cb.CaseNumber
	}
	if cb.ReplacesItem != nil && cb.ReplacesInteraction != nil {
		in.ReplacesItem, in.ReplacesWorkflowID = *cb.ReplacesItem, workflows.InteractionWorkflowID(*cb.ReplacesInteraction)
	}
	return in
}

// loadCallback reads the callback named in the path; an agent reads only
// the callbacks offered to or held by it.
func (s *Server) loadCallback(c echo.Context) (store.Callback, error) {
	id := c.Param("id")
	if !callbackID.MatchString(id) {
		return store.Callback{}, notFound("callback")
	}
	cb, err := s.deps.Store.GetCallback(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return cb, notFound("callback")
	}
	if err != nil {
		return cb, err
	}
	if p := principal(c); p.Role == auth.RoleAgent && (cb.AgentID == nil || *cb.AgentID != p.AgentID) {
		// An agent routing reserved for the callback (dialling its customer)
		// or offered it a moment ago, before the record says so, reads it too.
		held, err := s.deps.Store.BookedFor(c.Request().Context(), p.AgentID, cb.WorkflowID)
		if err != nil {
			return cb, err
		}
		if !held {
			return cb, forbidden("an agent reads only the callbacks offered to it, reserved for it or that it holds")
		}
	}
	return cb, nil
}

// getCallback is the callback's context and history for the agent's
// preview and the supervisor.
func (s *Server) getCallback(c echo.Context) error {
	cb, err := s.loadCallback(c)
	if err != nil {
		return err
	}
	d := callbackDetail{Callback: cb}
	if d.Dials, err = s.deps.Store.CallbackAttempts(c.Request().Context(), cb.ID); err != nil {
		return err
	}
	if cb.Pending() && s.deps.Temporal != nil {
		var st workflows.CallbackState
		if err := s.query(c.Request().Context(), cb.WorkflowID, &st); err == nil {
			d.Process = &st
		}
	}
	return c.JSON(http.StatusOK, d)
}

var callbackStates = []string{store.CallbackPending, store.CallbackScheduled, store.CallbackQueued, store.CallbackInProgress,
	store.CallbackCompleted, store.CallbackFailed, store.CallbackCancelled, store.CallbackExpired}

// listCallbacks lists callbacks by queue, state and creation time, newest
// first: state=pending shows who is waiting.
func (s *Server) listCallbacks(c echo.Context) error {
	limit, offset, err := paging(c)
	if err != nil {
		return err
	}
	q := store.CallbackQuery{Queue: c.QueryParam("queue"), State: c.QueryParam("state"), Limit: limit + 1, Offset: offset}
	if q.State != "" && !slices.Contains(callbackStates, q.State) {
		return invalidField("state", "must be one of: pending, scheduled, queued, in_progress, completed, failed, cancelled, expired")
	}
	if q.From, err = queryTime(c, "from"); err != nil {
		return err
	}
	if q.To, err = queryTime(c, "to"); err != nil {
		return err
	}
	items, err := s.deps.Store.ListCallbacks(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(items, limit, offset))
}

// callbackActor is the agent an agent action on a callback is taken as: an
// agent acts as itself, a supervisor as the agent the callback is offered
// to or held by.
func (s *Server) callbackActor(c echo.Context) (store.Callback, string, error) {
	cb, err := s.loadCallback(c)
	if err != nil {
		return cb, "", err
	}
	if !cb.Pending() {
		return cb, "", closedCallback(cb)
	}
	p := principal(c)
	if p.Role == auth.RoleAgent {
		return cb, p.AgentID, nil
	}
	if cb.AgentID == nil {
		return cb, "", &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict, Detail: "the callback is not offered to or held by an agent"}
	}
	return cb, *cb.AgentID, nil
}

func closedCallback(cb store.Callback) *Problem {
	return &Problem{Type: typeConflict, Title: "Not allowed now", Status: http.StatusConflict, Detail: "the callback is closed (" + cb.State + ")"}
}

// callbackAct sends one step to the callback's process and answers with
// its state.
func (s *Server) callbackAct(c echo.Context, cb store.Callback, name string, arg any) error {
	updateID := c.Request().Header.Get(HeaderIdempotencyKey)
	if updateID != "" {
		updateID = "callback-" + name + "-" + principal(c).TokenID + "-" + updateID
	}
	var st workflows.CallbackState
	if err := s.update(c.Request().Context(), cb.WorkflowID, name, updateID, arg, &st); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) decideCallback(accept bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req decisionBody
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		cb, agent, err := s.callbackActor(c)
		if err != nil {
			return err
		}
		name := workflows.UpdateReject
		if accept {
			name = workflows.UpdateAccept
		}
		return s.callbackAct(c, cb, name, workflows.DecisionRequest{AgentID: agent, Reason: req.Reason})
	}
}

// dialCallback: the agent holding an agent-first callback dials (or
// redials) the customer.
func (s *Server) dialCallback(c echo.Context) error {
	cb, agent, err := s.callbackActor(c)
	if err != nil {
		return err
	}
	return s.callbackAct(c, cb, workflows.UpdateDialCallback, workflows.CallbackDialRequest{AgentID: agent})
}

func (s *Server) closeCallback(c echo.Context) error {
	var req callbackCloseBody
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	cb, agent, err := s.callbackActor(c)
	if err != nil {
		return err
	}
	return s.callbackAct(c, cb, workflows.UpdateCloseCallback,
		workflows.CallbackCloseRequest{AgentID: agent, Outcome: req.Outcome, Disposition: req.Disposition})
}

func (s *Server) cancelCallback(c echo.Context) error {
	var req cancelBody
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	cb, err := s.loadCallback(c)
	if err != nil {
		return err
	}
	if !cb.Pending() {
		return closedCallback(cb)
	}
	return s.callbackAct(c, cb, workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: createdBy(principal(c)), Reason: req.Reason})
}

// rescheduleCallback moves a waiting callback, validated like a new
// request here and again by its process.
func (s *Server) rescheduleCallback(c echo.Context) error {
	var req rescheduleBody
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	cb, err := s.loadCallback(c)
	if err != nil {
		return err
	}
	if !cb.Pending() {
		return closedCallback(cb)
	}
	q, err := s.deps.Store.GetQueue(c.Request().Context(), cb.Queue)
	if err != nil {
		return err
	}
	settings, _ := workflows.ParseCallbackSettings(q.Settings)
	if _, _, err := s.resolveWhen(time.Now(), req.ScheduledAt, req.TimeZone, req.ExpiresAt, settings); err != nil {
		return err
	}
	return s.callbackAct(c, cb, workflows.UpdateRescheduleCallback, workflows.RescheduleRequest{
		ScheduledAt: req.ScheduledAt, TimeZone: req.TimeZone, ExpiresAt: req.ExpiresAt, By: createdBy(principal(c))})
}

// onInboundCallFromNumber tells the number's pending callbacks in the queue
// that the customer called in: each queue's callbacks.on_inbound_call says
// whether that cancels the callback or links the call to it. A failure
// here never stops the call's own interaction; it is logged.
func (s *Server) onInboundCallFromNumber(ctx context.Context, caller, queue, interaction string) {
	number, err := phone.Normalize(caller, s.deps.DefaultRegion)
	if err != nil || queue == "" {
		return
	}
	pending, err := s.deps.Store.PendingCallbacks(ctx, number, queue)
	if err != nil {
		s.deps.Logger.WarnContext(ctx, "find pending callbacks of an inbound caller", "interaction", interaction, "err", err)
		return
	}
	for _, cb := range pending {
		action := workflows.OnInboundCancel
		if q, err := s.deps.Store.GetQueue(ctx, cb.Queue); err == nil {
			settings, _ := workflows.ParseCallbackSettings(q.Settings)
			action = settings.OnInboundCall
		}
		err := s.deps.Temporal.SignalWorkflow(ctx, cb.WorkflowID, "", workflows.SignalInboundCall,
			workflows.InboundCallSignal{Interaction: interaction, Action: action})
		if err != nil {
			s.deps.Logger.WarnContext(ctx, "tell a pending callback about an inbound call", "callback", cb.ID, "err", err)
			continue
		}
		s.deps.Logger.InfoContext(ctx, "inbound call from a number with a pending callback", "callback", cb.ID, "interaction", interaction, "action", action)
	}
}
