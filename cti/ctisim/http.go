package ctisim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/mail"
	"time"

	"github.com/casehub/casehub/cti"
)

const maxBodyBytes = 1 << 20

// Error codes the simulator answers with, besides the not-found and
// conflict codes in calls.go.
const (
	codeUnauthorized        = "unauthorized"
	codeMissingKey          = "missing_idempotency_key"
	codeMalformed           = "malformed_request"
	codeInvalid             = "invalid_request"
	codeIdempotencyConflict = "idempotency_conflict"
	codeUnavailable         = "unavailable"
	codeNotFound            = "not_found"
)

// errorBody is the JSON error answer: {"code": ..., "message": ...}, plus
// the offending field for validation failures.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func errorResult(status int, code, msg string) (int, any) {
	return status, errorBody{Code: code, Message: msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"encode response"}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Code: code, Message: msg})
}

// writeDecodeError answers a body that failed decoding (400) or validation
// (422, naming the field).
func writeDecodeError(w http.ResponseWriter, err error) {
	var fe *cti.FieldError
	if errors.As(err, &fe) {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Code: codeInvalid, Message: fe.Error(), Field: fe.Field})
		return
	}
	writeError(w, http.StatusBadRequest, codeMalformed, err.Error())
}

// decodeStrict reads a single JSON object into v, rejecting unknown fields.
func decodeStrict(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBodyBytes {
		return errors.New("body too large")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	if dec.More() {
		return errors.New("decode body: unexpected data after the JSON object")
	}
	return nil
}

// Handler serves the platform command API (/v1/...), the admin API
// (/sim/...) and /healthz.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("POST /v1/calls", command(s, "place_call",
		func(r *http.Request, key string, req *cti.PlaceCallRequest) error {
			return bindKey(&req.IdempotencyKey, key)
		},
		func(key string, req cti.PlaceCallRequest) (int, any) {
			if req.NotAfter != nil && s.now().After(*req.NotAfter) {
				s.log.Warn("cti-sim refused a call after its not_after", "idempotency_key", key, "not_after", req.NotAfter)
				return http.StatusUnprocessableEntity, errorBody{Code: cti.CodeTooLate,
					Message: "the call's not_after (" + req.NotAfter.UTC().Format(time.RFC3339Nano) + ") has passed"}
			}
			return s.placeCall(key, req)
		}))

	mux.HandleFunc("POST /v1/agent-offers", command(s, "offer_to_agent",
		func(r *http.Request, key string, req *cti.OfferRequest) error {
			return bindKey(&req.IdempotencyKey, key)
		},
		func(key string, req cti.OfferRequest) (int, any) { return s.offer(key, req) }))

	mux.HandleFunc("POST /v1/bridges", command(s, "bridge",
		func(r *http.Request, key string, req *cti.BridgeRequest) error {
			return bindKey(&req.IdempotencyKey, key)
		},
		func(_ string, req cti.BridgeRequest) (int, any) { return s.bridge(req) }))

	mux.HandleFunc("POST /v1/transfers", command(s, "transfer",
		func(r *http.Request, key string, req *cti.TransferRequest) error {
			return bindKey(&req.IdempotencyKey, key)
		},
		func(key string, req cti.TransferRequest) (int, any) { return s.transfer(key, req) }))

	mux.HandleFunc("POST /v1/calls/{id}/hangup", command(s, "hang_up",
		func(r *http.Request, key string, req *cti.HangUpRequest) error {
			if err := bindKey(&req.IdempotencyKey, key); err != nil {
				return err
			}
			return bindPath(&req.CallID, "call_id", r.PathValue("id"))
		},
		func(_ string, req cti.HangUpRequest) (int, any) { return s.hangUp(req) }))

	mux.HandleFunc("POST /v1/chats/{id}/messages", command(s, "send_chat_message",
		func(r *http.Request, key string, req *cti.ChatMessageRequest) error {
			if err := bindKey(&req.IdempotencyKey, key); err != nil {
				return err
			}
			return bindPath(&req.ChatID, "chat_id", r.PathValue("id"))
		},
		func(key string, req cti.ChatMessageRequest) (int, any) { return s.sendChatMessage(key, req) }))

	mux.HandleFunc("POST /v1/chats/{id}/end", command(s, "end_chat",
		func(r *http.Request, key string, req *cti.EndChatRequest) error {
			if err := bindKey(&req.IdempotencyKey, key); err != nil {
				return err
			}
			return bindPath(&req.ChatID, "chat_id", r.PathValue("id"))
		},
		func(_ string, req cti.EndChatRequest) (int, any) { return s.endChat(req) }))

	mux.HandleFunc("POST /sim/inbound-calls", s.admin(s.simInboundCall))
	mux.HandleFunc("GET /sim/calls", s.admin(s.simListCalls))
	mux.HandleFunc("GET /sim/calls/{id}", s.admin(s.simGetCall))
	mux.HandleFunc("POST /sim/calls/{id}/hangup", s.admin(s.simCallerHangUp))
	mux.HandleFunc("POST /sim/calls/{id}/ivr-done", s.admin(s.simIVRDone))
	mux.HandleFunc("POST /sim/chats", s.admin(s.simStartChat))
	mux.HandleFunc("GET /sim/chats", s.admin(s.simListChats))
	mux.HandleFunc("GET /sim/chats/{id}", s.admin(s.simGetChat))
	mux.HandleFunc("POST /sim/chats/{id}/messages", s.admin(s.simChatMessage))
	mux.HandleFunc("POST /sim/chats/{id}/end", s.admin(s.simEndChat))
	mux.HandleFunc("GET /sim/scripts", s.admin(s.simListScripts))
	mux.HandleFunc("PUT /sim/scripts/{number}", s.admin(s.simPutScript))
	mux.HandleFunc("DELETE /sim/scripts/{number}", s.admin(s.simDeleteScript))

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// bindKey fills the body's idempotency_key from the header, or checks that
// the two agree.
func bindKey(dst *string, header string) error {
	if *dst == "" {
		*dst = header
		return nil
	}
	if *dst != header {
		return &cti.FieldError{Field: "idempotency_key", Detail: "does not match the Idempotency-Key header"}
	}
	return nil
}

