package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/cti/ctisim"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/worker"
	"github.com/casehub/casehub/workflows"
)

type callbackDetail struct {
	store.Callback
	Dials   []store.CallbackAttempt  `json:"dials"`
	Process *workflows.CallbackState `json:"process"`
}

// customerNumber is a number no other test dials.
func customerNumber() string { return fmt.Sprintf("+1202555%04d", 2000+rand.IntN(7999)) }

// script sets what the simulated customer's phone does when dialled.
func script(t *testing.T, number, outcome string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"outcome": outcome})
	req, err := http.NewRequest(http.MethodPut, sys.simURL+"/sim/scripts/"+number, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
}

// simCalls lists the simulator's calls placed with an idempotency key.
func simCalls(t *testing.T, key string) []ctisim.CallRecord {
	t.Helper()
	resp, err := http.Get(sys.simURL + "/sim/calls?idempotency_key=" + key)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out []ctisim.CallRecord
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func getCallback(t *testing.T, id string) callbackDetail {
	t.Helper()
	var d callbackDetail
	mustAPI(t, http.StatusOK, "GET", "/v1/callbacks/"+id, supervisor(), nil, &d)
	return d
}

func waitCallback(t *testing.T, id string, cond func(callbackDetail) bool, msg string) callbackDetail {
	t.Helper()
	var d callbackDetail
	eventually(t, func() bool {
		d = callbackDetail{}
		return do(t, "GET", "/v1/callbacks/"+id, supervisor(), nil, &d) == http.StatusOK && cond(d)
	}, id+": "+msg)
	return d
}

func step(step string) func(callbackDetail) bool {
	return func(d callbackDetail) bool { return d.Process != nil && d.Process.Step == step }
}

func closed(state string) func(callbackDetail) bool {
	return func(d callbackDetail) bool { return d.State == state }
}

// acceptWhenAnswered accepts the callback the moment it is offered to the
// agent: a customer-first callback is offered only once the customer
// answers (until then the agent is only reserved for it), and an offer that
// shows is taken at once.
func acceptWhenAnswered(t *testing.T, id, agentID, token string) {
	t.Helper()
	var me agentView
	eventually(t, func() bool {
		me = agentView{}
		return do(t, "GET", "/v1/agents/"+agentID, token, nil, &me) == http.StatusOK &&
			len(me.PendingOffers) == 1 && me.PendingOffers[0].WorkflowID == workflows.CallbackWorkflowID(id)
	}, id+" offered")
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+id+"/accept", token, map[string]any{}, nil)
}

func callbackQueueSettings(callbacks map[string]any) map[string]any {
	return map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 0, "outbound_number": "+12025550100",
		"settings": map[string]any{"callbacks": callbacks}}
}

