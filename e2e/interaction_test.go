package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

type interactionDetail struct {
	store.Interaction
	History    []store.HistoryEntry `json:"history"`
	Notes      []store.WorkNote     `json:"notes"`
	PhoneLogs  []store.PhoneLog     `json:"phone_logs"`
	Transfers  []store.Transfer     `json:"transfers"`
	Transcript []store.ChatMessage  `json:"transcript"`
}

func getInteraction(t *testing.T, number string) interactionDetail {
	t.Helper()
	var d interactionDetail
	mustAPI(t, http.StatusOK, "GET", "/v1/interactions/"+number, supervisor(), nil, &d)
	return d
}

// waitState waits until the interaction's record is in state.
func waitState(t *testing.T, number, state string) interactionDetail {
	t.Helper()
	var d interactionDetail
	eventually(t, func() bool {
		return do(t, "GET", "/v1/interactions/"+number, supervisor(), nil, &d) == http.StatusOK && d.State == state
	}, number+" reaches "+state)
	return d
}

// ringIn places an inbound call from the simulator and returns its call id
// and the interaction it opened.
func ringIn(t *testing.T, from, queue string, extra map[string]any) (string, string) {
	t.Helper()
	body := map[string]any{"from": from, "to": "+12025550100", "queue": queue}
	for k, v := range extra {
		body[k] = v
	}
	var call struct{ ID string }
	sim(t, "/sim/inbound-calls", body, &call)
	return call.ID, interactionOf(t, call.ID, "the call opens an interaction")
}

// interactionOf waits until the platform's call or chat leg has opened an
// interaction and returns its number.
func interactionOf(t *testing.T, leg, what string) string {
	t.Helper()
	var owner string
	eventually(t, func() bool {
		wf, err := sys.store.LegOwner(t.Context(), leg)
		owner = wf
		return err == nil
	}, what)
	return number(owner)
}

// offeredTo waits until the interaction is offered to agent.
func offeredTo(t *testing.T, number, agent string) {
	t.Helper()
	d := waitState(t, number, "pending_acceptance")
	require.Equal(t, agent, *d.AgentID)
}

func historyStates(d interactionDetail) []string {
	var out []string
	for _, h := range d.History {
		out = append(out, h.ToState)
	}
	return out
}

func TestInboundCallAcceptedEndedWithPhoneLog(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 30}, "ann")
	agent := "ann-" + queue
	k := seedCase(t, seedContact(t, "Ivy", nil).ID, "Invoice twice")
	_, n := ringIn(t, "+12025550111", queue, map[string]any{"ivr": map[string]string{"reason": "billing"}, "case_number": k.Number, "via_ivr": true})

	offeredTo(t, n, agent)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[agent], map[string]any{}, nil)
	var d interactionDetail
	eventually(t, func() bool { d = getInteraction(t, n); return d.IVR["reason"] == "billing" && len(d.Related) == 1 }, "IVR selections on the record: "+fmt.Sprint(getInteraction(t, n).IVR))
	require.Equal(t, "work_in_progress", d.State)
	require.Contains(t, d.Related, store.RelatedRecord{Kind: "case", Ref: k.Number, CreatedAt: d.Related[0].CreatedAt}, "the case entered in the IVR is a related record")

	// Ops see the agent busy in the Temporal UI while on the call.
	eventually(t, func() bool {
		resp, err := sys.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s' AND ProcessState = '%s'", workflows.AgentWorkflowID(agent), workflows.AgentBusy)})
		return err == nil && len(resp.Executions) == 1
	}, "agent process shows busy")

	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+n+"/notes", tokens[agent], map[string]any{"body": "customer asked about the invoice"}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[agent], map[string]any{"disposition": "billing-info"}, nil)
	d = waitState(t, n, "closed_complete")
	require.Equal(t, []string{"new", "pending_acceptance", "work_in_progress", "closed_complete"}, historyStates(d))
	require.Len(t, d.PhoneLogs, 1)
	log := d.PhoneLogs[0]
	require.Equal(t, "+12025550111", log.FromNumber)
	require.Equal(t, agent, *log.AgentID)
	require.NotNil(t, log.AnsweredAt)
	require.False(t, log.EndedAt.Before(log.StartedAt))
	require.Len(t, d.Notes, 1)

	// The agent is in wrap-up with the queue's timer, then ends it with a disposition.
	var a agentView
	eventually(t, func() bool {
		return do(t, "GET", "/v1/agents/"+agent, tokens[agent], nil, &a) == 200 && a.Presence == "wrap_up"
	}, "agent in wrap-up")
	mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+agent+"/end-wrap-up", tokens[agent], map[string]any{"disposition": "resolved"}, nil)
	mustAPI(t, http.StatusOK, "GET", "/v1/agents/"+agent, tokens[agent], nil, &a)
	require.Equal(t, "available", a.Status)
}

