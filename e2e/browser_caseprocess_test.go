package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// deskOnCall signs an agent of its own queue in on the desk, makes it
// available, rings the queue from caller and accepts the offer on the page.
// It returns the page and the interaction's number.
func deskOnCall(t *testing.T, caller string) (*page, string, string) {
	t.Helper()
	queue, agentID, token := deskAgent(t, map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 0}, "cara")
	p := openPage(t)
	p.signIn("/desk", agentID, token)
	p.click("#go-available")
	p.waitText("#presence-state", "Available")
	_, n := ringIn(t, caller, queue, nil)
	p.click(offerSel(n) + " button.accept")
	p.waitText(panelSel(n)+" #ix-state", "Work in progress")
	return p, n, agentID
}

// processAt waits until the page shows the case process at step.
func processAt(p *page, step string) {
	p.t.Helper()
	p.waitVisible(fmt.Sprintf(`#process[data-step=%q]`, step))
}

// submitCaseOnPage fills the case page and saves it; it returns the new
// case's number as the page shows it.
func submitCaseOnPage(p *page, subject string) string {
	p.t.Helper()
	p.fill("#case-subject", subject)
	p.fill("#case-description", "Reported on the phone")
	p.fill("#case-category", "hardware")
	p.choose("#case-priority", "high")
	p.click("#case-submit")
	processAt(p, "done")
	done := p.text("#process-done")
	var number string
	_, err := fmt.Sscanf(done, "Case %s created", &number)
	require.NoError(p.t, err, "the page says %q", done)
	return number
}

// endCallOnPage ends the call from the page and waits for the record to
// close.
func endCallOnPage(p *page, n string) {
	p.t.Helper()
	p.fill("#end-disposition", "case-logged")
	p.click("#end-submit")
	p.waitText(panelSel(n)+" #ix-state", "Closed complete")
}

