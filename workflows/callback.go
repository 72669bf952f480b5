package workflows

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/store"
)

// Callback is one customer's request to be called back (issue 7, seed 002):
// it waits for its time (and the queue's opening hours), waits in its queue
// in order with the other work, and then either
//
//   - customer-first: once routing books an agent for it, the platform dials
//     the customer while that agent is held; an answered call is offered to
//     the agent (and, on a reject or timeout, to the next agents while the
//     customer waits on the line); accepted, the legs are bridged and a
//     callback voice interaction is Work In Progress; or
//   - agent-first: it is offered to an agent, who accepts, previews the
//     context and dials (or it dials itself when the queue says auto_dial),
//     and may redial or close it when nobody answers.
//
// Unanswered, busy or voicemail dials are retried after the queue's interval
// up to its maximum attempts. It can be cancelled or rescheduled while it
// waits, and it expires when its time is long past.
//
// Why customer-first holds the agent during the dial: PostgreSQL routing
// books "the head of the queue with an agent available" in one transaction
// under the dispatch lock. Dialling before an agent is booked would let the
// customer answer into an empty queue (an abandoned outbound call); dialling
// after the booking guarantees an agent for every answered call at the cost
// of the agent's ring time. The agent's acceptance timer starts when the
// customer answers (the dial runs before it), and the agent cannot accept
// while the customer is still being dialled.
func Callback(ctx workflow.Context, in CallbackInput) (CallbackState, error) {
	w := &callbackImpl{in: in, seen: map[string]bool{}}
	w.st = CallbackState{ID: in.ID, Queue: in.Queue, Mode: in.Mode, State: store.CallbackScheduled, Step: CallbackStepScheduled,
		MaxAttempts: in.MaxAttempts, ScheduledAt: in.ScheduledAt, TimeZone: in.TimeZone, ExpiresAt: in.ExpiresAt,
		AttemptLog: []CallbackAttemptView{}}
	w.version = 1    // the API wrote version 1
	w.at = w.st.Step // and the step it shows: scheduled
	w.quick = workflow.GetVersion(ctx, changeCallbackQuickStart, workflow.DefaultVersion, 1) >= 1
	if err := w.setup(ctx); err != nil {
		return w.st, err
	}
	return w.st, w.run(ctx)
}

type callbackImpl struct {
	in       CallbackInput
	st       CallbackState
	quick    bool // the process follows changeCallbackQuickStart (decided first thing)
	version  int
	queue    activities.Queue
	settings CallbackSettings
	r        *router
	items    int // work items queued so far (one per pass through the queue)

	// Requests.
	cancelReq    *CallbackCancelRequest
	closeReq     *CallbackCloseRequest
	dialReq      bool
	rescheduled  bool // a reschedule the main loop has not picked up yet
	reschedGen   int
	reschedAck   int
	expiryGen    int
	expired      bool
	watching     bool // the expiry watch runs
	done         bool
	finishing    bool       // the run is over: it waits only for its update handlers
	baseAttempts int        // attempts made before the last reschedule
	retryAt      *time.Time // the next dial after an unanswered one
	hoursClosed  bool       // the queue closed while the callback waited in it
	keepPlace    int64      // the place in line to take again when the queue reopens

	// The current attempt.
	call          string // the customer's call leg; "" when nobody is on the line
	outcome       string // what the platform reported about the call
	customerGone  bool
	callEnded     *cti.Event
	agentLeg      string
	agentAnswered bool
	offers        int    // customer-first: agents offered while the customer waits
	dialFirst     bool   // customer-first: the agent is held while the customer is dialled
	ringing       bool   // the agent's phone is being offered the answered call
	at            string // the step validators judge by: set as a step begins, before the record shows it
	attemptOver   string // customer-first: why this attempt ended without a connection
	dialedAt      time.Time
	connectedAt   *time.Time
	seen          map[string]bool
	itVersion     int            // the callback voice interaction's version
	itMu          workflow.Mutex // one write to that interaction at a time, in version order

	waits string // what the callback waits for, as the Temporal UI shows it
}

func (w *callbackImpl) workflowID(ctx workflow.Context) string {
	return workflow.GetInfo(ctx).WorkflowExecution.ID
}

func (w *callbackImpl) setup(ctx workflow.Context) error {
	w.itMu = workflow.NewMutex(ctx)
	if err := queryState(ctx, "callback's step, attempts and next steps", func() (CallbackState, error) { return w.st, nil }); err != nil {
		return err
	}
	err := registerUpdates(ctx, []update{
		{UpdateAccept, w.accept, w.validateDecision, "The offered agent accepts the callback (customer-first: the answered call)"},
		{UpdateReject, w.reject, w.validateDecision, "The offered agent rejects the callback: it goes to the next agent"},
		{UpdateDialCallback, w.dialUpdate, w.validateDial, "Agent-first: the agent holding the callback dials (or redials) the customer"},
		{UpdateCloseCallback, w.closeUpdate, w.validateClose, "The agent holding the callback closes it: completed, failed or cancelled"},
		{UpdateCancelCallback, w.cancelUpdate, w.validateCancel, "The customer or a supervisor cancels the callback while it waits"},
		{UpdateRescheduleCallback, w.rescheduleUpdate, w.validateReschedule, "The callback moves to a new time, with a fresh set of attempts"},
		{UpdateNoteFromProcess, w.noteFromProcess, func(n activities.CallNote) error {
			// The record may be visible before this process has taken in
			// that it opened it: the handler waits for that.
			if n.Interaction == "" || (w.st.Interaction != "" && n.Interaction != w.st.Interaction) {
				return invalidField("interaction", "is not this callback's call")
			}
			return nil
		}, "A case process started from the callback's call notes the contact it identified"},
		{UpdateQueued, w.waitQueued, nil, "The API: answers once the callback's first work item is in its queue (it holds the replaced call's place)"},
	})
	if err != nil {
		return err
	}
	events := signal(ctx, SignalCTIEvent, "The API: an event of the telephony platform about the callback's calls")
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var ev cti.Event
			events.Receive(ctx, &ev)
			w.onEvent(ev)
		}
	})
	inbound := signal(ctx, SignalInboundCall, "The API: the callback's number called in (cancels or links, as the queue says)")
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var s InboundCallSignal
			inbound.Receive(ctx, &s)
			w.onInboundCall(ctx, s)
		}
	})
	return nil
}

// run is the callback from its request to its close.
func (w *callbackImpl) run(ctx workflow.Context) error {
	if err := w.readQueue(ctx); err != nil {
		return w.closeAs(ctx, store.CallbackFailed, "queue "+w.in.Queue+" is not configured")
	}
	var err error
	if w.settings, err = ParseCallbackSettings(w.queue.Settings); err != nil {
		workflow.GetLogger(ctx).Warn("queue callback settings; using defaults where invalid", "queue", w.in.Queue, "error", err)
	}
	if w.st.MaxAttempts <= 0 {
		w.st.MaxAttempts = w.settings.MaxAttempts
	}
	w.upsert(ctx, SearchCallbackMode.ValueSet(w.in.Mode), SearchQueue.ValueSet(w.in.Queue))
	w.watchExpiry(ctx)

	for {
		ready, err := w.waitUntilDue(ctx)
		if err != nil || !ready {
			return w.finishRun(ctx, err)
		}
		again, err := w.throughQueue(ctx)
		if err != nil || !again {
			return w.finishRun(ctx, err)
		}
	}
}

