package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/casehub/casehub/phone"
	"github.com/casehub/casehub/routing"
	"github.com/casehub/casehub/store"
)

// OpenInteractionRequest creates an interaction's record.
type OpenInteractionRequest struct {
	Interaction   NewInteraction
	CallerNumber  string // inbound phone: find the contact by this number
	CustomerEmail string // chat: find the contact by this address
	DefaultRegion string
	Legs          []string // platform call or chat ids the process owns
	// ReadQueue: answer the settings of the interaction's queue too (the
	// process routes it), so that no second step reads them.
	ReadQueue bool `json:",omitempty"`
	// Enqueue puts the contact's first work item in its queue too (with
	// ReadQueue, when the queue is configured): a routed contact that does
	// not wait for an IVR is queued as its record opens.
	Enqueue *NewWorkItem `json:",omitempty"`
	// KeepOwnOffers: the offers Enqueue books for this very process come
	// back in the answer (OpenedInteraction.Offers), for the process to
	// present in the same workflow task, instead of as signals.
	KeepOwnOffers bool `json:",omitempty"`
	// PresentOwn, with KeepOwnOffers: the offer Enqueue books for this
	// process is presented in the step that queues the item, and rung
	// (OpenedInteraction.Presented).
	PresentOwn *OpenPresent `json:",omitempty"`
}

// OpenPresent is how the open step presents the offer it books for its own
// process: the record change that shows it, completed with the offer's
// agent, and the platform's ring, completed with the offer.
type OpenPresent struct {
	// Record is the Pending Acceptance change; the offer's agent is put
	// in AgentID and appended to Reason.
	Record InteractionChange
	// Ring, when set, has the platform offer the contact to the agent
	// once the offer shows: its Offer's IdempotencyKey, AgentID and Queue
	// are the offer's.
	Ring *RingRequest `json:",omitempty"`
}

// change is the record change that shows the offer to agent.
func (p OpenPresent) change(agent string) InteractionChange {
	c := p.Record
	c.AgentID, c.Reason = &agent, c.Reason+agent
	return c
}

// ring is the platform command that offers the contact for o.
func (p OpenPresent) ring(o Offer) RingRequest {
	r := *p.Ring
	r.Offer.IdempotencyKey, r.Offer.AgentID, r.Offer.Queue = o.ID, o.AgentID, o.Queue
	return r
}

// OpenPresented is the offer the open step presented, and how its ring went.
type OpenPresented struct {
	OfferID string
	PresentedOffer
}

// OpenedInteraction is the record and the contacts that matched.
type OpenedInteraction struct {
	Interaction Interaction
	Candidates  []ContactRef // every contact matched; the first is attached
	// Queue is the interaction's queue when ReadQueue asked for it; nil
	// when no queue of that name is configured.
	Queue *Queue `json:",omitempty"`
	// Enqueued says Enqueue's item is in its queue.
	Enqueued bool `json:",omitempty"`
	// Offers are the offers booked for this process, with KeepOwnOffers.
	Offers []Offer `json:",omitempty"`
	// Presented is the one of Offers the step presented, with PresentOwn.
	Presented *OpenPresented `json:",omitempty"`
}

