package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/store"
)

// Agent is the entity workflow of one agent: its presence, the wrap-up
// countdown after each item (seed 003's post-processing timer), and the
// break that follows an offer left to run out. PostgreSQL holds the
// presence routing books against; this workflow owns the timers and keeps
// its copy in step with what each activity reports.
func Agent(ctx workflow.Context, in AgentInput) error {
	w := &agentImpl{}
	if in.State != nil {
		w.state = *in.State
	} else {
		w.state = AgentState{AgentID: in.AgentID, Presence: store.PresenceOffline, Since: workflow.Now(ctx)}
	}
	// Decided before the update handlers are registered: an update that
	// waits for them (the one that starts the process, or one carried
	// across a continue-as-new) runs as soon as they are.
	w.localPresence = workflow.GetVersion(ctx, changeAgentLocalPresence, workflow.DefaultVersion, 1) >= 1
	if err := w.setup(ctx); err != nil {
		return err
	}
	return w.run(ctx)
}

type agentImpl struct {
	state AgentState
	v     workflow.Version // changeAgentSettles, as this run started
	// localPresence: the agent's own presence is set by a local activity
	// (changeAgentLocalPresence, as this run started).
	localPresence bool
	mu            workflow.Mutex
	wake          workflow.Channel // an update changed the state: recompute the wrap-up timer
	handling      bool             // a signal is being taken in

	finished, timedOut, queuesChanged, assigned workflow.ReceiveChannel
}

// settledKept bounds the items remembered in AgentState.Settled.
const settledKept = 16

// Errors an update validator gives; the API answers 409 for these.
const errTypeWrongStep = "WrongStep"

func wrongStep(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), errTypeWrongStep)
}

func invalidField(field, detail string) error {
	return temporal.NewApplicationError(field+" "+detail, ErrTypeInvalidField, field)
}

// ErrTypeInvalidField is the type of validator errors that name a request
// field (details: the field's JSON name); the API answers 422.
const ErrTypeInvalidField = activities.ErrTypeInvalidField

// ErrTypeWrongStep is the type of validator errors for a step that does not
// fit the process's state; the API answers 409.
const ErrTypeWrongStep = errTypeWrongStep

