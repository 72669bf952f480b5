// Package ctisim is a contact-center platform simulator: the platform side of
// casehub's CTI contract (docs/cti-contract.md), for development and tests.
//
// It serves the command API that cti.HTTPAdapter calls, plays scripted
// outcomes for outbound calls, answers agent legs, and posts signed events to
// casehub's events endpoint. Admin routes under /sim/ let a developer or a
// test act as the customer: ring in, start a chat, hang up.
package ctisim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/casehub/casehub/cti"
)

// Config configures a Simulator.
type Config struct {
	// EventsURL is casehub's events endpoint, for example
	// http://127.0.0.1:8080/v1/cti/events. When empty, events are recorded
	// but not delivered.
	EventsURL string
	// Secret signs event deliveries (Casehub-Signature).
	Secret string
	// Token is sent to casehub as "Authorization: Bearer <Token>" (omitted
	// when empty).
	Token string
	// APIKey is the bearer token commands must carry. Empty accepts any.
	APIKey string
	// Scripts maps a customer's E.164 number to the outcome of calls placed
	// to it.
	Scripts map[string]Outcome
	// DefaultOutcome applies to numbers without a script. Zero means the
	// package DefaultOutcome (answer after 1s).
	DefaultOutcome Outcome
	// RingTime is how long a call with the hangup outcome rings before the
	// customer answers. Zero means 1s.
	RingTime time.Duration
	// AgentAnswerDelay is how long an agent leg rings before the agent
	// answers. Zero means 200ms.
	AgentAnswerDelay time.Duration
	// HTTPClient delivers events. Nil means a default client.
	HTTPClient *http.Client
	// Logger receives the simulator's log. Nil discards it.
	Logger *slog.Logger
}

// Delivery states of an EventRecord.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliverySkipped   = "skipped" // no EventsURL configured
)

// EventRecord is an event the simulator emitted and what became of it.
type EventRecord struct {
	ID         string        `json:"id"`
	Type       cti.EventType `json:"type"`
	OccurredAt time.Time     `json:"occurred_at"`
	Delivery   string        `json:"delivery"`
	Error      string        `json:"error,omitempty"`
}

// TransferRecord is a transfer casehub requested.
type TransferRecord struct {
	IdempotencyKey string    `json:"idempotency_key"`
	ToAgentID      string    `json:"to_agent_id,omitempty"`
	ToQueue        string    `json:"to_queue,omitempty"`
	At             time.Time `json:"at"`
}

// CallRecord is a call leg as the simulator knows it (GET /sim/calls).
type CallRecord struct {
	ID             string            `json:"id"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	Direction      cti.Direction     `json:"direction"`
	State          cti.CallState     `json:"state"`
	From           string            `json:"from"`
	To             string            `json:"to"`
	Queue          string            `json:"queue,omitempty"`
	Outcome        string            `json:"outcome,omitempty"`
	AgentID        string            `json:"agent_id,omitempty"`
	CustomerCallID string            `json:"customer_call_id,omitempty"`
	ChatID         string            `json:"chat_id,omitempty"`
	BridgedWith    string            `json:"bridged_with,omitempty"`
	IVR            map[string]string `json:"ivr,omitempty"`
	CaseNumber     string            `json:"case_number,omitempty"`
	Context        map[string]string `json:"context,omitempty"`
	EndReason      string            `json:"end_reason,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	AnsweredAt     *time.Time        `json:"answered_at,omitempty"`
	EndedAt        *time.Time        `json:"ended_at,omitempty"`
	Transfers      []TransferRecord  `json:"transfers,omitempty"`
	Events         []*EventRecord    `json:"events"`
}

func (c *CallRecord) call() cti.Call {
	return cti.Call{ID: c.ID, State: c.State, Direction: c.Direction, To: c.To, From: c.From, CreatedAt: c.CreatedAt}
}

func (c *CallRecord) ended() bool { return c.State == cti.CallStateEnded }

// MessageRecord is one chat message.
type MessageRecord struct {
	ID             string    `json:"id"`
	Sender         string    `json:"sender"` // cti.SenderCustomer or cti.SenderAgent
	From           string    `json:"from,omitempty"`
	Text           string    `json:"text"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	At             time.Time `json:"at"`
}

// Chat states.
const (
	ChatOpen  = "open"
	ChatEnded = "ended"
)

// Who ended a chat.
const (
	EndedByCustomer = "customer"
	EndedByAgent    = "agent"
)

// ChatRecord is a chat as the simulator knows it (GET /sim/chats).
type ChatRecord struct {
	ID       string          `json:"id"`
	State    string          `json:"state"`
	Email    string          `json:"email"`
	Name     string          `json:"name,omitempty"`
	Queue    string          `json:"queue"`
	AgentID  string          `json:"agent_id,omitempty"`
	Messages []MessageRecord `json:"messages"`
	// Refused are the customer's messages sent after the chat ended: they
	// were answered 409 chat_not_active and not delivered.
	Refused   []MessageRecord `json:"refused,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	EndedAt   *time.Time      `json:"ended_at,omitempty"`
	EndedBy   string          `json:"ended_by,omitempty"` // EndedByCustomer or EndedByAgent
	Events    []*EventRecord  `json:"events"`
}

// idemEntry is the remembered result of a command.
type idemEntry struct {
	op          string
	fingerprint []byte
	status      int
	body        []byte
}

