package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

// interactionDetail mirrors the GET /v1/interactions/{number} answer.
type interactionDetail struct {
	store.Interaction
	History    []store.HistoryEntry `json:"history"`
	Notes      []store.WorkNote     `json:"notes"`
	PhoneLogs  []store.PhoneLog     `json:"phone_logs"`
	Transfers  []store.Transfer     `json:"transfers"`
	Transcript []store.ChatMessage  `json:"transcript"`
}

type interactionPage struct {
	Items      []store.Interaction `json:"items"`
	NextOffset *int                `json:"next_offset"`
}

// readFixture is a queue, two agents and interactions written through the
// store as the interaction process writes them.
type readFixture struct {
	tag            string
	queue          string
	ann, bob       string
	annCall        store.Interaction // assigned to ann, with everything recorded
	annOutbound    store.Interaction // opened by ann, now assigned to nobody
	bobChat        store.Interaction // assigned to bob
	incident       store.Escalation  // from bob's chat, escalated by bob
	serviceRequest store.Escalation  // from ann's call
}

func newReadFixture(t *testing.T) readFixture {
	t.Helper()
	ctx := context.Background()
	tag := uuid.NewString()[:8]
	f := readFixture{tag: tag, queue: "rq-" + tag, ann: "ann-" + tag, bob: "bob-" + tag}
	_, err := st.UpsertQueue(ctx, store.Queue{Name: f.queue, AcceptanceTimeoutS: 30, OnReject: store.OnRejectReoffer})
	require.NoError(t, err)
	for _, a := range []string{f.ann, f.bob} {
		_, err := st.UpsertAgent(ctx, a, a, 3)
		require.NoError(t, err)
	}
	open := func(n store.NewInteraction) store.Interaction {
		t.Helper()
		number, err := st.NextInteractionNumber(ctx)
		require.NoError(t, err)
		n.Number, n.WorkflowID, n.Queue = number, "interaction-"+number, f.queue
		in, err := st.CreateInteraction(ctx, n)
		require.NoError(t, err)
		return in
	}

	owner, err := st.CreateContact(ctx, store.NewContact{Name: "Case owner " + tag})
	require.NoError(t, err)
	named, err := st.CreateCase(ctx, store.NewCase{Subject: "Billing", ContactID: owner.ID})
	require.NoError(t, err)
	f.annCall = open(store.NewInteraction{Channel: store.InteractionPhone, Direction: store.DirectionInbound,
		State: store.InteractionNew, CallID: "call-" + tag, ContactPhone: "+12025550143",
		IVR: map[string]string{"menu": "billing"}, CaseNumber: named.Number, Actor: "cti"})
	_, err = st.ChangeInteraction(ctx, store.InteractionChange{Number: f.annCall.Number, Version: 2,
		State: store.InteractionPendingAcceptance, AgentID: &f.ann, Actor: "routing"})
	require.NoError(t, err)
	_, err = st.ChangeInteraction(ctx, store.InteractionChange{Number: f.annCall.Number, Version: 3,
		State: store.InteractionWorkInProgress, Actor: f.ann})
	require.NoError(t, err)
	_, err = st.AddWorkNote(ctx, f.annCall.Number, f.ann, "Asked for a copy of the invoice", "n-"+tag)
	require.NoError(t, err)
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	require.NoError(t, st.RecordPhoneLog(ctx, store.PhoneLog{CallID: "call-" + tag, Interaction: f.annCall.Number,
		FromNumber: "+12025550143", ToNumber: "+12025550100", AgentID: &f.ann, StartedAt: start, EndedAt: start.Add(time.Minute),
		DurationSeconds: 60}))
	require.NoError(t, st.RecordTransfer(ctx, store.Transfer{Interaction: f.annCall.Number, FromAgent: f.ann,
		ToQueue: &f.queue, RequestID: "t-" + tag, At: start.Add(30 * time.Second)}))
	f.serviceRequest, err = st.Escalate(ctx, store.NewEscalation{Interaction: f.annCall.Number, Kind: store.RelatedRequest,
		RequestID: "r-" + tag, ShortDescription: "Invoice copy", Actor: f.ann})
	require.NoError(t, err)
	f.annCall, err = st.GetInteraction(ctx, f.annCall.Number)
	require.NoError(t, err)

	f.annOutbound = open(store.NewInteraction{Channel: store.InteractionPhone, Direction: store.DirectionOutbound,
		State: store.InteractionWorkInProgress, CreatedBy: f.ann, Actor: f.ann})

	f.bobChat = open(store.NewInteraction{Channel: store.InteractionChat, Direction: store.DirectionInbound,
		State: store.InteractionPendingAcceptance, AgentID: f.bob, ChatID: "chat-" + tag, Actor: "cti"})
	require.NoError(t, st.AddChatMessage(ctx, f.bobChat.Number, "m-1", store.SenderCustomer, "hello", start))
	require.NoError(t, st.AddChatMessage(ctx, f.bobChat.Number, "m-2", store.SenderAgent, "how can I help?", start.Add(time.Second)))
	f.incident, err = st.Escalate(ctx, store.NewEscalation{Interaction: f.bobChat.Number, Kind: store.RelatedIncident,
		RequestID: "i-" + tag, ShortDescription: "Chat about a broken printer", Actor: f.bob,
		ChatInitiatedAt: &start, Transcript: "customer: hello"})
	require.NoError(t, err)
	return f
}