// readQueue reads the queue's settings. A process that follows
// changeCallbackQuickStart reads them as a local activity, in its first
// workflow task: a read changes nothing, so a lost task read again is
// harmless, and the callback reaches its wait in that task with one
// marker event instead of an activity's three and another workflow task.
func (w *callbackImpl) readQueue(ctx workflow.Context) error {
	if w.quick {
		return workflow.ExecuteLocalActivity(localStorageOptions(ctx), a.QueueSettings, w.in.Queue).Get(ctx, &w.queue)
	}
	return workflow.ExecuteActivity(storageOptions(ctx), a.QueueSettings, w.in.Queue).Get(ctx, &w.queue)
}

// follows tells whether the process follows a callback change made before
// changeCallbackQuickStart: one that follows changeCallbackQuickStart
// follows them all without a marker each; an older one asks
// workflow.GetVersion where it always did.
func (w *callbackImpl) follows(ctx workflow.Context, change string) bool {
	return w.quick || workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) >= 1
}

func (w *callbackImpl) finishRun(ctx workflow.Context, err error) error {
	if err != nil {
		return err
	}
	w.finishing = true // an update that waits for a step to come answers now
	// Let update handlers still running (a cancel answering) finish first.
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// watchExpiry marks the callback expired at its expiry time; a reschedule
// that moves the expiry restarts the wait.
func (w *callbackImpl) watchExpiry(ctx workflow.Context) {
	w.watching = true
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.watching = false }()
		for !w.done {
			gen := w.expiryGen
			d := w.st.ExpiresAt.Sub(workflow.Now(ctx))
			if d <= 0 {
				w.expired = true
				return
			}
			summary := "callback expires " + clockIn(workflow.Now(ctx), w.st.ExpiresAt, w.st.TimeZone)
			if _, err := awaitUntil(ctx, d, summary, func() bool { return w.expiryGen != gen || w.done }); err != nil {
				return
			}
		}
	})
}

// waitUntilDue waits for the callback's time, the next retry, and the
// queue's opening hours, whichever is latest. It reports false when the
// callback closed meanwhile (cancelled or expired).
func (w *callbackImpl) waitUntilDue(ctx workflow.Context) (bool, error) {
	for {
		if closed, err := w.closeIfEnded(ctx); closed || err != nil {
			return false, err
		}
		now := workflow.Now(ctx)
		due, what, why := now, "callback due", ""
		if w.st.ScheduledAt != nil && w.st.ScheduledAt.After(due) {
			due = *w.st.ScheduledAt
		}
		if w.retryAt != nil && w.retryAt.After(due) {
			due, what = *w.retryAt, fmt.Sprintf("callback retry (attempt %d of %d) due", w.st.Attempts-w.baseAttempts+1, w.st.MaxAttempts)
		}
		if bh := w.settings.BusinessHours; bh != nil {
			if opens := bh.NextOpening(due); !opens.Equal(due) {
				why = " (queue " + w.in.Queue + " opens)"
			}
			due = bh.NextOpening(due)
		}
		gen := w.reschedGen
		w.rescheduled = false
		if !due.After(now) {
			w.reschedAck = gen
			return true, nil
		}
		w.st.NextAttemptAt = &due
		summary := what + " " + clockIn(now, due, w.st.TimeZone) + why
		w.waits = "its time: " + summary
		if w.asRequested(due) {
			// The record says this already (the API wrote it at version 1):
			// the process goes to its wait in its first workflow task.
			w.at = CallbackStepScheduled
			w.show(ctx, CallbackStepScheduled)
		} else if err := w.step(ctx, CallbackStepScheduled); err != nil {
			return false, err
		}
		w.reschedAck = gen
		// The timer runs from now, after the step was recorded (which may
		// have taken a retry), not from before it.
		wait := due.Sub(workflow.Now(ctx))
		if wait <= 0 {
			continue
		}
		if _, err := awaitUntil(ctx, wait, summary, func() bool {
			return w.cancelReq != nil || w.expired || w.reschedGen != gen
		}); err != nil {
			return false, err
		}
	}
}

// closeIfEnded closes a callback that was cancelled or has expired.
func (w *callbackImpl) closeIfEnded(ctx workflow.Context) (bool, error) {
	switch {
	case w.cancelReq != nil:
		reason := "cancelled by " + w.cancelReq.By
		if w.cancelReq.Reason != "" {
			reason += ": " + w.cancelReq.Reason
		}
		return true, w.closeAs(ctx, store.CallbackCancelled, reason)
	case w.expired:
		return true, w.closeAs(ctx, store.CallbackExpired, "not reached before "+w.st.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return false, nil
}

// throughQueue is one pass through the queue: it waits for an agent and
// runs the mode's flow. It reports whether the callback goes round again
// (a retry or a reschedule).
func (w *callbackImpl) throughQueue(ctx workflow.Context) (bool, error) {
	w.items++
	item := activities.NewWorkItem{ID: fmt.Sprintf("%s-%d", w.in.ID, w.items), Queue: w.in.Queue, Channel: store.ChannelVoice,
		Kind: "callback", WorkflowID: w.workflowID(ctx), Position: w.keepPlace}
	w.keepPlace = 0
	if w.r == nil {
		w.r = newRouter(ctx, item, w.queue)
		w.r.implied = w.quick
	} else {
		w.r.reset(item, w.queue)
	}
	w.resetAttempt()
	w.st.NextAttemptAt = nil
	if err := w.step(ctx, CallbackStepQueued); err != nil {
		return false, err
	}
	if w.items == 1 && w.in.ReplacesItem != "" {
		if err := w.takeOverPlace(ctx, item); err != nil {
			return false, err
		}
	}

	stopWatch := w.watchClosing(ctx)
	hooks := routeHooks{stopped: w.interrupted, present: w.present, presented: w.ring, withdrawn: w.withdrawn, offered: w.offered,
		waiting: w.waitFor}
	if w.in.Mode == store.CallbackCustomerFirst {
		hooks.prepare = w.dialBeforeOffer
	}
	outcome, err := w.r.waitForAgent(ctx, hooks)
	stopWatch()
	if err != nil {
		return false, err
	}
	switch outcome {
	case routeStopped:
		if w.attemptOver != "" {
			return w.attemptFailed(ctx, w.attemptOver)
		}
		if closed, err := w.closeIfEnded(ctx); closed || err != nil {
			return false, err
		}
		if w.hoursClosed {
			// Out of the queue until it opens again, then back in the
			// same place in line.
			w.keepPlace = w.r.position
			workflow.GetLogger(ctx).Info("queue closed; the callback waits for the next opening", "queue", w.in.Queue)
		}
		return true, nil // rescheduled, or the queue closed
	case routeClosed:
		if w.r.closedBy == outcomeTimedOut {
			w.hangUpCustomer(ctx, "not-picked-up")
			return false, w.closeAs(ctx, store.CallbackFailed, "not picked up by the agent")
		}
		w.hangUpCustomer(ctx, "rejected")
		return false, w.closeAs(ctx, store.CallbackFailed, "rejected by the agent")
	}
	w.st.AgentID, w.st.OfferedTo = w.r.agentID, ""
	if w.in.Mode == store.CallbackAgentFirst {
		return false, w.agentFirst(ctx)
	}
	return w.customerFirstAccepted(ctx)
}

// watchClosing takes a callback waiting in its queue out of it when the
// queue's business hours end, so no agent is offered it while the queue is
// closed; waitUntilDue then holds it until the next opening. The returned
// function ends the watch once routing is over.
func (w *callbackImpl) watchClosing(ctx workflow.Context) (stop func()) {
	w.hoursClosed = false
	bh := w.settings.BusinessHours
	if bh == nil || !w.follows(ctx, changeLeaveQueueAtClosing) {
		return func() {}
	}
	now := workflow.Now(ctx)
	closes := bh.NextClosing(now)
	if closes.IsZero() {
		return func() {}
	}
	ctx, cancel := workflow.WithCancel(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		summary := "queue " + w.in.Queue + " closes " + clockIn(now, closes, bh.TimeZone)
		if err := sleepUntil(ctx, closes.Sub(now), summary); err == nil {
			w.hoursClosed = true
		}
	})
	return cancel
}

// waitQueued answers once the first work item has been queued, or once
// the callback ends without queuing it (cancelled or expired while it
// waited for business hours): the process finishes only when every update
// has its answer. It only waits, so it adds no command.
func (w *callbackImpl) waitQueued(ctx workflow.Context) (CallbackState, error) {
	err := workflow.Await(ctx, func() bool {
		return w.done || w.finishing || w.items > 1 || (w.items == 1 && w.r != nil && w.r.queued)
	})
	return w.st, err
}

// takeOverPlace enqueues the first item in the place of the waiting call it
// replaces, and tells that call's interaction it was replaced. When the call
// was no longer waiting the callback keeps its own place at the end.
func (w *callbackImpl) takeOverPlace(ctx workflow.Context, item activities.NewWorkItem) error {
	item.ReplacesID = w.in.ReplacesItem
	var res activities.EnqueuedCallback
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.EnqueueCallbackItem, item).Get(ctx, &res); err != nil {
		return err
	}
	w.r.queued = true
	if res.Replaced && w.in.ReplacesWorkflowID != "" {
		err := workflow.SignalExternalWorkflow(ctx, w.in.ReplacesWorkflowID, "", SignalReplacedByCallback,
			ReplacedByCallback{CallbackID: w.in.ID}).Get(ctx, nil)
		if err != nil {
			workflow.GetLogger(ctx).Warn("tell the replaced interaction", "workflow_id", w.in.ReplacesWorkflowID, "error", err)
		}
	}
	w.r.deliverLegacy(ctx, res.Offers)
	return nil
}