type pending struct {
	ev  cti.Event
	rec *EventRecord
}

// outbox holds one entity's undelivered events; a single goroutine drains
// it, so events about one call or chat arrive in the order emitted.
type outbox struct {
	queue []pending
}

// Simulator is a fake contact-center platform. Create it with New, serve
// Handler, and call Close when done.
type Simulator struct {
	cfg    Config
	log    *slog.Logger
	sender *cti.EventSender

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	scripts   map[string]Outcome
	calls     map[string]*CallRecord
	callOrder []string
	chats     map[string]*ChatRecord
	chatOrder []string
	idem      map[string]*idemEntry
	outboxes  map[string]*outbox
}

// New returns a running simulator.
func New(cfg Config) *Simulator {
	if cfg.DefaultOutcome.Kind == "" {
		cfg.DefaultOutcome = DefaultOutcome
	}
	if cfg.RingTime <= 0 {
		cfg.RingTime = time.Second
	}
	if cfg.AgentAnswerDelay <= 0 {
		cfg.AgentAnswerDelay = 200 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Simulator{
		cfg:      cfg,
		log:      log,
		ctx:      ctx,
		cancel:   cancel,
		scripts:  make(map[string]Outcome, len(cfg.Scripts)),
		calls:    make(map[string]*CallRecord),
		chats:    make(map[string]*ChatRecord),
		idem:     make(map[string]*idemEntry),
		outboxes: make(map[string]*outbox),
	}
	for n, o := range cfg.Scripts {
		s.scripts[n] = o
	}
	if cfg.EventsURL != "" {
		s.sender = cti.NewEventSender(cfg.EventsURL, cfg.Secret, cfg.Token, cfg.HTTPClient)
	}
	return s
}

// Close stops pending timers and event deliveries and waits for every
// goroutine the simulator started. Commands received afterwards get 503.
// Close is safe to call more than once.
func (s *Simulator) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// SetScript sets the outcome of future calls to number.
func (s *Simulator) SetScript(number string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[number] = o
}

// Calls returns a snapshot of every call leg, oldest first.
func (s *Simulator) Calls() []CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CallRecord, 0, len(s.callOrder))
	for _, id := range s.callOrder {
		out = append(out, snapshot(*s.calls[id]))
	}
	return out
}

// Chats returns a snapshot of every chat, oldest first.
func (s *Simulator) Chats() []ChatRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChatRecord, 0, len(s.chatOrder))
	for _, id := range s.chatOrder {
		out = append(out, snapshot(*s.chats[id]))
	}
	return out
}

// snapshot deep-copies a record through JSON so the caller shares nothing
// with the simulator's state. Called with mu held.
func snapshot[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ctisim: snapshot: " + err.Error())
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic("ctisim: snapshot: " + err.Error())
	}
	return out
}

func (s *Simulator) now() time.Time { return time.Now().UTC() }

func newID(prefix string) string { return prefix + uuid.NewString() }

// after runs fn with mu held once d has passed, unless the simulator closes
// first. Called with mu held.
func (s *Simulator) after(d time.Duration, fn func()) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closed {
			fn()
		}
	}()
}

// emit stamps ev with a fresh id and time, records it on *events, and queues
// it for delivery in the outbox of entity. Called with mu held.
func (s *Simulator) emit(entity string, events *[]*EventRecord, ev cti.Event) {
	if s.closed {
		return
	}
	ev.ID = newID("evt_")
	ev.OccurredAt = s.now()
	if err := ev.Validate(); err != nil {
		// A simulator bug: send it anyway so casehub's rejection shows it.
		s.log.Error("cti-sim emitted an invalid event", "type", ev.Type, "error", err)
	}
	rec := &EventRecord{ID: ev.ID, Type: ev.Type, OccurredAt: ev.OccurredAt, Delivery: DeliveryPending}
	*events = append(*events, rec)
	s.log.Info("cti-sim event", "event_id", ev.ID, "type", ev.Type, "call_id", ev.CallID, "chat_id", ev.ChatID)

	ob, running := s.outboxes[entity]
	if !running {
		ob = &outbox{}
		s.outboxes[entity] = ob
	}
	ob.queue = append(ob.queue, pending{ev: ev, rec: rec})
	if !running {
		s.wg.Add(1)
		go s.drain(entity)
	}
}

// drain delivers the outbox of entity until it is empty.
func (s *Simulator) drain(entity string) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		ob := s.outboxes[entity]
		if len(ob.queue) == 0 {
			delete(s.outboxes, entity)
			s.mu.Unlock()
			return
		}
		p := ob.queue[0]
		ob.queue = ob.queue[1:]
		s.mu.Unlock()

		state, errText := s.deliver(p.ev)

		s.mu.Lock()
		p.rec.Delivery, p.rec.Error = state, errText
		s.mu.Unlock()
	}
}

func (s *Simulator) deliver(ev cti.Event) (string, string) {
	if s.sender == nil {
		return DeliverySkipped, ""
	}
	if err := s.sender.Send(s.ctx, ev); err != nil {
		s.log.Warn("cti-sim event delivery failed", "event_id", ev.ID, "type", ev.Type, "error", err)
		return DeliveryFailed, err.Error()
	}
	return DeliveryDelivered, ""
}

// authorized checks the command's bearer token against Config.APIKey.
func (s *Simulator) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(h[len(prefix):]), []byte(s.cfg.APIKey)) == 1
}
