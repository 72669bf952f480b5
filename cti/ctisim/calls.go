package ctisim

import (
	"maps"
	"net/http"

	"github.com/casehub/casehub/cti"
)

// Reasons recorded in CallRecord.EndReason.
const (
	EndCompleted    = "completed"      // hung up by casehub
	EndCallerHungUp = "caller_hung_up" // the customer hung up
	EndPeerEnded    = "peer_ended"     // the bridged or offered leg ended
	EndNoAnswer     = "no_answer"      // outbound call rang out
	EndBusy         = "busy"           // outbound call found the line busy
	EndVoicemail    = "voicemail"      // outbound call reached voicemail
	EndFailed       = "failed"         // outbound call could not be placed
)

const (
	failedReasonSim   = "simulated_failure"
	codeCallNotFound  = "call_not_found"
	codeChatNotFound  = "chat_not_found"
	codeCallNotActive = "call_not_active"
	codeChatNotActive = "chat_not_active"
	codeNotAnswered   = "call_not_answered"
)

// The methods below run with s.mu held.

func (s *Simulator) addCall(c *CallRecord) {
	if c.Events == nil {
		c.Events = []*EventRecord{}
	}
	s.calls[c.ID] = c
	s.callOrder = append(s.callOrder, c.ID)
}

func (s *Simulator) emitCall(c *CallRecord, ev cti.Event) {
	ev.CallID = c.ID
	if ev.Context == nil {
		ev.Context = c.Context
	}
	s.emit(c.ID, &c.Events, ev)
}

// answer marks c answered.
func (s *Simulator) answer(c *CallRecord) {
	now := s.now()
	c.State = cti.CallStateAnswered
	c.AnsweredAt = &now
}

// end ends c with reason and emits call_ended. Legs bridged to c and agent
// legs offered c end with it.
func (s *Simulator) end(c *CallRecord, reason string) {
	if c.ended() {
		return
	}
	now := s.now()
	c.State = cti.CallStateEnded
	c.EndedAt = &now
	c.EndReason = reason
	started := c.CreatedAt
	duration := int(now.Sub(started).Seconds())
	ev := cti.Event{Type: cti.EventCallEnded, StartedAt: &started, EndedAt: &now, DurationSeconds: &duration}
	if c.AnsweredAt != nil {
		answered := *c.AnsweredAt
		ev.AnsweredAt = &answered
	}
	s.emitCall(c, ev)

	if peer, ok := s.calls[c.BridgedWith]; ok {
		s.end(peer, EndPeerEnded)
	}
	for _, id := range s.callOrder {
		if leg := s.calls[id]; leg.CustomerCallID == c.ID {
			s.end(leg, EndPeerEnded)
		}
	}
}

// placeCall starts an outbound call and schedules its scripted outcome.
func (s *Simulator) placeCall(key string, r cti.PlaceCallRequest) (int, any) {
	o, ok := s.scripts[r.To]
	if !ok {
		o = s.cfg.DefaultOutcome
	}
	c := &CallRecord{
		ID:             newID("call_"),
		IdempotencyKey: key,
		Direction:      cti.DirectionOutbound,
		State:          cti.CallStateRinging,
		From:           r.From,
		To:             r.To,
		Queue:          r.Queue,
		Outcome:        o.String(),
		Context:        maps.Clone(r.Context),
		CreatedAt:      s.now(),
	}
	s.addCall(c)
	s.log.Info("cti-sim call placed", "call_id", c.ID, "to", c.To, "outcome", c.Outcome, "idempotency_key", key)

	// ringing reports whether c is still waiting for its outcome; casehub
	// may have hung up in the meantime.
	ringing := func() bool { return c.State == cti.CallStateRinging }
	switch o.Kind {
	case OutcomeAnswer:
		s.after(o.After, func() {
			if ringing() {
				s.answer(c)
				s.emitCall(c, cti.Event{Type: cti.EventCallAnswered})
			}
		})
	case OutcomeNoAnswer:
		s.after(o.After, func() {
			if ringing() {
				s.emitCall(c, cti.Event{Type: cti.EventCallNoAnswer})
				s.end(c, EndNoAnswer)
			}
		})
	case OutcomeBusy:
		s.after(o.After, func() {
			if ringing() {
				s.emitCall(c, cti.Event{Type: cti.EventCallBusy})
				s.end(c, EndBusy)
			}
		})
	case OutcomeVoicemail:
		s.after(o.After, func() {
			if ringing() {
				s.answer(c)
				s.emitCall(c, cti.Event{Type: cti.EventCallVoicemail})
				s.end(c, EndVoicemail)
			}
		})
	case OutcomeFail:
		s.after(o.After, func() {
			if ringing() {
				s.emitCall(c, cti.Event{Type: cti.EventCallFailed, Reason: failedReasonSim})
				s.end(c, EndFailed)
			}
		})
	case OutcomeHangup:
		s.after(s.cfg.RingTime, func() {
			if !ringing() {
				return
			}
			s.answer(c)
			s.emitCall(c, cti.Event{Type: cti.EventCallAnswered})
			s.after(o.After, func() {
				if !c.ended() {
					s.emitCall(c, cti.Event{Type: cti.EventCallerHungUp})
					s.end(c, EndCallerHungUp)
				}
			})
		})
	}
	return http.StatusCreated, c.call()
}