func TestInboundCallRejectedClosesWhenTheQueueSaysSo(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"on_reject": "close"}, "bob")
	agent := "bob-" + queue
	callID, n := ringIn(t, "+12025550112", queue, nil)
	offeredTo(t, n, agent)

	// Another agent may not answer for Bob.
	other := agentToken(t, "someone-else")
	require.Equal(t, http.StatusForbidden, do(t, "POST", "/v1/interactions/"+n+"/reject", other, map[string]any{}, nil))

	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/reject", tokens[agent], map[string]any{"reason": "wrong skill"}, nil)
	d := waitState(t, n, "closed_complete")
	require.Equal(t, []string{"new", "pending_acceptance", "closed_complete"}, historyStates(d))
	require.Equal(t, "bob-"+queue, *d.AgentID, "closed by the agent who rejected it")
	last := d.History[len(d.History)-1]
	require.Equal(t, "rejected by "+agent, last.Reason)
	// The caller is not left in the platform's queue: hung up, with the
	// call's phone log written before the record closed.
	var call struct{ State string }
	simGet(t, "/sim/calls/"+callID, &call)
	require.Equal(t, "ended", call.State)
	require.Len(t, d.PhoneLogs, 1)
	require.Nil(t, d.PhoneLogs[0].AgentID, "no agent took the call")
	// An illegal step afterwards is refused before it touches history.
	require.Contains(t, []int{http.StatusNotFound, http.StatusConflict}, do(t, "POST", "/v1/interactions/"+n+"/accept", tokens[agent], map[string]any{}, nil))
}

func TestInboundCallAbandonedBeforePickup(t *testing.T) {
	queue, _ := setupQueue(t, nil) // nobody to take it
	callID, n := ringIn(t, "+12025550113", queue, nil)
	waitState(t, n, "new")
	sim(t, "/sim/calls/"+callID+"/hangup", map[string]any{}, nil)
	d := waitState(t, n, "closed_complete")
	require.Equal(t, []string{"new", "closed_complete"}, historyStates(d))
	require.Len(t, d.PhoneLogs, 1, "an abandoned call still has its phone log")
	require.Nil(t, d.PhoneLogs[0].AgentID)
}

func TestInboundCallTransferredAndAccepted(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "cat", "dan")
	cat, dan := "cat-"+queue, "dan-"+queue
	// Only Cat is available at first.
	mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+dan+"/presence", tokens[dan], map[string]any{"presence": "on_break"}, nil)
	_, n := ringIn(t, "+12025550114", queue, nil)
	offeredTo(t, n, cat)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[cat], map[string]any{}, nil)
	// Dan on a break is offered nothing: a transfer to him is refused, and
	// Cat keeps the call.
	var p api.Problem
	require.Equal(t, http.StatusConflict, do(t, "POST", "/v1/interactions/"+n+"/transfer", tokens[cat], map[string]any{"to_agent_id": dan}, &p))
	require.Equal(t, []api.FieldProblem{{Field: "to_agent_id", Detail: "is on break"}}, p.Errors)
	// Nor to an agent of another queue: the call waits in this one.
	elsewhere, _ := setupQueue(t, nil, "eve")
	p = api.Problem{}
	require.Equal(t, http.StatusConflict, do(t, "POST", "/v1/interactions/"+n+"/transfer", tokens[cat], map[string]any{"to_agent_id": "eve-" + elsewhere}, &p))
	require.Equal(t, []api.FieldProblem{{Field: "to_agent_id", Detail: "is not a member of queue " + queue}}, p.Errors)
	require.Equal(t, "work_in_progress", getInteraction(t, n).State)
	mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+dan+"/presence", tokens[dan], map[string]any{"presence": "available"}, nil)

	require.Equal(t, http.StatusUnprocessableEntity, do(t, "POST", "/v1/interactions/"+n+"/transfer", tokens[cat], map[string]any{"to_agent_id": "nobody-" + queue}, nil))
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/transfer", tokens[cat], map[string]any{"to_agent_id": dan}, nil)
	offeredTo(t, n, dan)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[dan], map[string]any{}, nil)
	d := getInteraction(t, n)
	require.Equal(t, "work_in_progress", d.State)
	require.Equal(t, dan, *d.AgentID)
	require.Len(t, d.Transfers, 1)
	require.Equal(t, cat, d.Transfers[0].FromAgent)
	require.Equal(t, dan, *d.Transfers[0].ToAgent)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[dan], map[string]any{}, nil)
	d = waitState(t, n, "closed_complete")
	// Seed 000: assigned to the new agent in Pending Acceptance, never New
	// between the two agents.
	require.Equal(t, []string{"new", "pending_acceptance", "work_in_progress", "pending_acceptance", "work_in_progress", "closed_complete"}, historyStates(d))
	require.Equal(t, "transferred by "+cat+"; offered to "+dan, d.History[3].Reason)
}

