package activities

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/casehub/casehub/phone"
	"github.com/casehub/casehub/store"
)

// defaultRegion reads national numbers when the process names no region.
const defaultRegion = "US"

// historyLimit caps the cases shown on a contact page.
const historyLimit = 200

// CallerLookup is the calling number as the platform gave it.
type CallerLookup struct {
	Number        string `json:"number"`
	DefaultRegion string `json:"default_region"`
}

// Caller is the calling number in E.164 ("" when withheld or invalid) and the
// contacts that have it among their communication options.
type Caller struct {
	Number   string    `json:"number"`
	Contacts []Contact `json:"contacts"`
}

// IdentifyCaller normalises the calling number and finds every contact with
// it. A withheld or invalid number matches nobody.
func (a *Activities) IdentifyCaller(ctx context.Context, in CallerLookup) (Caller, error) {
	number, err := phone.Normalize(in.Number, regionOr(in.DefaultRegion))
	if err != nil {
		activity.GetLogger(ctx).Info("calling number is not a valid number; identifying by hand", "err", err)
		return Caller{Contacts: []Contact{}}, nil
	}
	found, err := a.Store.SearchContacts(ctx, store.ContactQuery{Phone: number, Limit: 50})
	if err != nil {
		return Caller{}, classify(err)
	}
	return Caller{Number: number, Contacts: contactsOf(found)}, nil
}

// ContactSearch is the agent's search on the contact identification page.
type ContactSearch struct {
	Name          string `json:"name"`
	Phone         string `json:"phone"` // any notation
	Email         string `json:"email"`
	Company       string `json:"company"`     // part of the company's name
	CaseNumber    string `json:"case_number"` // the contact of this case
	DefaultRegion string `json:"default_region"`
}

// SearchContactsForCase runs the agent's search; every field given must
// match.
func (a *Activities) SearchContactsForCase(ctx context.Context, in ContactSearch) ([]Contact, error) {
	found, err := a.searchContactsForCase(ctx, in)
	return contactsOf(found), err
}

func (a *Activities) searchContactsForCase(ctx context.Context, in ContactSearch) ([]store.Contact, error) {
	q := store.ContactQuery{Name: strings.TrimSpace(in.Name), Company: strings.TrimSpace(in.Company),
		Email: strings.ToLower(strings.TrimSpace(in.Email)), Limit: 50}
	if in.Phone != "" {
		n, err := phone.Normalize(in.Phone, regionOr(in.DefaultRegion))
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError("phone is not a telephone number", ErrTypeInvalid, err, "phone")
		}
		q.Phone = n
	}
	if in.CaseNumber == "" {
		found, err := a.Store.SearchContacts(ctx, q)
		return found, classify(err)
	}
	c, err := a.Store.GetCase(ctx, strings.ToUpper(strings.TrimSpace(in.CaseNumber)))
	if errors.Is(err, store.ErrNotFound) {
		return []store.Contact{}, nil
	}
	if err != nil {
		return nil, classify(err)
	}
	if in.Name == "" && in.Phone == "" && in.Email == "" && in.Company == "" {
		ct, err := a.Store.GetContact(ctx, c.ContactID)
		if err != nil {
			return nil, classify(err)
		}
		return []store.Contact{ct}, nil
	}
	q.Limit = 200
	found, err := a.Store.SearchContacts(ctx, q)
	if err != nil {
		return nil, classify(err)
	}
	out := []store.Contact{}
	for _, ct := range found {
		if ct.ID == c.ContactID {
			out = append(out, ct)
		}
	}
	return out, nil
}

// AddCallerNumber adds the calling number (E.164) to a contact's
// communication options; a number the contact has already is left as it is.
func (a *Activities) AddCallerNumber(ctx context.Context, contactID uuid.UUID, number string) (Contact, error) {
	c, err := a.Store.AddCommunicationOption(ctx, contactID, store.CommunicationOption{Kind: store.OptionPhone, Value: number})
	if err != nil {
		return Contact{}, classify(err)
	}
	return contactOf(c), nil
}

