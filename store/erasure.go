package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// Erased replaces erased personal data in text.
const Erased = "[erased]"

// ErasedNumber stands in for an erased number where a column must hold an
// E.164 number (a closed callback's): no numbering plan assigns +999.
const ErasedNumber = "+999000000000"

// Erasure says what erasing a contact changed, by kind of record.
type Erasure struct {
	ContactID       uuid.UUID `json:"contact_id"`
	ErasedAt        time.Time `json:"erased_at"`
	Contact         int64     `json:"contact"`               // the contact's name
	Options         int64     `json:"communication_options"` // phones and emails removed
	Interactions    int64     `json:"interactions"`          // records with its number, email or name scrubbed
	ChatMessages    int64     `json:"chat_messages"`
	Notes           int64     `json:"notes"`
	PhoneLogs       int64     `json:"phone_logs"`
	History         int64     `json:"history"`
	Incidents       int64     `json:"incidents"`
	Requests        int64     `json:"requests"`
	Activity        int64     `json:"activity"` // incidents' and requests' activity lines
	Cases           int64     `json:"cases"`
	Consultations   int64     `json:"consultations"`
	Callbacks       int64     `json:"callbacks"`
	CallbackDials   int64     `json:"callback_dials"`
	CTIEvents       int64     `json:"cti_events"`       // raw platform events deleted
	LiveEvents      int64     `json:"live_events"`      // events desks were told of its work, deleted
	IdempotencyKeys int64     `json:"idempotency_keys"` // stored answers deleted
}

// ErrStillActive means the contact has open work; erasing it would pull
// the data from under a running process.
var ErrStillActive = errors.New("the contact has open interactions or pending callbacks")