// bindPath fills an id field from the URL path, or checks that they agree.
func bindPath(dst *string, name, path string) error {
	if *dst == "" {
		*dst = path
		return nil
	}
	if *dst != path {
		return &cti.FieldError{Field: name, Detail: "does not match the id in the path"}
	}
	return nil
}

// request is a command request type.
type request interface {
	cti.PlaceCallRequest | cti.OfferRequest | cti.BridgeRequest |
		cti.TransferRequest | cti.HangUpRequest | cti.ChatMessageRequest | cti.EndChatRequest
	Validate() error
}

// command wraps a platform command with authentication, decoding,
// validation and idempotency. bind copies header and path values into the
// request; exec performs the command with s.mu held and returns the status
// and body. Only successful (2xx) results are remembered under the key: a
// failed command changed nothing, so repeating it runs it again.
func command[T request](s *Simulator, op string,
	bind func(r *http.Request, key string, req *T) error,
	exec func(key string, req T) (int, any),
) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "missing or wrong API key")
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			writeError(w, http.StatusBadRequest, codeMissingKey, "the Idempotency-Key header is required")
			return
		}
		var req T
		if err := decodeStrict(r, &req); err != nil {
			writeDecodeError(w, err)
			return
		}
		if err := bind(r, key, &req); err != nil {
			writeDecodeError(w, err)
			return
		}
		if err := req.Validate(); err != nil {
			writeDecodeError(w, err)
			return
		}
		fingerprint, err := json.Marshal(req)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal", err.Error())
			return
		}

		status, body, replayed := s.runCommand(op, key, fingerprint, func() (int, any) { return exec(key, req) })
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeRaw(w, status, body)
	}
}

func (s *Simulator) runCommand(op, key string, fingerprint []byte, exec func() (int, any)) (int, []byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return http.StatusServiceUnavailable, mustJSON(errorBody{Code: codeUnavailable, Message: "simulator is shutting down"}), false
	}
	if prev, ok := s.idem[key]; ok {
		if prev.op != op || !bytes.Equal(prev.fingerprint, fingerprint) {
			s.log.Warn("cti-sim idempotency conflict", "op", op, "idempotency_key", key)
			return http.StatusUnprocessableEntity, mustJSON(errorBody{
				Code:    codeIdempotencyConflict,
				Message: fmt.Sprintf("idempotency key %q was used for a different %s request", key, prev.op),
			}), false
		}
		s.log.Info("cti-sim idempotent replay", "op", op, "idempotency_key", key)
		return prev.status, prev.body, true
	}
	status, v := exec()
	body := mustJSON(v)
	if status >= 200 && status <= 299 {
		s.idem[key] = &idemEntry{op: op, fingerprint: fingerprint, status: status, body: body}
	}
	return status, body, false
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ctisim: encode response: " + err.Error())
	}
	return b
}

