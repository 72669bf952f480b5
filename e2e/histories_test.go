//go:build record

package e2e

// TestRecordHistories runs representative processes end to end and writes
// each one's Temporal history to workflows/testdata/histories, where
// workflows' replay test checks that the code still replays them. It is
// built only with -tags record: `make histories` runs it.

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// historiesDir is where the replay test in workflows/ reads histories.
const historiesDir = "../workflows/testdata/histories"

// recorder writes the histories of the processes a test ran, once they
// have ended or, for entity workflows that never end, once they are idle.
type recorder struct {
	t       *testing.T
	written []string
}

// closed waits for the workflow to end and writes its history.
func (r *recorder) closed(name, workflowID string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = sys.client.GetWorkflow(ctx, workflowID, "").Get(ctx, nil) // a failed process is recorded too
	r.write(name, workflowID, r.history(workflowID))
}

// running waits until a long-lived workflow has no workflow task in flight
// and writes its history as of then: a running history replays as well.
func (r *recorder) running(name, workflowID string) {
	r.t.Helper()
	var h *historypb.History
	eventually(r.t, func() bool {
		h = r.history(workflowID)
		switch h.Events[len(h.Events)-1].GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enums.EVENT_TYPE_WORKFLOW_TASK_STARTED,
			enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			return false
		}
		return true
	}, workflowID+" is idle")
	r.write(name, workflowID, h)
}

func (r *recorder) history(workflowID string) *historypb.History {
	r.t.Helper()
	it := sys.client.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(r.t, err)
		h.Events = append(h.Events, ev)
	}
	require.NotEmpty(r.t, h.Events, workflowID)
	return h
}

// write stores h as <WorkflowType>-<name>.json in the format of
// `temporal workflow show --output json`.
func (r *recorder) write(name, workflowID string, h *historypb.History) {
	r.t.Helper()
	typ := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
	require.NotEmpty(r.t, typ, "%s: the first event is not the start", workflowID)
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
	require.NoError(r.t, err)
	require.NoError(r.t, os.MkdirAll(historiesDir, 0o755))
	file := filepath.Join(historiesDir, typ+"-"+name+".json")
	require.NoError(r.t, os.WriteFile(file, append(b, '\n'), 0o644))
	r.noteWorkflowID(filepath.Base(file), workflowID)
	r.written = append(r.written, fmt.Sprintf("%s (%d events)", filepath.Base(file), len(h.Events)))
}

// noteWorkflowID records which workflow id a history file ran under in
// workflow-ids.txt: a history does not hold its own id, and a workflow that
// compares ids with its own (offers to itself) replays only under it.
func (r *recorder) noteWorkflowID(file, workflowID string) {
	r.t.Helper()
	index := filepath.Join(historiesDir, "workflow-ids.txt")
	ids := map[string]string{}
	if b, err := os.ReadFile(index); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f, id, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
				ids[f] = id
			}
		}
	}
	ids[file] = workflowID
	out := "# <history file> <the workflow id it ran under>; written by `make histories`\n"
	for _, f := range slices.Sorted(maps.Keys(ids)) {
		out += f + " " + ids[f] + "\n"
	}
	require.NoError(r.t, os.WriteFile(index, []byte(out), 0o644))
}