// offer creates an agent leg for a call or chat; the agent answers after
// Config.AgentAnswerDelay.
func (s *Simulator) offer(key string, r cti.OfferRequest) (int, any) {
	leg := &CallRecord{
		ID:             newID("call_"),
		IdempotencyKey: key,
		Direction:      cti.DirectionAgent,
		State:          cti.CallStateRinging,
		To:             r.AgentID,
		From:           r.Queue,
		Queue:          r.Queue,
		AgentID:        r.AgentID,
		Context:        maps.Clone(r.Context),
		CreatedAt:      s.now(),
	}
	var chat *ChatRecord
	switch r.Channel {
	case cti.ChannelVoice:
		c, ok := s.calls[r.CallID]
		if !ok {
			return errorResult(http.StatusNotFound, codeCallNotFound, "no call "+r.CallID)
		}
		if c.ended() {
			return errorResult(http.StatusConflict, codeCallNotActive, "call "+r.CallID+" has ended")
		}
		if c.Direction == cti.DirectionAgent {
			return errorResult(http.StatusConflict, codeCallNotActive, "call "+r.CallID+" is an agent leg")
		}
		leg.CustomerCallID = c.ID
		if leg.Context == nil {
			leg.Context = maps.Clone(c.Context)
		}
		if leg.Queue == "" {
			leg.Queue, leg.From = c.Queue, c.Queue
		}
	case cti.ChannelChat:
		var ok bool
		chat, ok = s.chats[r.ChatID]
		if !ok {
			return errorResult(http.StatusNotFound, codeChatNotFound, "no chat "+r.ChatID)
		}
		if chat.State == ChatEnded {
			return errorResult(http.StatusConflict, codeChatNotActive, "chat "+r.ChatID+" has ended")
		}
		leg.ChatID = chat.ID
		if leg.Queue == "" {
			leg.Queue, leg.From = chat.Queue, chat.Queue
		}
	}
	s.addCall(leg)
	s.after(s.cfg.AgentAnswerDelay, func() {
		if leg.State != cti.CallStateRinging {
			return
		}
		s.answer(leg)
		if chat != nil {
			chat.AgentID = leg.AgentID
		}
		s.emitCall(leg, cti.Event{
			Type:           cti.EventAgentLegAnswered,
			AgentID:        leg.AgentID,
			ChatID:         leg.ChatID,
			CustomerCallID: leg.CustomerCallID,
		})
	})
	return http.StatusCreated, leg.call()
}

// bridgeResponse is the body of a successful bridge.
type bridgeResponse struct {
	CustomerCallID string        `json:"customer_call_id"`
	AgentCallID    string        `json:"agent_call_id"`
	State          cti.CallState `json:"state"`
}

