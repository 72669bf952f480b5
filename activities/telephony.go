package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/casehub/casehub/cti"
)

// ErrTypeCTIRejected is a platform refusal no retry can fix (a 4xx).
const ErrTypeCTIRejected = "CTIRejected"

// ErrTypeTooLate is a call not placed because the moment it was for has
// passed (its NotAfter).
const ErrTypeTooLate = "TooLate"

// ctiErr lets retryable platform failures (network, 5xx, 429) be retried by
// the activity's retry policy and stops on refusals.
func ctiErr(err error) error {
	if err == nil || cti.IsRetryable(err) {
		return err
	}
	if cti.IsTooLate(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeTooLate, err)
	}
	var ce *cti.Error
	if errors.As(err, &ce) {
		return temporal.NewNonRetryableApplicationError(ce.Error(), ErrTypeCTIRejected, err)
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCTIRejected, err)
}

// OwnedCall is a call leg placed or offered for a process.
type OwnedCall struct {
	Call       cti.Call
	WorkflowID string
}

// PlaceCall dials a customer. The idempotency key (the process and its
// attempt) makes a retried dial return the first call, never ring twice.
// The new leg is registered to the process so its events find it.
//
// A call whose NotAfter has passed is not placed: the first attempt checks
// it here; a later attempt asks the platform, which answers a key it
// already placed with that call and refuses a new one as too late.
func (a *Activities) PlaceCall(ctx context.Context, r cti.PlaceCallRequest, workflowID string) (cti.Call, error) {
	if r.NotAfter != nil && a.now().After(*r.NotAfter) && (!activity.IsActivity(ctx) || activity.GetInfo(ctx).Attempt <= 1) {
		return cti.Call{}, temporal.NewNonRetryableApplicationError(
			"the call was for no later than "+r.NotAfter.UTC().Format(time.RFC3339), ErrTypeTooLate, nil)
	}
	call, err := a.CTI.PlaceCall(ctx, r)
	if err != nil {
		return cti.Call{}, ctiErr(err)
	}
	if err := a.Store.RegisterLeg(ctx, call.ID, workflowID); err != nil {
		return cti.Call{}, classify(err)
	}
	return call, nil
}

// OfferToAgent rings the agent's leg for a call or chat.
func (a *Activities) OfferToAgent(ctx context.Context, r cti.OfferRequest, workflowID string) (cti.Call, error) {
	call, err := a.CTI.OfferToAgent(ctx, r)
	if err != nil {
		return cti.Call{}, ctiErr(err)
	}
	if call.ID != "" {
		if err := a.Store.RegisterLeg(ctx, call.ID, workflowID); err != nil {
			return cti.Call{}, classify(err)
		}
	}
	return call, nil
}

// Bridge connects the customer's and the agent's legs.
func (a *Activities) Bridge(ctx context.Context, r cti.BridgeRequest) error {
	return ctiErr(a.CTI.Bridge(ctx, r))
}

// TransferCall moves a call to another agent or queue on the platform.
func (a *Activities) TransferCall(ctx context.Context, r cti.TransferRequest) error {
	return ctiErr(a.CTI.Transfer(ctx, r))
}

// HangUp ends a call leg.
func (a *Activities) HangUp(ctx context.Context, r cti.HangUpRequest) error {
	return ctiErr(a.CTI.HangUp(ctx, r))
}

// SendChatMessage posts the agent's message to the customer.
func (a *Activities) SendChatMessage(ctx context.Context, r cti.ChatMessageRequest) error {
	return ctiErr(a.CTI.SendChatMessage(ctx, r))
}

// EndChat ends the chat for the customer when the agent ends it.
func (a *Activities) EndChat(ctx context.Context, r cti.EndChatRequest) error {
	return ctiErr(a.CTI.EndChat(ctx, r))
}
