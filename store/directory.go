package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Company is an account in the directory.
type Company struct {
	ID        uuid.UUID `db:"id" json:"id"`
	Name      string    `db:"name" json:"name"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// Communication option kinds.
const (
	OptionPhone = "phone"
	OptionEmail = "email"
)

// CommunicationOption is one way to reach a contact: a phone number in E.164
// or a lower-cased email address.
type CommunicationOption struct {
	Kind  string `db:"kind" json:"kind"`
	Value string `db:"value" json:"value"`
	Label string `db:"label" json:"label"`
}

// Contact is a person in the directory, optionally working for a company.
type Contact struct {
	ID                   uuid.UUID             `db:"id" json:"id"`
	Name                 string                `db:"name" json:"name"`
	CompanyID            *uuid.UUID            `db:"company_id" json:"company_id"`
	CompanyName          *string               `db:"company_name" json:"company_name"`
	CommunicationOptions []CommunicationOption `db:"-" json:"communication_options"`
	CreatedAt            time.Time             `db:"created_at" json:"created_at"`
	UpdatedAt            time.Time             `db:"updated_at" json:"updated_at"`
}

// Email returns the contact's first email address, or "".
func (c Contact) Email() string { return c.firstOption(OptionEmail) }

// Phone returns the contact's first phone number, or "".
func (c Contact) Phone() string { return c.firstOption(OptionPhone) }

func (c Contact) firstOption(kind string) string {
	for _, o := range c.CommunicationOptions {
		if o.Kind == kind {
			return o.Value
		}
	}
	return ""
}

// ContactQuery filters a contact search; empty fields do not filter.
// Values must already be normalised (phone in E.164, email lower-cased).
type ContactQuery struct {
	Name      string     // case-insensitive substring
	Phone     string     // exact E.164
	Email     string     // exact, lower-case
	CompanyID *uuid.UUID // exact
	Company   string     // case-insensitive substring of the company's name
	Limit     int
	Offset    int
}

const (
	insertCompany = `
INSERT INTO companies (id, name) VALUES (:id, :name)
RETURNING id, name, created_at, updated_at`

	selectCompany = `SELECT id, name, created_at, updated_at FROM companies WHERE id = :id`

	updateCompany = `
UPDATE companies SET name = :name, updated_at = now() WHERE id = :id
RETURNING id, name, created_at, updated_at`

	searchCompanies = `
SELECT id, name, created_at, updated_at FROM companies
WHERE (:name = '' OR lower(name) LIKE '%' || lower(:name) || '%')
ORDER BY lower(name), id
LIMIT :limit OFFSET :offset`

	insertContact = `INSERT INTO contacts (id, name, company_id) VALUES (:id, :name, :company_id)`

	contactColumns = `
SELECT c.id, c.name, c.company_id, co.name AS company_name, c.created_at, c.updated_at
FROM contacts c LEFT JOIN companies co ON co.id = c.company_id`

	selectContact = contactColumns + ` WHERE c.id = :id`

	updateContact = `
UPDATE contacts SET name = :name, company_id = :company_id, updated_at = now() WHERE id = :id`

	searchContacts = contactColumns + `
WHERE (:name = '' OR lower(c.name) LIKE '%' || lower(:name) || '%')
  AND (:phone = '' OR EXISTS (SELECT 1 FROM contact_communication_options o
                              WHERE o.contact_id = c.id AND o.kind = 'phone' AND o.value = :phone))
  AND (:email = '' OR EXISTS (SELECT 1 FROM contact_communication_options o
                              WHERE o.contact_id = c.id AND o.kind = 'email' AND o.value = :email))
  AND (CAST(:company_id AS uuid) IS NULL OR c.company_id = CAST(:company_id AS uuid))
  AND (:company = '' OR lower(co.name) LIKE '%' || lower(:company) || '%')
ORDER BY lower(c.name), c.created_at, c.id
LIMIT :limit OFFSET :offset`

	selectOptions = `
SELECT contact_id, kind, value, label FROM contact_communication_options
WHERE contact_id = ANY(CAST(:ids AS uuid[])) ORDER BY contact_id, position`

	deleteOptions = `DELETE FROM contact_communication_options WHERE contact_id = :contact_id`

	// insertOption is idempotent: adding a value the contact already has is a no-op.
	insertOption = `
INSERT INTO contact_communication_options (contact_id, kind, value, label, position)
VALUES (:contact_id, :kind, :value, :label,
        (SELECT coalesce(max(position), 0) + 1 FROM contact_communication_options WHERE contact_id = :contact_id))
ON CONFLICT (contact_id, kind, value) DO NOTHING`

	touchContact = `UPDATE contacts SET updated_at = now() WHERE id = :id`
)

var companyFields = map[string]string{"companies_name_key": "name"}
var contactFields = map[string]string{"contacts_company_id_fkey": "company_id"}

// CreateCompany adds a company; its name is unique regardless of case.
func (s *Store) CreateCompany(ctx context.Context, name string) (Company, error) {
	var c Company
	err := s.namedGet(ctx, &c, insertCompany, map[string]any{"id": uuid.New(), "name": strings.TrimSpace(name)})
	if err != nil {
		return Company{}, fmt.Errorf("create company: %w", constraintErr(err, companyFields))
	}
	return c, nil
}

// GetCompany returns one company or ErrNotFound.
func (s *Store) GetCompany(ctx context.Context, id uuid.UUID) (Company, error) {
	var c Company
	if err := s.namedGet(ctx, &c, selectCompany, map[string]any{"id": id}); err != nil {
		return Company{}, fmt.Errorf("get company %s: %w", id, err)
	}
	return c, nil
}

// RenameCompany changes a company's name.
func (s *Store) RenameCompany(ctx context.Context, id uuid.UUID, name string) (Company, error) {
	var c Company
	err := s.namedGet(ctx, &c, updateCompany, map[string]any{"id": id, "name": strings.TrimSpace(name)})
	if err != nil {
		return Company{}, fmt.Errorf("rename company %s: %w", id, constraintErr(err, companyFields))
	}
	return c, nil
}

// SearchCompanies lists companies whose name contains name.
func (s *Store) SearchCompanies(ctx context.Context, name string, limit, offset int) ([]Company, error) {
	out := []Company{}
	err := s.namedSelect(ctx, &out, searchCompanies, map[string]any{"name": name, "limit": limit, "offset": offset})
	if err != nil {
		return nil, fmt.Errorf("search companies: %w", err)
	}
	return out, nil
}

// NewContact is what CreateContact needs.
type NewContact struct {
	Name                 string
	CompanyID            *uuid.UUID
	CommunicationOptions []CommunicationOption
}

// CreateContact adds a contact with its communication options in one
// transaction.
func (s *Store) CreateContact(ctx context.Context, nc NewContact) (Contact, error) {
	id := uuid.New()
	err := s.InTx(ctx, func(tx *Store) error {
		_, err := tx.namedExec(ctx, insertContact, map[string]any{"id": id, "name": strings.TrimSpace(nc.Name), "company_id": nc.CompanyID})
		if err != nil {
			return constraintErr(err, contactFields)
		}
		return tx.insertOptions(ctx, id, nc.CommunicationOptions)
	})
	if err != nil {
		return Contact{}, fmt.Errorf("create contact: %w", err)
	}
	return s.GetContact(ctx, id)
}

func (s *Store) insertOptions(ctx context.Context, contactID uuid.UUID, opts []CommunicationOption) error {
	for _, o := range opts {
		_, err := s.namedExec(ctx, insertOption, map[string]any{
			"contact_id": contactID, "kind": o.Kind, "value": o.Value, "label": o.Label,
		})
		if err != nil {
			return fmt.Errorf("add %s option: %w", o.Kind, err)
		}
	}
	return nil
}

// GetContact returns one contact with its communication options, or
// ErrNotFound.
func (s *Store) GetContact(ctx context.Context, id uuid.UUID) (Contact, error) {
	var c Contact
	if err := s.namedGet(ctx, &c, selectContact, map[string]any{"id": id}); err != nil {
		return Contact{}, fmt.Errorf("get contact %s: %w", id, err)
	}
	list := []Contact{c}
	if err := s.loadOptions(ctx, list); err != nil {
		return Contact{}, err
	}
	return list[0], nil
}

// ContactUpdate changes the fields that are set; CommunicationOptions, when
// set, replaces the whole list.
type ContactUpdate struct {
	Name                 *string
	CompanyID            **uuid.UUID
	CommunicationOptions *[]CommunicationOption
}

// UpdateContact applies u to contact id in one transaction.
func (s *Store) UpdateContact(ctx context.Context, id uuid.UUID, u ContactUpdate) (Contact, error) {
	err := s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.GetContact(ctx, id)
		if err != nil {
			return err
		}
		if u.Name != nil {
			cur.Name = strings.TrimSpace(*u.Name)
		}
		if u.CompanyID != nil {
			cur.CompanyID = *u.CompanyID
		}
		_, err = tx.namedExec(ctx, updateContact, map[string]any{"id": id, "name": cur.Name, "company_id": cur.CompanyID})
		if err != nil {
			return constraintErr(err, contactFields)
		}
		if u.CommunicationOptions != nil {
			if _, err := tx.namedExec(ctx, deleteOptions, map[string]any{"contact_id": id}); err != nil {
				return fmt.Errorf("clear options: %w", err)
			}
			return tx.insertOptions(ctx, id, *u.CommunicationOptions)
		}
		return nil
	})
	if err != nil {
		return Contact{}, fmt.Errorf("update contact %s: %w", id, err)
	}
	return s.GetContact(ctx, id)
}

// AddCommunicationOption adds one option to a contact; adding one the contact
// already has changes nothing, so retries are safe.
func (s *Store) AddCommunicationOption(ctx context.Context, contactID uuid.UUID, o CommunicationOption) (Contact, error) {
	err := s.InTx(ctx, func(tx *Store) error {
		n, err := tx.namedExec(ctx, touchContact, map[string]any{"id": contactID})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.insertOptions(ctx, contactID, []CommunicationOption{o})
	})
	if err != nil {
		return Contact{}, fmt.Errorf("add communication option to contact %s: %w", contactID, err)
	}
	return s.GetContact(ctx, contactID)
}

// SearchContacts lists contacts matching every set filter of q.
func (s *Store) SearchContacts(ctx context.Context, q ContactQuery) ([]Contact, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	out := []Contact{}
	err := s.namedSelect(ctx, &out, searchContacts, map[string]any{
		"name": q.Name, "phone": q.Phone, "email": q.Email, "company_id": q.CompanyID,
		"company": q.Company, "limit": q.Limit, "offset": q.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	if err := s.loadOptions(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// loadOptions fills in the communication options of contacts with one query.
func (s *Store) loadOptions(ctx context.Context, contacts []Contact) error {
	if len(contacts) == 0 {
		return nil
	}
	ids := make([]string, len(contacts))
	index := make(map[uuid.UUID]int, len(contacts))
	for i, c := range contacts {
		ids[i] = c.ID.String()
		index[c.ID] = i
		contacts[i].CommunicationOptions = []CommunicationOption{}
	}
	var rows []struct {
		ContactID uuid.UUID `db:"contact_id"`
		CommunicationOption
	}
	if err := s.namedSelect(ctx, &rows, selectOptions, map[string]any{"ids": pqStringArray(ids)}); err != nil {
		return fmt.Errorf("load communication options: %w", err)
	}
	for _, r := range rows {
		i := index[r.ContactID]
		contacts[i].CommunicationOptions = append(contacts[i].CommunicationOptions, r.CommunicationOption)
	}
	return nil
}

const insertContactOnce = `
INSERT INTO contacts (id, name, company_id) VALUES (:id, :name, :company_id)
ON CONFLICT (id) DO NOTHING`

// CreateContactOnce adds a contact under an id the caller chose, with its
// communication options, in one transaction. When the id exists already it
// changes nothing and returns that contact, so a process can retry it.
func (s *Store) CreateContactOnce(ctx context.Context, id uuid.UUID, nc NewContact) (Contact, error) {
	err := s.InTx(ctx, func(tx *Store) error {
		n, err := tx.namedExec(ctx, insertContactOnce, map[string]any{"id": id, "name": strings.TrimSpace(nc.Name), "company_id": nc.CompanyID})
		if err != nil {
			return constraintErr(err, contactFields)
		}
		if n == 0 {
			return nil // made by an earlier attempt
		}
		return tx.insertOptions(ctx, id, nc.CommunicationOptions)
	})
	if err != nil {
		return Contact{}, fmt.Errorf("create contact %s: %w", id, err)
	}
	return s.GetContact(ctx, id)
}
