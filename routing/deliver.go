package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/casehub/casehub/store"
)

// maxRounds bounds how many times one delivery follows the chain "process
// gone, item finished, agent freed, booked again".
const maxRounds = 10

// deliver signals each offer to its item's process. A process that is gone
// (ended, or never started) has its item finished, which frees the agent;
// the offers that booking makes are delivered in turn. Repeats are harmless:
// a process takes each offer once.
func (r *Router) deliver(ctx context.Context, key string, offers []store.Offer) error {
	if len(offers) > 0 {
		failpoint(failAfterBooking)
	}
	for round := 0; len(offers) > 0 && round < maxRounds; round++ {
		var next []store.Offer
		for _, o := range offers {
			err := r.Signals.SignalWorkflow(ctx, o.WorkflowID, "", SignalOffer, signalOf(o))
			if err == nil {
				continue
			}
			if !isGone(err) {
				return fmt.Errorf("deliver offer %s to %s: %w", o.ID, o.WorkflowID, err)
			}
			slog.WarnContext(ctx, "item process gone; finishing its work item", "item_id", o.ItemID, "workflow_id", o.WorkflowID)
			f, err := step(ctx, r.Store, key+"/gone/"+o.ID, func(tx *store.Store, l *locks) (Finished, error) {
				return finish(ctx, tx, l, FinishRequest{ItemID: o.ItemID})
			})
			if err != nil {
				return fmt.Errorf("finish the work item %s of a gone process: %w", o.ItemID, err)
			}
			next = append(next, f.Offers...)
		}
		offers = next
	}
	return nil
}

// tellAgent signals an agent's process. An agent without a running process
// (never set up through the API) is no error: PostgreSQL holds its presence.
func (r *Router) tellAgent(ctx context.Context, agentID, signal string, arg any) error {
	if agentID == "" {
		return nil
	}
	err := r.Signals.SignalWorkflow(ctx, AgentWorkflowID(agentID), "", signal, arg)
	if err != nil && !isGone(err) {
		return fmt.Errorf("tell agent %s %s: %w", agentID, signal, err)
	}
	return nil
}

func isGone(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

const (
	// Offers booked a while ago that no process has received: their
	// dispatcher died between its commit and its signal.
	selectUnreceived = `
SELECT id FROM offers WHERE state = 'pending' AND acked_at IS NULL AND offered_at < now() - make_interval(secs => :age)
ORDER BY offered_at LIMIT 500`

	// Offers received but still open long after their acceptance time: their
	// process may have been ended by hand. Sending the offer again finds out
	// (a running process ignores an offer it has).
	selectOverdue = `
SELECT o.id FROM offers o JOIN work_items i ON i.id = o.item_id JOIN queues q ON q.name = i.queue
WHERE o.state = 'pending' AND o.acked_at IS NOT NULL
  AND o.offered_at < now() - make_interval(secs => q.acceptance_timeout_s + :grace)
ORDER BY o.offered_at LIMIT 100`
)

// Swept says what a sweep found.
type Swept struct {
	Redelivered int `json:"redelivered"`
	Overdue     int `json:"overdue"`
}

// overdueGrace is how long past its acceptance time an open offer may stay
// before the sweep checks its process: a customer-first callback holds its
// offer while the customer is dialled and waits on the line.
const overdueGrace = 10 * time.Minute

// Sweep delivers again the offers no process received in time, checks that
// offers open far too long still have a process, and forgets stored answers
// no retry can ask for any more. It runs on its own timer (the
// RoutingSweeper process), so a quiet queue cannot strand an agent.
func (r *Router) Sweep(ctx context.Context) (Swept, error) {
	age := r.Redeliver
	if age <= 0 {
		age = 3 * time.Second
	}
	var s Swept
	var ids []string
	if err := r.Store.Select(ctx, &ids, selectUnreceived, map[string]any{"age": age.Seconds()}); err != nil {
		return s, fmt.Errorf("find unreceived offers: %w", err)
	}
	var overdue []string
	if err := r.Store.Select(ctx, &overdue, selectOverdue, map[string]any{"grace": overdueGrace.Seconds()}); err != nil {
		return s, fmt.Errorf("find overdue offers: %w", err)
	}
	offers, err := r.Store.Offers(ctx, append(ids, overdue...))
	if err != nil {
		return s, err
	}
	for _, o := range offers {
		if o.State != store.OfferPending {
			continue
		}
		if err := r.deliver(ctx, "sweep", []store.Offer{o}); err != nil {
			return s, err
		}
	}
	s.Redelivered, s.Overdue = len(ids), len(overdue)
	if _, err := r.Store.Exec(ctx, pruneResults, map[string]any{}); err != nil {
		return s, fmt.Errorf("prune stored answers: %w", err)
	}
	return s, nil
}
