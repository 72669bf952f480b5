package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

// cbPanel is a callback's panel on the desk.
func cbPanel(id string) string { return fmt.Sprintf(`#callback-panel[data-callback=%q]`, id) }

// An agent-first callback on the desk: the agent is offered it with the
// customer's reason and case, accepts, previews the context, dials a phone
// nobody answers, is told it may redial, redials, talks (a note on the
// callback's call) and closes it with a disposition.
func TestDeskBrowserAgentFirstCallback(t *testing.T) {
	settings := callbackQueueSettings(map[string]any{"default_mode": "agent_first", "max_attempts": 3})
	queue, agentID, token := deskAgent(t, settings, "max")
	customer := customerNumber()
	script(t, customer, "no_answer:200ms")
	p := openPage(t)
	p.signIn("/desk", agentID, token)
	p.click("#go-available")
	p.waitText("#presence-state", "Available")

	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{
		"number": customer, "queue": queue, "context": map[string]any{"reason": "cancel my contract", "case_number": "CS-000777"},
	}, &cb)
	offer := offerSel(cb.ID)
	p.waitText(offer, "Incoming callback")
	p.waitText(offer+" .offer-caller", customer)
	p.waitText(offer, "cancel my contract")
	p.click(offer + " button.accept")

	panel := cbPanel(cb.ID)
	p.waitText(panel+" #cb-step", "preview")
	p.waitText(panel+" #cb-reason", "cancel my contract")
	p.waitText(panel+" #cb-case", "CS-000777")
	p.waitExact("#cb-dial", "Dial")
	p.click("#cb-dial")
	p.waitText(`#cb-dials [data-attempt="1"]`, "no answer")
	p.waitText("#notices", "you may redial")
	p.waitExact("#cb-dial", "Redial")

	script(t, customer, "answer:200ms")
	p.click("#cb-dial")
	p.waitText(`#cb-dials [data-attempt="2"]`, "connected")
	p.waitText(panel+" #cb-step", "connected")
	d := getCallback(t, cb.ID)
	require.NotNil(t, d.Interaction)
	p.waitText(panelSel(*d.Interaction)+" #ix-state", "Work in progress")
	p.fill("#note-body", "Customer stays with a discount")
	p.click("#note-submit")
	p.waitText("#notes", "Customer stays with a discount")

	p.choose("#cb-outcome", "completed")
	p.fill("#cb-disposition", "retained")
	p.click("#cb-close-submit")
	p.waitText("#ended-why", "Callback completed")
	d = waitCallback(t, cb.ID, closed(store.CallbackCompleted), "completed")
	require.Equal(t, []string{store.AttemptNoAnswer, store.AttemptConnected}, []string{d.Dials[0].Outcome, d.Dials[1].Outcome})
	it := waitState(t, *d.Interaction, "closed_complete")
	require.Equal(t, "retained", *it.Disposition)
	require.Len(t, it.Notes, 1)
}

// A customer-first callback on the desk: while the customer's phone rings
// the agent sees it reserved, not answerable; once they answer it is
// offered like any call, taken, and closed.
func TestDeskBrowserCustomerFirstCallback(t *testing.T) {
	queue, agentID, token := deskAgent(t, callbackQueueSettings(map[string]any{"default_mode": "customer_first"}), "ned")
	customer := customerNumber()
	script(t, customer, "answer:3s")
	p := openPage(t)
	p.signIn("/desk", agentID, token)
	p.click("#go-available")
	p.waitText("#presence-state", "Available")

	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{
		"number": customer, "queue": queue, "context": map[string]any{"reason": "invoice"},
	}, &cb)
	offer := offerSel(cb.ID)
	p.waitText(offer+`[data-phase="booked"]`, "Reserved for you")
	p.waitText(offer+`[data-phase="presented"] .offer-caller`, customer)
	p.click(offer + " button.accept")
	p.waitText(cbPanel(cb.ID)+" #cb-step", "connected")
	d := getCallback(t, cb.ID)
	require.NotNil(t, d.Interaction)
	p.waitText(panelSel(*d.Interaction)+" #ix-caller", customer)

	p.click("#cb-close-submit")
	p.waitText("#ended-why", "Callback completed")
	waitCallback(t, cb.ID, closed(store.CallbackCompleted), "completed")
}
