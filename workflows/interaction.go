package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/store"
)

// How long an interaction waits for the platform's call_ended after the
// call was hung up, to write the phone log from the platform's own times.
const callEndedGrace = 30 * time.Second

// How long an accepted call waits for the agent's phone to answer before
// bridging anyway.
const agentAnswerGrace = 10 * time.Second

// Interaction is the life of one contact — a call, chat, email, walk-in or
// self-service request — as a record (seeds 000, 001, 003): created New,
// offered to an agent (Pending Acceptance), accepted (Work In Progress),
// transferred, escalated into an incident or request, and Closed Complete,
// with its phone log, work notes, transcript and history.
func Interaction(ctx workflow.Context, in InteractionInput) (InteractionState, error) {
	w := &interactionImpl{in: in, seen: map[string]bool{}, escalated: map[string]EscalationRef{}, escalating: map[string]bool{}}
	w.st = InteractionState{Number: in.Number, Channel: in.Channel, State: StateNew, Queue: in.Queue, AgentID: in.AgentID}
	steps := workflow.GetVersion(ctx, changeMergedSteps, workflow.DefaultVersion, mergedStepsPresentAtOpen)
	w.merged, w.localPlatform, w.localNotes = steps >= mergedSteps, steps >= mergedStepsLocalPlatform, steps >= mergedStepsLocalNotes
	w.offerAtOpen, w.localPresent = steps >= mergedStepsOfferAtOpen, steps >= mergedStepsLocalPresent
	w.presentAtOpen = steps >= mergedStepsPresentAtOpen
	if err := w.setup(ctx); err != nil {
		return w.st, err
	}
	return w.st, w.run(ctx)
}

type interactionImpl struct {
	in     InteractionInput
	st     InteractionState
	merged bool // the process follows changeMergedSteps (decided first thing)
	// localPlatform: commands to the platform about the live contact run
	// as local activities (changeMergedSteps at mergedStepsLocalPlatform).
	localPlatform bool
	// localNotes: a work note is written in the workflow task that takes
	// in its request (changeMergedSteps at mergedStepsLocalNotes).
	localNotes bool
	// offerAtOpen: an offer the open step books for this process comes
	// back in its answer (changeMergedSteps at mergedStepsOfferAtOpen).
	offerAtOpen bool
	// localPresent: the present step runs in the workflow task that takes
	// the offer in (changeMergedSteps at mergedStepsLocalPresent).
	localPresent bool
	// presentAtOpen: the open step presents the offer it books for this
	// process (changeMergedSteps at mergedStepsPresentAtOpen).
	presentAtOpen bool
	// openPresented is that offer, until the process takes it in.
	openPresented *activities.OpenPresented
	version       int
	recMu         workflow.Mutex // one record write at a time, in version order
	queue         activities.Queue
	r             *router
	items         int // work items routed so far (one more per transfer)

	// What the platform told us.
	opened         bool            // the record exists
	seen           map[string]bool // CTI event ids already handled
	callerGone     bool            // caller hung up, chat ended by the customer
	ivrDone        bool            // incoming_call came: the caller has left the IVR
	replacedBy     string          // the callback that took the waiting call's place in the queue
	callEnded      *cti.Event      // the customer leg's call_ended
	outcome        string          // outbound: answered, no_answer, busy, voicemail, failed
	agentLeg       string
	agentAnswered  bool
	rangAtPresent  string // the offer whose present step rang the agent
	ringing        bool   // the agent's phone or chat is being offered the contact
	transcript     int    // chat messages kept so far
	initiatedAt    time.Time
	acceptedAt     *time.Time
	openQueue      *activities.Queue  // the queue's settings, read as the record opened
	queueRead      bool               // open read them (nil openQueue: not configured)
	enqueuedAtOpen bool               // open queued the first work item
	openOffers     []activities.Offer // offers open booked for this process (offerAtOpen)
	closing        string             // the outcome a merged process shows with its closed state

	// What the agent asked for.
	end        *EndRequest
	transfer   *TransferRequest
	escalated  map[string]EscalationRef // by request id
	escalating map[string]bool          // request ids being opened now

	waits string // what the process waits for, as the Temporal UI shows it
}

// follows tells whether the process follows an interaction change made
// before changeMergedSteps: a process that follows changeMergedSteps
// follows them all, without a marker (and a search attribute update) for
// each; an older one asks workflow.GetVersion where it always did.
func (w *interactionImpl) follows(ctx workflow.Context, change string) bool {
	return w.merged || workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) >= 1
}

// platform sends a command about the live call or chat to the telephony
// platform: ring the agent, bridge, hang up, end the chat. Each carries an
// idempotency key made only of what it is for (the offer, the
// interaction's number and work item), so the platform acts once and
// answers a repeat with its first answer. A process that follows
// mergedStepsLocalPlatform therefore runs these as local activities,
// inside the workflow task that decides them: a worker that loses that
// task sends the same command again, to the same answer. A transfer and a
// chat message stay activities: their keys count requests, and a retried
// task may take two requests in the other order.
func (w *interactionImpl) platform(ctx workflow.Context, activity any, args ...any) workflow.Future {
	if w.localPlatform {
		return workflow.ExecuteLocalActivity(localCTIOptions(ctx), activity, args...)
	}
	return workflow.ExecuteActivity(ctiOptions(ctx), activity, args...)
}

func (w *interactionImpl) workflowID(ctx workflow.Context) string {
	return workflow.GetInfo(ctx).WorkflowExecution.ID
}

func (w *interactionImpl) setup(ctx workflow.Context) error {
	w.recMu = workflow.NewMutex(ctx)
	if err := queryState(ctx, "interaction's record state, assignment and outcome", func() (InteractionState, error) { return w.st, nil }); err != nil {
		return err
	}
	err := registerUpdates(ctx, []update{
		{UpdateAccept, w.accept, w.validateDecision,
			"The offered agent (or a supervisor) accepts: Work In Progress, the customer is put through"},
		{UpdateReject, w.reject, w.validateDecision,
			"The offered agent rejects: the item goes to the next agent, or closes if the queue says so"},
		{UpdateTransfer, w.requestTransfer, w.validateTransfer, "The agent transfers the contact to another agent or queue"},
		{UpdateAddNote, w.addNote, func(r NoteRequest) error {
			if r.Body == "" {
				return invalidField("body", "is required")
			}
			return nil
		}, "The agent adds a work note to the record"},
		{UpdateEnd, w.requestEnd, w.validateEnd, "The agent ends the call or chat (with a disposition code); the agent goes to wrap-up"},
		{UpdateEscalate, w.escalate, w.validateEscalate, "The agent opens an incident or a request from the contact"},
		{UpdateClose, w.requestClose, w.validateClose, "The agent closes an email, walk-in or self-service record"},
		{UpdateChooseChatContact, w.chooseContact, w.validateChooseContact, "The agent picks the chat's contact among the candidates"},
		{UpdateSendMessage, w.sendMessage, w.validateSendMessage, "The agent sends a chat message to the customer"},
		{UpdateNoteFromProcess, w.noteFromProcess, func(n activities.CallNote) error {
			if n.ContactID == nil && n.CaseNumber == "" {
				return invalidField("contact_id", "or case_number is required")
			}
			return nil
		}, "A case process started from the call notes the contact it identified or the case it created"},
		{UpdateOpened, w.waitOpened, nil, "The API: answers once the record is written (a request that creates the interaction waits for it)"},
	})
	if err != nil {
		return err
	}
	events := signal(ctx, SignalCTIEvent, "The API: an event of the telephony or chat platform about this call or chat")
	workflow.Go(ctx, func(ctx workflow.Context) {
		// Events may write to the record (IVR, transcript): only once it exists.
		if err := workflow.Await(ctx, func() bool { return w.opened }); err != nil {
			return
		}
		for {
			var ev cti.Event
			events.Receive(ctx, &ev)
			w.onEvent(ctx, ev)
		}
	})
	// A callback took the waiting call's place in the queue: the call ends
	// here as abandoned, replaced by the callback.
	replaced := signal(ctx, SignalReplacedByCallback, "A callback took the waiting call's place in the queue: the call ends as abandoned")
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var r ReplacedByCallback
			replaced.Receive(ctx, &r)
			// The callback holds the call's place whatever order this signal
			// and the caller's hang-up arrive in; only a closed call keeps its end.
			if w.st.State == StateNew {
				w.replacedBy, w.callerGone = r.CallbackID, true
			}
		}
	})
	return nil
}