// admin wraps an admin handler: exec runs with s.mu held.
func (s *Simulator) admin(h func(r *http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, v := h(r)
		if fe, ok := v.(error); ok {
			writeDecodeError(w, fe)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, v)
	}
}

// locked runs fn with s.mu held, refusing when the simulator is closed.
func (s *Simulator) locked(fn func() (int, any)) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errorResult(http.StatusServiceUnavailable, codeUnavailable, "simulator is shutting down")
	}
	return fn()
}

// InboundCall is the body of POST /sim/inbound-calls.
type InboundCall struct {
	From       string            `json:"from"`
	To         string            `json:"to"`
	Queue      string            `json:"queue"`
	IVR        map[string]string `json:"ivr,omitempty"`
	CaseNumber string            `json:"case_number,omitempty"`
	// ViaIVR sends ivr_connected (caller entered the IVR) before
	// incoming_call.
	ViaIVR bool `json:"via_ivr,omitempty"`
	// HoldInIVR (with ViaIVR) keeps the caller in the IVR: only
	// ivr_connected is sent, and POST /sim/calls/{id}/ivr-done later sends
	// incoming_call with the selections.
	HoldInIVR bool              `json:"hold_in_ivr,omitempty"`
	Context   map[string]string `json:"context,omitempty"`
}

func (s *Simulator) simInboundCall(r *http.Request) (int, any) {
	var in InboundCall
	if err := decodeStrict(r, &in); err != nil {
		return http.StatusBadRequest, err
	}
	if !cti.IsE164(in.From) {
		return 0, &cti.FieldError{Field: "from", Detail: "must be an E.164 number"}
	}
	if !cti.IsE164(in.To) {
		return 0, &cti.FieldError{Field: "to", Detail: "must be an E.164 number"}
	}
	if in.Queue == "" {
		return 0, &cti.FieldError{Field: "queue", Detail: "is required"}
	}
	if in.HoldInIVR && !in.ViaIVR {
		return 0, &cti.FieldError{Field: "hold_in_ivr", Detail: "needs via_ivr"}
	}
	return s.locked(func() (int, any) {
		now := s.now()
		c := &CallRecord{
			ID: newID("call_"), Direction: cti.DirectionInbound, State: cti.CallStateQueued,
			From: in.From, To: in.To, Queue: in.Queue, IVR: maps.Clone(in.IVR), CaseNumber: in.CaseNumber,
			Context: maps.Clone(in.Context), CreatedAt: now, AnsweredAt: &now,
		}
		s.addCall(c)
		base := cti.Event{CallerNumber: c.From, DialledNumber: c.To, Queue: c.Queue}
		if in.ViaIVR {
			ev := base
			ev.Type = cti.EventIVRConnected
			s.emitCall(c, ev)
		}
		if in.HoldInIVR {
			c.State, c.IVR, c.CaseNumber = cti.CallStateIVR, nil, ""
			return http.StatusCreated, snapshot(*c)
		}
		ev := base
		ev.Type, ev.IVR, ev.CaseNumber = cti.EventIncomingCall, maps.Clone(in.IVR), in.CaseNumber
		s.emitCall(c, ev)
		return http.StatusCreated, snapshot(*c)
	})
}

func (s *Simulator) simListCalls(r *http.Request) (int, any) {
	key := r.URL.Query().Get("idempotency_key")
	return s.locked(func() (int, any) {
		out := []CallRecord{}
		for _, id := range s.callOrder {
			if c := s.calls[id]; key == "" || c.IdempotencyKey == key {
				out = append(out, snapshot(*c))
			}
		}
		return http.StatusOK, out
	})
}

func (s *Simulator) simGetCall(r *http.Request) (int, any) {
	id := r.PathValue("id")
	return s.locked(func() (int, any) {
		c, ok := s.calls[id]
		if !ok {
			return errorResult(http.StatusNotFound, codeCallNotFound, "no call "+id)
		}
		return http.StatusOK, snapshot(*c)
	})
}