// interrupted says whether routing should stop waiting: an attempt that
// ended without a connection, or (with nobody on the line) a cancel, a
// reschedule or the expiry.
func (w *callbackImpl) interrupted() bool {
	if w.attemptOver != "" {
		return true
	}
	if w.call != "" {
		return false
	}
	if w.hoursClosed && !w.r.offerOpen() {
		return true // an offer already made is answered first
	}
	return w.cancelReq != nil || w.expired || w.rescheduled
}

// dialBeforeOffer: customer-first, routing reserved an agent for the
// callback. The platform dials the customer first, with the agent reserved
// (shown as such, offered nothing else, and given no offer yet); only an
// answered call is offered (seed 002: the agent is engaged only when the
// customer answers). False: the attempt is over (interrupted says why), and
// the router frees the agent at once.
func (w *callbackImpl) dialBeforeOffer(ctx workflow.Context, o OfferSignal) (bool, error) {
	if w.call == "" {
		if w.attemptsLeft() <= 0 {
			w.attemptOver = store.AttemptNoAgent
			return false, nil
		}
		w.st.OfferedTo = o.AgentID // the record names the reserved agent while it dials
		outcome, err := w.dial(ctx, o.AgentID)
		if err != nil {
			return false, err
		}
		if outcome != store.AttemptAnswered {
			w.st.OfferedTo = ""
			w.attemptOver = outcome
			return false, nil
		}
		w.holdTimer(ctx)
	}
	if w.customerGone {
		w.attemptOver = store.AttemptHungUp
		return false, nil
	}
	w.offers++
	if w.offers > w.settings.MaxOffers {
		w.attemptOver = store.AttemptNoAgent
		return false, nil
	}
	return true, nil
}

// present shows the offer to its agent: the callback's step says offered,
// for that agent, in the transaction that shows the offer.
func (w *callbackImpl) present(ctx workflow.Context, o OfferSignal) (activities.Presented, error) {
	before, offeredTo := w.at, w.st.OfferedTo
	w.st.OfferedTo = o.AgentID
	c := w.change(CallbackStepOffered)
	var p activities.Presented
	err := workflow.ExecuteActivity(routingOptions(ctx), a.PresentOffer, activities.PresentOfferRequest{
		OfferID: o.OfferID, Queue: o.Queue, Record: activities.RecordChange{Callback: &c}}).Get(ctx, &p)
	if err != nil {
		return p, fmt.Errorf("present offer %s: %w", o.OfferID, err)
	}
	if !p.Presented {
		w.at, w.st.OfferedTo = before, offeredTo
		return p, nil
	}
	w.show(ctx, CallbackStepOffered)
	return p, nil
}

// ring: customer-first, the agent's phone is offered the answered call,
// beside the acceptance timer (the agent may accept in the workspace).
// Agent-first, the agent dials after accepting; nothing rings now.
func (w *callbackImpl) ring(ctx workflow.Context, o OfferSignal) {
	if w.in.Mode != store.CallbackCustomerFirst || w.call == "" {
		return
	}
	w.ringing = true
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.ringing = false }()
		w.ringAgent(ctx, o)
	})
}

// offered is the offer step of processes that predate present. Agent-first:
// the agent sees the offer. Customer-first: the platform dials the customer
// first (the agent is held and cannot accept yet); once they answer, the
// agent's phone rings and the acceptance timer starts.
func (w *callbackImpl) offered(ctx workflow.Context, o OfferSignal) error {
	w.st.OfferedTo = o.AgentID
	if w.in.Mode == store.CallbackAgentFirst {
		return w.step(ctx, CallbackStepOffered)
	}
	// Until the customer is on the line the agent cannot take the offer.
	w.dialFirst = true
	defer func() { w.dialFirst = false }()
	if w.call == "" {
		if w.attemptsLeft() <= 0 {
			w.attemptOver = store.AttemptNoAgent
			return nil
		}
		outcome, err := w.dial(ctx, o.AgentID)
		if err != nil {
			return err
		}
		if outcome != store.AttemptAnswered {
			w.attemptOver = outcome
			return nil
		}
		w.holdTimer(ctx)
	}
	if w.customerGone {
		w.attemptOver = store.AttemptHungUp
		return nil
	}
	w.offers++
	if w.offers > w.settings.MaxOffers {
		w.attemptOver = store.AttemptNoAgent
		return nil
	}
	if err := w.step(ctx, CallbackStepOffered); err != nil {
		return err
	}
	w.dialFirst = false
	w.ringAgent(ctx, o) // the agent may still accept from the workspace if this fails
	return nil
}