// run follows the channel's process from the record's creation to its close.
func (w *interactionImpl) run(ctx workflow.Context) error {
	w.initiatedAt = workflow.Now(ctx)
	if err := w.open(ctx); err != nil {
		return err
	}
	var err error
	switch {
	case w.in.Channel == ChannelPhone && w.in.Direction == "outbound":
		err = w.runOutbound(ctx)
	case w.routed():
		err = w.runRouted(ctx)
	default:
		err = w.runManual(ctx)
	}
	if err != nil {
		return err
	}
	w.waitFor(ctx, "")
	if w.st.Outcome != "" && !w.merged && workflow.GetVersion(ctx, changeOutcomeSearchAttribute, workflow.DefaultVersion, 1) >= 1 {
		// (A merged process shows the outcome with the closed state.)
		_ = workflow.UpsertTypedSearchAttributes(ctx, SearchOutcome.ValueSet(w.st.Outcome))
	}
	// Let update handlers still running (a late note) finish first.
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// workItem is the process's nth work item (one more per transfer), for
// target or any agent of its queue.
func (w *interactionImpl) workItem(ctx workflow.Context, n int, target string) activities.NewWorkItem {
	channel := store.ChannelVoice
	if w.in.Channel == ChannelChat {
		channel = store.ChannelChat
	}
	item := activities.NewWorkItem{ID: fmt.Sprintf("%s-%d", w.in.Number, n), Queue: w.st.Queue, Channel: channel,
		Kind: "interaction", WorkflowID: w.workflowID(ctx), TargetAgent: target}
	if n == 1 {
		item.Position = w.in.QueuePosition // its place in line since it arrived
	}
	return item
}

// routed says whether the contact goes through a queue to an agent: an
// inbound call or a chat.
func (w *interactionImpl) routed() bool {
	return (w.in.Channel == ChannelPhone && w.in.Direction != "outbound") || w.in.Channel == ChannelChat
}

// open creates the record: New for contacts that arrive, Work In Progress
// for what an agent starts itself (click-to-call, walk-in, email).
func (w *interactionImpl) open(ctx workflow.Context) error {
	state := StateNew
	if w.in.AgentID != "" {
		state = StateWorkInProgress
	}
	req := activities.OpenInteractionRequest{
		Interaction: activities.NewInteraction{
			Number: w.in.Number, Channel: w.in.Channel, Direction: w.in.Direction, State: state,
			WorkflowID: w.workflowID(ctx), ContactPhone: w.in.ContactPhone, ContactEmail: w.in.ContactEmail,
			Queue: w.in.Queue, AgentID: w.in.AgentID, CallID: w.in.CallID, ChatID: w.in.ChatID, CreatedBy: w.in.CreatedBy,
			ShortDescription: w.in.ShortDescription, Description: w.in.Description, IVR: w.in.IVR, CaseNumber: w.in.CaseNumber,
			Actor: w.in.CreatedBy, Reason: "opened",
		},
		CallerNumber: w.in.CallerNumber, CustomerEmail: w.in.CustomerEmail, DefaultRegion: w.in.DefaultRegion,
		Legs: []string{w.in.CallID, w.in.ChatID},
	}
	if w.in.ContactID != "" {
		if id, err := uuid.Parse(w.in.ContactID); err == nil {
			req.Interaction.ContactID = &id
		}
	}
	var opened activities.OpenedInteraction
	if w.merged {
		// The record is created once by its number, whatever runs it again,
		// and the first step of the process: nothing the process hears of
		// can come before it, so a worker that loses this workflow task runs
		// it again to the same answer. A routed contact reads its queue's
		// settings with it.
		// Nothing comes between the record and the queue for a contact that
		// does not wait for an IVR: its queue's settings are read and its
		// first work item queued in the same step, from the process's input
		// alone. One in an IVR reads them when it leaves the IVR.
		if req.ReadQueue = w.routed() && w.in.Queue != "" && !w.in.InIVR; req.ReadQueue {
			first := w.workItem(ctx, 1, "")
			req.Enqueue = &first
			req.KeepOwnOffers = w.offerAtOpen
			if w.presentAtOpen {
				req.PresentOwn = w.presentOwn(ctx)
			}
		}
		if err := workflow.ExecuteLocalActivity(localStorageOptions(ctx), a.OpenInteraction, req).Get(ctx, &opened); err != nil {
			return fmt.Errorf("open interaction %s: %w", w.in.Number, err)
		}
		w.openQueue, w.queueRead, w.enqueuedAtOpen, w.openOffers = opened.Queue, req.ReadQueue, opened.Enqueued, opened.Offers
	} else if err := workflow.ExecuteActivity(storageOptions(ctx), a.OpenInteraction, req).Get(ctx, &opened); err != nil {
		return fmt.Errorf("open interaction %s: %w", w.in.Number, err)
	}
	w.version, w.opened = 1, true
	if w.openPresented = opened.Presented; w.openPresented != nil {
		w.version = req.PresentOwn.Record.Version // the record shows the offer
	}
	w.st.State = state
	if opened.Interaction.ContactID != nil {
		w.st.ContactID = opened.Interaction.ContactID.String()
	}
	for _, c := range opened.Candidates {
		w.st.ContactCandidates = append(w.st.ContactCandidates, ContactChoice{ContactID: c.ID.String(), Name: c.Name})
	}
	attrs := []temporal.SearchAttributeUpdate{SearchChannel.ValueSet(w.in.Channel), SearchProcessState.ValueSet(state)}
	if w.in.Queue != "" {
		attrs = append(attrs, SearchQueue.ValueSet(w.in.Queue))
	}
	if w.in.AgentID != "" {
		attrs = append(attrs, SearchAgentID.ValueSet(w.in.AgentID))
	}
	if w.in.CaseNumber != "" {
		attrs = append(attrs, SearchCaseNumber.ValueSet(w.in.CaseNumber))
	}
	if w.st.ContactID != "" {
		attrs = append(attrs, SearchContactID.ValueSet(w.st.ContactID))
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, attrs...)
	w.waitFor(ctx, "")
	return nil
}

// runRouted is an inbound call or chat: through the queue to an agent, then
// worked until the call or chat ends (seeds 000 and 003).
func (w *interactionImpl) runRouted(ctx workflow.Context) error {
	if w.in.InIVR {
		// Seed 000: the record is created as the caller reaches the IVR and
		// takes the selections; the call waits for an agent once the IVR is
		// done, so no agent sees it before the selections are in.
		w.waitFor(ctx, "the caller to finish the IVR")
		if err := workflow.Await(ctx, func() bool { return w.ivrDone || w.callerGone }); err != nil {
			return err
		}
		if !w.ivrDone {
			if w.in.Channel == ChannelPhone {
				w.writePhoneLog(ctx, "")
			}
			return w.close(ctx, "", "caller hung up in the IVR", "abandoned")
		}
	}
	switch {
	case w.queueRead && w.openQueue != nil:
		w.queue = *w.openQueue
	case w.queueRead:
		return w.close(ctx, "system", "queue "+w.in.Queue+" is not configured", "unroutable")
	default:
		if err := workflow.ExecuteActivity(storageOptions(ctx), a.QueueSettings, w.in.Queue).Get(ctx, &w.queue); err != nil {
			return w.close(ctx, "system", "queue "+w.in.Queue+" is not configured", "unroutable")
		}
	}
	target := ""
	for {
		w.items++
		item := w.workItem(ctx, w.items, target)
		if w.r == nil {
			w.r = newRouter(ctx, item, w.queue)
			w.r.implied = w.merged
			w.r.queued = w.enqueuedAtOpen // queued as the record opened
			// An agent was waiting: the offer the open step booked for this
			// process is taken in now, in the same workflow task (presented
			// now, or from mergedStepsPresentAtOpen already shown by the
			// open step).
			for _, o := range w.openOffers {
				w.r.receive(OfferSignal{OfferID: o.ID, ItemID: o.ItemID, AgentID: o.AgentID, Queue: o.Queue, Channel: o.Channel})
			}
			w.openOffers = nil
		} else {
			w.r.reset(item, w.queue)
		}
		hooks := routeHooks{stopped: func() bool { return w.callerGone },
			present: w.present, presented: w.ring, withdrawn: w.withdrawn, offered: w.offered, waiting: w.waitFor}
		if w.merged {
			hooks.accepting = w.accepting
		}
		outcome, err := w.r.waitForAgent(ctx, hooks)
		if err != nil {
			return err
		}
		switch outcome {
		case routeStopped:
			return w.closeAbandoned(ctx)
		case routeClosed:
			ends := workflow.GetVersion(ctx, changeClosingEndsContact, workflow.DefaultVersion, 1) >= 1
			if w.r.closedBy == outcomeTimedOut {
				reason := "not picked up by " + w.st.AgentID + " in " + w.queue.AcceptanceTimeout().String()
				if ends {
					w.endUnanswered(ctx, reason)
				}
				return w.close(ctx, "", reason, "not_picked_up")
			}
			if ends {
				reason := "rejected by " + w.st.AgentID
				w.endUnanswered(ctx, reason)
				return w.close(ctx, w.st.AgentID, reason, "rejected")
			}
			return w.close(ctx, "", "rejected", "rejected")
		}

		// Accepted: Work In Progress (recorded with the accept in a merged
		// process), and the customer is put through.
		if !w.merged {
			now := workflow.Now(ctx)
			w.acceptedAt, w.st.OfferedTo = &now, ""
			if err := w.change(ctx, StateWorkInProgress, w.r.agentID, w.r.agentID, "accepted"); err != nil {
				return err
			}
		}
		w.waitFor(ctx, "the platform to offer the contact to "+w.r.agentID)
		if err := workflow.Await(ctx, func() bool { return !w.ringing }); err != nil {
			return err
		}
		if w.in.Channel == ChannelPhone && w.agentLeg != "" {
			// The agent's phone answers as the agent accepts; bridge once it has.
			until := after(ctx, agentAnswerGrace)
			w.waitFor(ctx, w.r.agentID+"'s phone to answer, until "+until+" (then the call is bridged anyway)")
			if _, err := awaitUntil(ctx, agentAnswerGrace, "agent's phone: "+w.r.agentID+" until "+until, func() bool { return w.agentAnswered || w.callerGone }); err != nil {
				return err
			}
			if err := w.platform(ctx, a.Bridge, cti.BridgeRequest{
				IdempotencyKey: fmt.Sprintf("%s-bridge-%d", w.in.Number, w.items), CustomerCallID: w.in.CallID, AgentCallID: w.agentLeg,
			}).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Error("bridge legs", "error", err)
			}
		}

		w.waitFor(ctx, w.r.agentID+" to end or transfer the "+w.contactWord()+", or the customer to leave")
		if err := workflow.Await(ctx, func() bool { return w.callerGone || w.end != nil || w.transfer != nil }); err != nil {
			return err
		}
		if w.transfer != nil && !w.callerGone {
			next, err := w.doTransfer(ctx)
			if err != nil {
				return err
			}
			target = next
			continue
		}
		return w.finishWorked(ctx)
	}
}