func TestGetInteractionDetail(t *testing.T) {
	f := newReadFixture(t)
	c := newClient(t, api.Deps{})

	r := c.as(issue(t, auth.RoleSupervisor, "")).do(http.MethodGet, "/v1/interactions/"+f.annCall.Number, nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var d interactionDetail
	r.decode(t, &d)
	require.Equal(t, f.annCall.Number, d.Number)
	require.Equal(t, store.InteractionWorkInProgress, d.State)
	require.Equal(t, 3, d.Version)
	require.Equal(t, f.ann, *d.AgentID)
	require.Equal(t, map[string]string{"menu": "billing"}, d.IVR)
	require.NotNil(t, d.AcceptedAt)
	require.Len(t, d.Related, 2, "the case the caller named and the request it was escalated to")
	require.Len(t, d.History, 3)
	require.Equal(t, store.InteractionPendingAcceptance, d.History[1].ToState)
	require.Len(t, d.Notes, 1)
	require.Equal(t, "Asked for a copy of the invoice", d.Notes[0].Body)
	require.Len(t, d.PhoneLogs, 1)
	require.Equal(t, 60, d.PhoneLogs[0].DurationSeconds)
	require.Len(t, d.Transfers, 1)
	require.Equal(t, f.queue, *d.Transfers[0].ToQueue)
	require.Empty(t, d.Transcript)
	require.NotContains(t, r.Body.String(), "t-"+f.tag, "request ids stay internal")

	// Integration reads everything too; the chat's transcript comes in order.
	r = c.as(issue(t, auth.RoleIntegration, "")).do(http.MethodGet, "/v1/interactions/"+f.bobChat.Number, nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	r.decode(t, &d)
	require.Len(t, d.Transcript, 2)
	require.Equal(t, "hello", d.Transcript[0].Text)
	require.Equal(t, store.SenderAgent, d.Transcript[1].Sender)
}

func TestInteractionReadAccess(t *testing.T) {
	f := newReadFixture(t)
	c := newClient(t, api.Deps{})
	ann := c.as(issue(t, auth.RoleAgent, f.ann))

	tests := []struct {
		name   string
		client *client
		path   string
		status int
	}{
		{"no token", c, "/v1/interactions/" + f.annCall.Number, http.StatusUnauthorized},
		{"bad token", c.as("chb_nope_nope"), "/v1/interactions/" + f.annCall.Number, http.StatusUnauthorized},
		{"agent reads its assigned interaction", ann, "/v1/interactions/" + f.annCall.Number, http.StatusOK},
		{"agent reads the interaction it opened", ann, "/v1/interactions/" + f.annOutbound.Number, http.StatusOK},
		{"agent may not read another's", ann, "/v1/interactions/" + f.bobChat.Number, http.StatusForbidden},
		{"unknown number", ann, "/v1/interactions/IMS9999999999", http.StatusNotFound},
		{"not a number", ann, "/v1/interactions/42", http.StatusNotFound},
		{"agent reads the request of its interaction", ann, "/v1/requests/" + f.serviceRequest.Number, http.StatusOK},
		{"agent may not read another's incident", ann, "/v1/incidents/" + f.incident.Number, http.StatusForbidden},
		{"creator reads its incident", c.as(issue(t, auth.RoleAgent, f.bob)), "/v1/incidents/" + f.incident.Number, http.StatusOK},
		{"supervisor reads any incident", c.as(issue(t, auth.RoleSupervisor, "")), "/v1/incidents/" + f.incident.Number, http.StatusOK},
		{"unknown incident", ann, "/v1/incidents/INC9999999999", http.StatusNotFound},
		{"a request is not an incident", ann, "/v1/incidents/" + f.serviceRequest.Number, http.StatusNotFound},
		{"unknown request", ann, "/v1/requests/REQ9999999999", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.client.do(http.MethodGet, tt.path, nil)
			require.Equal(t, tt.status, r.Code, r.Body.String())
			if tt.status >= 400 {
				r.problem(t)
			}
		})
	}

	var e store.Escalation
	c.as(issue(t, auth.RoleIntegration, "")).do(http.MethodGet, "/v1/incidents/"+f.incident.Number, nil).decode(t, &e)
	require.Equal(t, f.incident, e)
	require.Equal(t, "customer: hello", e.Transcript)
}

func TestListInteractions(t *testing.T) {
	f := newReadFixture(t)
	c := newClient(t, api.Deps{})
	sup := c.as(issue(t, auth.RoleSupervisor, ""))
	ann := c.as(issue(t, auth.RoleAgent, f.ann))

	list := func(cl *client, query string) []string {
		t.Helper()
		r := cl.do(http.MethodGet, "/v1/interactions?"+query, nil)
		require.Equal(t, http.StatusOK, r.Code, r.Body.String())
		var p interactionPage
		r.decode(t, &p)
		out := []string{}
		for _, i := range p.Items {
			out = append(out, i.Number)
		}
		return out
	}
	q := "queue=" + f.queue
	require.Equal(t, []string{f.bobChat.Number, f.annOutbound.Number, f.annCall.Number}, list(sup, q), "newest first")
	require.Equal(t, []string{f.bobChat.Number}, list(sup, q+"&channel=chat"))
	require.Equal(t, []string{f.bobChat.Number}, list(sup, q+"&agent_id="+f.bob))
	require.Equal(t, []string{f.annOutbound.Number, f.annCall.Number}, list(sup, q+"&state=work_in_progress"))

	// An agent sees only what is assigned to it, asked for or not.
	require.Equal(t, []string{f.annCall.Number}, list(ann, q))
	require.Equal(t, []string{f.annCall.Number}, list(ann, q+"&agent_id="+f.ann))
	r := ann.do(http.MethodGet, "/v1/interactions?agent_id="+f.bob, nil)
	require.Equal(t, http.StatusForbidden, r.Code)
	r.problem(t)

	// Paging.
	r = sup.do(http.MethodGet, "/v1/interactions?"+q+"&limit=2", nil)
	require.Equal(t, http.StatusOK, r.Code)
	var p interactionPage
	r.decode(t, &p)
	require.Len(t, p.Items, 2)
	require.NotNil(t, p.NextOffset)
	require.Equal(t, 2, *p.NextOffset)
	require.Equal(t, []string{f.annCall.Number}, list(sup, q+"&limit=2&offset=2"))

	// Time range, RFC 3339.
	from := url.QueryEscape(f.annOutbound.CreatedAt.Format(time.RFC3339Nano))
	require.Equal(t, []string{f.bobChat.Number, f.annOutbound.Number}, list(sup, q+"&from="+from))
	require.Equal(t, []string{f.annCall.Number}, list(sup, q+"&to="+from))
	require.Empty(t, list(sup, q+"&from="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))))

	for _, tt := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=2025-03-01", "to"},
		{"from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", "to"},
		{"state=open", "state"},
		{"channel=fax", "channel"},
		{"limit=0", "limit"},
		{"offset=-1", "offset"},
	} {
		r := sup.do(http.MethodGet, "/v1/interactions?"+tt.query, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Code, tt.query)
		p := r.problem(t)
		require.Equal(t, tt.field, p.Errors[0].Field, tt.query)
	}

	r = c.do(http.MethodGet, "/v1/interactions", nil)
	require.Equal(t, http.StatusUnauthorized, r.Code)
}