func (w *agentImpl) setup(ctx workflow.Context) error {
	w.mu = workflow.NewMutex(ctx)
	w.finished = signal(ctx, SignalItemFinished, "Routing: an item the agent had finished; the agent may go to wrap-up")
	w.timedOut = signal(ctx, SignalOfferTimedOut, "Routing: an offer to the agent ran out; the agent may go on break")
	w.queuesChanged = signal(ctx, SignalQueuesChanged, "The API: the agent's queue memberships changed; offers are dispatched")
	w.assigned = signal(ctx, SignalItemAssigned, "Routing: the agent accepted an item and is busy until it finishes")
	w.wake = workflow.NewBufferedChannel(ctx, 1)
	if err := queryState(ctx, "agent's presence, wrap-up and items", func() (AgentState, error) { return w.state, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSetPresence, w.setPresence, workflow.UpdateHandlerOptions{
		Description: "The agent sets its presence: available, on_break or offline (ends a wrap-up)",
		Validator: func(r SetPresenceRequest) error {
			switch r.Presence {
			case store.PresenceAvailable, store.PresenceOnBreak, store.PresenceOffline:
				return nil
			}
			return invalidField("presence", "must be one of: available, on_break, offline")
		},
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateEndWrapUp, w.endWrapUp, workflow.UpdateHandlerOptions{
		Description: "The agent ends its wrap-up early, with a disposition code when the queue takes one",
		Validator: func(EndWrapUpRequest) error {
			// Available too: routing may have moved the agent to wrap-up in
			// PostgreSQL a moment before this process hears of it; the
			// handler asks PostgreSQL.
			if w.state.Presence != store.PresenceWrapUp && w.state.Presence != store.PresenceAvailable {
				return wrongStep("the agent is %s, not in wrap-up", w.state.Presence)
			}
			return nil
		},
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateWorkOffline, w.workOffline, workflow.UpdateHandlerOptions{
		Description: "The agent stops the wrap-up countdown and stays in wrap-up until it ends it",
		Validator: func() error {
			// Available too, as for end-wrap-up: the handler settles.
			if w.state.Presence != store.PresenceWrapUp && (w.v < 1 || w.state.Presence != store.PresenceAvailable) {
				return wrongStep("the agent is %s, not in wrap-up", w.state.Presence)
			}
			return nil
		},
	})
}

// settle waits until every signal already delivered to this process has
// been taken in, so an update acts on the state PostgreSQL showed its
// sender (a validator runs before the signals of its own task are taken
// in).
func (w *agentImpl) settle(ctx workflow.Context) error {
	if w.v < 1 {
		return nil
	}
	return workflow.Await(ctx, func() bool {
		return !w.handling && w.finished.Len() == 0 && w.timedOut.Len() == 0 && w.assigned.Len() == 0
	})
}

// settled remembers that an item's wrap-up was ended or taken up here.
func (w *agentImpl) settled(item string) {
	if item == "" || slices.Contains(w.state.Settled, item) {
		return
	}
	w.state.Settled = append(w.state.Settled, item)
	if len(w.state.Settled) > settledKept {
		w.state.Settled = w.state.Settled[len(w.state.Settled)-settledKept:]
	}
}

// run waits for the item processes' signals and the wrap-up countdown.
func (w *agentImpl) run(ctx workflow.Context) error {
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAgentID.ValueSet(w.state.AgentID), SearchProcessState.ValueSet(w.shown()))
	w.v = workflow.GetVersion(ctx, changeAgentSettles, workflow.DefaultVersion, 1)
	finished, timedOut, queuesChanged, assigned := w.finished, w.timedOut, w.queuesChanged, w.assigned

	for {
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(finished, func(c workflow.ReceiveChannel, _ bool) {
			var f ItemFinished
			c.Receive(ctx, &f)
			w.handling = true
			defer func() { w.handling = false }()
			w.onItemFinished(ctx, f)
		})
		sel.AddReceive(timedOut, func(c workflow.ReceiveChannel, _ bool) {
			var t OfferTimedOut
			c.Receive(ctx, &t)
			w.handling = true
			defer func() { w.handling = false }()
			w.onOfferTimedOut(ctx, t)
		})
		sel.AddReceive(queuesChanged, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			w.dispatch(ctx)
		})
		sel.AddReceive(assigned, func(c workflow.ReceiveChannel, _ bool) {
			var a ItemAssigned
			c.Receive(ctx, &a)
			w.handling = true
			defer func() { w.handling = false }()
			w.onItemAssigned(ctx, a)
		})
		sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		workflow.SetCurrentDetails(ctx, w.details())
		if d, ok := w.wrapUpLeft(ctx); ok {
			summary := "wrap-up until " + after(ctx, d)
			if w.state.WrapUpItem != "" {
				summary = "wrap-up: " + w.state.WrapUpItem + " until " + after(ctx, d)
			}
			sel.AddFuture(workflow.NewTimerWithOptions(timerCtx, d, workflow.TimerOptions{Summary: summary}), func(f workflow.Future) {
				if f.Get(ctx, nil) == nil {
					_ = w.wrapUpOver(ctx, "", false, "post-processing time over")
				}
			})
		}
		sel.Select(ctx)
		cancelTimer()
		if ctx.Err() != nil {
			return temporal.NewCanceledError("agent process cancelled")
		}

		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return w.continueAsNew(ctx, finished, timedOut, queuesChanged, assigned)
		}
	}
}