// finishWorked ends a call or chat that an agent handled: the agent hangs up
// (or the customer did), the phone log is written, the record closes and the
// agent goes to wrap-up. A chat where no contact matched opens an incident
// with its times and transcript (seed 003).
func (w *interactionImpl) finishWorked(ctx workflow.Context) error {
	agent := w.st.AgentID
	reason, disposition := "customer ended", (*string)(nil)
	if w.end != nil {
		reason = "ended by " + w.end.AgentID
		if w.end.Disposition != "" {
			disposition = &w.end.Disposition
		}
		if w.in.Channel == ChannelPhone && !w.callerGone {
			w.hangUpCaller(ctx)
		}
		if w.in.Channel == ChannelChat && !w.callerGone &&
			w.follows(ctx, changeAgentEndsChat) {
			// Ended for the customer too: the platform closes the chat and
			// refuses further messages, rather than taking them into a chat
			// nobody reads.
			w.endChat(ctx, reason)
		}
	}
	var log *activities.PhoneLog
	if w.in.Channel == ChannelPhone {
		if w.merged {
			log = w.phoneLog(ctx, agent) // written with the finish
		} else {
			w.writePhoneLog(ctx, agent)
		}
	}
	if w.in.Channel == ChannelChat && (w.st.ContactID == "" || (w.end != nil && w.end.OpenIncident)) {
		now := workflow.Now(ctx)
		summary := "Chat from " + w.in.CustomerEmail + " (no matching contact)"
		if w.st.ContactID != "" {
			summary = "Chat from " + w.in.CustomerEmail + " (incident requested by " + agent + ")"
		}
		if _, err := w.openEscalation(ctx, EscalateRequest{AgentID: agent, Kind: "incident",
			ShortDescription: summary, RequestID: w.in.Number + "-chat-incident"}, &now); err != nil {
			return err
		}
	}
	if w.merged {
		return w.finishRecorded(ctx, agent, reason, disposition, log)
	}
	// The agent goes to wrap-up first, so that when the record (and the
	// agent's end request) says closed, the wrap-up has begun.
	if err := w.r.finish(ctx, disposition, w.queue.WrapUpTimeout()); err != nil {
		return err
	}
	if err := w.write(ctx, activities.InteractionChange{State: StateClosedComplete, AgentID: &agent, Actor: agent, Reason: reason,
		Disposition: disposition}); err != nil {
		return err
	}
	w.st.Outcome = "completed"
	return nil
}

// finishRecorded ends a worked item in one routing step (a merged
// process): the agent goes to wrap-up, the call's phone log is written and
// the record closes, all in one transaction, so when the record (and the
// agent's end request) says closed, the wrap-up has begun.
func (w *interactionImpl) finishRecorded(ctx workflow.Context, agent, reason string, disposition *string, log *activities.PhoneLog) error {
	_ = w.recMu.Lock(ctx)
	defer w.recMu.Unlock()
	w.version++
	c := activities.InteractionChange{Number: w.in.Number, Version: w.version, State: StateClosedComplete, AgentID: &agent,
		Actor: agent, Reason: reason, Disposition: disposition}
	recorded, err := w.r.finishRecorded(ctx, disposition, w.queue.WrapUpTimeout(), activities.RecordChange{Interaction: &c, PhoneLog: log})
	if err != nil {
		return err
	}
	if !recorded {
		// The item had finished already: the records on their own.
		if log != nil {
			if err := workflow.ExecuteActivity(storageOptions(ctx), a.RecordPhoneLog, *log).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Error("record phone log", "error", err)
			}
		}
		if err := workflow.ExecuteActivity(storageOptions(ctx), a.ChangeInteraction, c).Get(ctx, nil); err != nil {
			return fmt.Errorf("record %s: %w", c.State, err)
		}
	}
	w.closing = "completed"
	w.show(ctx, StateClosedComplete, agent)
	return nil
}