// CallerContact is a new contact for the caller, under an id the process
// chose so that a retry creates nothing twice.
type CallerContact struct {
	ID           uuid.UUID  `json:"id"`
	Name         string     `json:"name"`
	Email        string     `json:"email"`
	CompanyID    *uuid.UUID `json:"company_id"`
	CallerNumber string     `json:"caller_number"` // E.164, or "" when withheld
}

// CreateCallerContact adds the caller as a contact with the calling number
// and the email given.
func (a *Activities) CreateCallerContact(ctx context.Context, in CallerContact) (Contact, error) {
	nc := store.NewContact{Name: in.Name, CompanyID: in.CompanyID}
	if in.CallerNumber != "" {
		nc.CommunicationOptions = append(nc.CommunicationOptions, store.CommunicationOption{Kind: store.OptionPhone, Value: in.CallerNumber})
	}
	if email := strings.ToLower(strings.TrimSpace(in.Email)); email != "" {
		nc.CommunicationOptions = append(nc.CommunicationOptions, store.CommunicationOption{Kind: store.OptionEmail, Value: email})
	}
	c, err := a.Store.CreateContactOnce(ctx, in.ID, nc)
	if err != nil {
		return Contact{}, classify(err)
	}
	return contactOf(c), nil
}

// CreateCase registers a case; nc.RequestID makes a retry return the same
// case.
func (a *Activities) CreateCase(ctx context.Context, nc NewCase) (Case, error) {
	c, err := a.Store.CreateCase(ctx, nc.toStore())
	if err != nil {
		return Case{}, classify(err)
	}
	if err := a.relateToInteraction(ctx, nc.InteractionID, c.Number); err != nil {
		return Case{}, err
	}
	activity.GetLogger(ctx).Info("case created", "case_number", c.Number, "contact_id", c.ContactID)
	return caseOf(c), nil
}

// relateToInteraction records the case number on the interaction's related
// records (idempotent). A process started for an interaction that has no
// record of its own (started directly, as tests and integrations may) only
// has the link kept on the case.
func (a *Activities) relateToInteraction(ctx context.Context, interaction, caseNumber string) error {
	if interaction == "" {
		return nil
	}
	err := a.Store.AddRelated(ctx, interaction, store.RelatedCase, caseNumber)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return classify(err)
	}
	return nil
}

// CaseSummary is a line of a contact's case history, what an agent picks a
// case by. Descriptions stay in PostgreSQL (GET /v1/cases/{number}): a
// process's history carries summaries only, so a long case history cannot
// swell it.
type CaseSummary struct {
	ID        uuid.UUID `json:"id"`
	Number    string    `json:"number"`
	Subject   string    `json:"subject"`
	Status    string    `json:"status"`
	Priority  string    `json:"priority"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ContactCases lists a contact's cases, newest first (at most
// historyLimit), as summaries.
func (a *Activities) ContactCases(ctx context.Context, contactID uuid.UUID) ([]CaseSummary, error) {
	cs, err := a.Store.ListCases(ctx, store.CaseQuery{ContactID: &contactID, Limit: historyLimit})
	if err != nil {
		return nil, classify(err)
	}
	out := make([]CaseSummary, len(cs))
	for i, c := range cs {
		out[i] = CaseSummary{ID: c.ID, Number: c.Number, Subject: c.Subject, Status: c.Status, Priority: c.Priority,
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	}
	return out, nil
}

// RecordConsultation notes advice given on a case; nc.ID makes a retry
// record nothing twice.
func (a *Activities) RecordConsultation(ctx context.Context, nc NewConsultation) (Consultation, error) {
	c, err := a.Store.RecordConsultation(ctx, nc.toStore())
	if err != nil {
		return Consultation{}, classify(err)
	}
	if err := a.relateToInteraction(ctx, nc.InteractionID, nc.CaseNumber); err != nil {
		return Consultation{}, err
	}
	return consultationOf(c), nil
}

func regionOr(region string) string {
	if region == "" {
		return defaultRegion
	}
	return region
}