// The erasure's statements. :pattern matches any of the contact's personal
// values (its name, phones and emails), case-insensitively.
const (
	lockContact = `SELECT id FROM contacts WHERE id = :id FOR UPDATE`
	// A number or email another contact also holds (a switchboard) is
	// erased only from this contact's own records.
	eraseShared = `
SELECT DISTINCT value FROM contact_communication_options WHERE value = ANY(:values) AND contact_id <> :id`
	eraseScope = `
SELECT number FROM interactions
WHERE contact_id = :id
   OR (contact_id IS NULL AND (contact_phone = ANY(:own_phones) OR lower(contact_email) = ANY(:own_emails)))`
	eraseOpen = `
SELECT (SELECT count(*) FROM interactions WHERE number = ANY(:ixs) AND state <> 'closed_complete')
     + (SELECT count(*) FROM callbacks WHERE (number = ANY(:own_phones) OR origin_interaction = ANY(:ixs))
            AND state IN ('scheduled', 'queued', 'in_progress'))`
	eraseContact = `UPDATE contacts SET name = :erased, erased_at = :at, updated_at = :at WHERE id = :id`
	eraseOptions = `DELETE FROM contact_communication_options WHERE contact_id = :id`

	eraseInteractions = `
UPDATE interactions SET contact_email = NULL, contact_phone = NULL,
    short_description = left(regexp_replace(short_description, :pattern, :erased, 'gi'), 500),
    description = left(regexp_replace(description, :pattern, :erased, 'gi'), 10000),
    ivr = CAST(regexp_replace(CAST(ivr AS text), :pattern, :erased, 'gi') AS jsonb), updated_at = :at
WHERE number = ANY(:ixs)`
	eraseChat = `
UPDATE chat_messages SET text = CASE WHEN sender = 'customer' THEN :erased ELSE left(regexp_replace(text, :pattern, :erased, 'gi'), 20000) END
WHERE interaction = ANY(:ixs) AND ((sender = 'customer' AND text <> :erased) OR text ~* :pattern)`
	eraseNotes = `
UPDATE interaction_notes SET body = left(regexp_replace(body, :pattern, :erased, 'gi'), 10000)
WHERE interaction = ANY(:ixs) AND body ~* :pattern`
	erasePhoneLogs = `
UPDATE phone_logs SET from_number = CASE WHEN from_number = ANY(:phones) THEN '' ELSE from_number END,
    to_number = CASE WHEN to_number = ANY(:phones) THEN '' ELSE to_number END
WHERE interaction = ANY(:ixs) AND (from_number = ANY(:phones) OR to_number = ANY(:phones))`
	eraseHistory = `
UPDATE interaction_history SET reason = regexp_replace(reason, :pattern, :erased, 'gi')
WHERE interaction = ANY(:ixs) AND reason ~* :pattern`
	eraseIncidents = `
UPDATE incidents SET transcript = '', short_description = left(regexp_replace(short_description, :pattern, :erased, 'gi'), 500),
    description = left(regexp_replace(description, :pattern, :erased, 'gi'), 10000), updated_at = :at
WHERE contact_id = :id OR interaction = ANY(:ixs)
RETURNING number`
	eraseRequests = `
UPDATE service_requests SET short_description = left(regexp_replace(short_description, :pattern, :erased, 'gi'), 500),
    description = left(regexp_replace(description, :pattern, :erased, 'gi'), 10000), updated_at = :at
WHERE contact_id = :id OR interaction = ANY(:ixs)
RETURNING number`
	eraseActivity = `
UPDATE escalation_activity SET body = left(regexp_replace(body, :pattern, :erased, 'gi'), 5000)
WHERE ((kind = 'incident' AND number = ANY(:incidents)) OR (kind = 'request' AND number = ANY(:requests))) AND body ~* :pattern`
	eraseCases = `
UPDATE cases SET subject = regexp_replace(subject, :pattern, :erased, 'gi'),
    description = regexp_replace(description, :pattern, :erased, 'gi'), updated_at = :at
WHERE contact_id = :id
RETURNING id`
	eraseConsultations = `
UPDATE case_consultations SET note = regexp_replace(note, :pattern, :erased, 'gi')
WHERE (case_id = ANY(CAST(:cases AS uuid[])) OR interaction_id = ANY(:ixs)) AND note ~* :pattern`
	eraseCallbacks = `
UPDATE callbacks SET number = CASE WHEN number = ANY(:phones) THEN :erased_number ELSE number END,
    reason = left(regexp_replace(reason, :pattern, :erased, 'gi'), 500),
    ivr = CAST(regexp_replace(CAST(ivr AS text), :pattern, :erased, 'gi') AS jsonb)
WHERE number = ANY(:own_phones) OR origin_interaction = ANY(:ixs)
RETURNING id`
	eraseCallbackDials = `
UPDATE callback_attempts SET number = :erased WHERE callback = ANY(:callbacks) AND number = ANY(:phones)`
	// Raw events and stored answers anywhere are deleted only for values
	// that are this contact's alone (a name alone could be anyone's).
	eraseCTIEvents = `DELETE FROM cti_events WHERE CAST(payload AS text) ~* :own_pattern`
	// The live events of its interactions and callbacks (callers' numbers,
	// chat text), and any other naming a value of its own. Last, so that
	// events the erasure's own changes wrote go too.
	eraseLiveEvents = `
DELETE FROM events WHERE data->>'interaction' = ANY(:ixs) OR data->>'callback_id' = ANY(:callbacks)
   OR CAST(data AS text) ~* :own_pattern`
	eraseIdempotentKeys = `
DELETE FROM idempotency_keys WHERE body IS NOT NULL
  AND EXISTS (SELECT 1 FROM unnest(CAST(:own_values AS text[])) v WHERE position(convert_to(v, 'UTF8') in body) > 0)`
)