// accepting is the record change that goes with the accept (a merged
// process): Work In Progress for the agent, at the next version. The
// record is held until done says whether the accept took.
func (w *interactionImpl) accepting(ctx workflow.Context, o OfferSignal) (activities.RecordChange, func(ok bool)) {
	_ = w.recMu.Lock(ctx)
	w.version++
	agent := o.AgentID
	c := activities.InteractionChange{Number: w.in.Number, Version: w.version, State: StateWorkInProgress,
		AgentID: &agent, Actor: agent, Reason: "accepted"}
	return activities.RecordChange{Interaction: &c}, func(ok bool) {
		defer w.recMu.Unlock()
		if !ok {
			return
		}
		now := workflow.Now(ctx)
		w.acceptedAt, w.st.OfferedTo = &now, ""
		w.show(ctx, StateWorkInProgress, agent)
	}
}

// writePhoneLog records the call with the platform's times, waiting a little
// for its call_ended when the call was just hung up.
func (w *interactionImpl) writePhoneLog(ctx workflow.Context, agent string) {
	l := w.phoneLog(ctx, agent)
	if l == nil {
		return
	}
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.RecordPhoneLog, *l).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("record phone log", "error", err)
	}
}

// phoneLog is the call's phone log with the platform's times, waiting a
// little for its call_ended when the call was just hung up; nil when there
// is no call, or the process is stopping.
func (w *interactionImpl) phoneLog(ctx workflow.Context, agent string) *activities.PhoneLog {
	if w.in.CallID == "" {
		return nil
	}
	until := after(ctx, callEndedGrace)
	if w.callEnded == nil {
		w.waitFor(ctx, "the platform's call_ended for the phone log, until "+until)
	}
	if _, err := awaitUntil(ctx, callEndedGrace, "call_ended for the phone log until "+until, func() bool { return w.callEnded != nil }); err != nil {
		return nil
	}
	l := activities.PhoneLog{CallID: w.in.CallID, Interaction: w.in.Number, FromNumber: w.in.CallerNumber, ToNumber: w.in.DialledNumber}
	if w.in.Direction == "outbound" {
		l.FromNumber, l.ToNumber = w.in.DialledNumber, w.in.ContactPhone
	}
	if agent != "" {
		l.AgentID = &agent
	}
	now := workflow.Now(ctx)
	l.StartedAt, l.EndedAt = w.initiatedAt, now
	if w.acceptedAt != nil {
		l.AnsweredAt = w.acceptedAt
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
	l.DurationSeconds = int(l.EndedAt.Sub(l.StartedAt).Seconds())
	if e := w.callEnded; e != nil && e.DurationSeconds != nil {
		l.DurationSeconds = *e.DurationSeconds
	}
	if w.merged {
		// The platform's times mixed with the process's own may be out of
		// order (clock skew): the log is kept, ending no earlier than it
		// started.
		if l.EndedAt.Before(l.StartedAt) {
			l.EndedAt = l.StartedAt
		}
		l.DurationSeconds = max(l.DurationSeconds, 0)
	}
	return &l
}

// endUnanswered ends a contact its queue closes without an agent (rejected,
// or not picked up in time) on the platform: the caller is hung up and the
// call's phone log written, or the chat is ended, so nobody is left waiting
// on a record that is closed.
func (w *interactionImpl) endUnanswered(ctx workflow.Context, reason string) {
	switch w.in.Channel {
	case ChannelPhone:
		if !w.callerGone {
			w.hangUpCaller(ctx)
		}
		w.writePhoneLog(ctx, "")
	case ChannelChat:
		if !w.callerGone {
			w.endChat(ctx, reason)
		}
	}
}

// hangUpCaller hangs up the customer's call on the platform, once (keyed by
// the interaction).
func (w *interactionImpl) hangUpCaller(ctx workflow.Context) {
	err := w.platform(ctx, a.HangUp, cti.HangUpRequest{IdempotencyKey: w.in.Number + "-hangup", CallID: w.in.CallID}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("hang up the caller", "call_id", w.in.CallID, "error", err)
	}
}

// endChat ends the customer's chat on the platform, once (keyed by the
// interaction), with reason.
func (w *interactionImpl) endChat(ctx workflow.Context, reason string) {
	err := w.platform(ctx, a.EndChat, cti.EndChatRequest{IdempotencyKey: w.in.Number + "-end-chat", ChatID: w.in.ChatID, Reason: reason}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("end the chat on the platform", "chat_id", w.in.ChatID, "error", err)
	}
}

// closeAbandoned closes a contact that left before an agent picked up.
func (w *interactionImpl) closeAbandoned(ctx workflow.Context) error {
	if w.in.Channel == ChannelPhone {
		w.writePhoneLog(ctx, "")
	}
	if w.replacedBy != "" {
		return w.close(ctx, "", "replaced by callback "+w.replacedBy, "abandoned")
	}
	return w.close(ctx, "", "abandoned before an agent picked up", "abandoned")
}

func (w *interactionImpl) close(ctx workflow.Context, actor, reason, outcome string) error {
	if w.merged {
		w.closing = outcome // shown with the closed state
	}
	if err := w.change(ctx, StateClosedComplete, w.st.AgentID, actor, reason); err != nil {
		return err
	}
	w.st.Outcome = outcome
	w.waitFor(ctx, "")
	return nil
}

// present shows the offer to its agent: the record goes Pending
// Acceptance, assigned to the agent, in the transaction that shows the
// offer (so the agent finds the record in step with the offer).
func (w *interactionImpl) present(ctx workflow.Context, o OfferSignal) (activities.Presented, error) {
	_ = w.recMu.Lock(ctx)
	defer w.recMu.Unlock()
	if p := w.openPresented; p != nil && p.OfferID == o.OfferID {
		// The open step presented it (and rang), at the record's version 2.
		w.openPresented = nil
		return w.presented(ctx, o, p.PresentedOffer), nil
	}
	w.version++
	agent := o.AgentID
	reason := "offered to " + agent
	if w.st.TransferTo != "" {
		reason = "transferred by " + w.st.AgentID + "; offered to " + agent
	}
	c := activities.InteractionChange{Number: w.in.Number, Version: w.version, State: StatePendingAcceptance,
		Actor: "routing", Reason: reason, AgentID: &agent}
	req := activities.PresentOfferRequest{OfferID: o.OfferID, Queue: o.Queue, Record: activities.RecordChange{Interaction: &c}}
	if w.localPlatform {
		// The platform rings the agent in the same step, the moment the
		// offer shows.
		req.Ring = &activities.RingRequest{Offer: w.offerRequest(ctx, o), WorkflowID: w.workflowID(ctx)}
		w.agentAnswered = false
	}
	var p activities.PresentedOffer
	var f workflow.Future
	if w.localPresent {
		f = workflow.ExecuteLocalActivity(localRoutingOptions(ctx), a.PresentOffer, req)
	} else {
		f = workflow.ExecuteActivity(routingOptions(ctx), a.PresentOffer, req)
	}
	if err := f.Get(ctx, &p); err != nil {
		return p.Presented, fmt.Errorf("present offer %s: %w", o.OfferID, err)
	}
	return w.presented(ctx, o, p), nil
}

// presentOwn is how the open step presents an offer it books for this
// process: as present would, at the record's next version (2).
func (w *interactionImpl) presentOwn(ctx workflow.Context) *activities.OpenPresent {
	p := &activities.OpenPresent{Record: activities.InteractionChange{Number: w.in.Number, Version: 2,
		State: StatePendingAcceptance, Actor: "routing", Reason: "offered to "}}
	if w.localPlatform {
		p.Ring = &activities.RingRequest{Offer: w.offerRequest(ctx, OfferSignal{}), WorkflowID: w.workflowID(ctx)}
	}
	return p
}

// presented takes in a present step's answer: the offer shows to agent o,
// and was rung or is to be.
func (w *interactionImpl) presented(ctx workflow.Context, o OfferSignal, p activities.PresentedOffer) activities.Presented {
	agent := o.AgentID
	if p.Presented.Presented {
		w.st.OfferedTo, w.st.TransferTo = agent, ""
		w.show(ctx, StatePendingAcceptance, agent)
		switch {
		case p.Leg != nil:
			w.agentLeg, w.rangAtPresent = p.Leg.ID, o.OfferID
		case p.RingFailed != "":
			workflow.GetLogger(ctx).Warn("ring the agent with the offer; ringing again", "agent", agent, "error", p.RingFailed)
		}
	}
	return p.Presented
}

// ring has the platform offer the contact to the agent (the call's agent
// leg, or the chat's offer), beside the acceptance timer: the agent may
// answer in the workspace meanwhile. An offer the present step rang already
// is not rung again.
func (w *interactionImpl) ring(ctx workflow.Context, o OfferSignal) {
	if w.rangAtPresent == o.OfferID {
		return
	}
	w.ringing = true
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.ringing = false }()
		w.offerOnPlatform(ctx, o)
	})
}