// Customer-first with the simulator: the first dial rings out, the retry is
// answered, the answered call is offered to the agent, bridged, and the
// callback voice interaction gets its phone log when the customer hangs up.
func TestCallbackCustomerFirstEndToEnd(t *testing.T) {
	queue, tokens := setupQueue(t, callbackQueueSettings(map[string]any{"retry_interval_seconds": 2, "max_attempts": 3}), "ann")
	ann := "ann-" + queue
	customer := customerNumber()
	script(t, customer, "no_answer:1500ms")

	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{
		"number": customer, "queue": queue, "context": map[string]any{"reason": "invoice", "ivr": map[string]string{"lang": "en"}},
	}, &cb)
	require.Equal(t, store.CallbackCustomerFirst, cb.Mode)

	// While the customer's phone rings the agent is reserved for the
	// callback, and has no offer to answer (seed 002: an agent is engaged
	// only when the customer answers).
	var held struct {
		Status        string        `json:"status"`
		PendingOffers []store.Offer `json:"pending_offers"`
		ReservedFor   []struct {
			CallbackID string `json:"callback_id"`
		} `json:"reserved_for"`
	}
	eventually(t, func() bool {
		held.ReservedFor = nil
		return do(t, "GET", "/v1/agents/"+ann, tokens[ann], nil, &held) == http.StatusOK && len(held.ReservedFor) == 1
	}, "ann reserved for the callback while it dials")
	require.Equal(t, cb.ID, held.ReservedFor[0].CallbackID)
	require.Empty(t, held.PendingOffers, "nothing to answer while the customer is dialled")
	require.Equal(t, "busy", held.Status, "offered nothing else")
	mustAPI(t, http.StatusConflict, "POST", "/v1/callbacks/"+cb.ID+"/accept", tokens[ann], map[string]any{}, nil)

	// The first dial rings out; the callback waits for its retry.
	d := waitCallback(t, cb.ID, func(d callbackDetail) bool { return len(d.Dials) == 1 && d.Dials[0].Outcome == store.AttemptNoAnswer }, "first dial unanswered")
	require.Equal(t, ann, *d.Dials[0].AgentID, "the agent was held for the dial")
	script(t, customer, "answer:300ms")

	acceptWhenAnswered(t, cb.ID, ann, tokens[ann])
	d = waitCallback(t, cb.ID, step(workflows.CallbackStepConnected), "connected")
	require.NotNil(t, d.Interaction)
	it := waitState(t, *d.Interaction, "work_in_progress")
	require.Equal(t, ann, *it.AgentID)
	require.Equal(t, customer, *it.ContactPhone)

	// The agent notes the call on its interaction; ending it is the
	// callback's step, and the interaction says so.
	var note store.WorkNote
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+it.Number+"/notes", tokens[ann], map[string]any{"body": "customer wants a refund"}, &note)
	require.Equal(t, "customer wants a refund", note.Body)
	var refused api.Problem
	mustAPI(t, http.StatusConflict, "POST", "/v1/interactions/"+it.Number+"/end", tokens[ann], map[string]any{}, &refused)
	require.Contains(t, refused.Detail, "/v1/callbacks/"+cb.ID+"/close")

	// The customer hangs up: completed, with the phone log.
	callID := *d.Dials[1].CallID
	sim(t, "/sim/calls/"+callID+"/hangup", map[string]any{}, nil)
	d = waitCallback(t, cb.ID, closed(store.CallbackCompleted), "completed")
	require.Equal(t, 2, d.Attempts)
	require.Equal(t, []string{store.AttemptNoAnswer, store.AttemptConnected}, []string{d.Dials[0].Outcome, d.Dials[1].Outcome})
	it = waitState(t, *d.Interaction, "closed_complete")
	require.Len(t, it.PhoneLogs, 1)
	require.Equal(t, callID, it.PhoneLogs[0].CallID)
	var call ctisim.CallRecord
	resp, err := http.Get(sys.simURL + "/sim/calls/" + callID)
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&call))
	resp.Body.Close()
	require.NotEmpty(t, call.BridgedWith, "the customer's and the agent's legs were bridged")
	for n := 1; n <= 2; n++ {
		require.Len(t, simCalls(t, workflows.CallbackDialKey(cb.ID, n)), 1, "one call per attempt")
	}
}

// Agent-first with the simulator: the agent accepts, previews the context,
// dials a busy line, redials, talks, and closes the callback.
func TestCallbackAgentFirstEndToEnd(t *testing.T) {
	queue, tokens := setupQueue(t, callbackQueueSettings(map[string]any{"default_mode": "agent_first"}), "bea")
	bea := "bea-" + queue
	customer := customerNumber()
	script(t, customer, "busy:200ms")

	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", supervisor(), map[string]any{
		"number": customer, "queue": queue, "context": map[string]any{"reason": "cancel my contract", "case_number": "CS-000777"},
	}, &cb)
	require.Equal(t, store.CallbackAgentFirst, cb.Mode)

	waitCallback(t, cb.ID, step(workflows.CallbackStepOffered), "offered to bea")
	mustAPI(t, http.StatusConflict, "POST", "/v1/callbacks/"+cb.ID+"/dial", tokens[bea], nil, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/accept", tokens[bea], map[string]any{}, nil)

	// The preview: what the customer asked about.
	var preview callbackDetail
	mustAPI(t, http.StatusOK, "GET", "/v1/callbacks/"+cb.ID, tokens[bea], nil, &preview)
	require.Equal(t, "cancel my contract", preview.Reason)
	require.Equal(t, "CS-000777", *preview.CaseNumber)
	require.Equal(t, workflows.CallbackStepPreview, preview.Process.Step)

	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/dial", tokens[bea], nil, nil)
	// Redial the instant the first dial's outcome shows.
	waitCallback(t, cb.ID, func(d callbackDetail) bool { return len(d.Dials) == 1 && d.Dials[0].Outcome == store.AttemptBusy }, "busy")
	script(t, customer, "answer:200ms")
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/dial", tokens[bea], nil, nil)
	d := waitCallback(t, cb.ID, step(workflows.CallbackStepConnected), "connected")

	// Add new case from the callback's call: the new contact goes on the
	// call's record, in line with the callback's own writes to it.
	var ps workflows.CaseProcessState
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+*d.Interaction+"/processes", tokens[bea], map[string]any{"kind": "add_new_case"}, &ps)
	require.Equal(t, workflows.CaseStepIdentifyContact, ps.Step)
	mustAPI(t, http.StatusOK, "POST", "/v1/processes/"+ps.WorkflowID+"/new-contact", tokens[bea], map[string]any{"name": "Callback Customer"}, &ps)
	t.Cleanup(func() { _ = sys.client.TerminateWorkflow(context.Background(), ps.WorkflowID, "", "test over") })
	require.Equal(t, ps.Contact.ID, *getInteraction(t, *d.Interaction).ContactID, "the contact is on the callback's call")

	var st workflows.CallbackState
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/close", tokens[bea], map[string]any{"outcome": "completed", "disposition": "retained"}, &st)
	require.Equal(t, store.CallbackCompleted, st.State)
	d = getCallback(t, cb.ID)
	require.Equal(t, []string{store.AttemptBusy, store.AttemptConnected}, []string{d.Dials[0].Outcome, d.Dials[1].Outcome})
	it := waitState(t, *d.Interaction, "closed_complete")
	require.Equal(t, "retained", *it.Disposition)
	require.Equal(t, ps.Contact.ID, *it.ContactID)
	eventually(t, func() bool { return len(getInteraction(t, it.Number).PhoneLogs) == 1 }, "phone log written")
}