// wrapUpLeft is the time left of the wrap-up countdown, if one runs.
func (w *agentImpl) wrapUpLeft(ctx workflow.Context) (time.Duration, bool) {
	if w.state.Presence != store.PresenceWrapUp || w.state.WorkingOffline || w.state.WrapUpUntil == nil {
		return 0, false
	}
	d := w.state.WrapUpUntil.Sub(workflow.Now(ctx))
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d, true
}

// onItemAssigned: the agent accepted an item; its process shows it busy.
func (w *agentImpl) onItemAssigned(ctx workflow.Context, a ItemAssigned) {
	if slices.Contains(w.state.Items, a.ItemID) {
		return
	}
	before := w.shown()
	w.state.Items = append(w.state.Items, a.ItemID)
	if w.shown() != before {
		w.show(ctx)
	}
}

func (w *agentImpl) onItemFinished(ctx workflow.Context, f ItemFinished) {
	before := w.shown()
	w.state.Items = slices.DeleteFunc(w.state.Items, func(id string) bool { return id == f.ItemID })
	showIfFreed := func() {
		if w.shown() != before {
			w.show(ctx)
		}
	}
	if f.Seq > 0 {
		// Routing moved the agent to wrap-up as presence change f.Seq: taken
		// up unless the process has applied a later change (the agent ended
		// it, or went on break, before this signal came).
		_ = w.mu.Lock(ctx)
		defer w.mu.Unlock()
		if !f.WrappingUp || f.Seq <= w.state.PresenceSeq {
			showIfFreed()
			return
		}
		w.state.PresenceSeq = f.Seq
		w.startWrapUp(ctx, f)
		return
	}
	// Signals from before presence changes were counted: routing moved an
	// available agent to wrap-up in the same transaction that finished the
	// item; an agent that left meanwhile stays where it is.
	if !f.WrappingUp || w.state.Presence != store.PresenceAvailable {
		showIfFreed()
		return
	}
	if slices.Contains(w.state.Settled, f.ItemID) || w.state.SkipWrapUps > 0 { // the agent already ended this wrap-up
		if !slices.Contains(w.state.Settled, f.ItemID) {
			w.state.SkipWrapUps--
		}
		showIfFreed()
		return
	}
	_ = w.mu.Lock(ctx)
	defer w.mu.Unlock()
	w.startWrapUp(ctx, f)
}

// startWrapUp counts down the wrap-up routing started for item f.
func (w *agentImpl) startWrapUp(ctx workflow.Context, f ItemFinished) {
	until := workflow.Now(ctx).Add(f.WrapUp)
	if f.Until != nil {
		until = *f.Until // the instant PostgreSQL (and so the API) shows
	}
	w.state.WrapUpItem, w.state.WrapUpUntil, w.state.WorkingOffline = f.ItemID, &until, false
	w.setState(ctx, store.PresenceWrapUp, "finished "+f.ItemID)
}

func (w *agentImpl) onOfferTimedOut(ctx workflow.Context, t OfferTimedOut) {
	_ = w.mu.Lock(ctx)
	defer w.mu.Unlock()
	if t.Seq > 0 {
		// The time-out's break is presence change t.Seq, if it made one:
		// taken up unless the process has applied a later change (the agent
		// came back before this signal did).
		if t.OnBreak && t.Seq > w.state.PresenceSeq {
			w.state.PresenceSeq = t.Seq
			w.clearWrapUp()
			w.setState(ctx, store.PresenceOnBreak, "offer "+t.OfferID+" not accepted in time")
		}
		return
	}
	// Signals from before presence changes were counted: closing the offer
	// already put an available agent on break in PostgreSQL; an agent that
	// left meanwhile stays where it is.
	if w.state.Presence != store.PresenceAvailable {
		return
	}
	w.setState(ctx, store.PresenceOnBreak, "offer "+t.OfferID+" not accepted in time")
}