// ringAgent has the platform offer the answered call to the agent's phone.
func (w *callbackImpl) ringAgent(ctx workflow.Context, o OfferSignal) {
	var leg cti.Call
	w.agentAnswered = false
	err := workflow.ExecuteActivity(ctiOptions(ctx), a.OfferToAgent, cti.OfferRequest{
		IdempotencyKey: o.OfferID, CallID: w.call, AgentID: o.AgentID, Channel: cti.ChannelVoice, Queue: w.in.Queue,
		Context: map[string]string{ContextWorkflowID: w.workflowID(ctx), ContextCallbackID: w.in.ID},
	}, w.workflowID(ctx)).Get(ctx, &leg)
	if err != nil {
		workflow.GetLogger(ctx).Error("offer the answered callback to the agent's phone", "agent", o.AgentID, "error", err)
		return
	}
	w.agentLeg = leg.ID
}

// holdTimer gives up an answered customer-first attempt when no agent takes
// the call within the queue's hold time.
func (w *callbackImpl) holdTimer(ctx workflow.Context) {
	attempt := w.st.Attempts
	hold := time.Duration(w.settings.HoldSeconds) * time.Second
	summary := fmt.Sprintf("hold: attempt %d, customer on the line for an agent until %s", attempt, after(ctx, hold))
	workflow.Go(ctx, func(ctx workflow.Context) {
		ok, err := awaitUntil(ctx, hold, summary, func() bool {
			return w.connectedAt != nil || w.attemptOver != "" || w.st.Attempts != attempt
		})
		if err == nil && !ok && w.connectedAt == nil && w.attemptOver == "" && w.st.Attempts == attempt {
			w.attemptOver = store.AttemptNoAgent
		}
	})
}

// withdrawn: the agent rejected the offer or let it run out.
func (w *callbackImpl) withdrawn(ctx workflow.Context, o OfferSignal, why string) {
	w.st.OfferedTo = ""
	if err := workflow.Await(ctx, func() bool { return !w.ringing }); err != nil {
		return
	}
	if w.agentLeg != "" {
		_ = workflow.ExecuteActivity(ctiOptions(ctx), a.HangUp, cti.HangUpRequest{IdempotencyKey: o.OfferID + "-withdraw", CallID: w.agentLeg}).Get(ctx, nil)
		w.agentLeg = ""
	}
	next := CallbackStepQueued
	if w.call != "" {
		next = CallbackStepHolding
	}
	if err := w.step(ctx, next); err != nil {
		workflow.GetLogger(ctx).Error("record withdrawn offer", "why", why, "error", err)
	}
}

// dial places one attempt's call and waits for what came of it. The
// idempotency key is the callback and the attempt number.
func (w *callbackImpl) dial(ctx workflow.Context, agent string) (string, error) {
	w.st.Attempts++
	n := w.st.Attempts
	w.call, w.outcome, w.customerGone, w.callEnded, w.agentLeg, w.agentAnswered = "", "", false, nil, "", false
	w.dialedAt = workflow.Now(ctx)
	w.st.AttemptLog = append(w.st.AttemptLog, CallbackAttemptView{Attempt: n, At: w.dialedAt, Outcome: store.AttemptDialing, AgentID: agent})
	if err := w.step(ctx, CallbackStepDialing); err != nil {
		return "", err
	}
	if err := w.recordAttempt(ctx, store.AttemptDialing, nil); err != nil {
		return "", err
	}
	from := w.queue.OutboundNumber
	if from == "" {
		from = w.in.CallerID
	}
	var call cti.Call
	notAfter := w.dialedAt.Add(dialWindow)
	err := workflow.ExecuteActivity(dialOptions(ctx, dialWindow), a.PlaceCall, cti.PlaceCallRequest{
		IdempotencyKey: CallbackDialKey(w.in.ID, n), To: w.in.Number, From: from, Queue: w.in.Queue,
		Context:  map[string]string{ContextWorkflowID: w.workflowID(ctx), ContextCallbackID: w.in.ID, ContextCallbackAttempt: strconv.Itoa(n)},
		NotAfter: &notAfter,
	}, w.workflowID(ctx)).Get(ctx, &call)
	if err != nil {
		workflow.GetLogger(ctx).Error("place the callback's call", "attempt", n, "error", err)
		w.unansweredNext()
		return store.AttemptFailed, w.endAttempt(ctx, store.AttemptFailed)
	}
	w.call = call.ID
	w.st.AttemptLog[len(w.st.AttemptLog)-1].CallID = call.ID
	ring := time.Duration(w.settings.DialTimeoutSeconds) * time.Second
	until := after(ctx, ring)
	w.waitFor(ctx, fmt.Sprintf("the customer to answer attempt %d, until %s", n, until))
	if _, err := awaitUntil(ctx, ring, fmt.Sprintf("ring: attempt %d until %s", n, until), func() bool {
		return w.outcome != "" || w.customerGone
	}); err != nil {
		return "", err
	}
	outcome := w.outcome
	switch {
	case outcome == "" && w.customerGone:
		outcome = store.AttemptFailed
	case outcome == "":
		// The platform never said: stop ringing and count it unanswered.
		outcome = store.AttemptNoAnswer
		w.hangUpCustomer(ctx, "ring timeout")
	}
	if outcome == store.AttemptAnswered {
		return outcome, w.recordAttempt(ctx, outcome, nil)
	}
	w.unansweredNext()
	return outcome, w.endAttempt(ctx, outcome)
}

// unansweredNext: agent-first, an attempt that did not connect lets the
// agent redial or close from the moment its outcome is recorded (the API
// shows the attempt's outcome), not only once the step is.
func (w *callbackImpl) unansweredNext() {
	if w.in.Mode == store.CallbackAgentFirst {
		w.at = CallbackStepUnanswered
	}
}

// endAttempt records how an attempt ended; nobody is on the line any more.
func (w *callbackImpl) endAttempt(ctx workflow.Context, outcome string) error {
	now := workflow.Now(ctx)
	w.call = ""
	return w.recordAttempt(ctx, outcome, &now)
}

func (w *callbackImpl) recordAttempt(ctx workflow.Context, outcome string, ended *time.Time) error {
	if len(w.st.AttemptLog) == 0 {
		return nil
	}
	v := &w.st.AttemptLog[len(w.st.AttemptLog)-1]
	v.Outcome = outcome
	at := activities.CallbackAttempt{Callback: w.in.ID, Attempt: v.Attempt, Number: w.in.Number, Outcome: outcome,
		StartedAt: v.At, EndedAt: ended}
	if v.CallID != "" {
		at.CallID = &v.CallID
	}
	if v.AgentID != "" {
		at.AgentID = &v.AgentID
	}
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.RecordCallbackAttempt, at).Get(ctx, nil); err != nil {
		return fmt.Errorf("record attempt %d: %w", v.Attempt, err)
	}
	return nil
}

func (w *callbackImpl) attemptsLeft() int {
	return w.st.MaxAttempts - (w.st.Attempts - w.baseAttempts)
}

func (w *callbackImpl) resetAttempt() {
	w.call, w.outcome, w.customerGone, w.callEnded, w.agentLeg, w.agentAnswered = "", "", false, nil, "", false
	w.offers, w.attemptOver, w.connectedAt, w.retryAt = 0, "", nil, nil
}

// attemptFailed: a customer-first attempt ended without a connection (not
// answered, or nobody took the answered call). It is retried after the
// queue's interval until the attempts run out; then the callback fails.
func (w *callbackImpl) attemptFailed(ctx workflow.Context, outcome string) (bool, error) {
	if w.call != "" {
		w.hangUpCustomer(ctx, outcome)
		if err := w.endAttempt(ctx, outcome); err != nil {
			return false, err
		}
	}
	w.hangUpAgentLeg(ctx)
	if w.attemptsLeft() <= 0 {
		return false, w.closeAs(ctx, store.CallbackFailed, fmt.Sprintf("not reached in %d attempts (last: %s)", w.st.Attempts-w.baseAttempts, outcome))
	}
	next := workflow.Now(ctx).Add(w.settings.RetryInterval())
	w.retryAt = &next
	return true, nil
}

