package activities

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/routing"
	"github.com/casehub/casehub/store"
)

// The activities' own message types: what a workflow hands an activity and
// gets back. They are payloads in the processes' histories, read again by
// every replay and by every process still running, so they are not
// PostgreSQL's rows: a JSON tag changed in store/ must not change what a
// history decodes to. Each carries what the workflows use or show, under the
// JSON names the histories already hold (untagged fields keep their Go names,
// as the store's untagged fields were encoded); the conversions to and from
// the store's rows are here, the only side that talks to store.
// workflows/testdata/payloads.json pins their JSON.

// ---- the directory and cases ----

// Contact is a contact as a case process shows it (the agent UI reads it
// through the process's state).
type Contact struct {
	ID                   uuid.UUID             `json:"id"`
	Name                 string                `json:"name"`
	CompanyID            *uuid.UUID            `json:"company_id"`
	CompanyName          *string               `json:"company_name"`
	CommunicationOptions []CommunicationOption `json:"communication_options"`
	CreatedAt            time.Time             `json:"created_at"`
	UpdatedAt            time.Time             `json:"updated_at"`
}

// CommunicationOption is one of a contact's phone numbers or addresses.
type CommunicationOption struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	Label string `json:"label"`
}

func contactOf(c store.Contact) Contact {
	out := Contact{ID: c.ID, Name: c.Name, CompanyID: c.CompanyID, CompanyName: c.CompanyName,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if c.CommunicationOptions != nil {
		out.CommunicationOptions = make([]CommunicationOption, len(c.CommunicationOptions))
		for i, o := range c.CommunicationOptions {
			out.CommunicationOptions[i] = CommunicationOption{Kind: o.Kind, Value: o.Value, Label: o.Label}
		}
	}
	return out
}

func contactsOf(cs []store.Contact) []Contact {
	if cs == nil {
		return nil
	}
	out := make([]Contact, len(cs))
	for i, c := range cs {
		out[i] = contactOf(c)
	}
	return out
}

// ContactRef names a contact matched for an interaction's customer.
type ContactRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// Case is a case as a case process shows it.
type Case struct {
	ID              uuid.UUID  `json:"id"`
	Number          string     `json:"number"`
	Subject         string     `json:"subject"`
	Description     string     `json:"description"`
	Category        string     `json:"category"`
	Priority        string     `json:"priority"`
	Status          string     `json:"status"`
	StatusReason    string     `json:"status_reason"`
	StatusChangedAt time.Time  `json:"status_changed_at"`
	ContactID       uuid.UUID  `json:"contact_id"`
	ContactName     string     `json:"contact_name"`
	CompanyID       *uuid.UUID `json:"company_id"`
	CompanyName     *string    `json:"company_name"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func caseOf(c store.Case) Case {
	return Case{ID: c.ID, Number: c.Number, Subject: c.Subject, Description: c.Description, Category: c.Category,
		Priority: c.Priority, Status: c.Status, StatusReason: c.StatusReason, StatusChangedAt: c.StatusChangedAt,
		ContactID: c.ContactID, ContactName: c.ContactName, CompanyID: c.CompanyID, CompanyName: c.CompanyName,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// NewCase is a case to register; RequestID makes a retry return the same
// case.
type NewCase struct {
	RequestID   string
	Subject     string
	Description string
	Category    string
	Priority    string // medium when empty
	ContactID   uuid.UUID
	CompanyID   *uuid.UUID // the contact's company when nil
	// InteractionID, when set, links the case to the interaction it was
	// created from.
	InteractionID string
}

func (n NewCase) toStore() store.NewCase {
	return store.NewCase{RequestID: n.RequestID, Subject: n.Subject, Description: n.Description, Category: n.Category,
		Priority: n.Priority, ContactID: n.ContactID, CompanyID: n.CompanyID, InteractionID: n.InteractionID}
}

// Consultation is advice recorded on a case.
type Consultation struct {
	ID            uuid.UUID `json:"id"`
	CaseNumber    string    `json:"case_number"`
	InteractionID string    `json:"interaction_id"`
	AgentID       string    `json:"agent_id"`
	Note          string    `json:"note"`
	CreatedAt     time.Time `json:"created_at"`
}

func consultationOf(c store.Consultation) Consultation {
	return Consultation{ID: c.ID, CaseNumber: c.CaseNumber, InteractionID: c.InteractionID, AgentID: c.AgentID,
		Note: c.Note, CreatedAt: c.CreatedAt}
}

// NewConsultation is advice to record; ID makes a retry record nothing
// twice.
type NewConsultation struct {
	ID            uuid.UUID
	CaseNumber    string
	ContactID     *uuid.UUID // when set, the case must belong to this contact
	InteractionID string
	AgentID       string
	Note          string
}

func (n NewConsultation) toStore() store.NewConsultation {
	return store.NewConsultation{ID: n.ID, CaseNumber: n.CaseNumber, ContactID: n.ContactID,
		InteractionID: n.InteractionID, AgentID: n.AgentID, Note: n.Note}
}

// ---- interactions ----

// NewInteraction is an interaction record to create.
type NewInteraction struct {
	Number     string
	Channel    string
	Direction  string
	State      string
	WorkflowID string

	ContactID    *uuid.UUID
	CompanyID    *uuid.UUID
	ContactEmail string
	ContactPhone string
	Queue        string
	AgentID      string
	CallID       string
	ChatID       string
	CreatedBy    string

	ShortDescription string
	Description      string
	IVR              map[string]string
	// CaseNumber, when set, becomes a related case record.
	CaseNumber string
	// Actor and Reason go into the first history entry.
	Actor, Reason string
}

func (n NewInteraction) toStore() store.NewInteraction {
	return store.NewInteraction{Number: n.Number, Channel: n.Channel, Direction: n.Direction, State: n.State,
		WorkflowID: n.WorkflowID, ContactID: n.ContactID, CompanyID: n.CompanyID, ContactEmail: n.ContactEmail,
		ContactPhone: n.ContactPhone, Queue: n.Queue, AgentID: n.AgentID, CallID: n.CallID, ChatID: n.ChatID,
		CreatedBy: n.CreatedBy, ShortDescription: n.ShortDescription, Description: n.Description, IVR: n.IVR,
		CaseNumber: n.CaseNumber, Actor: n.Actor, Reason: n.Reason}
}

// Interaction is what a process learns of its record once written: its
// number, state and version (the next change is version+1) and the contact
// it is for. The record itself stays in PostgreSQL (GET
// /v1/interactions/{number}).
type Interaction struct {
	Number    string     `json:"number"`
	State     string     `json:"state"`
	Version   int        `json:"version"`
	ContactID *uuid.UUID `json:"contact_id"`
}

func interactionOf(it store.Interaction) Interaction {
	return Interaction{Number: it.Number, State: it.State, Version: it.Version, ContactID: it.ContactID}
}

// InteractionChange moves an interaction's record; a late or repeated
// change (a lower version) does nothing.
type InteractionChange struct {
	Number  string
	Version int
	State   string
	Actor   string
	Reason  string

	AgentID      *string
	Queue        *string
	Disposition  *string
	ContactID    *uuid.UUID
	CompanyID    *uuid.UUID
	ContactEmail *string
}

func (c InteractionChange) toStore() store.InteractionChange {
	return store.InteractionChange{Number: c.Number, Version: c.Version, State: c.State, Actor: c.Actor,
		Reason: c.Reason, AgentID: c.AgentID, Queue: c.Queue, Disposition: c.Disposition, ContactID: c.ContactID,
		CompanyID: c.CompanyID, ContactEmail: c.ContactEmail}
}

// PhoneLog is a call's phone log.
type PhoneLog struct {
	CallID          string     `json:"call_id"`
	Interaction     string     `json:"interaction"`
	FromNumber      string     `json:"from_number"`
	ToNumber        string     `json:"to_number"`
	AgentID         *string    `json:"agent_id"`
	StartedAt       time.Time  `json:"started_at"`
	AnsweredAt      *time.Time `json:"answered_at"`
	EndedAt         time.Time  `json:"ended_at"`
	DurationSeconds int        `json:"duration_seconds"`
}

func (l PhoneLog) toStore() store.PhoneLog {
	return store.PhoneLog{CallID: l.CallID, Interaction: l.Interaction, FromNumber: l.FromNumber, ToNumber: l.ToNumber,
		AgentID: l.AgentID, StartedAt: l.StartedAt, AnsweredAt: l.AnsweredAt, EndedAt: l.EndedAt,
		DurationSeconds: l.DurationSeconds}
}

// Transfer is a transfer of an interaction to another agent or queue (its
// request id travels beside it, in TransferRecord).
type Transfer struct {
	Interaction string    `json:"interaction"`
	FromAgent   string    `json:"from_agent"`
	ToAgent     *string   `json:"to_agent"`
	ToQueue     *string   `json:"to_queue"`
	At          time.Time `json:"at"`
}

func (t Transfer) toStore(requestID string) store.Transfer {
	return store.Transfer{Interaction: t.Interaction, FromAgent: t.FromAgent, ToAgent: t.ToAgent, ToQueue: t.ToQueue,
		RequestID: requestID, At: t.At}
}

// WorkNote is a work note on an interaction; the add-note update answers
// with it and the API shows it.
type WorkNote struct {
	ID        int64     `json:"id"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func workNoteOf(n store.WorkNote) WorkNote {
	return WorkNote{ID: n.ID, Author: n.Author, Body: n.Body, CreatedAt: n.CreatedAt}
}

// NewEscalation is an incident or request to open from an interaction.
type NewEscalation struct {
	Interaction      string
	Kind             string
	RequestID        string
	CaseNumber       string
	ShortDescription string
	Description      string
	Actor            string
	ContactID        *uuid.UUID
	ChatInitiatedAt  *time.Time
	ChatAcceptedAt   *time.Time
	ChatTerminatedAt *time.Time
	Transcript       string
}

func (e NewEscalation) toStore() store.NewEscalation {
	return store.NewEscalation{Interaction: e.Interaction, Kind: e.Kind, RequestID: e.RequestID, CaseNumber: e.CaseNumber,
		ShortDescription: e.ShortDescription, Description: e.Description, Actor: e.Actor, ContactID: e.ContactID,
		ChatInitiatedAt: e.ChatInitiatedAt, ChatAcceptedAt: e.ChatAcceptedAt, ChatTerminatedAt: e.ChatTerminatedAt,
		Transcript: e.Transcript}
}

// ---- callbacks ----

// CallbackChange writes a callback's step (versioned: a retried or late
// write changes nothing).
type CallbackChange struct {
	ID            string
	Version       int
	State         string
	Outcome       string
	Attempts      int
	MaxAttempts   int
	NextAttemptAt *time.Time
	AgentID       string // "" for none
	ScheduledAt   *time.Time
	TimeZone      string
	ExpiresAt     time.Time
}

func (c CallbackChange) toStore() store.CallbackChange {
	return store.CallbackChange{ID: c.ID, Version: c.Version, State: c.State, Outcome: c.Outcome, Attempts: c.Attempts,
		MaxAttempts: c.MaxAttempts, NextAttemptAt: c.NextAttemptAt, AgentID: c.AgentID, ScheduledAt: c.ScheduledAt,
		TimeZone: c.TimeZone, ExpiresAt: c.ExpiresAt}
}

// CallbackAttempt is one dial of a callback and, later, its outcome.
type CallbackAttempt struct {
	Callback  string     `json:"callback"`
	Attempt   int        `json:"attempt"`
	Number    string     `json:"number"`
	CallID    *string    `json:"call_id"`
	AgentID   *string    `json:"agent_id"`
	Outcome   string     `json:"outcome"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
}

func (at CallbackAttempt) toStore() store.CallbackAttempt {
	return store.CallbackAttempt{Callback: at.Callback, Attempt: at.Attempt, Number: at.Number, CallID: at.CallID,
		AgentID: at.AgentID, Outcome: at.Outcome, StartedAt: at.StartedAt, EndedAt: at.EndedAt}
}

// ---- routing ----

// Queue is what a process needs of its queue's settings.
type Queue struct {
	Name               string `json:"name"`
	AcceptanceTimeoutS int    `json:"acceptance_timeout_seconds"`
	WrapUpTimeoutS     int    `json:"wrapup_timeout_seconds"`
	OnReject           string `json:"on_reject"`
	OnTimeout          string `json:"on_timeout"` // store.OnRejectClose or OnRejectReoffer
	OutboundNumber     string `json:"outbound_number"`
	// DispositionRequired: calls and chats of this queue are ended, and its
	// agents' wrap-ups ended by hand, only with a disposition code.
	DispositionRequired bool            `json:"disposition_required"`
	Settings            json.RawMessage `json:"settings"`
}

// AcceptanceTimeout is how long an agent has to accept an offer.
func (q Queue) AcceptanceTimeout() time.Duration {
	return time.Duration(q.AcceptanceTimeoutS) * time.Second
}

// WrapUpTimeout is the post-processing time after an item.
func (q Queue) WrapUpTimeout() time.Duration { return time.Duration(q.WrapUpTimeoutS) * time.Second }

func queueOf(q store.Queue) Queue {
	return Queue{Name: q.Name, AcceptanceTimeoutS: q.AcceptanceTimeoutS, WrapUpTimeoutS: q.WrapUpTimeoutS,
		OnReject: q.OnReject, OnTimeout: q.OnTimeout, OutboundNumber: q.OutboundNumber,
		DispositionRequired: q.DispositionRequired, Settings: q.Settings}
}

// NewWorkItem is a process's item to put in its queue.
type NewWorkItem struct {
	ID          string
	Queue       string
	Channel     string
	Kind        string
	WorkflowID  string
	ReplacesID  string
	TargetAgent string
	// Position, when set, is the place in line drawn when the contact
	// arrived; otherwise the item is placed at the end now.
	Position int64
}

func (n NewWorkItem) toStore() store.NewWorkItem {
	return store.NewWorkItem{ID: n.ID, Queue: n.Queue, Channel: n.Channel, Kind: n.Kind, WorkflowID: n.WorkflowID,
		ReplacesID: n.ReplacesID, TargetAgent: n.TargetAgent, Position: n.Position}
}

// Offer is an offer a routing activity made and returned for the process to
// deliver. Routing activities deliver their offers themselves now and
// return none (histories from before that carry them, and replay delivers
// them as they were), except the offers an interaction's open step books
// for the interaction itself (OpenInteractionRequest.KeepOwnOffers).
type Offer struct {
	ID         string `json:"id"`
	ItemID     string `json:"item_id"`
	AgentID    string `json:"agent_id"`
	WorkflowID string `json:"workflow_id"`
	Queue      string `json:"queue"`
	Channel    string `json:"channel"`
}

// offersOf carries store offers across the boundary.
func offersOf(in []store.Offer) []Offer {
	var out []Offer
	for _, o := range in {
		out = append(out, Offer{ID: o.ID, ItemID: o.ItemID, AgentID: o.AgentID, WorkflowID: o.WorkflowID, Queue: o.Queue, Channel: o.Channel})
	}
	return out
}

// RecordChange is the change a process makes to its own records in a
// routing step's transaction: as it presents an offer (the interaction goes
// Pending Acceptance for the agent, or the callback's step says offered),
// as its agent accepts, as its item finishes (the call's phone log, the
// record closed).
type RecordChange struct {
	Interaction *InteractionChange `json:"interaction,omitempty"`
	Callback    *CallbackChange    `json:"callback,omitempty"`
	PhoneLog    *PhoneLog          `json:"phone_log,omitempty"`
}

func (r *RecordChange) toRouting() routing.Record {
	var rec routing.Record
	if r == nil {
		return rec
	}
	if l := r.PhoneLog; l != nil {
		sl := l.toStore()
		rec.PhoneLog = &sl
	}
	if c := r.Interaction; c != nil {
		sc := c.toStore()
		rec.Interaction = &sc
	}
	if c := r.Callback; c != nil {
		sc := c.toStore()
		rec.Callback = &sc
	}
	return rec
}

// Presented says whether the offer is now shown to its agent; false when it
// was closed first (State says how).
type Presented struct {
	Presented bool   `json:"presented"`
	State     string `json:"state"`
}

// PresentedOffer is PresentOffer's answer: the offer's presentation and,
// when the request had a Ring, the agent's leg the platform rang or why it
// could not ring. Its JSON is Presented's with two more fields.
type PresentedOffer struct {
	Presented
	Leg        *cti.Call `json:"leg,omitempty"`
	RingFailed string    `json:"ring_failed,omitempty"`
}

func presentedOf(p routing.Presented) Presented {
	return Presented{Presented: p.Presented, State: p.State}
}

// Accepted says whom an accepted offer assigned the item to.
type Accepted struct {
	AgentID string `json:"agent_id"`
	ItemID  string `json:"item_id"`
	Queue   string `json:"queue"`
	// AgentTold: the agent's process has been signalled (so the item's
	// process need not).
	AgentTold bool `json:"agent_told"`
}

func acceptedOf(a routing.Accepted) Accepted {
	return Accepted{AgentID: a.AgentID, ItemID: a.ItemID, Queue: a.Queue, AgentTold: a.AgentTold}
}

// FinishedItem says what finishing an item did to its agent.
type FinishedItem struct {
	AgentID     string     `json:"agent_id"`    // the agent that was booked, "" if none
	AgentLoad   int        `json:"agent_load"`  // what that agent still has booked
	WrappingUp  bool       `json:"wrapping_up"` // the agent went to wrap-up
	WrapUpUntil *time.Time `json:"wrapup_until,omitempty"`
	PresenceSeq int64      `json:"presence_seq,omitempty"` // the agent's presence change that started the wrap-up
	WasAssigned bool       `json:"was_assigned"`
	Position    int64      `json:"position"` // the item's place in line, for a process that re-enters later
}

func finishedItemOf(f store.FinishedItem) FinishedItem {
	return FinishedItem{AgentID: f.AgentID, AgentLoad: f.AgentLoad, WrappingUp: f.WrappingUp, WrapUpUntil: f.WrapUpUntil,
		PresenceSeq: f.PresenceSeq, WasAssigned: f.WasAssigned, Position: f.Position}
}

// WrapUp is an agent's presence and, in wrap-up, the item and its end, as
// PostgreSQL has them.
type WrapUp struct {
	Presence string     `json:"presence"`
	Item     string     `json:"item,omitempty"`
	Until    *time.Time `json:"until,omitempty"`
	Seq      int64      `json:"presence_seq"`
}

func wrapUpOf(w routing.WrapUp) WrapUp {
	return WrapUp{Presence: w.Presence, Item: w.Item, Until: w.Until, Seq: w.Seq}
}

// Swept says what a routing sweep found.
type Swept struct {
	Redelivered int `json:"redelivered"`
	Overdue     int `json:"overdue"`
}

func sweptOf(s routing.Swept) Swept { return Swept{Redelivered: s.Redelivered, Overdue: s.Overdue} }

// ---- retention and the self check ----

// Expired counts what a retention sweep deleted.
type Expired struct {
	CTIEvents       int64 `json:"cti_events"`
	IdempotencyKeys int64 `json:"idempotency_keys"`
	Events          int64 `json:"events"`
}

func expiredOf(e store.Expired) Expired {
	return Expired{CTIEvents: e.CTIEvents, IdempotencyKeys: e.IdempotencyKeys, Events: e.Events}
}

// SelfCheck is the self-check row a process wrote.
type SelfCheck struct {
	WorkflowID string
	RunID      string
	Note       string
	CheckedAt  time.Time
}

func selfCheckOf(s store.SelfCheck) SelfCheck {
	return SelfCheck{WorkflowID: s.WorkflowID, RunID: s.RunID, Note: s.Note, CheckedAt: s.CheckedAt}
}