// OpenInteraction finds the customer in the directory (by calling number
// or email), creates the record, and registers the platform legs the
// process owns so that their events find it; as the request asks, it reads
// the queue's settings, queues the contact's first work item, and presents
// and rings the offer that booking makes for this process. Safe to retry:
// the record is keyed by its number, the queueing step keeps its first
// answer, and the ring is keyed by the offer.
func (a *Activities) OpenInteraction(ctx context.Context, r OpenInteractionRequest) (OpenedInteraction, error) {
	var out OpenedInteraction
	var q store.ContactQuery
	n := r.Interaction.toStore()
	if r.CallerNumber != "" {
		if number, err := phone.Normalize(r.CallerNumber, r.DefaultRegion); err == nil {
			q.Phone = number
			if n.ContactPhone == "" {
				n.ContactPhone = number
			}
		}
	}
	if r.CustomerEmail != "" {
		q.Email = strings.ToLower(strings.TrimSpace(r.CustomerEmail))
		if n.ContactEmail == "" {
			n.ContactEmail = q.Email
		}
	}
	if q.Phone != "" || q.Email != "" {
		found, err := a.Store.SearchContacts(ctx, store.ContactQuery{Phone: q.Phone, Email: q.Email, Limit: 20})
		if err != nil {
			return out, classify(err)
		}
		if found != nil {
			out.Candidates = make([]ContactRef, len(found))
			for i, c := range found {
				out.Candidates[i] = ContactRef{ID: c.ID, Name: c.Name}
			}
		}
		// One match is the customer. Several: a chat attaches the first by
		// default (seed 003); a call leaves the choice to the agent (seed 004).
		if len(found) == 1 || (len(found) > 1 && r.CustomerEmail != "") {
			id := found[0].ID
			n.ContactID = &id
			n.CompanyID = found[0].CompanyID
		}
	}
	// The record and its legs in one transaction: one commit.
	var it store.Interaction
	err := a.Store.InTx(ctx, func(tx *store.Store) error {
		var err error
		if it, err = tx.CreateInteraction(ctx, n); err != nil {
			return err
		}
		for _, leg := range r.Legs {
			if leg == "" {
				continue
			}
			if err := tx.RegisterLeg(ctx, leg, n.WorkflowID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return out, classify(err)
	}
	out.Interaction = interactionOf(it)
	if r.ReadQueue && n.Queue != "" {
		q, err := a.Store.GetQueue(ctx, n.Queue)
		switch {
		case err == nil:
			qq := queueOf(q)
			out.Queue = &qq
		case !errors.Is(err, store.ErrNotFound):
			return out, classify(err)
		}
	}
	if r.Enqueue == nil || out.Queue == nil {
		return out, nil
	}
	key := contentKey(ctx, "enqueue/"+r.Enqueue.ID)
	switch {
	case r.KeepOwnOffers && r.PresentOwn != nil:
		return a.enqueuePresenting(ctx, key, r, out)
	case r.KeepOwnOffers:
		_, own, err := a.router().EnqueueKeepingOwn(ctx, key, r.Enqueue.toStore())
		if err != nil {
			return out, classify(err)
		}
		out.Offers = offersOf(own)
	default:
		if _, err := a.router().Enqueue(ctx, key, r.Enqueue.toStore()); err != nil {
			return out, classify(err)
		}
	}
	out.Enqueued = true
	return out, nil
}

// enqueuePresenting queues the contact's item and, when an agent waits,
// shows the offer booked for it with the record's Pending Acceptance, in
// one step (the record was created before, in a transaction of its own,
// so the queue's lock is not held for it), then rings the agent.
func (a *Activities) enqueuePresenting(ctx context.Context, key string, r OpenInteractionRequest, out OpenedInteraction) (OpenedInteraction, error) {
	present := func(o store.Offer) routing.Record {
		c := r.PresentOwn.change(o.AgentID)
		rec := RecordChange{Interaction: &c}
		return rec.toRouting()
	}
	e, own, err := a.router().EnqueuePresentingOwn(ctx, key, r.Enqueue.toStore(), present)
	if err != nil {
		return out, classify(err)
	}
	out.Enqueued, out.Offers = true, offersOf(own)
	for _, o := range out.Offers {
		if o.ID != e.Presented {
			continue
		}
		p := &OpenPresented{OfferID: o.ID, PresentedOffer: PresentedOffer{Presented: Presented{Presented: true, State: store.OfferPending}}}
		if r.PresentOwn.Ring != nil {
			a.ringShown(ctx, r.PresentOwn.ring(o), &p.PresentedOffer)
		}
		out.Presented = p
	}
	return out, nil
}

// ChangeInteraction moves the record to a new state or assignment; a late
// or repeated change (a lower version) does nothing.
func (a *Activities) ChangeInteraction(ctx context.Context, c InteractionChange) (Interaction, error) {
	it, err := a.Store.ChangeInteraction(ctx, c.toStore())
	if err != nil {
		return Interaction{}, classify(err)
	}
	return interactionOf(it), nil
}

// RecordPhoneLog writes the call's phone log (once per call).
func (a *Activities) RecordPhoneLog(ctx context.Context, l PhoneLog) error {
	return classify(a.Store.RecordPhoneLog(ctx, l.toStore()))
}

// TransferRecord is a transfer to write, with the request id that makes
// writing it again write nothing.
type TransferRecord struct {
	Transfer  Transfer
	RequestID string
}

// RecordTransfer writes a transfer record (once per request id).
func (a *Activities) RecordTransfer(ctx context.Context, r TransferRecord) error {
	return classify(a.Store.RecordTransfer(ctx, r.Transfer.toStore(r.RequestID)))
}

// AddWorkNote appends a work note (once per request id).
func (a *Activities) AddWorkNote(ctx context.Context, number, author, body, requestID string) (WorkNote, error) {
	n, err := a.Store.AddWorkNote(ctx, number, author, body, requestID)
	if err != nil {
		return WorkNote{}, classify(err)
	}
	return workNoteOf(n), nil
}

// ChatLine is one transcript line.
type ChatLine struct {
	Seq    int
	Key    string `json:",omitempty"` // the platform's event id, for a message the platform sent
	Sender string
	Text   string
	At     time.Time
}

// AppendChatMessage keeps one chat message in the transcript.
// The process numbers the messages it keeps (l.Seq); the store places
// each at the transcript's end, once.
func (a *Activities) AppendChatMessage(ctx context.Context, number string, l ChatLine) error {
	key := l.Key
	if key == "" {
		key = fmt.Sprintf("process-%s-%d", l.Sender, l.Seq)
	}
	return classify(a.Store.AddChatMessage(ctx, number, key, l.Sender, l.Text, l.At))
}

// Escalate opens an incident or request linked to the interaction (and its
// case); for an incident from a chat the transcript goes in. Once per
// request id.
func (a *Activities) Escalate(ctx context.Context, in NewEscalation) (Escalated, error) {
	e := in.toStore()
	if e.Kind == "incident" && e.Transcript == "" {
		lines, err := a.Store.ChatTranscript(ctx, e.Interaction)
		if err != nil {
			return Escalated{}, classify(err)
		}
		var b strings.Builder
		for _, l := range lines {
			fmt.Fprintf(&b, "[%s] %s: %s\n", l.At.UTC().Format("15:04:05"), l.Sender, l.Text)
		}
		e.Transcript = b.String()
	}
	esc, err := a.Store.Escalate(ctx, e)
	if err != nil {
		return Escalated{}, classify(err)
	}
	activity.GetLogger(ctx).Info("interaction escalated", "interaction", e.Interaction, "kind", e.Kind, "number", esc.Number)
	return Escalated{Kind: esc.Kind, Number: esc.Number}, nil
}

// Escalated names the incident or request an escalation opened; its body
// and transcript stay in PostgreSQL (GET /v1/incidents/{number}).
type Escalated struct {
	Kind   string `json:"kind"`
	Number string `json:"number"`
}

// RecordIVR adds what the caller chose and entered in the IVR to the record.
func (a *Activities) RecordIVR(ctx context.Context, number string, ivr map[string]string, caseNumber string) error {
	return classify(a.Store.RecordIVR(ctx, number, ivr, caseNumber))
}