// setPresence is the agent's own choice: available, on_break or offline.
//
// A run that follows changeAgentLocalPresence writes it in a local
// activity, inside the workflow task that takes in the update: routing
// books the agent and delivers its offers without an activity task in
// between. The change is keyed by the update, so a task run again (a worker
// lost it) gets the first answer; should that task have taken in a later
// change first (a signal with a higher sequence number), the older answer
// is not applied, only its offers delivered.
func (w *agentImpl) setPresence(ctx workflow.Context, r SetPresenceRequest) (AgentState, error) {
	_ = w.mu.Lock(ctx)
	defer w.mu.Unlock()
	req := activities.SetPresenceRequest{AgentID: w.state.AgentID, Presence: r.Presence}
	var res activities.SetPresenceResult
	var err error
	if u := workflow.GetCurrentUpdateInfo(ctx); w.localPresence && u != nil && u.ID != "" {
		req.Key = u.ID
		seen := w.state.PresenceSeq
		if res, err = w.recordLocal(ctx, req); err == nil && res.Seq < seen {
			w.deliver(ctx, res.Offers)
			return w.state, nil
		}
	} else {
		res, err = w.record(ctx, req)
	}
	if err != nil {
		return w.state, err
	}
	w.clearWrapUp()
	w.setState(ctx, res.Presence, r.Reason)
	w.deliver(ctx, res.Offers)
	w.wake.SendAsync(true)
	return w.state, nil
}

// endWrapUp ends wrap-up early with an optional disposition code.
func (w *agentImpl) endWrapUp(ctx workflow.Context, r EndWrapUpRequest) (AgentState, error) {
	if err := w.settle(ctx); err != nil {
		return w.state, err
	}
	if w.state.Presence == store.PresenceWrapUp {
		err := w.wrapUpOver(ctx, r.Disposition, true, "wrap-up ended by the agent")
		w.wake.SendAsync(true)
		return w.state, err
	}
	// Not in wrap-up here yet: PostgreSQL decides. If routing did start a
	// wrap-up, it ends now (with the disposition on the agent's last item),
	// and the item-finished signal still on its way starts no countdown.
	_ = w.mu.Lock(ctx)
	defer w.mu.Unlock()
	res, err := w.record(ctx, activities.SetPresenceRequest{
		AgentID: w.state.AgentID, Presence: store.PresenceAvailable, OnlyFrom: []string{store.PresenceWrapUp},
		LastItem: true, Disposition: r.Disposition, RequireDisposition: true,
	})
	if err != nil {
		return w.state, err
	}
	if !res.Changed {
		return w.state, wrongStep("the agent is %s, not in wrap-up", res.Presence)
	}
	if res.EndedWrapUp != "" {
		w.settled(res.EndedWrapUp)
	} else {
		w.state.SkipWrapUps++
	}
	w.setState(ctx, res.Presence, "wrap-up ended by the agent")
	w.deliver(ctx, res.Offers)
	return w.state, nil
}

// workOffline stops the countdown: the agent needs more time and stays in
// wrap-up until it ends it or changes its presence.
func (w *agentImpl) workOffline(ctx workflow.Context) (AgentState, error) {
	if err := w.settle(ctx); err != nil {
		return w.state, err
	}
	_ = w.mu.Lock(ctx)
	defer w.mu.Unlock()
	if w.state.Presence != store.PresenceWrapUp {
		if err := w.takeUpWrapUp(ctx); err != nil {
			return w.state, err
		}
	}
	w.state.WorkingOffline = true
	w.state.Reason = "working offline"
	w.wake.SendAsync(true)
	return w.state, nil
}