// Seed 000: a call not picked up ends the record in Closed Complete, in a
// queue set so; the history says who let it run out.
func TestACallNotPickedUpIsClosedWhereTheQueueSaysSo(t *testing.T) {
	queue, _ := setupQueue(t, map[string]any{"acceptance_timeout_seconds": 1, "on_timeout": "close"}, "gus")
	gus := "gus-" + queue
	_, n := ringIn(t, "+12025550115", queue, nil)
	offeredTo(t, n, gus)
	d := waitState(t, n, "closed_complete")
	require.Equal(t, []string{"new", "pending_acceptance", "closed_complete"}, historyStates(d))
	require.Equal(t, "offered to "+gus, d.History[1].Reason)
	require.Equal(t, "not picked up by "+gus+" in 1s", d.History[2].Reason)
	var agent struct{ Presence string }
	mustAPI(t, http.StatusOK, "GET", "/v1/agents/"+gus, supervisor(), nil, &agent)
	require.Equal(t, "on_break", agent.Presence, "the agent who let it run out goes on break")
}

func TestClickToCall(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"outbound_number": "+12025550199"}, "eve")
	agent := "eve-" + queue
	tok := tokens[agent]

	t.Run("with a record, answered", func(t *testing.T) {
		var it store.Interaction
		mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/outbound", tok, map[string]any{"to": "(202) 555-0131", "queue": queue}, &it)
		require.Equal(t, "work_in_progress", it.State, "created in progress, assigned to the agent")
		require.Equal(t, agent, *it.AgentID)
		eventually(t, func() bool {
			var st workflows.InteractionState
			v, err := sys.client.QueryWorkflow(t.Context(), workflows.InteractionWorkflowID(it.Number), "", workflows.QueryState)
			return err == nil && v.Get(&st) == nil
		}, "process answers")
		var placed []map[string]any
		eventually(t, func() bool {
			resp, err := http.Get(sys.simURL + "/sim/calls?idempotency_key=" + it.Number + "-dial")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			placed = nil
			return decodeJSON(resp, &placed) == nil && len(placed) == 1 && placed[0]["state"] != "ringing"
		}, "the call is placed and answered")
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+it.Number+"/end", tok, map[string]any{}, nil)
		d := waitState(t, it.Number, "closed_complete")
		require.Len(t, d.PhoneLogs, 1)
	})

	t.Run("with a record, unanswered", func(t *testing.T) {
		number := "+12025550132"
		req, _ := http.NewRequest(http.MethodPut, sys.simURL+"/sim/scripts/"+number, strings.NewReader(`{"outcome":"no_answer:300ms"}`))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		var it store.Interaction
		mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/outbound", tok, map[string]any{"to": number, "queue": queue}, &it)
		d := waitState(t, it.Number, "closed_complete")
		require.Equal(t, []string{"work_in_progress", "closed_complete"}, historyStates(d))
		require.Contains(t, d.History[len(d.History)-1].Reason, "unanswered")
	})

	t.Run("without a record", func(t *testing.T) {
		before := countInteractions(t)
		var out struct {
			Call        map[string]any `json:"call"`
			Interaction any            `json:"interaction"`
		}
		mustAPI(t, http.StatusAccepted, "POST", "/v1/interactions/outbound", tok,
			map[string]any{"to": "+12025550133", "queue": queue, "create_interaction": false}, &out)
		require.NotEmpty(t, out.Call["id"])
		require.Nil(t, out.Interaction)
		require.Equal(t, before, countInteractions(t), "no record was created")
	})
}