// A call from the number cancels its pending callback (the queue's default).
func TestInboundCallCancelsThePendingCallback(t *testing.T) {
	queue, _ := setupQueue(t, nil)
	customer := customerNumber()
	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{
		"number": customer, "queue": queue, "scheduled_at": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339),
	}, &cb)
	// A second request is the same callback.
	var again store.Callback
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{"number": customer, "queue": queue}, &again)
	require.Equal(t, cb.ID, again.ID)

	callID, n := ringIn(t, customer, queue, nil)
	d := waitCallback(t, cb.ID, closed(store.CallbackCancelled), "cancelled by the customer's call")
	require.Contains(t, d.Outcome, n)
	require.Contains(t, []string(d.LinkedInteractions), n)
	sim(t, "/sim/calls/"+callID+"/hangup", map[string]any{}, nil)
}

// A callback requested for a waiting caller takes the call's place in the
// queue; the call's interaction ends as replaced by the callback.
func TestCallbackTakesTheWaitingCallersPlace(t *testing.T) {
	queue, _ := setupQueue(t, nil) // nobody to take calls
	ahead, aheadN := ringIn(t, customerNumber(), queue, nil)
	customer := customerNumber()
	callID, n := ringIn(t, customer, queue, nil)
	behind, behindN := ringIn(t, customerNumber(), queue, nil)
	for _, num := range []string{aheadN, n, behindN} {
		waitState(t, num, "new")
	}
	var before struct{ Waiting []store.WorkItem }
	eventually(t, func() bool {
		return do(t, "GET", "/v1/queues/"+queue, supervisor(), nil, &before) == http.StatusOK && len(before.Waiting) == 3
	}, "three calls wait")
	require.Equal(t, []string{workflows.InteractionWorkflowID(aheadN), workflows.InteractionWorkflowID(n), workflows.InteractionWorkflowID(behindN)},
		[]string{before.Waiting[0].WorkflowID, before.Waiting[1].WorkflowID, before.Waiting[2].WorkflowID}, "calls wait in arrival order")

	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", sys.tokens[auth.RoleIntegration], map[string]any{
		"number": customer, "queue": queue, "replaces_interaction": n,
	}, &cb)
	var q struct{ Waiting []store.WorkItem }
	mustAPI(t, http.StatusOK, "GET", "/v1/queues/"+queue, supervisor(), nil, &q)
	require.Len(t, q.Waiting, 3)
	require.Equal(t, []string{workflows.InteractionWorkflowID(aheadN), cb.WorkflowID, workflows.InteractionWorkflowID(behindN)},
		[]string{q.Waiting[0].WorkflowID, q.Waiting[1].WorkflowID, q.Waiting[2].WorkflowID}, "the callback holds the call's place")

	sim(t, "/sim/calls/"+callID+"/hangup", map[string]any{}, nil) // the IVR drops the caller
	d := waitState(t, n, "closed_complete")
	require.Equal(t, "replaced by callback "+cb.ID, d.History[len(d.History)-1].Reason)

	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/cancel", supervisor(), map[string]any{"reason": "test over"}, nil)
	for _, c := range []string{ahead, behind} {
		sim(t, "/sim/calls/"+c+"/hangup", map[string]any{}, nil)
	}
}

// dyingPlatform is a worker whose process dies in the middle of a dial: the
// platform has placed the call, but the activity never reports it.
type dyingPlatform struct {
	cti.Platform
	placed  chan cti.Call
	release chan struct{}
}

func (p *dyingPlatform) PlaceCall(ctx context.Context, r cti.PlaceCallRequest) (cti.Call, error) {
	call, err := p.Platform.PlaceCall(ctx, r)
	if err != nil {
		return call, err
	}
	p.placed <- call
	<-p.release // dead: no completion, no failure, until the test ends
	return cti.Call{}, fmt.Errorf("the worker died")
}

