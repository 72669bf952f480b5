// Package routing is the offer protocol: how a work item waiting in a queue
// becomes an offer to one agent, what the agent's answer does, and how the
// agent is freed. It owns every write to bookings (agents' loads and
// presence), work item states and offer states, and it delivers what those
// writes decide to the processes concerned. docs/routing.md draws the
// sequence; workflows/router.go is the process side of it.
//
// # The protocol
//
//  1. Enqueue: an item process (an interaction, a callback) puts its item in
//     its queue and dispatches that queue.
//  2. Dispatch books: the oldest waiting item goes to the longest-idle member
//     with room for the channel. The item becomes offered, the agent's load
//     grows, and an offer is recorded with an id derived from the item and
//     its number of offers so far (a retried dispatch names it the same).
//  3. Deliver: after the commit, the offer is signalled to the item's
//     process. A process that is gone has its item finished, which frees the
//     agent and may book again. An offer not received in a few seconds (the
//     dispatcher died between its commit and its signal) is delivered again
//     by the sweep, which runs on its own timer whatever the traffic.
//  4. Receive and present: the process marks the offer received (no more
//     redelivery) and, once it will take the agent's answer, presents it: in
//     one transaction the offer is marked presented and the process's record
//     says Pending Acceptance (or the callback says offered) for the agent.
//     An arriving contact's open step may present the offer it books for its
//     own process in the enqueue's transaction (EnqueuePresentingOwn); the
//     process takes that offer in within the same workflow task.
//     Only presented offers are shown to agents, so an answer sent the
//     instant an offer shows is taken. A customer-first callback receives
//     its offer, dials the customer, and presents it only when they answer;
//     until then the agent is reserved for it and shown as such.
//  5. Answer: accept assigns the item; reject, time-out and withdrawal close
//     the offer, free the agent (a time-out also puts it on break) and put the
//     item back in line at its own place, or finish it.
//  6. Finish: the item is done; an agent that handled it goes to wrap-up for
//     the queue's post-processing time (wrapup_until), in the same
//     transaction that frees it, and the freed capacity is dispatched.
//  7. The agent's process hears of each step that concerns it (assigned,
//     timed out, finished) by a signal sent after the commit.
//
// # Locking contract
//
// Every transaction here (a step, once.go) first takes the PostgreSQL
// advisory lock of each queue whose items, offers or members' bookings it
// changes: an offer's or item's queue, and when it frees or books an agent,
// every queue of that agent. Locks are taken in one order (ascending key),
// before any row is locked, so steps never wait for each other in a cycle.
// Steps in unrelated queues run side by side; steps in one queue run one at
// a time, so an item is booked once and the oldest first.
//
// Agents are rows, locked by the step that changes them: a booking locks
// the queues' free members in id order and matches them in memory, so two
// dispatchers of different queues that share members wait for each other
// and the second sees the first one's bookings (an agent is never booked
// twice). The writes that must be atomic with a booking (a time-out's
// break, a finish's wrap-up, a record's Pending Acceptance) happen in the
// same step. Reads for the API take no lock and see committed states only.
// Signals are sent after the commit, never inside a transaction.
//
// # Retries
//
// Each step runs under a key (the asking activity's run and id, see Key):
// its first answer is stored with its effect in the same transaction, so a
// step retried after its commit answers as the first time, and delivers that
// answer's offers and signals again (receivers ignore repeats).
package routing

import (
	"context"
	"time"

	"github.com/casehub/casehub/store"
)

// Signaller delivers signals to processes; the Temporal client in casehub.
type Signaller interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Router runs the protocol over PostgreSQL and delivers its outcomes.
type Router struct {
	Store   *store.Store
	Signals Signaller
	// Redeliver is how long an offer may go unreceived before the sweep
	// delivers it again (3 s when zero).
	Redeliver time.Duration
}

// New returns a Router over st that signals through sig.
func New(st *store.Store, sig Signaller) *Router {
	return &Router{Store: st, Signals: sig}
}

// Signal names and payloads routing sends. The workflows package re-exports
// them in messages.go, beside every other name that crosses a process.
const (
	// SignalOffer tells an item's process that routing booked an agent for it.
	SignalOffer = "offer"
	// SignalItemAssigned tells an agent's process it accepted an item.
	SignalItemAssigned = "item-assigned"
	// SignalItemFinished tells an agent's process an item it handled is over.
	SignalItemFinished = "item-finished"
	// SignalOfferTimedOut tells an agent's process it let an offer run out.
	SignalOfferTimedOut = "offer-timed-out"
)

// AgentWorkflowID names the process of one agent.
func AgentWorkflowID(agentID string) string { return "agent-" + agentID }

// OfferSignal is an offer delivered to an item's process.
type OfferSignal struct {
	OfferID string `json:"offer_id"`
	ItemID  string `json:"item_id"`
	AgentID string `json:"agent_id"`
	Queue   string `json:"queue"`
	Channel string `json:"channel"`
}

// ItemAssigned tells an agent's process that it accepted an item.
type ItemAssigned struct {
	ItemID string `json:"item_id"`
	Queue  string `json:"queue"`
}

// ItemFinished tells an agent's process that an item it handled is over.
type ItemFinished struct {
	ItemID     string        `json:"item_id"`
	Queue      string        `json:"queue"`
	WrappingUp bool          `json:"wrapping_up"`
	WrapUp     time.Duration `json:"wrapup"`
	// Until is when the wrap-up ends, as PostgreSQL recorded it (the API
	// shows the same instant); absent in signals from before it was kept.
	Until *time.Time `json:"wrapup_until,omitempty"`
	// Seq is the agent's presence change (agents.presence_seq) that started
	// the wrap-up; the process applies it only if it has seen no later one.
	// Absent when there is no wrap-up, and in signals from before it was kept.
	Seq int64 `json:"seq,omitempty"`
}

// OfferTimedOut tells an agent's process that it let an offer run out.
type OfferTimedOut struct {
	OfferID string `json:"offer_id"`
	ItemID  string `json:"item_id"`
	// OnBreak: the time-out put the agent on break, as presence change Seq
	// (it does not when the agent had already left available). Seq is
	// absent in signals from before it was kept.
	OnBreak bool  `json:"on_break,omitempty"`
	Seq     int64 `json:"seq,omitempty"`
}

func signalOf(o store.Offer) OfferSignal {
	return OfferSignal{OfferID: o.ID, ItemID: o.ItemID, AgentID: o.AgentID, Queue: o.Queue, Channel: o.Channel}
}