func countInteractions(t *testing.T) int {
	var n int
	require.NoError(t, sys.store.DB().Get(&n, `SELECT count(*) FROM interactions`))
	return n
}

func TestChatsMatchedByEmail(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "fay")
	agent := "fay-" + queue
	tok := tokens[agent]
	tag := strings.ToLower(uuid.NewString()[:6])
	one := "one-" + tag + "@example.com"
	many := "many-" + tag + "@example.com"
	var olga, first, second store.Contact
	mustAPI(t, http.StatusCreated, "POST", "/v1/contacts", supervisor(), map[string]any{"name": "Olga One",
		"communication_options": []map[string]any{{"kind": "email", "value": one}}}, &olga)
	for i, c := range []*store.Contact{&first, &second} {
		mustAPI(t, http.StatusCreated, "POST", "/v1/contacts", supervisor(), map[string]any{"name": fmt.Sprintf("Mia %d", i+1),
			"communication_options": []map[string]any{{"kind": "email", "value": many}}}, c)
	}

	chat := func(email string) (string, string) {
		var c struct{ ID string }
		sim(t, "/sim/chats", map[string]any{"email": email, "name": "Customer", "queue": queue, "text": "hello there"}, &c)
		return c.ID, interactionOf(t, c.ID, "the chat opens an interaction")
	}
	work := func(chatID, n string) {
		offeredTo(t, n, agent)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/messages", tok, map[string]any{"text": "Hi, how can I help?"}, nil)
		sim(t, "/sim/chats/"+chatID+"/messages", map[string]any{"text": "my order is late"}, nil)
		eventually(t, func() bool { return len(getInteraction(t, n).Transcript) == 3 }, "transcript kept: "+fmt.Sprint(getInteraction(t, n).Transcript))
	}

	t.Run("one match is attached", func(t *testing.T) {
		chatID, n := chat(one)
		work(chatID, n)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{"disposition": "answered"}, nil)
		d := waitState(t, n, "closed_complete")
		require.Equal(t, olga.ID, *d.ContactID)
		for _, r := range d.Related {
			require.NotEqual(t, "incident", r.Kind, "a matched customer gets no automatic incident")
		}
		// Ended by the agent is ended for the customer: the platform closed
		// the chat, and a later message is refused with a clear status
		// and kept, not taken into a chat nobody reads.
		var c struct {
			State   string                  `json:"state"`
			EndedBy string                  `json:"ended_by"`
			Refused []struct{ Text string } `json:"refused"`
		}
		eventually(t, func() bool { simGet(t, "/sim/chats/"+chatID, &c); return c.State == "ended" }, "the platform ends the chat")
		require.Equal(t, "agent", c.EndedBy)
		status, body := simPost(t, "/sim/chats/"+chatID+"/messages", map[string]any{"text": "one more thing"})
		require.Equal(t, http.StatusConflict, status)
		require.Contains(t, body, "chat_not_active")
		require.Contains(t, body, "not delivered")
		simGet(t, "/sim/chats/"+chatID, &c)
		require.Len(t, c.Refused, 1)
		require.Equal(t, "one more thing", c.Refused[0].Text)
		require.Len(t, getInteraction(t, n).Transcript, 3, "nothing added to the closed record")
	})

	t.Run("several matches: the first by default, the agent may choose another", func(t *testing.T) {
		chatID, n := chat(many)
		work(chatID, n)
		d := getInteraction(t, n)
		require.Equal(t, first.ID, *d.ContactID, "the first match is the default")
		// A desk reloaded mid-chat finds the matches on the record.
		var reloaded struct {
			ContactCandidates []workflows.ContactChoice `json:"contact_candidates"`
		}
		mustAPI(t, http.StatusOK, "GET", "/v1/interactions/"+n, tok, nil, &reloaded)
		require.ElementsMatch(t, []string{first.ID.String(), second.ID.String()},
			[]string{reloaded.ContactCandidates[0].ContactID, reloaded.ContactCandidates[1].ContactID})
		require.Equal(t, http.StatusUnprocessableEntity, do(t, "POST", "/v1/interactions/"+n+"/choose-contact", tok, map[string]any{"contact_id": uuid.NewString()}, nil),
			"a contact that did not match is refused")
		var st workflows.InteractionState
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/choose-contact", tok, map[string]any{"contact_id": second.ID.String()}, &st)
		require.Len(t, st.ContactCandidates, 2)
		require.Equal(t, second.ID, *getInteraction(t, n).ContactID)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{}, nil)
		waitState(t, n, "closed_complete")
	})

	t.Run("no match opens an incident with times and transcript", func(t *testing.T) {
		chatID, n := chat("stranger-" + tag + "@example.com")
		work(chatID, n)
		sim(t, "/sim/chats/"+chatID+"/end", map[string]any{}, nil)
		d := waitState(t, n, "closed_complete")
		require.Nil(t, d.ContactID)
		var incident string
		for _, r := range d.Related {
			if r.Kind == "incident" {
				incident = r.Ref
			}
		}
		require.NotEmpty(t, incident)
		var inc store.Escalation
		mustAPI(t, http.StatusOK, "GET", "/v1/incidents/"+incident, supervisor(), nil, &inc)
		require.NotNil(t, inc.ChatInitiatedAt)
		require.NotNil(t, inc.ChatAcceptedAt)
		require.NotNil(t, inc.ChatTerminatedAt)
		require.Contains(t, inc.Transcript, "my order is late")
		require.Contains(t, inc.Transcript, "Hi, how can I help?")
	})
}