// offerRequest is the platform command that offers the contact to o's
// agent, keyed by the offer.
func (w *interactionImpl) offerRequest(ctx workflow.Context, o OfferSignal) cti.OfferRequest {
	req := cti.OfferRequest{IdempotencyKey: o.OfferID, AgentID: o.AgentID, Queue: o.Queue,
		Context: map[string]string{ContextWorkflowID: w.workflowID(ctx)}}
	if w.in.Channel == ChannelChat {
		req.Channel, req.ChatID = cti.ChannelChat, w.in.ChatID
	} else {
		req.Channel, req.CallID = cti.ChannelVoice, w.in.CallID
	}
	return req
}

func (w *interactionImpl) offerOnPlatform(ctx workflow.Context, o OfferSignal) {
	req := w.offerRequest(ctx, o)
	var leg cti.Call
	if !w.localPlatform {
		// (A process at mergedStepsLocalPlatform reset it before the
		// present step, which may have rung and been answered already.)
		w.agentAnswered = false
	}
	if err := w.platform(ctx, a.OfferToAgent, req, w.workflowID(ctx)).Get(ctx, &leg); err != nil {
		workflow.GetLogger(ctx).Error("offer to agent on the platform", "agent", o.AgentID, "error", err)
		return // the acceptance timer still runs; the agent may accept from the workspace
	}
	w.agentLeg = leg.ID
}

// offered is the offer step of processes that predate present: Pending
// Acceptance, then the platform rings the agent.
func (w *interactionImpl) offered(ctx workflow.Context, o OfferSignal) error {
	w.st.OfferedTo = o.AgentID
	if err := w.change(ctx, StatePendingAcceptance, o.AgentID, "routing", "offered to "+o.AgentID); err != nil {
		return err
	}
	w.offerOnPlatform(ctx, o)
	return nil
}

// withdrawn: the offer ended unanswered; the record goes back to New.
func (w *interactionImpl) withdrawn(ctx workflow.Context, o OfferSignal, why string) {
	w.st.OfferedTo = ""
	if err := workflow.Await(ctx, func() bool { return !w.ringing }); err != nil {
		return
	}
	if w.agentLeg != "" {
		_ = w.platform(ctx, a.HangUp, cti.HangUpRequest{IdempotencyKey: o.OfferID + "-withdraw", CallID: w.agentLeg}).Get(ctx, nil)
		w.agentLeg = ""
	}
	if w.r.closingItem() && w.follows(ctx, changeRejectClosesDirectly) {
		return // Pending Acceptance goes straight to Closed Complete
	}
	if err := w.change(ctx, StateNew, "", "routing", why); err != nil {
		workflow.GetLogger(ctx).Error("record withdrawn offer", "error", err)
	}
}

// doTransfer hands the interaction to another agent or queue (seed 000:
// a transfer record, assigned to the new agent in Pending Acceptance). It
// returns the agent the next work item is for ("" for a queue).
func (w *interactionImpl) doTransfer(ctx workflow.Context) (string, error) {
	t := *w.transfer
	w.transfer = nil
	requestID := fmt.Sprintf("%s-transfer-%d", w.in.Number, w.items)
	tr := activities.Transfer{Interaction: w.in.Number, FromAgent: t.AgentID, At: workflow.Now(ctx)}
	if t.ToAgentID != "" {
		tr.ToAgent = &t.ToAgentID
	}
	if t.ToQueue != "" {
		tr.ToQueue = &t.ToQueue
	}
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.RecordTransfer, activities.TransferRecord{Transfer: tr, RequestID: requestID}).Get(ctx, nil); err != nil {
		return "", err
	}
	if w.in.Channel == ChannelPhone {
		_ = workflow.ExecuteActivity(ctiOptions(ctx), a.TransferCall, cti.TransferRequest{
			IdempotencyKey: requestID, CallID: w.in.CallID, ToAgentID: t.ToAgentID, ToQueue: t.ToQueue}).Get(ctx, nil)
	}
	// The transferring agent is done with it: wrap-up as after any item.
	if err := w.r.finish(ctx, nil, w.queue.WrapUpTimeout()); err != nil {
		return "", err
	}
	if t.ToQueue != "" && t.ToQueue != w.st.Queue {
		var q activities.Queue
		if err := workflow.ExecuteActivity(storageOptions(ctx), a.QueueSettings, t.ToQueue).Get(ctx, &q); err != nil {
			return "", err
		}
		w.queue, w.st.Queue = q, t.ToQueue
		_ = workflow.UpsertTypedSearchAttributes(ctx, SearchQueue.ValueSet(t.ToQueue))
	}
	w.agentLeg = ""
	if t.ToAgentID != "" && w.follows(ctx, changeTransferToAgentKeepsRecord) {
		// Seed 000: the record goes to the new agent in Pending Acceptance
		// when the offer shows; until then it stays as it was.
		w.st.TransferTo = t.ToAgentID
		w.waitFor(ctx, "the transfer to "+t.ToAgentID+" to be offered")
		return t.ToAgentID, nil
	}
	if err := w.changeQueue(ctx, "transferred by "+t.AgentID); err != nil {
		return "", err
	}
	return t.ToAgentID, nil
}

// runOutbound is click-to-call with a record (seed 000): Work In Progress,
// assigned to the agent; the platform dials; unanswered closes it.
func (w *interactionImpl) runOutbound(ctx workflow.Context) error {
	var call cti.Call
	notAfter := workflow.Now(ctx).Add(dialWindow)
	err := workflow.ExecuteActivity(dialOptions(ctx, dialWindow), a.PlaceCall, cti.PlaceCallRequest{
		IdempotencyKey: w.in.Number + "-dial", To: w.in.ContactPhone, From: w.in.DialledNumber, Queue: w.in.Queue,
		Context:  map[string]string{ContextWorkflowID: w.workflowID(ctx), "interaction": w.in.Number},
		NotAfter: &notAfter,
	}, w.workflowID(ctx)).Get(ctx, &call)
	if err != nil {
		return w.close(ctx, "system", "the call could not be placed", "failed")
	}
	w.in.CallID = call.ID
	w.waitFor(ctx, "the customer to answer the call")
	if err := workflow.Await(ctx, func() bool { return w.outcome != "" || w.callEnded != nil || w.end != nil }); err != nil {
		return err
	}
	if w.outcome != "answered" && w.end == nil {
		w.writePhoneLog(ctx, w.in.AgentID)
		reason := "unanswered"
		if w.outcome != "" {
			reason = "unanswered: " + w.outcome
		}
		return w.close(ctx, w.in.AgentID, reason, "unanswered")
	}
	now := workflow.Now(ctx)
	w.acceptedAt = &now
	w.waitFor(ctx, w.in.AgentID+" to end the call, or the customer to hang up")
	if err := workflow.Await(ctx, func() bool { return w.callerGone || w.end != nil }); err != nil {
		return err
	}
	if w.end != nil && !w.callerGone {
		_ = w.platform(ctx, a.HangUp, cti.HangUpRequest{IdempotencyKey: w.in.Number + "-hangup", CallID: call.ID}).Get(ctx, nil)
	}
	w.writePhoneLog(ctx, w.in.AgentID)
	return w.close(ctx, w.in.AgentID, "call ended", "completed")
}