// countingPlatform counts the dials a worker sends.
type countingPlatform struct {
	cti.Platform
	dials atomic.Int32
}

func (p *countingPlatform) PlaceCall(ctx context.Context, r cti.PlaceCallRequest) (cti.Call, error) {
	p.dials.Add(1)
	return p.Platform.PlaceCall(ctx, r)
}

// A worker killed in the middle of a dial, and a new one that retries it:
// the retry carries the same idempotency key (callback and attempt), so the
// customer's phone rings once. The callback runs on a task queue of its own
// so that only the workers this test controls pick up its tasks.
func TestWorkerKilledDuringADialPlacesOneCall(t *testing.T) {
	queue, tokens := setupQueue(t, callbackQueueSettings(map[string]any{}), "cyd")
	cyd := "cyd-" + queue
	customer := customerNumber()
	script(t, customer, "answer:1s")
	taskQueue := "callback-crash-" + uuid.NewString()[:8]
	options := sdkworker.Options{DeadlockDetectionTimeout: time.Minute, WorkerStopTimeout: time.Second}

	dying := &dyingPlatform{Platform: cti.NewHTTPAdapter(sys.simURL, ""), placed: make(chan cti.Call, 1), release: make(chan struct{})}
	t.Cleanup(func() { close(dying.release) })
	first := sdkworker.New(sys.client, taskQueue, options)
	worker.Register(first, &activities.Activities{Store: sys.store, Temporal: sys.client, CTI: dying})
	require.NoError(t, first.Start())

	// The request as the API records it, started on the test's task queue.
	ctx := t.Context()
	id, err := sys.store.NextCallbackID(ctx)
	require.NoError(t, err)
	cb, created, err := sys.store.CreateCallback(ctx, store.NewCallback{ID: id, WorkflowID: workflows.CallbackWorkflowID(id), Queue: queue,
		Number: customer, Mode: store.CallbackCustomerFirst, TimeZone: "UTC", ExpiresAt: time.Now().Add(time.Hour), MaxAttempts: 3, CreatedBy: "e2e"})
	require.NoError(t, err)
	require.True(t, created)
	_, err = sys.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: cb.WorkflowID, TaskQueue: taskQueue}, workflows.Callback,
		workflows.CallbackInput{ID: cb.ID, Queue: queue, Number: customer, Mode: cb.Mode, TimeZone: "UTC", ExpiresAt: cb.ExpiresAt,
			MaxAttempts: 3, CallerID: "+12025550100", Horizon: workflows.DefaultCallbackHorizon})
	require.NoError(t, err)

	// The platform places the call; the worker dies before it can say so.
	var call cti.Call
	select {
	case call = <-dying.placed:
	case <-time.After(time.Minute):
		t.Fatal("the first worker never dialled")
	}
	first.Stop()

	// A new worker takes over and retries the dial with the same key.
	counting := &countingPlatform{Platform: cti.NewHTTPAdapter(sys.simURL, "")}
	second := sdkworker.New(sys.client, taskQueue, options)
	worker.Register(second, &activities.Activities{Store: sys.store, Temporal: sys.client, CTI: counting})
	require.NoError(t, second.Start())
	t.Cleanup(second.Stop)

	d := waitCallback(t, cb.ID, func(d callbackDetail) bool {
		return len(d.Dials) == 1 && d.Dials[0].CallID != nil && d.Dials[0].Outcome == store.AttemptAnswered
	}, "the retried dial reports the answered call")
	require.Equal(t, call.ID, *d.Dials[0].CallID, "the retry got the call the platform placed before the worker died")
	require.Equal(t, int32(1), counting.dials.Load(), "the new worker retried the dial")

	acceptWhenAnswered(t, cb.ID, cyd, tokens[cyd])
	waitCallback(t, cb.ID, step(workflows.CallbackStepConnected), "connected")
	sim(t, "/sim/calls/"+call.ID+"/hangup", map[string]any{}, nil)
	d = waitCallback(t, cb.ID, closed(store.CallbackCompleted), "completed")
	require.Equal(t, 1, d.Attempts)

	calls := simCalls(t, workflows.CallbackDialKey(cb.ID, 1))
	require.Len(t, calls, 1, "one call placed for the attempt, though it was dialled twice")
	outbound := 0
	resp, err := http.Get(sys.simURL + "/sim/calls")
	require.NoError(t, err)
	var all []ctisim.CallRecord
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&all))
	resp.Body.Close()
	for _, c := range all {
		if c.To == customer {
			outbound++
		}
	}
	require.Equal(t, 1, outbound, "the customer's phone rang once")
}