func TestEscalationFromAWalkIn(t *testing.T) {
	queue, tokens := setupQueue(t, nil, "gus")
	agent := "gus-" + queue
	tok := tokens[agent]
	var it store.Interaction
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions", tok, map[string]any{"channel": "walk_in", "queue": queue,
		"short_description": "Laptop will not boot", "description": "Came to the desk"}, &it)
	require.Equal(t, "work_in_progress", it.State)

	inc := map[string]any{"kind": "incident", "short_description": "Laptop will not boot"}
	var first, again, keyed, keyedAgain workflows.EscalationRef
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+it.Number+"/escalate", tok, inc, &first)
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+it.Number+"/escalate", tok, inc, &again) // the double click
	require.Equal(t, first, again, "escalating twice by accident creates one incident")
	require.True(t, strings.HasPrefix(first.Number, "INC"))

	req := map[string]any{"kind": "request", "short_description": "Loan laptop"}
	require.Equal(t, http.StatusCreated, doKeyed(t, "/v1/interactions/"+it.Number+"/escalate", tok, "req-1", req, &keyed))
	require.Equal(t, http.StatusCreated, doKeyed(t, "/v1/interactions/"+it.Number+"/escalate", tok, "req-1", req, &keyedAgain))
	require.Equal(t, keyed, keyedAgain, "the same Idempotency-Key creates one request")
	require.True(t, strings.HasPrefix(keyed.Number, "REQ"))

	d := getInteraction(t, it.Number)
	require.Equal(t, "work_in_progress", d.State, "escalating does not close the interaction (seed 001)")
	var kinds []string
	for _, r := range d.Related {
		kinds = append(kinds, r.Kind+":"+r.Ref)
	}
	require.ElementsMatch(t, []string{"incident:" + first.Number, "request:" + keyed.Number}, kinds)

	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+it.Number+"/close", tok, map[string]any{"reason": "handed over"}, nil)
	waitState(t, it.Number, "closed_complete")
}