// takeUpWrapUp: PostgreSQL may have started the agent's wrap-up (its last
// item finished) before the item's signal reached this process. The wrap-up
// PostgreSQL holds is taken up here, and the signal, when it comes, starts
// no second one.
func (w *agentImpl) takeUpWrapUp(ctx workflow.Context) error {
	var wu activities.WrapUp
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.AgentWrapUp, w.state.AgentID).Get(ctx, &wu); err != nil {
		return err
	}
	if wu.Presence != store.PresenceWrapUp {
		return wrongStep("the agent is %s, not in wrap-up", w.shown())
	}
	w.state.WrapUpItem, w.state.WrapUpUntil, w.state.WorkingOffline = wu.Item, wu.Until, false
	w.state.PresenceSeq = max(w.state.PresenceSeq, wu.Seq)
	w.settled(wu.Item)
	w.setState(ctx, store.PresenceWrapUp, "finished "+wu.Item)
	return nil
}

// wrapUpOver ends the wrap-up: by the timer, or by the agent (byAgent),
// which a queue that requires a disposition takes only with one.
func (w *agentImpl) wrapUpOver(ctx workflow.Context, disposition string, byAgent bool, reason string) error {
	_ = w.mu.Lock(ctx)
	defer w.mu.Unlock()
	if w.state.Presence != store.PresenceWrapUp {
		return nil
	}
	res, err := w.record(ctx, activities.SetPresenceRequest{
		AgentID: w.state.AgentID, Presence: store.PresenceAvailable, OnlyFrom: []string{store.PresenceWrapUp},
		ItemID: w.state.WrapUpItem, Disposition: disposition, RequireDisposition: byAgent,
	})
	if err != nil {
		return err
	}
	w.settled(w.state.WrapUpItem)
	w.clearWrapUp()
	w.setState(ctx, res.Presence, reason)
	w.deliver(ctx, res.Offers)
	return nil
}

func (w *agentImpl) dispatch(ctx workflow.Context) {
	var offers []activities.Offer
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.DispatchAgent, w.state.AgentID).Get(ctx, &offers); err != nil {
		workflow.GetLogger(ctx).Error("dispatch after queue change", "error", err)
		return
	}
	w.deliver(ctx, offers)
}

func (w *agentImpl) record(ctx workflow.Context, r activities.SetPresenceRequest) (activities.SetPresenceResult, error) {
	return w.recorded(ctx, r, workflow.ExecuteActivity(storageOptions(ctx), a.SetAgentPresence, r))
}

// recordLocal is record in a local activity (r.Key names the change).
func (w *agentImpl) recordLocal(ctx workflow.Context, r activities.SetPresenceRequest) (activities.SetPresenceResult, error) {
	return w.recorded(ctx, r, workflow.ExecuteLocalActivity(localStorageOptions(ctx), a.SetAgentPresence, r))
}

func (w *agentImpl) recorded(ctx workflow.Context, r activities.SetPresenceRequest, f workflow.Future) (activities.SetPresenceResult, error) {
	var res activities.SetPresenceResult
	err := f.Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Error("record presence", "presence", r.Presence, "error", err)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			if appErr.Type() == ErrTypeInvalidField {
				var field string
				if appErr.HasDetails() {
					_ = appErr.Details(&field)
				}
				return res, invalidField(field, strings.TrimPrefix(appErr.Message(), field+" "))
			}
			return res, temporal.NewApplicationError(appErr.Message(), appErr.Type())
		}
		return res, err
	}
	// Every caller takes the presence PostgreSQL answered: the latest
	// change, which no older signal may undo.
	w.state.PresenceSeq = max(w.state.PresenceSeq, res.Seq)
	return res, nil
}

func (w *agentImpl) deliver(ctx workflow.Context, offers []activities.Offer) {
	deliverOffers(ctx, offers, nil)
}

func (w *agentImpl) clearWrapUp() {
	w.state.WrapUpItem, w.state.WrapUpUntil, w.state.WorkingOffline = "", nil, false
}

func (w *agentImpl) setState(ctx workflow.Context, presence, reason string) {
	w.state.Presence, w.state.Reason, w.state.Since = presence, reason, workflow.Now(ctx)
	w.show(ctx)
}