// EraseContact removes a contact's personal data from every record, in one
// transaction: its name and communication options; on its interactions
// (those opened for it, or from one of its numbers or emails) the contact's
// number and email, the customer's chat messages, and its name, numbers and
// emails wherever they appear in descriptions, notes, history, phone logs,
// IVR selections; its incidents' transcripts and its incidents', requests'
// and cases' texts; its callbacks' numbers; and the raw platform events and
// stored API answers that hold any of it. Records keep their numbers,
// states and links. A contact with open interactions or pending callbacks
// is refused (ErrStillActive); erasing twice changes nothing more.
func (s *Store) EraseContact(ctx context.Context, id uuid.UUID) (Erasure, error) {
	out := Erasure{ContactID: id}
	err := s.InTx(ctx, func(tx *Store) error {
		var locked uuid.UUID
		if err := tx.namedGet(ctx, &locked, lockContact, map[string]any{"id": id}); err != nil {
			return err // a change to the contact waits for the erasure
		}
		c, err := tx.GetContact(ctx, id)
		if err != nil {
			return err
		}
		var phones, emails, values []string
		for _, o := range c.CommunicationOptions {
			values = append(values, o.Value)
			if o.Kind == OptionPhone {
				phones = append(phones, o.Value)
			} else {
				emails = append(emails, strings.ToLower(o.Value))
			}
		}
		var shared []string
		if err := tx.namedSelect(ctx, &shared, eraseShared, map[string]any{"id": id, "values": pq.Array(values)}); err != nil {
			return err
		}
		own := func(vs []string) []string {
			var out []string
			for _, v := range vs {
				if !slices.Contains(shared, v) {
					out = append(out, v)
				}
			}
			return out
		}
		ownPhones, ownEmails := own(phones), own(emails)
		scope := map[string]any{"id": id, "own_phones": pq.Array(ownPhones), "own_emails": pq.Array(ownEmails)}
		var ixs []string
		if err := tx.namedSelect(ctx, &ixs, eraseScope, scope); err != nil {
			return fmt.Errorf("find the contact's interactions: %w", err)
		}
		scope["ixs"] = pq.Array(ixs)
		var open int
		if err := tx.namedGet(ctx, &open, eraseOpen, scope); err != nil {
			return err
		}
		if open > 0 {
			return ErrStillActive
		}
		out.ErasedAt = time.Now().UTC()
		name := ""
		if c.Name != Erased {
			name = c.Name
		}
		ownValues := append(append([]string{}, ownPhones...), ownEmails...)
		args := map[string]any{"id": id, "phones": pq.Array(phones), "emails": pq.Array(emails), "ixs": pq.Array(ixs),
			"own_phones": pq.Array(ownPhones), "own_values": pq.Array(ownValues),
			"pattern": erasePattern(name, values), "own_pattern": erasePattern("", ownValues),
			"erased": Erased, "erased_number": ErasedNumber, "at": out.ErasedAt}
		exec := func(n *int64, q string) error {
			if err == nil {
				*n, err = tx.namedExec(ctx, q, args)
			}
			return err
		}
		list := func(dst *[]string, q string) error {
			if err == nil {
				err = tx.namedSelect(ctx, dst, q, args)
			}
			return err
		}
		var incidents, requests, cases, callbacks []string
		_ = exec(&out.Contact, eraseContact)
		_ = exec(&out.Options, eraseOptions)
		_ = exec(&out.Interactions, eraseInteractions)
		_ = exec(&out.ChatMessages, eraseChat)
		_ = exec(&out.Notes, eraseNotes)
		_ = exec(&out.PhoneLogs, erasePhoneLogs)
		_ = exec(&out.History, eraseHistory)
		_ = list(&incidents, eraseIncidents)
		_ = list(&requests, eraseRequests)
		args["incidents"], args["requests"] = pq.Array(incidents), pq.Array(requests)
		_ = exec(&out.Activity, eraseActivity)
		_ = list(&cases, eraseCases)
		args["cases"] = pq.Array(cases)
		_ = exec(&out.Consultations, eraseConsultations)
		_ = list(&callbacks, eraseCallbacks)
		args["callbacks"] = pq.Array(callbacks)
		_ = exec(&out.CallbackDials, eraseCallbackDials)
		_ = exec(&out.CTIEvents, eraseCTIEvents)
		_ = exec(&out.IdempotencyKeys, eraseIdempotentKeys)
		_ = exec(&out.LiveEvents, eraseLiveEvents)
		out.Incidents, out.Requests, out.Cases, out.Callbacks = int64(len(incidents)), int64(len(requests)), int64(len(cases)), int64(len(callbacks))
		return err
	})
	if err != nil {
		return Erasure{}, fmt.Errorf("erase contact %s: %w", id, err)
	}
	return out, nil
}

// erasePattern matches the name as whole words, or any of values (a
// pattern that matches nothing when there is neither).
func erasePattern(name string, values []string) string {
	var alts []string
	if name = strings.TrimSpace(name); name != "" {
		alts = append(alts, `\m`+regexp.QuoteMeta(name)+`\M`)
	}
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			alts = append(alts, regexp.QuoteMeta(v))
		}
	}
	if len(alts) == 0 {
		return `a^` // never matches: ^ anchors only at the start
	}
	return "(" + strings.Join(alts, "|") + ")"
}