// runManual is an email, walk-in or self-service interaction (seed 001):
// worked and closed by hand; escalations do not close it unless configured.
func (w *interactionImpl) runManual(ctx workflow.Context) error {
	w.waitFor(ctx, "an agent to close the record")
	if err := workflow.Await(ctx, func() bool { return w.end != nil }); err != nil {
		return err
	}
	reason := "closed by " + w.end.AgentID
	if w.end.Reason != "" {
		reason = w.end.Reason
	}
	return w.close(ctx, w.end.AgentID, reason, "completed")
}

// onEvent takes a platform event about this interaction's call or chat.
func (w *interactionImpl) onEvent(ctx workflow.Context, ev cti.Event) {
	if w.seen[ev.ID] {
		return
	}
	w.seen[ev.ID] = true
	customerLeg := ev.CallID == "" || ev.CallID == w.in.CallID
	switch ev.Type {
	case cti.EventCallerHungUp:
		if customerLeg {
			w.callerGone = true
		}
	case cti.EventCallEnded:
		if customerLeg {
			e := ev
			w.callEnded, w.callerGone = &e, true
		} else if ev.CallID == w.agentLeg && w.st.State == StatePendingAcceptance {
			w.agentLeg = ""
		}
	case cti.EventCallAnswered:
		w.outcome = "answered"
	case cti.EventCallNoAnswer:
		w.outcome = "no_answer"
	case cti.EventCallBusy:
		w.outcome = "busy"
	case cti.EventCallVoicemail:
		w.outcome = "voicemail"
	case cti.EventCallFailed:
		w.outcome = "failed"
	case cti.EventAgentLegAnswered:
		if ev.CallID != "" && ev.CallID != w.in.CallID {
			w.agentLeg, w.agentAnswered = ev.CallID, true
		}
	case cti.EventIncomingCall, cti.EventIVRConnected:
		// The call's first event opened the record; a later one (the IVR
		// finished) may bring the caller's selections and case number.
		if len(ev.IVR) > 0 || ev.CaseNumber != "" {
			if err := workflow.ExecuteActivity(storageOptions(ctx), a.RecordIVR, w.in.Number, ev.IVR, ev.CaseNumber).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Error("record IVR selections", "error", err)
			}
			if ev.CaseNumber != "" && w.in.CaseNumber == "" {
				w.in.CaseNumber = ev.CaseNumber
				_ = workflow.UpsertTypedSearchAttributes(ctx, SearchCaseNumber.ValueSet(ev.CaseNumber))
			}
		}
		if ev.Type == cti.EventIncomingCall {
			w.ivrDone = true // after the selections are on the record
		}
	case cti.EventChatMessage:
		w.keepMessage(ctx, ev.ID, ev.From, ev.Text, ev.OccurredAt)
	case cti.EventChatEnded:
		w.callerGone = true
	}
}

// keepMessage keeps a message on the transcript, once per key: a platform
// event's id (the same key the API uses when it records the message itself)
// or, for the agent's own, the process's count.
func (w *interactionImpl) keepMessage(ctx workflow.Context, key, sender, text string, at time.Time) {
	w.transcript++
	line := activities.ChatLine{Seq: w.transcript, Key: key, Sender: sender, Text: text, At: at}
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.AppendChatMessage, w.in.Number, line).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("keep chat message", "error", err)
	}
}

// change records a state or assignment change with the next version, so a
// late activity never moves the record backwards.
func (w *interactionImpl) change(ctx workflow.Context, state, agent, actor, reason string) error {
	return w.write(ctx, activities.InteractionChange{State: state, AgentID: &agent, Actor: actor, Reason: reason})
}

// write records a change of state and assignment (c.State, *c.AgentID) and
// whatever else c sets, with the next version.
func (w *interactionImpl) write(ctx workflow.Context, c activities.InteractionChange) error {
	_ = w.recMu.Lock(ctx)
	defer w.recMu.Unlock()
	w.version++
	c.Number, c.Version = w.in.Number, w.version
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.ChangeInteraction, c).Get(ctx, nil); err != nil {
		return fmt.Errorf("record %s: %w", c.State, err)
	}
	w.show(ctx, c.State, *c.AgentID)
	return nil
}

// show takes a recorded state and assignment into the process's own state
// and what the Temporal UI shows.
func (w *interactionImpl) show(ctx workflow.Context, state, agent string) {
	w.st.State, w.st.AgentID = state, agent
	attrs := []temporal.SearchAttributeUpdate{SearchProcessState.ValueSet(state)}
	if agent != "" {
		attrs = append(attrs, SearchAgentID.ValueSet(agent))
	} else {
		attrs = append(attrs, SearchAgentID.ValueUnset())
	}
	if w.merged && state == StateClosedComplete && w.closing != "" {
		w.st.Outcome = w.closing
		attrs = append(attrs, SearchOutcome.ValueSet(w.st.Outcome))
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, attrs...)
	workflow.SetCurrentDetails(ctx, w.summary())
}

func (w *interactionImpl) changeQueue(ctx workflow.Context, reason string) error {
	_ = w.recMu.Lock(ctx)
	defer w.recMu.Unlock()
	w.version++
	q, none := w.st.Queue, ""
	c := activities.InteractionChange{Number: w.in.Number, Version: w.version, State: StateNew, Actor: "routing", Reason: reason, AgentID: &none, Queue: &q}
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.ChangeInteraction, c).Get(ctx, nil); err != nil {
		return err
	}
	w.st.State, w.st.AgentID = StateNew, ""
	if w.follows(ctx, changeRequeueSearchAttributes) {
		// Back in the queue, with nobody on it, as the Temporal UI shows it.
		_ = workflow.UpsertTypedSearchAttributes(ctx, SearchProcessState.ValueSet(StateNew), SearchAgentID.ValueUnset())
		workflow.SetCurrentDetails(ctx, w.summary())
	}
	return nil
}

func (w *interactionImpl) summary() string {
	s := fmt.Sprintf("**%s** %s interaction — %s", w.in.Number, w.in.Channel, w.st.State)
	if w.st.Queue != "" {
		s += " · queue " + w.st.Queue
	}
	if w.st.AgentID != "" {
		s += " · agent " + w.st.AgentID
	}
	if w.st.Outcome != "" {
		s += " · outcome " + w.st.Outcome
	}
	return withDetails(s, w.waits)
}

// waitFor sets what the process waits for ("" once it waits for nothing)
// and shows it in the Temporal UI.
func (w *interactionImpl) waitFor(ctx workflow.Context, what string) {
	w.waits = what
	workflow.SetCurrentDetails(ctx, w.summary())
}

// contactWord is what the agent works: the call or the chat.
func (w *interactionImpl) contactWord() string {
	if w.in.Channel == ChannelChat {
		return "chat"
	}
	return "call"
}

// ---- agent actions (updates) ----