// IVRDone is the body of POST /sim/calls/{id}/ivr-done.
type IVRDone struct {
	IVR        map[string]string `json:"ivr,omitempty"`
	CaseNumber string            `json:"case_number,omitempty"`
}

// simIVRDone plays the caller finishing the IVR: incoming_call with the
// selections, and the call waits for an agent.
func (s *Simulator) simIVRDone(r *http.Request) (int, any) {
	var in IVRDone
	if err := decodeStrict(r, &in); err != nil {
		return http.StatusBadRequest, err
	}
	id := r.PathValue("id")
	return s.locked(func() (int, any) {
		c, ok := s.calls[id]
		if !ok {
			return errorResult(http.StatusNotFound, codeCallNotFound, "no call "+id)
		}
		if c.State != cti.CallStateIVR {
			return errorResult(http.StatusConflict, codeCallNotActive, "call "+id+" is not in the IVR")
		}
		c.State, c.IVR, c.CaseNumber = cti.CallStateQueued, maps.Clone(in.IVR), in.CaseNumber
		s.emitCall(c, cti.Event{Type: cti.EventIncomingCall, CallerNumber: c.From, DialledNumber: c.To, Queue: c.Queue,
			IVR: maps.Clone(in.IVR), CaseNumber: in.CaseNumber})
		return http.StatusOK, snapshot(*c)
	})
}

// simCallerHangUp plays the customer hanging up.
func (s *Simulator) simCallerHangUp(r *http.Request) (int, any) {
	id := r.PathValue("id")
	return s.locked(func() (int, any) {
		c, ok := s.calls[id]
		if !ok {
			return errorResult(http.StatusNotFound, codeCallNotFound, "no call "+id)
		}
		if c.Direction == cti.DirectionAgent {
			return errorResult(http.StatusConflict, codeCallNotActive, "call "+id+" is an agent leg, not a customer call")
		}
		if c.ended() {
			return errorResult(http.StatusConflict, codeCallNotActive, "call "+id+" has ended")
		}
		s.emitCall(c, cti.Event{Type: cti.EventCallerHungUp})
		s.end(c, EndCallerHungUp)
		return http.StatusOK, snapshot(*c)
	})
}

// StartChat is the body of POST /sim/chats.
type StartChat struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
	Queue string `json:"queue"`
	Text  string `json:"text,omitempty"`
}

func (s *Simulator) simStartChat(r *http.Request) (int, any) {
	var in StartChat
	if err := decodeStrict(r, &in); err != nil {
		return http.StatusBadRequest, err
	}
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
		return 0, &cti.FieldError{Field: "email", Detail: "must be a bare email address"}
	}
	if in.Queue == "" {
		return 0, &cti.FieldError{Field: "queue", Detail: "is required"}
	}
	return s.locked(func() (int, any) {
		now := s.now()
		chat := &ChatRecord{
			ID: newID("chat_"), State: ChatOpen, Email: in.Email, Name: in.Name, Queue: in.Queue,
			Messages: []MessageRecord{}, Events: []*EventRecord{}, CreatedAt: now,
		}
		s.chats[chat.ID] = chat
		s.chatOrder = append(s.chatOrder, chat.ID)
		s.emitChat(chat, cti.Event{Type: cti.EventChatOffered, CustomerEmail: in.Email, CustomerName: in.Name, Queue: in.Queue})
		if in.Text != "" {
			s.customerMessage(chat, cti.SenderCustomer, in.Text)
		}
		return http.StatusCreated, snapshot(*chat)
	})
}

func (s *Simulator) emitChat(chat *ChatRecord, ev cti.Event) {
	ev.ChatID = chat.ID
	s.emit(chat.ID, &chat.Events, ev)
}

// customerMessage records a message typed on the platform side (by the
// customer, or by an agent in the platform's own desktop) and emits it.
func (s *Simulator) customerMessage(chat *ChatRecord, sender, text string) MessageRecord {
	m := MessageRecord{ID: newID("msg_"), Sender: sender, Text: text, At: s.now()}
	chat.Messages = append(chat.Messages, m)
	s.emitChat(chat, cti.Event{Type: cti.EventChatMessage, From: sender, Text: text})
	return m
}