func (s *Simulator) bridge(r cti.BridgeRequest) (int, any) {
	cust, ok := s.calls[r.CustomerCallID]
	if !ok || cust.Direction == cti.DirectionAgent {
		return errorResult(http.StatusNotFound, codeCallNotFound, "no customer call "+r.CustomerCallID)
	}
	agent, ok := s.calls[r.AgentCallID]
	if !ok || agent.Direction != cti.DirectionAgent {
		return errorResult(http.StatusNotFound, codeCallNotFound, "no agent leg "+r.AgentCallID)
	}
	for _, c := range []*CallRecord{cust, agent} {
		if c.ended() {
			return errorResult(http.StatusConflict, codeCallNotActive, "call "+c.ID+" has ended")
		}
		if c.State == cti.CallStateRinging {
			return errorResult(http.StatusConflict, codeNotAnswered, "call "+c.ID+" has not been answered")
		}
		if c.BridgedWith != "" && c.BridgedWith != cust.ID && c.BridgedWith != agent.ID {
			return errorResult(http.StatusConflict, codeCallNotActive, "call "+c.ID+" is bridged to "+c.BridgedWith)
		}
	}
	cust.State, agent.State = cti.CallStateBridged, cti.CallStateBridged
	cust.BridgedWith, agent.BridgedWith = agent.ID, cust.ID
	if cust.AgentID == "" {
		cust.AgentID = agent.AgentID
	}
	return http.StatusOK, bridgeResponse{CustomerCallID: cust.ID, AgentCallID: agent.ID, State: cti.CallStateBridged}
}

func (s *Simulator) transfer(key string, r cti.TransferRequest) (int, any) {
	c, ok := s.calls[r.CallID]
	if !ok {
		return errorResult(http.StatusNotFound, codeCallNotFound, "no call "+r.CallID)
	}
	if c.ended() {
		return errorResult(http.StatusConflict, codeCallNotActive, "call "+r.CallID+" has ended")
	}
	c.Transfers = append(c.Transfers, TransferRecord{IdempotencyKey: key, ToAgentID: r.ToAgentID, ToQueue: r.ToQueue, At: s.now()})
	if r.ToQueue != "" {
		c.Queue = r.ToQueue
	}
	if r.ToAgentID != "" {
		s.after(s.cfg.AgentAnswerDelay, func() {
			if c.ended() {
				return
			}
			c.AgentID = r.ToAgentID
			s.emitCall(c, cti.Event{Type: cti.EventAgentLegAnswered, AgentID: r.ToAgentID})
		})
	}
	return http.StatusAccepted, c.call()
}

// hangUp ends a call on casehub's request. Hanging up a call that has
// already ended changes nothing and emits nothing.
func (s *Simulator) hangUp(r cti.HangUpRequest) (int, any) {
	c, ok := s.calls[r.CallID]
	if !ok {
		return errorResult(http.StatusNotFound, codeCallNotFound, "no call "+r.CallID)
	}
	s.end(c, EndCompleted)
	return http.StatusOK, c.call()
}

// endChat ends a chat on casehub's request (the agent ended it): the
// customer's side closes and chat_ended follows. Ending a chat that has
// already ended changes nothing and emits nothing.
func (s *Simulator) endChat(r cti.EndChatRequest) (int, any) {
	chat, ok := s.chats[r.ChatID]
	if !ok {
		return errorResult(http.StatusNotFound, codeChatNotFound, "no chat "+r.ChatID)
	}
	if chat.State != ChatEnded {
		now := s.now()
		chat.State, chat.EndedAt, chat.EndedBy = ChatEnded, &now, EndedByAgent
		s.emitChat(chat, cti.Event{Type: cti.EventChatEnded})
	}
	return http.StatusOK, endChatResponse{ChatID: chat.ID, State: chat.State}
}

// endChatResponse is the body of a successful end of chat.
type endChatResponse struct {
	ChatID string `json:"chat_id"`
	State  string `json:"state"`
}

// messageResponse is the body of a successful chat message.
type messageResponse struct {
	ID     string `json:"id"`
	ChatID string `json:"chat_id"`
}

// sendChatMessage records an agent's (or casehub's) message. The platform
// does not echo it back as an event.
func (s *Simulator) sendChatMessage(key string, r cti.ChatMessageRequest) (int, any) {
	chat, ok := s.chats[r.ChatID]
	if !ok {
		return errorResult(http.StatusNotFound, codeChatNotFound, "no chat "+r.ChatID)
	}
	if chat.State == ChatEnded {
		return errorResult(http.StatusConflict, codeChatNotActive, "chat "+r.ChatID+" has ended")
	}
	m := MessageRecord{ID: newID("msg_"), Sender: cti.SenderAgent, From: r.From, Text: r.Text, IdempotencyKey: key, At: s.now()}
	chat.Messages = append(chat.Messages, m)
	return http.StatusCreated, messageResponse{ID: m.ID, ChatID: chat.ID}
}