// accept answers once the record is Work In Progress, so the agent's next
// step (end, transfer) finds it there.
func (w *interactionImpl) accept(ctx workflow.Context, r DecisionRequest) (InteractionState, error) {
	if err := w.awaitOffer(ctx, r.AgentID); err != nil {
		return w.st, err
	}
	if err := w.r.decide(ctx, r.AgentID, true, r.Reason); err != nil {
		return w.st, err
	}
	err := workflow.Await(ctx, func() bool {
		return w.st.State == StateWorkInProgress || w.st.State == StateClosedComplete || w.callerGone
	})
	return w.st, err
}

// reject answers once the offer is withdrawn (and the item re-offered or
// closed).
func (w *interactionImpl) reject(ctx workflow.Context, r DecisionRequest) (InteractionState, error) {
	if err := w.awaitOffer(ctx, r.AgentID); err != nil {
		return w.st, err
	}
	if err := w.r.decide(ctx, r.AgentID, false, r.Reason); err != nil {
		return w.st, err
	}
	if w.r.protocol >= 1 {
		return w.st, nil // the router answers once the record is back in line or closed
	}
	err := workflow.Await(ctx, func() bool { return w.st.State != StatePendingAcceptance || w.callerGone })
	return w.st, err
}

// validateDecision admits an agent's answer to the offer. A process at
// mergedStepsLocalPresent shows an offer inside the workflow task that takes
// it in, so a task run again (its worker lost) may take an answer to an
// offer the agent already sees before it takes in the offer itself: the
// validator runs before the task's signals are taken in, and before the
// open step's answer in a first task. While the process has no offer open
// and the item is nobody's, it admits the answer, and the handler decides
// once the offers delivered so far are taken in.
func (w *interactionImpl) validateDecision(r DecisionRequest) error {
	if w.mayHoldUnseenOffer() {
		return nil
	}
	return w.r.canDecideIfRouting(r.AgentID)
}

// mayHoldUnseenOffer says whether an offer this process has not taken in
// yet could be showing to an agent (see validateDecision).
func (w *interactionImpl) mayHoldUnseenOffer() bool {
	return w.localPresent && w.routed() && (!w.opened || w.r != nil && w.r.mayHoldUnseenOffer())
}

// awaitOffer is the answer's check, made again in its handler: an answer
// the process can take now goes ahead at once, as before
// mergedStepsLocalPresent; one admitted only because an unseen offer may
// be showing waits for the offers delivered so far, then is checked again.
func (w *interactionImpl) awaitOffer(ctx workflow.Context, agentID string) error {
	if !w.localPresent {
		return nil // the validator's check stands (decide makes it again)
	}
	err := w.r.canDecideIfRouting(agentID)
	if err == nil || !w.mayHoldUnseenOffer() {
		return err
	}
	if err := w.settleOffers(ctx); err != nil {
		return err
	}
	return w.r.canDecideIfRouting(agentID)
}

// settleOffers waits until the process has opened its record and either
// has an offer open or has taken up every offer delivered to it so far (see
// validateDecision). An update runs before the rest of the workflow code in
// its task, and a signal delivered to a process already waiting on its
// channel is in that receive's hands, not in the channel: so it first lets
// every other part of the process run once. It adds no command, and ends
// once the item is taken, closed or the contact gone.
func (w *interactionImpl) settleOffers(ctx workflow.Context) error {
	yielded := false
	return workflow.Await(ctx, func() bool {
		if !yielded {
			yielded = true
			return false
		}
		return w.callerGone || w.opened && (w.r == nil || !w.r.mayHoldUnseenOffer() || w.r.settled())
	})
}

func (w *interactionImpl) validateTransfer(r TransferRequest) error {
	switch {
	case w.st.State != StateWorkInProgress || w.r == nil:
		return wrongStep("only an interaction in progress can be transferred (it is %s)", w.st.State)
	case r.AgentID != w.st.AgentID:
		return wrongStep("only the assigned agent can transfer it")
	case (r.ToAgentID == "") == (r.ToQueue == ""):
		return invalidField("to_agent_id", "give exactly one of to_agent_id and to_queue")
	case r.ToAgentID == r.AgentID:
		return invalidField("to_agent_id", "is the agent already handling it")
	case w.transfer != nil || w.end != nil || w.st.TransferTo != "":
		return wrongStep("the interaction is already being transferred or ended")
	}
	return nil
}

func (w *interactionImpl) requestTransfer(ctx workflow.Context, r TransferRequest) (InteractionState, error) {
	w.transfer = &r
	if err := workflow.Await(ctx, func() bool {
		return w.st.State != StateWorkInProgress || w.callerGone || w.st.TransferTo != ""
	}); err != nil {
		return w.st, err
	}
	return w.st, nil
}

// waitOpened answers once the record exists. It only waits, so it adds no
// command: a process from before it was registered replays the same.
func (w *interactionImpl) waitOpened(ctx workflow.Context) (InteractionState, error) {
	err := workflow.Await(ctx, func() bool { return w.opened })
	return w.st, err
}

// addNote writes the agent's work note. A process at mergedStepsLocalNotes
// writes it as a local activity, in the workflow task that took in the
// request: the note is keyed by its request id (or its update's id), so a
// task run again (a worker lost it) answers with the note its first run
// wrote.
func (w *interactionImpl) addNote(ctx workflow.Context, r NoteRequest) (activities.WorkNote, error) {
	var n activities.WorkNote
	var f workflow.Future
	if w.localNotes {
		if r.RequestID == "" {
			// Keyed all the same: by the update, which a task run again
			// takes in with the same id.
			if u := workflow.GetCurrentUpdateInfo(ctx); u != nil {
				r.RequestID = "update-" + u.ID
			}
		}
		f = workflow.ExecuteLocalActivity(localStorageOptions(ctx), a.AddWorkNote, w.in.Number, r.Author, r.Body, r.RequestID)
	} else {
		f = workflow.ExecuteActivity(storageOptions(ctx), a.AddWorkNote, w.in.Number, r.Author, r.Body, r.RequestID)
	}
	err := f.Get(ctx, &n)
	return n, err
}

func (w *interactionImpl) validateEnd(r EndRequest) error {
	switch {
	case w.in.Channel != ChannelPhone && w.in.Channel != ChannelChat:
		return wrongStep("a %s interaction is closed, not ended", w.in.Channel)
	case w.st.State == StateClosedComplete:
		return wrongStep("the interaction is already closed")
	case w.in.Direction != "outbound" && w.st.State != StateWorkInProgress:
		return wrongStep("only an interaction in progress can be ended (it is %s)", w.st.State)
	case r.AgentID != w.st.AgentID:
		return wrongStep("only the assigned agent can end it")
	case w.end != nil || w.transfer != nil || w.st.TransferTo != "":
		return wrongStep("the interaction is already being ended or transferred")
	case r.OpenIncident && w.in.Channel != ChannelChat:
		return invalidField("open_incident", "is for chats; escalate a call to open an incident")
	case r.Disposition == "" && w.queue.DispositionRequired:
		return invalidField("disposition", "is required: queue "+w.queue.Name+" takes a disposition code")
	}
	return nil
}

func (w *interactionImpl) requestEnd(ctx workflow.Context, r EndRequest) (InteractionState, error) {
	w.end = &r
	if err := workflow.Await(ctx, func() bool { return w.st.State == StateClosedComplete }); err != nil {
		return w.st, err
	}
	return w.st, nil
}

func (w *interactionImpl) validateClose(r EndRequest) error {
	switch {
	case w.in.Channel == ChannelPhone || w.in.Channel == ChannelChat:
		return wrongStep("a %s interaction closes when it ends", w.in.Channel)
	case w.st.State == StateClosedComplete || w.end != nil:
		return wrongStep("the interaction is already closed")
	case r.OpenIncident:
		return invalidField("open_incident", "is for ending a chat; escalate to open an incident")
	}
	return nil
}