// ChatText is the body of POST /sim/chats/{id}/messages. From defaults to
// "customer"; "agent" plays an agent typing in the platform's desktop.
type ChatText struct {
	Text string `json:"text"`
	From string `json:"from,omitempty"`
}

func (s *Simulator) simChatMessage(r *http.Request) (int, any) {
	id := r.PathValue("id")
	var in ChatText
	if err := decodeStrict(r, &in); err != nil {
		return http.StatusBadRequest, err
	}
	if in.Text == "" {
		return 0, &cti.FieldError{Field: "text", Detail: "is required"}
	}
	switch in.From {
	case "":
		in.From = cti.SenderCustomer
	case cti.SenderCustomer, cti.SenderAgent:
	default:
		return 0, &cti.FieldError{Field: "from", Detail: `must be "customer" or "agent"`}
	}
	return s.locked(func() (int, any) {
		chat, ok := s.chats[id]
		if !ok {
			return errorResult(http.StatusNotFound, codeChatNotFound, "no chat "+id)
		}
		if chat.State == ChatEnded {
			// The customer is told, and the platform keeps what it refused.
			chat.Refused = append(chat.Refused, MessageRecord{ID: newID("msg_"), Sender: in.From, Text: in.Text, At: s.now()})
			return errorResult(http.StatusConflict, codeChatNotActive, "chat "+id+" has ended ("+chat.EndedBy+"); the message was not delivered")
		}
		return http.StatusCreated, s.customerMessage(chat, in.From, in.Text)
	})
}

func (s *Simulator) simEndChat(r *http.Request) (int, any) {
	id := r.PathValue("id")
	return s.locked(func() (int, any) {
		chat, ok := s.chats[id]
		if !ok {
			return errorResult(http.StatusNotFound, codeChatNotFound, "no chat "+id)
		}
		if chat.State == ChatEnded {
			return errorResult(http.StatusConflict, codeChatNotActive, "chat "+id+" has ended")
		}
		now := s.now()
		chat.State, chat.EndedAt, chat.EndedBy = ChatEnded, &now, EndedByCustomer
		s.emitChat(chat, cti.Event{Type: cti.EventChatEnded})
		return http.StatusOK, snapshot(*chat)
	})
}

func (s *Simulator) simListChats(*http.Request) (int, any) {
	return s.locked(func() (int, any) {
		out := []ChatRecord{}
		for _, id := range s.chatOrder {
			out = append(out, snapshot(*s.chats[id]))
		}
		return http.StatusOK, out
	})
}

func (s *Simulator) simGetChat(r *http.Request) (int, any) {
	id := r.PathValue("id")
	return s.locked(func() (int, any) {
		chat, ok := s.chats[id]
		if !ok {
			return errorResult(http.StatusNotFound, codeChatNotFound, "no chat "+id)
		}
		return http.StatusOK, snapshot(*chat)
	})
}

// ScriptBody is the body of PUT /sim/scripts/{number} and an element of GET
// /sim/scripts.
type ScriptBody struct {
	Number  string `json:"number,omitempty"`
	Outcome string `json:"outcome"`
}

func (s *Simulator) simListScripts(*http.Request) (int, any) {
	return s.locked(func() (int, any) {
		out := make(map[string]string, len(s.scripts))
		for n, o := range s.scripts {
			out[n] = o.String()
		}
		return http.StatusOK, map[string]any{"scripts": out, "default_outcome": s.cfg.DefaultOutcome.String()}
	})
}

func (s *Simulator) simPutScript(r *http.Request) (int, any) {
	number := r.PathValue("number")
	var in ScriptBody
	if err := decodeStrict(r, &in); err != nil {
		return http.StatusBadRequest, err
	}
	if !cti.IsE164(number) {
		return 0, &cti.FieldError{Field: "number", Detail: "must be an E.164 number"}
	}
	o, err := ParseOutcome(in.Outcome)
	if err != nil {
		return 0, &cti.FieldError{Field: "outcome", Detail: err.Error()}
	}
	return s.locked(func() (int, any) {
		s.scripts[number] = o
		return http.StatusOK, ScriptBody{Number: number, Outcome: o.String()}
	})
}

func (s *Simulator) simDeleteScript(r *http.Request) (int, any) {
	number := r.PathValue("number")
	return s.locked(func() (int, any) {
		delete(s.scripts, number)
		return http.StatusNoContent, nil
	})
}