func TestRecordHistories(t *testing.T) {
	rec := &recorder{t: t}
	t.Cleanup(func() {
		for _, f := range rec.written {
			t.Log("recorded", f)
		}
	})

	t.Run("self check", func(t *testing.T) {
		id := workflows.SelfCheckWorkflowID("recorded")
		_, err := sys.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
			workflows.SelfCheck, workflows.SelfCheckInput{Note: "recorded"})
		require.NoError(t, err)
		rec.closed("selfcheck", id)
	})

	t.Run("inbound call accepted, noted, ended; wrap-up ended by the agent", func(t *testing.T) {
		queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 30}, "ann")
		agent := "ann-" + queue
		_, n := ringIn(t, "+12025550111", queue, map[string]any{"ivr": map[string]string{"reason": "billing"}, "case_number": "CS-000042", "via_ivr": true})
		offeredTo(t, n, agent)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[agent], map[string]any{}, nil)
		mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+n+"/notes", tokens[agent], map[string]any{"body": "asked about the invoice"}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[agent], map[string]any{"disposition": "billing-info"}, nil)
		waitState(t, n, "closed_complete")
		var a agentView
		eventually(t, func() bool {
			return do(t, "GET", "/v1/agents/"+agent, tokens[agent], nil, &a) == http.StatusOK && a.Presence == "wrap_up"
		}, "agent in wrap-up")
		mustAPI(t, http.StatusOK, "POST", "/v1/agents/"+agent+"/end-wrap-up", tokens[agent], map[string]any{"disposition": "resolved"}, nil)
		rec.closed("inbound-call-accepted-ended", workflows.InteractionWorkflowID(n))
		rec.running("wrap-up-ended-by-agent", workflows.AgentWorkflowID(agent))
	})

	t.Run("presence changes and a wrap-up that times out", func(t *testing.T) {
		queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 1}, "bea")
		agent := "bea-" + queue
		tok := tokens[agent]
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+agent+"/presence", tok, map[string]any{"presence": "on_break", "reason": "coffee"}, nil)
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+agent+"/presence", tok, map[string]any{"presence": "available"}, nil)
		_, n := ringIn(t, "+12025550115", queue, nil)
		offeredTo(t, n, agent)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{}, nil)
		waitState(t, n, "closed_complete")
		var a agentView
		eventually(t, func() bool {
			return do(t, "GET", "/v1/agents/"+agent, tok, nil, &a) == http.StatusOK && a.Presence == "wrap_up"
		}, "the agent is in wrap-up")
		eventually(t, func() bool {
			return do(t, "GET", "/v1/agents/"+agent, tok, nil, &a) == http.StatusOK && a.Presence == "available"
		}, "the wrap-up timer gives the agent back to routing")
		eventually(t, func() bool {
			return slices.ContainsFunc(rec.history(workflows.AgentWorkflowID(agent)).Events, func(e *historypb.HistoryEvent) bool {
				return e.GetEventType() == enums.EVENT_TYPE_TIMER_FIRED
			})
		}, "the wrap-up timer fired")
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+agent+"/presence", tok, map[string]any{"presence": "offline"}, nil)
		rec.running("presence-and-wrap-up-timeout", workflows.AgentWorkflowID(agent))
	})

	t.Run("inbound call abandoned before pickup", func(t *testing.T) {
		queue, _ := setupQueue(t, nil)
		callID, n := ringIn(t, "+12025550113", queue, nil)
		waitState(t, n, "new")
		sim(t, "/sim/calls/"+callID+"/hangup", map[string]any{}, nil)
		waitState(t, n, "closed_complete")
		rec.closed("inbound-call-abandoned", workflows.InteractionWorkflowID(n))
	})

	t.Run("inbound call transferred and accepted", func(t *testing.T) {
		queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "cat", "dan")
		cat, dan := "cat-"+queue, "dan-"+queue
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+dan+"/presence", tokens[dan], map[string]any{"presence": "on_break"}, nil)
		_, n := ringIn(t, "+12025550114", queue, nil)
		offeredTo(t, n, cat)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[cat], map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+dan+"/presence", tokens[dan], map[string]any{"presence": "available"}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/transfer", tokens[cat], map[string]any{"to_agent_id": dan}, nil)
		offeredTo(t, n, dan)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[dan], map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[dan], map[string]any{}, nil)
		waitState(t, n, "closed_complete")
		rec.closed("inbound-call-transferred", workflows.InteractionWorkflowID(n))
	})

	t.Run("chat with no matching contact opens an incident", func(t *testing.T) {
		queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "fay")
		agent := "fay-" + queue
		tok := tokens[agent]
		var c struct{ ID string }
		sim(t, "/sim/chats", map[string]any{"email": "stranger-" + strings.ToLower(uuid.NewString()[:6]) + "@example.com",
			"name": "Customer", "queue": queue, "text": "hello there"}, &c)
		n := interactionOf(t, c.ID, "the chat opens an interaction")
		offeredTo(t, n, agent)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/messages", tok, map[string]any{"text": "Hi, how can I help?"}, nil)
		sim(t, "/sim/chats/"+c.ID+"/messages", map[string]any{"text": "my order is late"}, nil)
		eventually(t, func() bool { return len(getInteraction(t, n).Transcript) == 3 }, "transcript kept")
		sim(t, "/sim/chats/"+c.ID+"/end", map[string]any{}, nil)
		d := waitState(t, n, "closed_complete")
		require.Contains(t, relatedKinds(d), "incident")
		rec.closed("chat-without-contact-incident", workflows.InteractionWorkflowID(n))
	})

	t.Run("chat ended by the agent", func(t *testing.T) {
		queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "hana")
		agent := "hana-" + queue
		email := "known-" + strings.ToLower(uuid.NewString()[:6]) + "@example.com"
		mustAPI(t, http.StatusCreated, "POST", "/v1/contacts", supervisor(), map[string]any{"name": "Known Customer",
			"communication_options": []map[string]any{{"kind": "email", "value": email}}}, nil)
		var c struct{ ID string }
		sim(t, "/sim/chats", map[string]any{"email": email, "name": "Customer", "queue": queue, "text": "hello"}, &c)
		n := interactionOf(t, c.ID, "the chat opens an interaction")
		offeredTo(t, n, agent)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tokens[agent], map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tokens[agent], map[string]any{"disposition": "answered"}, nil)
		waitState(t, n, "closed_complete")
		rec.closed("chat-ended-by-agent", workflows.InteractionWorkflowID(n))
	})

	t.Run("call through the IVR, not picked up, closed", func(t *testing.T) {
		queue, _ := setupQueue(t, map[string]any{"acceptance_timeout_seconds": 1, "on_timeout": "close"}, "ivo")
		var call struct{ ID string }
		sim(t, "/sim/inbound-calls", map[string]any{"from": "+12025550116", "to": "+12025550100", "queue": queue,
			"via_ivr": true, "hold_in_ivr": true}, &call)
		n := interactionOf(t, call.ID, "the caller in the IVR has a record")
		waitState(t, n, "new")
		sim(t, "/sim/calls/"+call.ID+"/ivr-done", map[string]any{"ivr": map[string]string{"reason": "sales"}}, nil)
		offeredTo(t, n, "ivo-"+queue)
		waitState(t, n, "closed_complete")
		rec.closed("ivr-then-not-picked-up", workflows.InteractionWorkflowID(n))
	})

	t.Run("walk-in escalated and closed", func(t *testing.T) {
		queue, tokens := setupQueue(t, nil, "gus")
		tok := tokens["gus-"+queue]
		var it store.Interaction
		mustAPI(t, http.StatusCreated, "POST", "/v1/interactions", tok, map[string]any{"channel": "walk_in", "queue": queue,
			"short_description": "Laptop will not boot", "description": "Came to the desk"}, &it)
		mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+it.Number+"/escalate", tok,
			map[string]any{"kind": "incident", "short_description": "Laptop will not boot"}, nil)
		require.Equal(t, http.StatusCreated, doKeyed(t, "/v1/interactions/"+it.Number+"/escalate", tok, "req-1",
			map[string]any{"kind": "request", "short_description": "Loan laptop"}, nil))
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+it.Number+"/close", tok, map[string]any{"reason": "handed over"}, nil)
		waitState(t, it.Number, "closed_complete")
		rec.closed("walk-in-escalated-closed", workflows.InteractionWorkflowID(it.Number))
	})

	t.Run("click-to-call answered", func(t *testing.T) {
		queue, tokens := setupQueue(t, map[string]any{"outbound_number": "+12025550199"}, "eve")
		var it store.Interaction
		mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/outbound", tokens["eve-"+queue], map[string]any{"to": "(202) 555-0131", "queue": queue}, &it)
		eventually(t, func() bool {
			resp, err := http.Get(sys.simURL + "/sim/calls?idempotency_key=" + it.Number + "-dial")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var placed []map[string]any
			return decodeJSON(resp, &placed) == nil && len(placed) == 1 && placed[0]["state"] != "ringing"
		}, "the call is placed and answered")
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+it.Number+"/end", tokens["eve-"+queue], map[string]any{}, nil)
		waitState(t, it.Number, "closed_complete")
		rec.closed("click-to-call-answered", workflows.InteractionWorkflowID(it.Number))
	})

	t.Run("add new case from an accepted call", func(t *testing.T) {
		queue, tokens := setupQueue(t, map[string]any{"wrapup_timeout_seconds": 0}, "kim")
		tok := tokens["kim-"+queue]
		e164, _ := callerNumber(t)
		seedContact(t, "Kim Caller", nil, e164)
		_, n := ringIn(t, e164, queue, nil)
		offeredTo(t, n, "kim-"+queue)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
		var ps workflows.CaseProcessState
		mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+n+"/processes", tok, map[string]any{"kind": "add_new_case"}, &ps)
		mustAPI(t, http.StatusOK, "POST", "/v1/processes/"+ps.WorkflowID+"/submit-case", tok, submitted, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{}, nil)
		waitState(t, n, "closed_complete")
		rec.closed("identified-by-phone-submitted", ps.WorkflowID)
		rec.closed("call-with-a-case-process", workflows.InteractionWorkflowID(n))
	})

	t.Run("add new case: several contacts, one chosen", func(t *testing.T) {
		desk := newCallDesk(t)
		ui := desk.agentUI
		e164, _ := callerNumber(t)
		seedContact(t, "Ann", nil, e164)
		bob := seedContact(t, "Bob", nil, e164)
		id, _ := desk.startCaseProcess(workflows.CaseProcessAddNewCase, e164)
		ui.refused(id, "choose-contact", map[string]any{"contact_id": uuid.NewString()}, http.StatusUnprocessableEntity, "contact_id")
		ui.step(id, "choose-contact", map[string]any{"contact_id": bob.ID})
		ui.step(id, "submit-case", submitted)
		rec.closed("several-contacts-chosen", id)
	})

	t.Run("add new case and contact for a new customer", func(t *testing.T) {
		desk := newCallDesk(t)
		ui := desk.agentUI
		e164, _ := callerNumber(t)
		id, _ := desk.startCaseProcess(workflows.CaseProcessAddNewCase, e164)
		ui.step(id, "new-contact", map[string]any{"name": "Dee Dee", "email": "dee." + uuid.NewString()[:8] + "@example.com"})
		ui.step(id, "submit-case", submitted)
		rec.closed("new-contact-submitted", id)
	})

	t.Run("add new case cancelled", func(t *testing.T) {
		desk := newCallDesk(t)
		ui := desk.agentUI
		e164, _ := callerNumber(t)
		id, _ := desk.startCaseProcess(workflows.CaseProcessAddNewCase, e164)
		ui.step(id, "cancel", map[string]any{"reason": "caller hung up"})
		rec.closed("cancelled", id)
	})

	t.Run("advise a contact identified by phone", func(t *testing.T) {
		desk := newCallDesk(t)
		ui := desk.agentUI
		e164, _ := callerNumber(t)
		ann := seedContact(t, "Ann", nil, e164)
		older := seedCase(t, ann.ID, "Older")
		seedCase(t, ann.ID, "Newer")
		id, _ := desk.startCaseProcess(workflows.CaseProcessAdvise, e164)
		ui.step(id, "record-consultation", map[string]any{"case_number": older.Number, "note": "Replacement ships Friday"})
		ui.step(id, "finish", nil)
		rec.closed("identified-by-phone-consulted", id)
	})

	t.Run("advise a customer found by case number", func(t *testing.T) {
		desk := newCallDesk(t)
		ui := desk.agentUI
		e164, _ := callerNumber(t)
		cleo := seedContact(t, "Cleo", nil)
		k := seedCase(t, cleo.ID, "Cleo's case")
		id, _ := desk.startCaseProcess(workflows.CaseProcessAdvise, e164)
		ui.step(id, "search-contacts", map[string]any{"case_number": k.Number})
		ui.step(id, "select-contact", map[string]any{"contact_id": cleo.ID})
		ui.step(id, "finish", nil)
		rec.closed("found-by-case-number", id)
	})

	t.Run("advise a new customer goes on to add a case", func(t *testing.T) {
		desk := newCallDesk(t)
		ui := desk.agentUI
		e164, _ := callerNumber(t)
		id, _ := desk.startCaseProcess(workflows.CaseProcessAdvise, e164)
		ui.step(id, "new-contact", map[string]any{"name": "Eve"})
		ui.step(id, "submit-case", submitted)
		rec.closed("new-customer-adds-case", id)
	})

	t.Run("customer-first callback: unanswered, retried, connected", func(t *testing.T) {
		queue, tokens := setupQueue(t, callbackQueueSettings(map[string]any{"retry_interval_seconds": 2, "max_attempts": 3}), "rec")
		agent := "rec-" + queue
		customer := customerNumber()
		script(t, customer, "no_answer:300ms")
		var cb store.Callback
		mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration],
			map[string]any{"number": customer, "queue": queue, "context": map[string]any{"reason": "recorded"}}, &cb)
		waitCallback(t, cb.ID, func(d callbackDetail) bool { return len(d.Dials) == 1 && d.Dials[0].Outcome == store.AttemptNoAnswer }, "first dial unanswered")
		script(t, customer, "answer:300ms")
		acceptWhenAnswered(t, cb.ID, agent, tokens[agent])
		d := waitCallback(t, cb.ID, step(workflows.CallbackStepConnected), "connected")
		sim(t, "/sim/calls/"+*d.Dials[1].CallID+"/hangup", map[string]any{}, nil)
		waitCallback(t, cb.ID, closed(store.CallbackCompleted), "completed")
		rec.closed("customer-first-retried", workflows.CallbackWorkflowID(cb.ID))
	})

	t.Run("scheduled callback waits, then is cancelled", func(t *testing.T) {
		queue, _ := setupQueue(t, callbackQueueSettings(map[string]any{}), "rsc")
		at := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
		var cb store.Callback
		mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration],
			map[string]any{"number": customerNumber(), "queue": queue, "scheduled_at": at}, &cb)
		rec.running("scheduled-waiting", workflows.CallbackWorkflowID(cb.ID))
		mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/cancel", supervisor(), map[string]any{"reason": "recorded"}, nil)
		waitCallback(t, cb.ID, closed(store.CallbackCancelled), "cancelled")
		rec.closed("scheduled-cancelled", workflows.CallbackWorkflowID(cb.ID))
	})

	t.Run("agent-first callback: busy, redialled, closed", func(t *testing.T) {
		queue, tokens := setupQueue(t, callbackQueueSettings(map[string]any{"default_mode": "agent_first"}), "ref")
		agent := "ref-" + queue
		customer := customerNumber()
		script(t, customer, "busy:200ms")
		var cb store.Callback
		mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", supervisor(),
			map[string]any{"number": customer, "queue": queue, "context": map[string]any{"reason": "recorded"}}, &cb)
		waitCallback(t, cb.ID, step(workflows.CallbackStepOffered), "offered")
		mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/accept", tokens[agent], map[string]any{}, nil)
		mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/dial", tokens[agent], nil, nil)
		waitCallback(t, cb.ID, step(workflows.CallbackStepUnanswered), "busy")
		script(t, customer, "answer:200ms")
		mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/dial", tokens[agent], nil, nil)
		waitCallback(t, cb.ID, step(workflows.CallbackStepConnected), "connected")
		mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/close", tokens[agent], map[string]any{"outcome": "completed"}, nil)
		rec.closed("agent-first-redialled", workflows.CallbackWorkflowID(cb.ID))
	})
}

func relatedKinds(d interactionDetail) []string {
	var out []string
	for _, r := range d.Related {
		out = append(out, r.Kind)
	}
	return out
}