func (w *interactionImpl) requestClose(ctx workflow.Context, r EndRequest) (InteractionState, error) {
	w.end = &r
	if err := workflow.Await(ctx, func() bool { return w.st.State == StateClosedComplete }); err != nil {
		return w.st, err
	}
	return w.st, nil
}

func (w *interactionImpl) validateEscalate(r EscalateRequest) error {
	switch {
	case w.st.State == StateClosedComplete:
		return wrongStep("the interaction is closed")
	case r.Kind != "incident" && r.Kind != "request":
		return invalidField("kind", "must be incident or request")
	case r.ShortDescription == "":
		return invalidField("short_description", "is required")
	}
	return nil
}

// escalate opens an incident or request (seed 001). The same escalation
// twice — a retried request, a double click — returns the first one.
func (w *interactionImpl) escalate(ctx workflow.Context, r EscalateRequest) (EscalationRef, error) {
	if !w.opened && w.follows(ctx, changeEscalateAfterOpen) {
		// The API shows the record as soon as PostgreSQL has it: an agent
		// may escalate before the process has read back its contact.
		if err := workflow.Await(ctx, func() bool { return w.opened }); err != nil {
			return EscalationRef{}, err
		}
	}
	ref, err := w.openEscalation(ctx, r, nil)
	if err != nil {
		return ref, err
	}
	if w.in.CloseOnEscalate && w.end == nil && w.st.State != StateClosedComplete {
		if w.in.Channel == ChannelPhone || w.in.Channel == ChannelChat {
			if w.st.State == StateWorkInProgress && r.AgentID == w.st.AgentID && w.st.TransferTo == "" {
				w.end = &EndRequest{AgentID: r.AgentID, Reason: "escalated to " + ref.Number}
			}
		} else {
			w.end = &EndRequest{AgentID: r.AgentID, Reason: "escalated to " + ref.Number}
		}
	}
	return ref, nil
}

func (w *interactionImpl) openEscalation(ctx workflow.Context, r EscalateRequest, terminated *time.Time) (EscalationRef, error) {
	requestID := r.RequestID
	if requestID == "" {
		sum := sha256.Sum256([]byte(r.Kind + "\x00" + r.ShortDescription + "\x00" + r.Description + "\x00" + r.CaseNumber))
		requestID = w.in.Number + "-" + r.Kind + "-" + hex.EncodeToString(sum[:8])
	}
	// The same escalation asked twice at once (a double click) waits for the
	// first and answers with it.
	if w.escalating[requestID] {
		if err := workflow.Await(ctx, func() bool { _, done := w.escalated[requestID]; return done || !w.escalating[requestID] }); err != nil {
			return EscalationRef{}, err
		}
	}
	if ref, ok := w.escalated[requestID]; ok {
		return ref, nil
	}
	w.escalating[requestID] = true
	defer delete(w.escalating, requestID)
	e := activities.NewEscalation{Interaction: w.in.Number, Kind: r.Kind, RequestID: requestID, CaseNumber: r.CaseNumber,
		ShortDescription: r.ShortDescription, Description: r.Description, Actor: r.AgentID}
	// With no case named, the store links the interaction's related case
	// (never a number the caller gave that names no case).
	if w.st.ContactID != "" {
		if id, err := uuid.Parse(w.st.ContactID); err == nil {
			e.ContactID = &id
		}
	}
	if w.in.Channel == ChannelChat {
		initiated := w.initiatedAt
		e.ChatInitiatedAt, e.ChatAcceptedAt, e.ChatTerminatedAt = &initiated, w.acceptedAt, terminated
	}
	var esc activities.Escalated
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.Escalate, e).Get(ctx, &esc); err != nil {
		return EscalationRef{}, err
	}
	ref := EscalationRef{Kind: r.Kind, Number: esc.Number}
	w.escalated[requestID] = ref
	w.st.Escalations = append(w.st.Escalations, ref)
	return ref, nil
}

func (w *interactionImpl) validateChooseContact(r ChatContactRequest) error {
	for _, c := range w.st.ContactCandidates {
		if c.ContactID == r.ContactID {
			if w.st.State == StateClosedComplete {
				return wrongStep("the interaction is closed")
			}
			return nil
		}
	}
	return invalidField("contact_id", "is not one of the contacts matched for this customer")
}

// chooseContact attaches another of the matched contacts (seed 003: the
// first match is the default; the agent may pick another).
func (w *interactionImpl) chooseContact(ctx workflow.Context, r ChatContactRequest) (InteractionState, error) {
	id, err := uuid.Parse(r.ContactID)
	if err != nil {
		return w.st, invalidField("contact_id", "must be a UUID")
	}
	_ = w.recMu.Lock(ctx)
	defer w.recMu.Unlock()
	w.version++
	c := activities.InteractionChange{Number: w.in.Number, Version: w.version, State: w.st.State, Actor: r.AgentID,
		Reason: "contact chosen", ContactID: &id}
	if err := workflow.ExecuteActivity(storageOptions(ctx), a.ChangeInteraction, c).Get(ctx, nil); err != nil {
		return w.st, err
	}
	w.st.ContactID = r.ContactID
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchContactID.ValueSet(r.ContactID))
	return w.st, nil
}

// noteFromProcess records what a case process started from this
// interaction learnt (seed 000: the contact is added to the interaction
// record; seed 001: Opened For): the contact, on the record with a history
// line and as the call's ContactId; the case it created, as the call's
// CaseNumber, so searching the Temporal UI by the case's number finds the
// call as well as the process.
func (w *interactionImpl) noteFromProcess(ctx workflow.Context, n activities.CallNote) error {
	if n.ContactID != nil {
		_ = w.recMu.Lock(ctx)
		defer w.recMu.Unlock()
	}
	// Checked with the record held: a retried note waits for the first.
	if n.ContactID != nil && n.ContactID.String() != w.st.ContactID {
		w.version++
		c := activities.InteractionChange{Number: w.in.Number, Version: w.version, State: w.st.State, Actor: n.AgentID,
			Reason: n.Reason(), ContactID: n.ContactID}
		if err := workflow.ExecuteActivity(storageOptions(ctx), a.ChangeInteraction, c).Get(ctx, nil); err != nil {
			return fmt.Errorf("record the contact identified in %s: %w", n.ProcessID, err)
		}
		w.st.ContactID = n.ContactID.String()
		_ = workflow.UpsertTypedSearchAttributes(ctx, SearchContactID.ValueSet(w.st.ContactID))
	}
	if n.CaseNumber != "" {
		_ = workflow.UpsertTypedSearchAttributes(ctx, SearchCaseNumber.ValueSet(n.CaseNumber))
	}
	return nil
}

func (w *interactionImpl) validateSendMessage(r MessageRequest) error {
	switch {
	case w.in.Channel != ChannelChat:
		return wrongStep("messages go over chats only")
	case w.st.State != StateWorkInProgress || r.AgentID != w.st.AgentID:
		return wrongStep("only the agent working the chat can send messages")
	case w.st.TransferTo != "":
		return wrongStep("the chat is being transferred to %s", w.st.TransferTo)
	case r.Text == "":
		return invalidField("text", "is required")
	}
	return nil
}

func (w *interactionImpl) sendMessage(ctx workflow.Context, r MessageRequest) (InteractionState, error) {
	seq := w.transcript + 1
	err := workflow.ExecuteActivity(ctiOptions(ctx), a.SendChatMessage, cti.ChatMessageRequest{
		IdempotencyKey: fmt.Sprintf("%s-msg-%d", w.in.Number, seq), ChatID: w.in.ChatID, Text: r.Text, From: r.AgentID,
	}).Get(ctx, nil)
	if err != nil {
		return w.st, err
	}
	w.keepMessage(ctx, "", cti.SenderAgent, r.Text, workflow.Now(ctx))
	return w.st, nil
}