func (w *callbackImpl) hangUpCustomer(ctx workflow.Context, why string) {
	if w.call == "" || w.customerGone {
		return
	}
	key := fmt.Sprintf("%s-hangup", CallbackDialKey(w.in.ID, w.st.Attempts))
	if err := workflow.ExecuteActivity(ctiOptions(ctx), a.HangUp, cti.HangUpRequest{IdempotencyKey: key, CallID: w.call}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("hang up the customer", "why", why, "error", err)
	}
}

func (w *callbackImpl) hangUpAgentLeg(ctx workflow.Context) {
	if w.agentLeg == "" {
		return
	}
	key := fmt.Sprintf("%s-agent-hangup", CallbackDialKey(w.in.ID, w.st.Attempts))
	_ = workflow.ExecuteActivity(ctiOptions(ctx), a.HangUp, cti.HangUpRequest{IdempotencyKey: key, CallID: w.agentLeg}).Get(ctx, nil)
	w.agentLeg = ""
}

// customerFirstAccepted: the agent took the answered call: bridge, open the
// callback voice interaction, and work the call until it ends.
func (w *callbackImpl) customerFirstAccepted(ctx workflow.Context) (bool, error) {
	if w.customerGone {
		// The customer hung up as the agent accepted.
		if err := w.r.finish(ctx, nil, 0); err != nil {
			return false, err
		}
		w.attemptOver = store.AttemptHungUp
		w.st.AgentID = ""
		return w.attemptFailed(ctx, store.AttemptHungUp)
	}
	if err := w.connect(ctx); err != nil {
		return false, err
	}
	return false, w.workTheCall(ctx)
}

// connect bridges the customer's call to the agent's leg and opens the
// callback voice interaction in Work In Progress.
func (w *callbackImpl) connect(ctx workflow.Context) error {
	w.waitFor(ctx, "the platform to offer the call to "+w.st.AgentID)
	if err := workflow.Await(ctx, func() bool { return !w.ringing }); err != nil {
		return err
	}
	if w.agentLeg != "" {
		until := after(ctx, agentAnswerGrace)
		w.waitFor(ctx, w.st.AgentID+"'s phone to answer, until "+until+" (then the call is bridged anyway)")
		if _, err := awaitUntil(ctx, agentAnswerGrace, "agent's phone: "+w.st.AgentID+" until "+until, func() bool { return w.agentAnswered || w.customerGone }); err != nil {
			return err
		}
		if err := workflow.ExecuteActivity(ctiOptions(ctx), a.Bridge, cti.BridgeRequest{
			IdempotencyKey: CallbackDialKey(w.in.ID, w.st.Attempts) + "-bridge", CustomerCallID: w.call, AgentCallID: w.agentLeg,
		}).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("bridge the callback's legs", "error", err)
		}
	}
	now := workflow.Now(ctx)
	w.connectedAt = &now
	agent := w.st.AgentID
	var it activities.Interaction
	err := workflow.ExecuteActivity(storageOptions(ctx), a.OpenCallbackInteraction, activities.OpenCallbackInteractionRequest{
		CallbackID: w.in.ID,
		Interaction: activities.NewInteraction{
			Channel: store.InteractionPhone, Direction: store.DirectionOutbound, State: store.InteractionWorkInProgress,
			WorkflowID: w.workflowID(ctx), ContactPhone: w.in.Number, Queue: w.in.Queue, AgentID: agent, CallID: w.call,
			CreatedBy: "callback", ShortDescription: w.shortDescription(), IVR: w.in.IVR, CaseNumber: w.in.CaseNumber,
			Actor: agent, Reason: "callback " + w.in.ID + " connected",
		},
	}).Get(ctx, &it)
	if err != nil {
		return fmt.Errorf("open the callback's interaction: %w", err)
	}
	w.st.Interaction, w.itVersion = it.Number, it.Version
	if err := w.recordAttempt(ctx, store.AttemptConnected, nil); err != nil {
		return err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAgentID.ValueSet(agent))
	return w.step(ctx, CallbackStepConnected)
}

// noteFromProcess records the contact a case process started on the
// callback's call identified, in line with the callback's own writes to
// that record (the process owns its versions).
func (w *callbackImpl) noteFromProcess(ctx workflow.Context, n activities.CallNote) error {
	if n.ContactID == nil {
		return nil
	}
	if err := workflow.Await(ctx, func() bool { return w.st.Interaction != "" }); err != nil {
		return err
	}
	if n.Interaction != w.st.Interaction {
		return invalidField("interaction", "is not this callback's call")
	}
	_ = w.itMu.Lock(ctx)
	defer w.itMu.Unlock()
	w.itVersion++
	err := workflow.ExecuteActivity(storageOptions(ctx), a.ChangeInteraction, activities.InteractionChange{
		Number: w.st.Interaction, Version: w.itVersion, Actor: n.AgentID, Reason: n.Reason(), ContactID: n.ContactID,
	}).Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("record the contact identified in %s: %w", n.ProcessID, err)
	}
	return nil
}

func (w *callbackImpl) shortDescription() string {
	s := "Callback " + w.in.ID
	if w.in.Reason != "" {
		s += ": " + w.in.Reason
	}
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

// workTheCall waits for the call to end (the customer hangs up, or the agent
// closes the callback), then writes the phone log, closes the interaction,
// and sends the agent to wrap-up.
func (w *callbackImpl) workTheCall(ctx workflow.Context) error {
	w.waitFor(ctx, w.st.AgentID+" to close the callback, or the customer to hang up")
	if err := workflow.Await(ctx, func() bool { return w.customerGone || w.closeReq != nil }); err != nil {
		return err
	}
	agent := w.st.AgentID
	state, reason, disposition := store.CallbackCompleted, "call ended", (*string)(nil)
	if c := w.closeReq; c != nil {
		state, reason = closedState(c.Outcome), "closed by "+c.AgentID+": "+c.Outcome
		if c.Disposition != "" {
			disposition = &c.Disposition
		}
		w.hangUpCustomer(ctx, "closed by the agent")
	}
	w.writePhoneLog(ctx, agent)
	now := workflow.Now(ctx)
	if err := w.recordAttempt(ctx, store.AttemptConnected, &now); err != nil {
		return err
	}
	w.call = ""
	if w.st.Interaction != "" {
		_ = w.itMu.Lock(ctx)
		w.itVersion++
		err := workflow.ExecuteActivity(storageOptions(ctx), a.ChangeInteraction, activities.InteractionChange{
			Number: w.st.Interaction, Version: w.itVersion, State: store.InteractionClosedComplete, Actor: agent,
			Reason: reason, AgentID: &agent, Disposition: disposition,
		}).Get(ctx, nil)
		w.itMu.Unlock()
		if err != nil {
			return fmt.Errorf("close the callback's interaction: %w", err)
		}
	}
	if err := w.r.finish(ctx, disposition, w.queue.WrapUpTimeout()); err != nil {
		return err
	}
	return w.closeAs(ctx, state, reason)
}

func closedState(outcome string) string {
	switch outcome {
	case CloseFailed:
		return store.CallbackFailed
	case CloseCancelled:
		return store.CallbackCancelled
	}
	return store.CallbackCompleted
}

// writePhoneLog records the connected call with the platform's times.
func (w *callbackImpl) writePhoneLog(ctx workflow.Context, agent string) {
	if w.call == "" || w.st.Interaction == "" {
		return
	}
	until := after(ctx, callEndedGrace)
	if w.callEnded == nil {
		w.waitFor(ctx, "the platform's call_ended for the phone log, until "+until)
	}
	if _, err := awaitUntil(ctx, callEndedGrace, "call_ended for the phone log until "+until, func() bool { return w.callEnded != nil }); err != nil {
		return
	}
	from := w.queue.OutboundNumber
	if from == "" {
		from = w.in.CallerID
	}
	l := activities.PhoneLog{CallID: w.call, Interaction: w.st.Interaction, FromNumber: from, ToNumber: w.in.Number,
		StartedAt: w.dialedAt, AnsweredAt: w.connectedAt, EndedAt: workflow.Now(ctx)}
	if agent != "" {
		l.AgentID = &agent
	}
	if e := w.callEnded; e != nil {
		if e.StartedAt != nil {
			l.StartedAt = *e.StartedAt
		}
		if e.AnsweredAt != nil {
			l.AnsweredAt = e.AnsweredAt
		}
		if e.EndedAt != nil {
			l.EndedAt = *e.EndedAt
		}
	}
	if l.EndedAt.Before(l.StartedAt) {
		l.EndedAt = l.StartedAt
	}
	l.DurationSeconds = int(l.EndedAt.Sub(l.StartedAt).Seconds())
	if e := w.callEnded; e != nil && e.DurationSeconds != nil {
		l.DurationSeconds = *e.DurationSeconds
	}
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.RecordPhoneLog, l).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("record phone log", "error", err)
	}
}