// Seed 004 on the desk: Add new case and Advise on existing case through
// every identification branch, from a real call the agent took on the page.
func TestDeskBrowserCaseProcesses(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"add new case: one contact has the number", func(t *testing.T) {
			caller, _ := callerNumber(t)
			ann := seedContact(t, "Ann", nil, caller)
			older := seedCase(t, ann.ID, "Printer offline")
			p, n, _ := deskOnCall(t, caller)
			p.click("#start-add-new-case")
			processAt(p, "enter_case")
			p.waitText("#process-contact-name", ann.Name)
			p.waitVisible(fmt.Sprintf(`#case-history [data-case=%q]`, older.Number)) // the contact's cases
			p.fill("#note-body", "Router reboots every hour since the update")
			p.click("#note-submit")
			p.waitText("#notes", "Router reboots every hour")
			p.screenshot("desk.png")
			number := submitCaseOnPage(p, "Router keeps rebooting")
			d := getCaseAs(t, number)
			require.Equal(t, ann.ID, d.ContactID)
			require.Equal(t, store.PriorityHigh, d.Priority)
			requireCreatedFrom(t, d, n)
			endCallOnPage(p, n)
		}},
		{"add new case: several contacts have the number", func(t *testing.T) {
			caller, _ := callerNumber(t)
			seedContact(t, "Ann", nil, caller)
			bob := seedContact(t, "Bob", nil, caller)
			p, n, _ := deskOnCall(t, caller)
			p.click("#start-add-new-case")
			processAt(p, "choose_contact")
			p.click(fmt.Sprintf(`#choose-contact [data-contact=%q] button`, bob.ID))
			processAt(p, "enter_case")
			p.waitText("#process-contact-name", bob.Name)
			number := submitCaseOnPage(p, "Billing address wrong")
			require.Equal(t, bob.ID, getCaseAs(t, number).ContactID)
			require.Equal(t, &bob.ID, getInteraction(t, n).ContactID, "the chosen contact is on the call")
			endCallOnPage(p, n)
		}},
		{"add new case: a known customer calls from a new number", func(t *testing.T) {
			caller, _ := callerNumber(t)
			other, _ := callerNumber(t)
			co, err := sys.store.CreateCompany(context.Background(), "Initech "+uuid.NewString()[:8])
			require.NoError(t, err)
			cleo := seedContact(t, "Cleo", &co.ID, other)
			p, n, _ := deskOnCall(t, caller)
			p.click("#start-add-new-case")
			processAt(p, "identify_contact")
			p.fill("#search-company", co.Name)
			p.enter("#search-company")
			p.click(fmt.Sprintf(`#search-results [data-contact=%q] button`, cleo.ID))
			processAt(p, "enter_case")
			p.waitText("#notices", "calling number was added")
			p.waitText("#process-contact-options", caller)
			number := submitCaseOnPage(p, "Cannot log in")
			require.Equal(t, cleo.ID, getCaseAs(t, number).ContactID)
			require.Equal(t, []string{other, caller}, phones(contactAs(t, cleo.ID)), "the calling number is added")
			endCallOnPage(p, n)
		}},
		{"add new case: a new customer", func(t *testing.T) {
			caller, _ := callerNumber(t)
			p, n, _ := deskOnCall(t, caller)
			p.click("#start-add-new-case")
			processAt(p, "identify_contact")
			name := "Dee " + uuid.NewString()[:6]
			p.fill("#contact-name", name)
			p.fill("#contact-email", "dee."+uuid.NewString()[:6]+"@example.com")
			p.click("#new-contact-submit")
			processAt(p, "enter_case")
			p.waitText("#process-contact-name", name)
			number := submitCaseOnPage(p, "New line order")
			d := getCaseAs(t, number)
			require.Equal(t, name, d.ContactName)
			require.Equal(t, []string{caller}, phones(contactAs(t, d.ContactID)))
			endCallOnPage(p, n)
		}},
		{"advise: the contact is identified by the number", func(t *testing.T) {
			caller, _ := callerNumber(t)
			ann := seedContact(t, "Ann", nil, caller)
			older := seedCase(t, ann.ID, "Older")
			newer := seedCase(t, ann.ID, "Newer")
			p, n, agentID := deskOnCall(t, caller)
			p.click("#start-advise")
			processAt(p, "advise")
			p.waitText("#process-contact-name", ann.Name)
			p.waitText("#case-history tbody tr:first-of-type", newer.Number) // newest first
			p.waitText("#case-history tbody tr:last-of-type", older.Number)
			p.choose("#consult-case", older.Number)
			p.fill("#consult-note", "Replacement ships Friday")
			p.click("#consult-submit")
			p.waitText("#consultations", older.Number+": Replacement ships Friday")
			p.click("#process-finish")
			processAt(p, "done")
			p.waitText("#process-done", "Consultation finished for "+ann.Name)
			d := getCaseAs(t, older.Number)
			require.Len(t, d.Consultations, 1)
			require.Equal(t, agentID, d.Consultations[0].AgentID)
			require.Equal(t, n, d.Consultations[0].InteractionID)
			endCallOnPage(p, n)
		}},
		{"advise: a known customer found by case number", func(t *testing.T) {
			caller, _ := callerNumber(t)
			cleo := seedContact(t, "Cleo", nil)
			k := seedCase(t, cleo.ID, "Cleo's case")
			p, n, _ := deskOnCall(t, caller)
			p.click("#start-advise")
			processAt(p, "identify_contact")
			p.fill("#search-case", k.Number)
			p.click("#search-submit")
			p.click(fmt.Sprintf(`#search-results [data-contact=%q] button`, cleo.ID))
			processAt(p, "advise")
			p.waitVisible(fmt.Sprintf(`#case-history [data-case=%q]`, k.Number))
			p.click("#process-finish")
			processAt(p, "done")
			require.Equal(t, []string{caller}, phones(contactAs(t, cleo.ID)), "the calling number is added")
			endCallOnPage(p, n)
		}},
		{"advise: a new customer goes on to add a case", func(t *testing.T) {
			caller, _ := callerNumber(t)
			p, n, _ := deskOnCall(t, caller)
			p.click("#start-advise")
			processAt(p, "identify_contact")
			name := "Eve " + uuid.NewString()[:6]
			p.fill("#contact-name", name)
			p.enter("#contact-name")
			processAt(p, "enter_case")
			p.waitText("#process-h", "Add new case (from Advise on existing case)")
			p.waitText("#case-history", "No cases yet")
			number := submitCaseOnPage(p, "First order")
			require.Equal(t, name, getCaseAs(t, number).ContactName)
			endCallOnPage(p, n)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

func getCaseAs(t *testing.T, number string) store.CaseDetail {
	t.Helper()
	var d store.CaseDetail
	mustAPI(t, http.StatusOK, "GET", "/v1/cases/"+number, supervisor(), nil, &d)
	return d
}

func contactAs(t *testing.T, id uuid.UUID) store.Contact {
	t.Helper()
	var c store.Contact
	mustAPI(t, http.StatusOK, "GET", "/v1/contacts/"+id.String(), supervisor(), nil, &c)
	return c
}