func TestPresenceIsTheAgentsOwnOrASupervisors(t *testing.T) {
	queue, tokens := setupQueue(t, nil, "hal", "ida")
	hal, ida := "hal-"+queue, "ida-"+queue
	require.Equal(t, http.StatusForbidden, do(t, "PUT", "/v1/agents/"+ida+"/presence", tokens[hal], map[string]any{"presence": "on_break"}, nil))
	require.Equal(t, http.StatusForbidden, do(t, "PUT", "/v1/agents/"+ida+"/presence", sys.tokens["integration"], map[string]any{"presence": "on_break"}, nil))
	mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+ida+"/presence", supervisor(), map[string]any{"presence": "on_break"}, nil)
	var a agentView
	mustAPI(t, http.StatusOK, "GET", "/v1/agents/"+ida, supervisor(), nil, &a)
	require.Equal(t, "on_break", a.Presence)
	// Another agent sees ida's presence in the list, not her offers and work.
	require.Equal(t, http.StatusForbidden, do(t, "GET", "/v1/agents/"+ida, tokens[hal], nil, nil))
	var list struct {
		Items []agentView `json:"items"`
	}
	mustAPI(t, http.StatusOK, "GET", "/v1/agents?queue="+queue, tokens[hal], nil, &list)
	i := slices.IndexFunc(list.Items, func(v agentView) bool { return v.ID == ida })
	require.GreaterOrEqual(t, i, 0, "ida in her queue's list")
	require.Equal(t, "on_break", list.Items[i].Presence)
	require.Equal(t, http.StatusUnprocessableEntity, do(t, "PUT", "/v1/agents/"+hal+"/presence", tokens[hal], map[string]any{"presence": "busy"}, nil))
}

// Seed 000: the record exists from the moment the caller reaches the IVR,
// but the call waits for an agent only once the IVR is done, with the
// selections on the record. A case number that names no case is kept as
// keyed, not related.
func TestTheIVRComesFirst(t *testing.T) {
	queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0, "acceptance_timeout_seconds": 120}, "ann")
	agent := "ann-" + queue
	var inIVR struct{ ID, State string }
	sim(t, "/sim/inbound-calls", map[string]any{"from": "+12025550112", "to": "+12025550100", "queue": queue,
		"via_ivr": true, "hold_in_ivr": true}, &inIVR)
	require.Equal(t, "ivr", inIVR.State)
	first := interactionOf(t, inIVR.ID, "the caller in the IVR has a record")
	d := waitState(t, first, "new")
	require.Nil(t, d.AgentID)
	require.Empty(t, d.IVR)

	// A later call, straight to the queue, reaches the free agent first:
	// the caller still in the IVR is not waiting in line.
	_, second := ringIn(t, "+12025550113", queue, nil)
	offeredTo(t, second, agent)
	require.Equal(t, "new", getInteraction(t, first).State)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+second+"/accept", tokens[agent], map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+second+"/end", tokens[agent], map[string]any{}, nil)

	sim(t, "/sim/calls/"+inIVR.ID+"/ivr-done", map[string]any{"ivr": map[string]string{"reason": "billing"}, "case_number": "CS-424242"}, nil)
	offeredTo(t, first, agent)
	d = getInteraction(t, first)
	require.Equal(t, map[string]string{"reason": "billing"}, d.IVR, "the selections are on the record when the agent sees it")
	require.Equal(t, "CS-424242", *d.IVRCaseNumber, "kept as keyed")
	require.Empty(t, d.Related, "no case has that number")
}

// A caller who hangs up in the IVR ends the record as abandoned; no agent
// was ever offered the call.
func TestACallerWhoHangsUpInTheIVRIsAbandoned(t *testing.T) {
	queue, _ := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "bo")
	var inIVR struct{ ID string }
	sim(t, "/sim/inbound-calls", map[string]any{"from": "+12025550114", "to": "+12025550100", "queue": queue,
		"via_ivr": true, "hold_in_ivr": true}, &inIVR)
	n := interactionOf(t, inIVR.ID, "the caller in the IVR has a record")
	waitState(t, n, "new")
	sim(t, "/sim/calls/"+inIVR.ID+"/hangup", map[string]any{}, nil)
	d := waitState(t, n, "closed_complete")
	require.Equal(t, []string{"new", "closed_complete"}, historyStates(d))
	require.Equal(t, "caller hung up in the IVR", d.History[len(d.History)-1].Reason)
	require.Nil(t, d.AgentID)
	// Ops find it in the Temporal UI by its outcome.
	eventually(t, func() bool {
		resp, err := sys.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s' AND Outcome = 'abandoned'", workflows.InteractionWorkflowID(n))})
		return err == nil && len(resp.Executions) == 1
	}, "Outcome = 'abandoned' finds the call")
}