// agentFirst: the agent accepted; it previews the context and dials (or the
// queue dials for it), redials an unanswered customer within the attempt
// limit, or closes the callback with an outcome.
func (w *callbackImpl) agentFirst(ctx workflow.Context) error {
	agent := w.st.AgentID
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAgentID.ValueSet(agent))
	if err := w.step(ctx, CallbackStepPreview); err != nil {
		return err
	}
	if w.settings.AutoDial && w.attemptsLeft() > 0 {
		w.dialReq = true // never clear a dial the agent already asked for
	}
	for {
		act := time.Duration(w.settings.AgentActionSeconds) * time.Second
		until := after(ctx, act)
		w.waitFor(ctx, agent+" to dial or close the callback, until "+until)
		acted, err := awaitUntil(ctx, act, "agent action: "+agent+" dials or closes until "+until,
			func() bool { return w.dialReq || w.closeReq != nil })
		if err != nil {
			return err
		}
		if !acted {
			w.closeReq = &CallbackCloseRequest{AgentID: agent, Outcome: CloseFailed}
		}
		if c := w.closeReq; c != nil {
			var disposition *string
			if c.Disposition != "" {
				disposition = &c.Disposition
			}
			if err := w.r.finish(ctx, disposition, w.queue.WrapUpTimeout()); err != nil {
				return err
			}
			reason := "closed by " + c.AgentID + ": " + c.Outcome
			if !acted {
				reason = "the agent did not dial or close it in time"
			}
			return w.closeAs(ctx, closedState(c.Outcome), reason)
		}
		w.dialReq = false
		outcome, err := w.dial(ctx, agent)
		if err != nil {
			return err
		}
		if outcome == store.AttemptAnswered {
			// Ring the agent's phone with the answered call, then bridge.
			var leg cti.Call
			if err := workflow.ExecuteActivity(ctiOptions(ctx), a.OfferToAgent, cti.OfferRequest{
				IdempotencyKey: CallbackDialKey(w.in.ID, w.st.Attempts) + "-agent", CallID: w.call, AgentID: agent,
				Channel: cti.ChannelVoice, Queue: w.in.Queue,
				Context: map[string]string{ContextWorkflowID: w.workflowID(ctx), ContextCallbackID: w.in.ID},
			}, w.workflowID(ctx)).Get(ctx, &leg); err != nil {
				workflow.GetLogger(ctx).Error("connect the agent's phone", "error", err)
			}
			w.agentLeg = leg.ID
			if err := w.connect(ctx); err != nil {
				return err
			}
			return w.workTheCall(ctx)
		}
		if err := w.step(ctx, CallbackStepUnanswered); err != nil {
			return err
		}
	}
}

// closeAs ends the callback in a final state.
func (w *callbackImpl) closeAs(ctx workflow.Context, state, outcome string) error {
	w.st.Outcome, w.st.NextAttemptAt, w.st.OfferedTo = outcome, nil, ""
	w.waits = ""
	if err := w.step(ctx, state); err != nil {
		return err
	}
	if w.follows(ctx, changeOutcomeSearchAttribute) {
		_ = workflow.UpsertTypedSearchAttributes(ctx, SearchOutcome.ValueSet(state))
	}
	w.done = true
	return nil
}

// step moves the callback to a step and writes it with the next version.
// Validators judge by the step from its start (w.at), so a request sent the
// moment the record shows it is taken; the state query shows the step once
// it is recorded, so a reader that sees it finds the record in step.
func (w *callbackImpl) step(ctx workflow.Context, step string) error {
	c := w.change(step)
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.ChangeCallback, c).Get(ctx, nil); err != nil {
		return fmt.Errorf("record callback %s %s: %w", w.in.ID, step, err)
	}
	w.show(ctx, step)
	return nil
}

// change begins a step: the record change with the next version.
func (w *callbackImpl) change(step string) activities.CallbackChange {
	w.at = step
	w.version++
	c := activities.CallbackChange{ID: w.in.ID, Version: w.version, State: CallbackStoredState(step), Outcome: w.st.Outcome,
		Attempts: w.st.Attempts, MaxAttempts: w.st.MaxAttempts, NextAttemptAt: w.st.NextAttemptAt, AgentID: w.st.AgentID,
		ScheduledAt: w.st.ScheduledAt, TimeZone: w.st.TimeZone, ExpiresAt: w.st.ExpiresAt}
	if c.AgentID == "" {
		c.AgentID = w.st.OfferedTo
	}
	return c
}

// asRequested says whether the record already holds the scheduled step
// due then, as the API wrote it (version 1: scheduled, next attempt at the
// requested time), so that a process that follows changeCallbackQuickStart
// need not write it again. Only the input and the process's own state
// decide it.
func (w *callbackImpl) asRequested(due time.Time) bool {
	in, st := w.in, w.st
	return w.quick && w.version == 1 && in.ScheduledAt != nil && due.Equal(*in.ScheduledAt) &&
		st.ScheduledAt != nil && st.ScheduledAt.Equal(*in.ScheduledAt) && st.ExpiresAt.Equal(in.ExpiresAt) &&
		st.TimeZone == in.TimeZone && st.MaxAttempts == in.MaxAttempts && st.Attempts == 0 &&
		st.AgentID == "" && st.OfferedTo == "" && st.Outcome == ""
}

