package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// relatedOf returns the record's related records of kind.
func relatedOf(d interactionDetail, kind string) []string {
	var out []string
	for _, r := range d.Related {
		if r.Kind == kind {
			out = append(out, r.Ref)
		}
	}
	return out
}

// A call escalated and transferred on the desk: the first agent opens an
// incident and a request from the call, hands it to a colleague, whose desk
// is offered it; the colleague takes it, passes the next call to another
// queue, and ends the first with a disposition.
func TestDeskBrowserTransferAndEscalate(t *testing.T) {
	settings := map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 0}
	queue, ivy, ivyToken := deskAgent(t, settings, "ivy")
	jon := "jon-" + queue
	mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+jon, supervisor(), map[string]any{"name": "jon"}, nil)
	mustAPI(t, http.StatusNoContent, "PUT", "/v1/queues/"+queue+"/members/"+jon, supervisor(), nil, nil)
	other, otherTokens := setupQueue(t, settings, "kim")
	kim := "kim-" + other

	first := openPage(t)
	first.signIn("/desk", ivy, ivyToken)
	first.click("#go-available")
	first.waitText("#presence-state", "Available")
	caller, _ := callerNumber(t)
	_, n := ringIn(t, caller, queue, nil)
	first.click(offerSel(n) + " button.accept")
	first.waitText(panelSel(n)+" #ix-state", "Work in progress")

	for _, e := range []struct{ kind, word, short string }{
		{"incident", "Incident", "Router broken after firmware update"},
		{"request", "Request", "Send a replacement router"},
	} {
		first.choose("#escalate-kind", e.kind)
		first.fill("#escalate-short", e.short)
		first.fill("#escalate-description", "Raised on the call")
		first.click("#escalate-submit")
		first.waitText("#notices", e.word+" ")
		first.waitText(fmt.Sprintf(`#ix-related [data-kind=%q]`, e.kind), e.word)
	}
	d := getInteraction(t, n)
	require.Len(t, relatedOf(d, "incident"), 1)
	require.Len(t, relatedOf(d, "request"), 1)
	var inc store.Escalation
	mustAPI(t, http.StatusOK, "GET", "/v1/incidents/"+relatedOf(d, "incident")[0], supervisor(), nil, &inc)
	require.Equal(t, "Router broken after firmware update", inc.ShortDescription)
	require.Equal(t, n, inc.Interaction)

	// Jon signs in and becomes available; Ivy hands him the call.
	second := openPage(t)
	second.signIn("/desk", jon, agentToken(t, jon))
	second.click("#go-available")
	second.waitText("#presence-state", "Available")
	first.fill("#transfer-agent", jon)
	first.fill("#transfer-reason", "billing specialist")
	first.click("#transfer-agent-submit")
	second.waitText(offerSel(n)+" .offer-caller", caller)
	second.click(offerSel(n) + " button.accept")
	second.waitText(panelSel(n)+" #ix-state", "Work in progress")
	first.waitText("#ended-why", "Transferred to "+jon)
	require.Equal(t, jon, *getInteraction(t, n).AgentID)

	// Ivy takes the next call and sends it to Kim's queue.
	_, n2 := ringIn(t, caller, queue, nil)
	first.click(offerSel(n2) + " button.accept")
	first.waitText(panelSel(n2)+" #ix-state", "Work in progress")
	first.fill("#transfer-queue", other)
	first.enter("#transfer-queue")
	first.waitText("#ended-why", "Transferred to")
	offeredTo(t, n2, kim)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n2+"/accept", otherTokens[kim], map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n2+"/end", otherTokens[kim], map[string]any{}, nil)

	second.fill("#end-disposition", "escalated")
	second.click("#end-submit")
	second.waitText(panelSel(n)+" #ix-state", "Closed complete")
	second.waitText(panelSel(n)+" #ix-disposition", "escalated")
	d = waitState(t, n, "closed_complete")
	require.Len(t, d.Transfers, 1)
	require.Equal(t, ivy, d.Transfers[0].FromAgent)
	require.Equal(t, jon, *d.Transfers[0].ToAgent)
}

// A chat from an email no contact has: the agent takes it on the desk,
// talks with the customer (the transcript follows live), and ends it; the
// chat ends in an incident holding the whole transcript.
func TestDeskBrowserChatEndsInAnIncident(t *testing.T) {
	queue, agentID, token := deskAgent(t, map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 0}, "lia")
	p := openPage(t)
	p.signIn("/desk", agentID, token)
	p.click("#go-available")
	p.waitText("#presence-state", "Available")

	email := "stranger-" + strings.ToLower(uuid.NewString()[:8]) + "@example.com"
	var chat struct{ ID string }
	sim(t, "/sim/chats", map[string]any{"email": email, "name": "Customer", "queue": queue, "text": "hello there"}, &chat)
	n := interactionOf(t, chat.ID, "the chat opens an interaction")
	p.waitText(offerSel(n)+" .offer-caller", email)
	p.waitText(offerSel(n), "Incoming chat")
	p.click(offerSel(n) + " button.accept")
	p.waitText(panelSel(n)+" #ix-state", "Work in progress")
	p.waitText("#transcript", "hello there")

	p.fill("#chat-message", "Hi, how can I help?")
	p.enter("#chat-message")
	p.waitText("#transcript .msg.agent", "Hi, how can I help?")
	sim(t, "/sim/chats/"+chat.ID+"/messages", map[string]any{"text": "my order is late"}, nil)
	p.waitText("#transcript li:last-of-type", "my order is late")
	p.waitExact("#ix-contact", "—") // nobody has the email

	p.fill("#end-disposition", "order-status")
	p.click("#end-open-incident")
	p.click("#end-submit")
	p.waitText(panelSel(n)+" #ix-state", "Closed complete")
	p.waitText(`#ix-related [data-kind="incident"]`, "Incident")
	d := getInteraction(t, n)
	incidents := relatedOf(d, "incident")
	require.Len(t, incidents, 1)
	var inc store.Escalation
	mustAPI(t, http.StatusOK, "GET", "/v1/incidents/"+incidents[0], supervisor(), nil, &inc)
	for _, line := range []string{"hello there", "Hi, how can I help?", "my order is late"} {
		require.Contains(t, inc.Transcript, line)
	}
	require.NotNil(t, inc.ChatTerminatedAt)
}
