// Package cti is casehub's telephony (CTI) boundary.
//
// It defines the commands casehub sends to the contact-center platform
// (the Platform interface and its request types), the events the platform
// posts back to casehub (Event and ParseEvent), the webhook signature scheme
// (Sign and Verify), the typed error returned by platform calls (Error), and
// the production HTTP implementation of Platform (HTTPAdapter).
//
// The platform side of the same contract, used for development and tests,
// lives in the ctisim sub-package. The wire contract is documented in
// docs/cti-contract.md.
package cti

import (
	"context"
	"regexp"
	"time"
)

// Platform is the set of commands casehub's workflow activities issue to the
// contact-center platform. Every command carries an idempotency key: the
// platform performs a command at most once per key and answers a repeated key
// with the original result.
type Platform interface {
	// PlaceCall dials a customer from a queue's number.
	PlaceCall(ctx context.Context, r PlaceCallRequest) (Call, error)
	// OfferToAgent offers a call or a chat to an agent, creating the agent leg.
	OfferToAgent(ctx context.Context, r OfferRequest) (Call, error)
	// Bridge connects a customer leg with an agent leg.
	Bridge(ctx context.Context, r BridgeRequest) error
	// Transfer moves a call to another agent or to a queue.
	Transfer(ctx context.Context, r TransferRequest) error
	// HangUp ends a call.
	HangUp(ctx context.Context, r HangUpRequest) error
	// SendChatMessage posts a message into a chat.
	SendChatMessage(ctx context.Context, r ChatMessageRequest) error
	// EndChat ends a chat for the customer too (the agent ended it).
	EndChat(ctx context.Context, r EndChatRequest) error
}

// Channel is the medium of an interaction offered to an agent.
type Channel string

// Channels.
const (
	ChannelVoice Channel = "voice"
	ChannelChat  Channel = "chat"
)

// CallState is the platform's view of a call leg.
type CallState string

// Call states.
const (
	// CallStateRinging: an outbound call or an agent leg is being dialled.
	CallStateRinging CallState = "ringing"
	// CallStateIVR: an inbound caller is in the IVR (after ivr_connected,
	// before incoming_call): not yet waiting for an agent.
	CallStateIVR CallState = "ivr"
	// CallStateQueued: an inbound call is held by the platform, waiting to be
	// offered to an agent.
	CallStateQueued CallState = "queued"
	// CallStateAnswered: the far end picked up.
	CallStateAnswered CallState = "answered"
	// CallStateBridged: the leg is connected to another leg.
	CallStateBridged CallState = "bridged"
	// CallStateEnded: the leg is over, whatever the reason.
	CallStateEnded CallState = "ended"
)

// Direction says who started a call leg.
type Direction string

// Directions.
const (
	DirectionInbound  Direction = "inbound"  // the customer called in
	DirectionOutbound Direction = "outbound" // casehub dialled the customer
	DirectionAgent    Direction = "agent"    // a leg to an agent created by an offer
)

// Call is a call leg as reported by the platform.
type Call struct {
	ID        string    `json:"id"`
	State     CallState `json:"state"`
	Direction Direction `json:"direction"`
	// To is the dialled party: an E.164 number for customer legs, the agent
	// id for agent legs.
	To string `json:"to"`
	// From is the calling party: an E.164 number, or the queue for agent legs.
	From      string    `json:"from"`
	CreatedAt time.Time `json:"created_at"`
}

// PlaceCallRequest asks the platform to dial a customer.
type PlaceCallRequest struct {
	IdempotencyKey string `json:"idempotency_key"`
	// To is the customer's number in E.164 form.
	To string `json:"to"`
	// From is the queue's outbound number in E.164 form.
	From string `json:"from"`
	// Queue is the queue on whose behalf the call is placed.
	Queue string `json:"queue"`
	// Context is echoed back in every event about the call (for example
	// callback_id or interaction_id), so casehub can find the workflow.
	Context map[string]string `json:"context,omitempty"`
	// NotAfter, when set, is the last moment the call may be placed: a
	// command that reaches the platform later is refused (code too_late)
	// unless it repeats a key already placed, so no customer is rung after
	// the moment the call was for.
	NotAfter *time.Time `json:"not_after,omitempty"`
}

// OfferRequest offers a customer call or a chat to an agent. Exactly one of
// CallID and ChatID is set, matching Channel.
type OfferRequest struct {
	IdempotencyKey string  `json:"idempotency_key"`
	CallID         string  `json:"call_id,omitempty"`
	ChatID         string  `json:"chat_id,omitempty"`
	AgentID        string  `json:"agent_id"`
	Channel        Channel `json:"channel"`
	Queue          string  `json:"queue,omitempty"`
	// Context is echoed back in events about the agent leg. When empty, the
	// context of the offered call is used.
	Context map[string]string `json:"context,omitempty"`
}

// BridgeRequest connects a customer leg and an agent leg.
type BridgeRequest struct {
	IdempotencyKey string `json:"idempotency_key"`
	CustomerCallID string `json:"customer_call_id"`
	AgentCallID    string `json:"agent_call_id"`
}