// CallbackStartAttributes are the search attributes a callback's process
// starts with: what its record says at version 1 (the API's start), so a
// process that follows changeCallbackQuickStart need not upsert them.
func CallbackStartAttributes(in CallbackInput) temporal.SearchAttributes {
	attrs := []temporal.SearchAttributeUpdate{SearchCallbackMode.ValueSet(in.Mode), SearchQueue.ValueSet(in.Queue),
		SearchProcessState.ValueSet(CallbackStepScheduled)}
	if in.ScheduledAt != nil {
		attrs = append(attrs, SearchNextAttemptAt.ValueSet(*in.ScheduledAt))
	}
	return temporal.NewSearchAttributes(attrs...)
}

// PriorityLater is the task queue priority (Temporal's PriorityKey: 1
// goes first, 3 is the default) of a callback scheduled for later. Its
// first workflow task only sets its timer, and a batch of thousands of
// them would otherwise queue those tasks ahead of the calls, chats and
// agents that arrive meanwhile, each of which a person waits on. Its
// workflow tasks keep this priority when it falls due (Temporal 1.29
// cannot change it), so they wait behind live work only while live work
// is backlogged, and behind a batch of its own kind in arrival order, as
// before; its activities run at the default (activityPriority).
const PriorityLater = 4

// CallbackStartPriority is the priority a callback's process starts with
// at now: PriorityLater when it is scheduled ahead, the default (live
// work) when it is due.
func CallbackStartPriority(in CallbackInput, now time.Time) temporal.Priority {
	if in.ScheduledAt != nil && in.ScheduledAt.After(now) {
		return temporal.Priority{PriorityKey: PriorityLater}
	}
	return temporal.Priority{}
}

// upsert updates search attributes; a process that follows
// changeCallbackQuickStart leaves out those that already hold the value
// (from its start, or an earlier update), so the history gets no event for
// them.
func (w *callbackImpl) upsert(ctx workflow.Context, attrs ...temporal.SearchAttributeUpdate) {
	if w.quick {
		attrs = unchanged(workflow.GetTypedSearchAttributes(ctx), attrs)
		if len(attrs) == 0 {
			return
		}
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, attrs...)
}

// unchanged keeps the updates that would change cur.
func unchanged(cur temporal.SearchAttributes, attrs []temporal.SearchAttributeUpdate) []temporal.SearchAttributeUpdate {
	var out []temporal.SearchAttributeUpdate
	before := cur.GetUntypedValues()
	for _, u := range attrs {
		after := temporal.NewSearchAttributes(cur.Copy(), u).GetUntypedValues()
		if !sameValues(before, after) {
			out = append(out, u)
		}
	}
	return out
}

// sameValues compares search attribute values, times by the instant.
func sameValues(a, b map[temporal.SearchAttributeKey]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return false
		}
		ta, aTime := va.(time.Time)
		tb, bTime := vb.(time.Time)
		switch {
		case aTime && bTime:
			if !ta.Equal(tb) {
				return false
			}
		case !reflect.DeepEqual(va, vb):
			return false
		}
	}
	return true
}

// show takes a recorded step into the state query and the Temporal UI.
func (w *callbackImpl) show(ctx workflow.Context, step string) {
	w.st.Step, w.st.State = step, CallbackStoredState(step)
	w.st.AttemptsLeft = max(w.attemptsLeft(), 0)
	w.st.Next, w.st.Note = w.nextSteps(step)
	attrs := []temporal.SearchAttributeUpdate{SearchProcessState.ValueSet(step)}
	if w.st.NextAttemptAt != nil {
		attrs = append(attrs, SearchNextAttemptAt.ValueSet(*w.st.NextAttemptAt))
	} else {
		attrs = append(attrs, SearchNextAttemptAt.ValueUnset())
	}
	w.upsert(ctx, attrs...)
	workflow.SetCurrentDetails(ctx, w.summary())
}

// nextSteps lists the steps the callback takes at step, for the desk.
func (w *callbackImpl) nextSteps(step string) ([]string, string) {
	switch step {
	case CallbackStepScheduled, CallbackStepQueued:
		return []string{"cancel", "reschedule"}, ""
	case CallbackStepOffered:
		return []string{"accept", "reject"}, ""
	case CallbackStepConnected:
		return []string{"close"}, ""
	case CallbackStepPreview, CallbackStepUnanswered:
		if w.in.Mode != store.CallbackAgentFirst {
			return nil, ""
		}
		if w.attemptsLeft() <= 0 {
			return []string{"close"}, fmt.Sprintf("no attempts left (%d made): close the callback with its outcome", w.st.Attempts-w.baseAttempts)
		}
		return []string{"dial", "close"}, ""
	}
	return nil, ""
}

func (w *callbackImpl) summary() string {
	s := fmt.Sprintf("**%s** %s callback — %s · queue %s · attempts %d/%d", w.in.ID, w.in.Mode, w.st.Step, w.in.Queue,
		w.st.Attempts-w.baseAttempts, w.st.MaxAttempts)
	if w.st.NextAttemptAt != nil {
		s += " · next " + w.st.NextAttemptAt.UTC().Format(time.RFC3339)
	}
	if w.st.AgentID != "" {
		s += " · agent " + w.st.AgentID
	}
	return withDetails(s, w.waits)
}

// waitFor sets what the callback waits for and shows it in the Temporal UI.
func (w *callbackImpl) waitFor(ctx workflow.Context, what string) {
	w.waits = what
	workflow.SetCurrentDetails(ctx, w.summary())
}

// onEvent takes a platform event about the current attempt's call or the
// agent's leg; events about earlier attempts' calls are ignored.
func (w *callbackImpl) onEvent(ev cti.Event) {
	if w.seen[ev.ID] {
		return
	}
	w.seen[ev.ID] = true
	// The customer's call of this attempt: known by its id, or, before the
	// dial activity has answered (a retried dial after a worker died), by
	// the attempt echoed in the call's context.
	customer := ev.CallID != "" && (ev.CallID == w.call ||
		(ev.Context[ContextCallbackAttempt] != "" && ev.Context[ContextCallbackAttempt] == strconv.Itoa(w.st.Attempts)))
	switch ev.Type {
	case cti.EventCallAnswered, cti.EventCallNoAnswer, cti.EventCallBusy, cti.EventCallVoicemail, cti.EventCallFailed:
		if customer && w.outcome == "" {
			w.outcome = map[cti.EventType]string{
				cti.EventCallAnswered: store.AttemptAnswered, cti.EventCallNoAnswer: store.AttemptNoAnswer,
				cti.EventCallBusy: store.AttemptBusy, cti.EventCallVoicemail: store.AttemptVoicemail,
				cti.EventCallFailed: store.AttemptFailed,
			}[ev.Type]
		}
	case cti.EventCallerHungUp:
		if customer {
			w.customerGone = true
		}
	case cti.EventCallEnded:
		if customer {
			e := ev
			w.callEnded, w.customerGone = &e, true
		}
	case cti.EventAgentLegAnswered:
		if ev.CallID != "" && ev.CallID != w.call && (w.agentLeg == "" || ev.CallID == w.agentLeg) {
			w.agentLeg, w.agentAnswered = ev.CallID, true
		}
	}
}

// onInboundCall: the callback's number called in. The queue says whether
// that cancels the callback (when it is still only waiting) or links the
// call to it.
func (w *callbackImpl) onInboundCall(ctx workflow.Context, s InboundCallSignal) {
	if w.done || slices.Contains(w.st.Linked, s.Interaction) {
		return
	}
	w.st.Linked = append(w.st.Linked, s.Interaction)
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.LinkCallbackInteraction, w.in.ID, s.Interaction).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("link the inbound call", "interaction", s.Interaction, "error", err)
	}
	if s.Action == OnInboundCancel && w.cancelReq == nil && w.cancellable() == nil {
		w.cancelReq = &CallbackCancelRequest{By: "customer", Reason: "the customer called in (" + s.Interaction + ")"}
	}
}

