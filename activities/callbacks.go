package activities

import (
	"context"

	"github.com/casehub/casehub/store"
)

// Callback activities: the callback process's writes. Each is idempotent
// by something the process already knows (callback id with a version, an
// attempt number, a work item id).

// ChangeCallback writes the callback process's step (versioned: a retried
// or late write changes nothing).
func (a *Activities) ChangeCallback(ctx context.Context, c CallbackChange) error {
	_, err := a.Store.ChangeCallback(ctx, c.toStore())
	return classify(err)
}

// RecordCallbackAttempt writes a dial and, later, its outcome.
func (a *Activities) RecordCallbackAttempt(ctx context.Context, at CallbackAttempt) error {
	return classify(a.Store.RecordCallbackAttempt(ctx, at.toStore()))
}

// LinkCallbackInteraction notes an inbound call from the callback's number.
func (a *Activities) LinkCallbackInteraction(ctx context.Context, callbackID, interaction string) error {
	return classify(a.Store.LinkInteraction(ctx, callbackID, interaction))
}

// EnqueuedCallback is a callback's first work item in its queue.
type EnqueuedCallback struct {
	// Replaced: the item took over the place of the waiting call it
	// replaces (false when that call was no longer waiting).
	Replaced bool
	Offers   []Offer // always empty now (see Offer)
}

// EnqueueCallbackItem puts a callback's item in its queue in the place of
// the item it replaces, and books the queue. A retry after the item was
// enqueued reports the same takeover.
func (a *Activities) EnqueueCallbackItem(ctx context.Context, n NewWorkItem) (EnqueuedCallback, error) {
	e, err := a.router().Enqueue(ctx, stepKey(ctx), n.toStore())
	if err != nil {
		return EnqueuedCallback{}, classify(err)
	}
	return EnqueuedCallback{Replaced: e.Replaced}, nil
}

// OpenCallbackInteractionRequest makes the callback voice interaction.
type OpenCallbackInteractionRequest struct {
	CallbackID  string
	Interaction NewInteraction
}

// OpenCallbackInteraction creates the interaction of a connected callback
// (once per callback), for the contact with the callback's number when
// exactly one has it.
func (a *Activities) OpenCallbackInteraction(ctx context.Context, r OpenCallbackInteractionRequest) (Interaction, error) {
	n := r.Interaction.toStore()
	if n.ContactID == nil && n.ContactPhone != "" {
		found, err := a.Store.SearchContacts(ctx, store.ContactQuery{Phone: n.ContactPhone, Limit: 2})
		if err != nil {
			return Interaction{}, classify(err)
		}
		if len(found) == 1 {
			id := found[0].ID
			n.ContactID, n.CompanyID = &id, found[0].CompanyID
		}
	}
	it, err := a.Store.OpenCallbackInteraction(ctx, r.CallbackID, n)
	if err != nil {
		return Interaction{}, classify(err)
	}
	return interactionOf(it), nil
}