// TransferRequest moves a call to another agent or to a queue. Exactly one of
// ToAgentID and ToQueue is set.
type TransferRequest struct {
	IdempotencyKey string `json:"idempotency_key"`
	CallID         string `json:"call_id"`
	ToAgentID      string `json:"to_agent_id,omitempty"`
	ToQueue        string `json:"to_queue,omitempty"`
}

// HangUpRequest ends a call.
type HangUpRequest struct {
	IdempotencyKey string `json:"idempotency_key"`
	CallID         string `json:"call_id"`
}

// ChatMessageRequest posts a message into a chat on behalf of From (an agent
// id, or "casehub" for automated messages).
type ChatMessageRequest struct {
	IdempotencyKey string `json:"idempotency_key"`
	ChatID         string `json:"chat_id"`
	Text           string `json:"text"`
	From           string `json:"from"`
}

// EndChatRequest ends a chat on the platform: the customer is told it is
// over and further messages are refused.
type EndChatRequest struct {
	IdempotencyKey string `json:"idempotency_key"`
	ChatID         string `json:"chat_id"`
	Reason         string `json:"reason,omitempty"`
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// IsE164 reports whether s looks like an E.164 number: a plus sign followed
// by 7 to 15 digits, the first of which is not zero.
func IsE164(s string) bool { return e164.MatchString(s) }

func requireKey(key string) error {
	if key == "" {
		return &FieldError{Field: "idempotency_key", Detail: "is required"}
	}
	return nil
}

func requireField(name, value string) error {
	if value == "" {
		return &FieldError{Field: name, Detail: "is required"}
	}
	return nil
}

func requireE164(name, value string) error {
	if value == "" {
		return &FieldError{Field: name, Detail: "is required"}
	}
	if !IsE164(value) {
		return &FieldError{Field: name, Detail: "must be an E.164 number such as +15551234567"}
	}
	return nil
}

// Validate checks the request; a failure is a *FieldError.
func (r PlaceCallRequest) Validate() error {
	return firstErr(
		requireKey(r.IdempotencyKey),
		requireE164("to", r.To),
		requireE164("from", r.From),
		requireField("queue", r.Queue),
	)
}

// Validate checks the request; a failure is a *FieldError.
func (r OfferRequest) Validate() error {
	if err := firstErr(requireKey(r.IdempotencyKey), requireField("agent_id", r.AgentID)); err != nil {
		return err
	}
	switch r.Channel {
	case ChannelVoice:
		if r.CallID == "" {
			return &FieldError{Field: "call_id", Detail: "is required for channel voice"}
		}
		if r.ChatID != "" {
			return &FieldError{Field: "chat_id", Detail: "must be empty for channel voice"}
		}
	case ChannelChat:
		if r.ChatID == "" {
			return &FieldError{Field: "chat_id", Detail: "is required for channel chat"}
		}
		if r.CallID != "" {
			return &FieldError{Field: "call_id", Detail: "must be empty for channel chat"}
		}
	case "":
		return &FieldError{Field: "channel", Detail: "is required"}
	default:
		return &FieldError{Field: "channel", Detail: `must be "voice" or "chat"`}
	}
	return nil
}

// Validate checks the request; a failure is a *FieldError.
func (r BridgeRequest) Validate() error {
	if err := firstErr(
		requireKey(r.IdempotencyKey),
		requireField("customer_call_id", r.CustomerCallID),
		requireField("agent_call_id", r.AgentCallID),
	); err != nil {
		return err
	}
	if r.CustomerCallID == r.AgentCallID {
		return &FieldError{Field: "agent_call_id", Detail: "must differ from customer_call_id"}
	}
	return nil
}

// Validate checks the request; a failure is a *FieldError.
func (r TransferRequest) Validate() error {
	if err := firstErr(requireKey(r.IdempotencyKey), requireField("call_id", r.CallID)); err != nil {
		return err
	}
	switch {
	case r.ToAgentID == "" && r.ToQueue == "":
		return &FieldError{Field: "to_agent_id", Detail: "one of to_agent_id and to_queue is required"}
	case r.ToAgentID != "" && r.ToQueue != "":
		return &FieldError{Field: "to_queue", Detail: "must be empty when to_agent_id is set"}
	}
	return nil
}

// Validate checks the request; a failure is a *FieldError.
func (r HangUpRequest) Validate() error {
	return firstErr(requireKey(r.IdempotencyKey), requireField("call_id", r.CallID))
}

// Validate checks the request; a failure is a *FieldError.
func (r ChatMessageRequest) Validate() error {
	return firstErr(
		requireKey(r.IdempotencyKey),
		requireField("chat_id", r.ChatID),
		requireField("text", r.Text),
		requireField("from", r.From),
	)
}

// Validate checks the request; a failure is a *FieldError.
func (r EndChatRequest) Validate() error {
	return firstErr(requireKey(r.IdempotencyKey), requireField("chat_id", r.ChatID))
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