// ---- updates ----

func (w *callbackImpl) validateDecision(r DecisionRequest) error {
	if w.dialFirst || (w.at == CallbackStepDialing && !w.r.offerOpen()) {
		return wrongStep("the customer is being dialled; the call is offered once they answer")
	}
	return w.r.canDecideIfRouting(r.AgentID)
}

// accept answers once the agent has the callback: connected (customer-first)
// or in preview (agent-first).
func (w *callbackImpl) accept(ctx workflow.Context, r DecisionRequest) (CallbackState, error) {
	if err := w.r.decide(ctx, r.AgentID, true, r.Reason); err != nil {
		return w.st, err
	}
	err := workflow.Await(ctx, func() bool { return w.st.Step != CallbackStepOffered })
	return w.st, err
}

func (w *callbackImpl) reject(ctx workflow.Context, r DecisionRequest) (CallbackState, error) {
	if err := w.r.decide(ctx, r.AgentID, false, r.Reason); err != nil {
		return w.st, err
	}
	err := workflow.Await(ctx, func() bool { return w.st.Step != CallbackStepOffered })
	return w.st, err
}

func (w *callbackImpl) validateDial(r CallbackDialRequest) error {
	switch {
	case w.in.Mode != store.CallbackAgentFirst:
		return wrongStep("a customer-first callback is dialled by the platform")
	case w.at != CallbackStepPreview && w.at != CallbackStepUnanswered:
		return wrongStep("the callback cannot be dialled now (it is %s)", w.at)
	case r.AgentID != w.st.AgentID:
		return wrongStep("only the agent holding the callback can dial it")
	case w.dialReq || w.closeReq != nil:
		return wrongStep("the callback is already being dialled or closed")
	case w.attemptsLeft() <= 0:
		return wrongStep("no attempts left (%d made); close the callback", w.st.Attempts-w.baseAttempts)
	}
	return nil
}

// dialUpdate answers once the call is placed (or failed to be); the outcome
// follows in the state.
func (w *callbackImpl) dialUpdate(ctx workflow.Context, r CallbackDialRequest) (CallbackState, error) {
	w.dialReq = true
	attempts := w.st.Attempts
	err := workflow.Await(ctx, func() bool {
		return w.done || (w.st.Attempts > attempts && (w.call != "" || w.st.Step != CallbackStepDialing))
	})
	return w.st, err
}

func (w *callbackImpl) validateClose(r CallbackCloseRequest) error {
	switch {
	case r.Outcome != CloseCompleted && r.Outcome != CloseFailed && r.Outcome != CloseCancelled:
		return invalidField("outcome", "must be one of: completed, failed, cancelled")
	case r.AgentID == "" || r.AgentID != w.st.AgentID:
		return wrongStep("only the agent holding the callback can close it")
	case w.closeReq != nil || w.done:
		return wrongStep("the callback is already closing")
	case r.Disposition == "" && w.queue.DispositionRequired:
		return invalidField("disposition", "is required: queue "+w.queue.Name+" takes a disposition code")
	case w.at == CallbackStepConnected:
		return nil
	case w.in.Mode == store.CallbackAgentFirst && (w.at == CallbackStepPreview || w.at == CallbackStepUnanswered) && !w.dialReq:
		return nil
	}
	return wrongStep("the callback cannot be closed now (it is %s)", w.at)
}

func (w *callbackImpl) closeUpdate(ctx workflow.Context, r CallbackCloseRequest) (CallbackState, error) {
	w.closeReq = &r
	err := workflow.Await(ctx, func() bool { return w.done })
	return w.st, err
}

// cancellable says whether the callback may still be cancelled or
// rescheduled: only while nobody works it (waiting, queued, or offered to an
// agent-first agent who has not answered).
func (w *callbackImpl) cancellable() error {
	switch {
	case w.done:
		return wrongStep("the callback is closed (%s)", w.st.State)
	case w.cancelReq != nil:
		return wrongStep("the callback is already being cancelled")
	case w.at == CallbackStepScheduled || w.at == CallbackStepQueued:
		return nil
	case w.at == CallbackStepOffered && w.in.Mode == store.CallbackAgentFirst && w.call == "":
		return nil
	}
	return wrongStep("the callback is being worked (%s); it can no longer be changed", w.at)
}

func (w *callbackImpl) validateCancel(CallbackCancelRequest) error { return w.cancellable() }

func (w *callbackImpl) cancelUpdate(ctx workflow.Context, r CallbackCancelRequest) (CallbackState, error) {
	w.cancelReq = &r
	err := workflow.Await(ctx, func() bool { return w.done })
	return w.st, err
}

func (w *callbackImpl) validateReschedule(ctx workflow.Context, r RescheduleRequest) error {
	if err := w.cancellable(); err != nil {
		return err
	}
	if w.rescheduled {
		return wrongStep("the callback is already being rescheduled")
	}
	_, _, err := w.resolveReschedule(ctx, r)
	return err
}

// resolveReschedule validates a reschedule as a new request and returns
// its time (nil for as soon as possible) and expiry.
func (w *callbackImpl) resolveReschedule(ctx workflow.Context, r RescheduleRequest) (*time.Time, time.Time, error) {
	now := workflow.Now(ctx)
	var at *time.Time
	if r.ScheduledAt != "" {
		t, err := ResolveSchedule(r.ScheduledAt, r.TimeZone)
		if err != nil {
			return nil, time.Time{}, err
		}
		if err := CheckSchedule(now, t, w.in.Horizon); err != nil {
			return nil, time.Time{}, err
		}
		at = &t
	} else if r.TimeZone != "" {
		if _, err := ResolveSchedule(now.Format(time.RFC3339), r.TimeZone); err != nil {
			return nil, time.Time{}, err
		}
	}
	base := now
	if at != nil {
		base = *at
	}
	expires := w.settings.ExpiresFrom(base)
	if r.ExpiresAt != nil {
		if !r.ExpiresAt.After(base) {
			return nil, time.Time{}, invalidField("expires_at", "must be after the callback's time")
		}
		expires = *r.ExpiresAt
	}
	return at, expires, nil
}

// rescheduleUpdate moves the callback to its new time: it leaves the queue
// if it was in it, gets a fresh set of attempts, and answers once the new
// time is recorded.
func (w *callbackImpl) rescheduleUpdate(ctx workflow.Context, r RescheduleRequest) (CallbackState, error) {
	at, expires, err := w.resolveReschedule(ctx, r)
	if err != nil {
		return w.st, err
	}
	w.st.ScheduledAt, w.st.ExpiresAt = at, expires
	if r.TimeZone != "" {
		w.st.TimeZone = r.TimeZone
	}
	w.baseAttempts, w.retryAt = w.st.Attempts, nil
	w.expired = false
	w.expiryGen++
	w.reschedGen++
	w.rescheduled = true
	gen := w.reschedGen
	if !w.watching && !w.done {
		w.watchExpiry(ctx)
	}
	err = workflow.Await(ctx, func() bool { return w.reschedAck >= gen || w.done })
	return w.st, err
}