// shown is the ProcessState the Temporal UI shows: the presence, or busy
// while an available agent works on an item.
func (w *agentImpl) shown() string {
	if w.state.Presence == store.PresenceAvailable && len(w.state.Items) > 0 {
		return AgentBusy
	}
	return w.state.Presence
}

func (w *agentImpl) show(ctx workflow.Context) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchProcessState.ValueSet(w.shown())); err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes", "error", err)
	}
	workflow.SetCurrentDetails(ctx, w.details())
}

// details are the process's current details in the Temporal UI: the
// presence it shows, since when, and what it waits for. Reasons are left
// out: an agent may have typed them.
func (w *agentImpl) details() string {
	head := fmt.Sprintf("**Agent %s** — %s since %s", w.state.AgentID, w.shown(), uiClock(w.state.Since))
	if len(w.state.Items) > 0 {
		head += " · items " + strings.Join(w.state.Items, ", ")
	}
	var waits string
	switch {
	case w.state.Presence == store.PresenceWrapUp && w.state.WorkingOffline:
		waits = "the agent to end the wrap-up of " + w.state.WrapUpItem + " (working offline: no countdown)"
	case w.state.Presence == store.PresenceWrapUp && w.state.WrapUpUntil != nil:
		waits = "the wrap-up of " + w.state.WrapUpItem + " to end, until " + uiClock(*w.state.WrapUpUntil) + " (or the agent to end it)"
	case w.state.Presence == store.PresenceWrapUp:
		waits = "the agent to end the wrap-up of " + w.state.WrapUpItem
	case w.shown() == AgentBusy:
		waits = "its items to finish"
	case w.state.Presence == store.PresenceAvailable:
		waits = "offers from its queues"
	case w.state.Presence == store.PresenceOnBreak:
		waits = "the agent to come back from its break"
	case w.state.Presence == store.PresenceOffline:
		waits = "the agent to become available"
	}
	return withDetails(head, waits)
}

// continueAsNew starts a fresh run with the same state once history grows
// long. It takes in every signal already delivered and waits for every
// update handler, and repeats until both are quiet, so nothing that arrives
// during the drain is cut off by the new run.
func (w *agentImpl) continueAsNew(ctx workflow.Context, finished, timedOut, queuesChanged, assigned workflow.ReceiveChannel) error {
	next := func() error {
		state := w.state
		return workflow.NewContinueAsNewError(ctx, Agent, AgentInput{AgentID: w.state.AgentID, State: &state})
	}
	if w.v < 1 {
		return w.continueAsNewLegacy(ctx, next)
	}
	for {
		if w.takeInOne(ctx) {
			continue
		}
		if workflow.AllHandlersFinished(ctx) {
			return next()
		}
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) || w.signalsWaiting() }); err != nil {
			return err
		}
	}
}

// takeInOne takes in one signal already delivered, if there is one.
func (w *agentImpl) takeInOne(ctx workflow.Context) bool {
	w.handling = true
	defer func() { w.handling = false }()
	var f ItemFinished
	var t OfferTimedOut
	var a ItemAssigned
	switch {
	case w.assigned.ReceiveAsync(&a):
		w.onItemAssigned(ctx, a)
	case w.finished.ReceiveAsync(&f):
		w.onItemFinished(ctx, f)
	case w.timedOut.ReceiveAsync(&t):
		w.onOfferTimedOut(ctx, t)
	case w.queuesChanged.ReceiveAsync(nil):
		w.dispatch(ctx)
	default:
		return false
	}
	return true
}

func (w *agentImpl) signalsWaiting() bool {
	return w.assigned.Len()+w.finished.Len()+w.timedOut.Len()+w.queuesChanged.Len() > 0
}

// continueAsNewLegacy is the drain of runs from before changeAgentSettles:
// handlers first, then the signals, once.
func (w *agentImpl) continueAsNewLegacy(ctx workflow.Context, next func() error) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	for w.takeInOne(ctx) {
	}
	return next()
}
