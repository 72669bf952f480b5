package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// offerSel is the offer of an interaction or a callback on the desk.
func offerSel(record string) string { return fmt.Sprintf(`[data-offer=%q]`, record) }

// panelSel is the call panel of an interaction.
func panelSel(number string) string { return fmt.Sprintf(`#call-panel[data-number=%q]`, number) }

// An inbound call through the desk: the agent signs in, becomes available,
// sees the offer with the caller's IVR choices and case number and its
// countdown, accepts it, survives a reload, notes the call, is told in words
// that the queue wants a disposition, ends the call with one, sees the
// wrap-up countdown, and ends wrap-up. A second call arrives while the
// stream is down: the desk resumes it and shows the offer, which the agent
// rejects.
func TestDeskBrowserInboundCall(t *testing.T) {
	queue, agentID, token := deskAgent(t, map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 600,
		"disposition_required": true, "on_reject": "close"}, "dana")
	p := openPage(t)
	p.signIn("/desk", agentID, token)
	p.waitText("#presence-state", "Offline")

	p.click("#go-available")
	p.waitText("#presence-state", "Available")

	caller, _ := callerNumber(t)
	_, n := ringIn(t, caller, queue, map[string]any{"ivr": map[string]string{"reason": "billing"}, "case_number": "CS-424242"})
	offer := offerSel(n)
	p.waitText(offer+" .offer-caller", caller)
	p.waitText(offer+" .offer-ivr", "reason: billing")
	p.waitText(offer+" .offer-case", "CS-424242")
	p.waitText(offer+" .offer-countdown", "m ") // two minutes to answer, counting down
	p.click(offer + " button.accept")
	p.waitGone(offer)
	p.waitText(panelSel(n)+" #ix-state", "Work in progress")
	p.waitText("#presence-state", "Busy")
	require.Equal(t, "work_in_progress", getInteraction(t, n).State)

	// A reload finds the call again.
	p.run("reload", chromedp.Reload())
	p.waitText("#conn", "Live")
	p.waitText(panelSel(n)+" #ix-caller", caller)

	p.fill("#note-body", "Customer disputes the March invoice")
	p.enter("#note-body")
	p.waitText("#notes", "Customer disputes the March invoice")

	// The queue wants a disposition: the refusal is shown in words.
	p.click("#end-submit")
	p.waitText("#problem", "disposition")
	p.fill("#end-disposition", "billing-explained")
	p.click("#end-submit")
	p.waitText(panelSel(n)+" #ix-state", "Closed complete")
	p.waitText("#presence-state", "Wrap-up")
	p.waitText("#wrapup-countdown", "left")
	p.waitGone("#problem strong") // the refusal went with the step that answered it

	p.fill("#wrapup-disposition", "no-follow-up")
	p.enter("#wrapup-disposition")
	p.waitText("#presence-state", "Available")
	d := getInteraction(t, n)
	require.Equal(t, "closed_complete", d.State)
	require.NotNil(t, d.Disposition)
	require.Contains(t, []string{"billing-explained", "no-follow-up"}, *d.Disposition)
	require.Len(t, d.Notes, 1)

	// The stream drops; a call comes meanwhile; the desk resumes from the
	// last event it had and shows the offer.
	p.click("#dismiss-work")
	p.eval("window.deskStream.hold()")
	p.waitText("#conn", "Reconnecting")
	_, n2 := ringIn(t, caller, queue, nil)
	offeredTo(t, n2, agentID)
	p.eval("window.deskStream.resume()")
	p.waitText("#conn", "Live")
	p.waitText(offerSel(n2)+" .offer-caller", caller)
	p.click(offerSel(n2) + " button.reject")
	p.waitGone(offerSel(n2))
	waitState(t, n2, "closed_complete")
	p.waitText("#presence-state", "Available")

	p.click("#go-offline")
	p.waitText("#presence-state", "Offline")
	var me agentView
	mustAPI(t, http.StatusOK, "GET", "/v1/agents/"+agentID, token, nil, &me)
	require.Equal(t, "offline", me.Presence)
}

// An offer left unanswered runs out: the desk takes it away and says so,
// and the agent is on break (the queue's rule for a missed offer).
func TestDeskBrowserOfferTimesOut(t *testing.T) {
	queue, agentID, token := deskAgent(t, map[string]any{"acceptance_timeout_seconds": 2, "wrapup_timeout_seconds": 0, "on_timeout": "close"}, "omar")
	p := openPage(t)
	p.signIn("/desk", agentID, token)
	p.click("#go-available")
	p.waitText("#presence-state", "Available")
	caller, _ := callerNumber(t)
	_, n := ringIn(t, caller, queue, nil)
	p.waitText(offerSel(n)+" .offer-caller", caller)
	p.waitGone(offerSel(n))
	p.waitText("#notices", "The offer of "+n+" timed out")
	p.waitText("#presence-state", "On break")
	waitState(t, n, "closed_complete")
}

// A token that is not the agent's is refused in words, before anything
// is shown.
func TestDeskBrowserSignInRefused(t *testing.T) {
	_, agentID, _ := deskAgent(t, map[string]any{}, "pia")
	_, _, other := deskAgent(t, map[string]any{}, "quinn")
	p := openPage(t)
	p.visit("/desk")
	p.fill("#signin-agent", agentID)
	p.fill("#signin-token", other)
	p.enter("#signin-token")
	p.waitText("#conn", "Not allowed")
	p.waitVisible("#problem-title")
	require.NotEmpty(t, p.text("#problem-title"))
}
