package workflows

// Change ids for workflow.GetVersion. Each names a change made after replay
// histories were committed; processes started before it replay the old path.
const (
	// changeLeaveQueueAtClosing: a queued callback leaves its queue when the
	// queue's business hours end and takes its place again at the opening.
	changeLeaveQueueAtClosing = "callback-leave-queue-at-closing"

	// changeRequeueSearchAttributes: an interaction put back in a queue (a
	// transfer) shows ProcessState New and no AgentId at once, rather than
	// at its next offer.
	changeRequeueSearchAttributes = "interaction-requeue-search-attributes"

	// changeRejectClosesDirectly: in a queue that closes rejected items, a
	// rejected interaction goes from Pending Acceptance to Closed Complete
	// without passing through New.
	changeRejectClosesDirectly = "interaction-reject-closes-directly"

	// changeAgentToldOfAssignment: an accepted item tells the agent's
	// process, which shows ProcessState busy until the item finishes.
	changeAgentToldOfAssignment = "agent-told-of-assignment"

	// changePresentOffer: the offer protocol of package routing. An offer
	// takes answers before it shows and shows (PresentOffer) in the same
	// transaction as the process's record; a customer-first callback dials
	// before the offer shows; routing activities deliver offers and tell
	// agents themselves.
	changePresentOffer = "routing-present-offer"

	// changeAgentSettles: an agent's update first lets the signals already
	// delivered be taken in; work-offline takes up a wrap-up PostgreSQL
	// started before its signal came; wrap-ups ended here are remembered by
	// item (and carried over by continue-as-new).
	changeAgentSettles = "agent-settles-before-updates"

	// changeAgentLocalPresence: the presence an agent sets is written (and
	// routing books the agent) by a local activity in the workflow task
	// that takes in the agent's update, keyed by the update; an answer
	// older than a change the process has taken in is not applied.
	changeAgentLocalPresence = "agent-local-presence"

	// changeCaseProcessNotesCall: a case process tells the interaction it
	// was started from the contact it identified and the case it created
	// (NoteOnCall), so both land on the call.
	changeCaseProcessNotesCall = "case-process-notes-call"

	// changeTransferToAgentKeepsRecord: a transfer to an agent no longer
	// writes New between the two agents; the record stays with the
	// transferring agent until the offer to the new one shows (Pending
	// Acceptance, assigned to it).
	changeTransferToAgentKeepsRecord = "transfer-to-agent-keeps-record"

	// changeAgentEndsChat: a chat the agent ends is ended on the platform
	// too (EndChat), so the customer's next message is refused, not lost.
	changeAgentEndsChat = "agent-ends-chat-on-platform"

	// changeOutcomeSearchAttribute: an interaction or a callback that ends
	// sets the Outcome search attribute, so `Outcome = "abandoned"` finds
	// abandoned calls.
	changeOutcomeSearchAttribute = "outcome-search-attribute"

	// changeEscalateAfterOpen: an escalation that arrives before the
	// process has taken in the record it opened waits for it, so the
	// incident or request carries the record's contact.
	changeEscalateAfterOpen = "interaction-escalate-after-open"

	// changeMergedSteps: an interaction's steps that always go together run
	// as one. The record opens as a local activity that also reads the
	// queue's settings; the accept and Work In Progress are one routing
	// step; the finish, the phone log and Closed Complete are one; the
	// closed state and the outcome are one search attribute update. A
	// process decides it first thing, and one that follows it follows every
	// earlier interaction change without a marker each (follows).
	changeMergedSteps = "interaction-merged-steps"

	// changeClosingEndsContact: a call or chat that its queue closes
	// unanswered (rejected, or not picked up in time) is ended on the
	// platform too (the caller hung up, the chat ended) and a call's phone
	// log written, before the record closes; its history names the agent
	// who rejected it. It came after changeMergedSteps, so a merged process
	// asks it with workflow.GetVersion like any other, never by follows.
	changeClosingEndsContact = "interaction-closing-ends-contact"

	// changeCallbackQuickStart: a callback reads its queue's settings as a
	// local activity in its first workflow task, and follows every earlier
	// callback change without a marker each (callbackImpl.follows).
	changeCallbackQuickStart = "callback-quick-start"
)

// The versions of changeMergedSteps.
const (
	mergedSteps = 1
	// mergedStepsLocalPlatform: also the present step rings the agent
	// (PresentOfferRequest.Ring), and the other commands to the platform
	// about the live contact (bridge, hang up, end the chat, and a ring
	// sent again) run as local activities (interactionImpl.platform).
	mergedStepsLocalPlatform = 2
	// mergedStepsLocalNotes: also a work note is written by a local
	// activity inside the workflow task that takes in the agent's request
	// (interactionImpl.addNote). The note is keyed by its request id, so a
	// task run again writes nothing twice and answers with the first note.
	mergedStepsLocalNotes = 3
	// mergedStepsOfferAtOpen: an offer the open step books for the
	// interaction itself (an agent was waiting) comes back in the step's
	// answer, and the process presents it in the same workflow task,
	// instead of hearing of it by a signal in a task of its own.
	mergedStepsOfferAtOpen = 4
	// mergedStepsLocalPresent: also the present step (the offer shown to
	// its agent with the record's Pending Acceptance, and the ring) runs as
	// a local activity, in the workflow task that takes the offer in,
	// keyed by the offer. Since the offer may then show before that task
	// completes, an accept or reject that finds no offer open is admitted
	// and first waits for the process to take in the offers already
	// delivered to it (interactionImpl.settleOffers): a task run again
	// after a lost worker takes in the offer after the answer's validator
	// has run.
	mergedStepsLocalPresent = 5
	// mergedStepsPresentAtOpen: also the open step presents the offer it
	// books for the interaction itself, in the transaction that queues the
	// contact, and rings (OpenInteractionRequest.PresentOwn): the record,
	// created New at version 1 just before, goes Pending Acceptance at
	// version 2 with the booking, and the present step that would follow is
	// not run (interactionImpl.present takes the open step's answer).
	mergedStepsPresentAtOpen = 6
)
