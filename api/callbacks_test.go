package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// fakeTemporal records the callback processes the API starts and the
// updates it sends, answering each update with a state.
type fakeTemporal struct {
	*mocks.Client
	mu         sync.Mutex
	started    map[string]workflows.CallbackInput
	priorities map[string]int // each started process's PriorityKey
	updates    []sdkclient.UpdateWorkflowOptions
}

func newFakeTemporal() *fakeTemporal {
	f := &fakeTemporal{Client: &mocks.Client{}, started: map[string]workflows.CallbackInput{}, priorities: map[string]int{}}
	f.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, o sdkclient.StartWorkflowOptions, _ any, args ...any) (sdkclient.WorkflowRun, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.started[o.ID] = args[0].(workflows.CallbackInput)
			f.priorities[o.ID] = o.Priority.PriorityKey
			return &mocks.WorkflowRun{}, nil
		})
	f.On("UpdateWorkflow", mock.Anything, mock.Anything).Return(
		func(_ context.Context, o sdkclient.UpdateWorkflowOptions) (sdkclient.WorkflowUpdateHandle, error) {
			f.mu.Lock()
			f.updates = append(f.updates, o)
			f.mu.Unlock()
			h := &mocks.WorkflowUpdateHandle{}
			h.On("Get", mock.Anything, mock.Anything).Return(func(_ context.Context, v any) error {
				*(v.(*workflows.CallbackState)) = workflows.CallbackState{ID: "x", Queue: "q", Mode: "customer_first",
					State: store.CallbackScheduled, Step: workflows.CallbackStepScheduled, MaxAttempts: 3}
				return nil
			})
			return h, nil
		})
	return f
}

func callbackQueue(t *testing.T, settings string) string {
	t.Helper()
	name := "cbq-" + uuid.NewString()[:8]
	_, err := st.UpsertQueue(context.Background(), store.Queue{Name: name, AcceptanceTimeoutS: 30, OnReject: store.OnRejectReoffer,
		Settings: json.RawMessage(settings)})
	require.NoError(t, err)
	return name
}

func TestCallbackRequestsAreValidated(t *testing.T) {
	queue := callbackQueue(t, `{}`)
	c := newClient(t, api.Deps{Temporal: newFakeTemporal(), CallbackHorizon: 7 * 24 * time.Hour}).as(issue(t, auth.RoleIntegration, ""))
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"number": "12", "queue": queue}, "number"},
		{map[string]any{"number": "+1 202-555-0143 ext", "queue": queue}, "number"},
		{map[string]any{"number": "+12025550143", "queue": "no-such-queue"}, "queue"},
		{map[string]any{"number": "+12025550143", "queue": queue, "mode": "whenever"}, "mode"},
		{map[string]any{"number": "+12025550143", "queue": queue, "scheduled_at": "2020-01-01T10:00:00Z"}, "scheduled_at"},
		{map[string]any{"number": "+12025550143", "queue": queue, "scheduled_at": "tomorrow"}, "scheduled_at"},
		{map[string]any{"number": "+12025550143", "queue": queue, "scheduled_at": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)}, "scheduled_at"},
		{map[string]any{"number": "+12025550143", "queue": queue, "scheduled_at": future, "time_zone": "Europe/Atlantis"}, "time_zone"},
		{map[string]any{"number": "+12025550143", "queue": queue, "scheduled_at": future, "expires_at": time.Now().Format(time.RFC3339)}, "expires_at"},
		{map[string]any{"number": "+12025550143", "queue": queue, "scheduled_at": future, "replaces_interaction": "IMS0000001"}, "replaces_interaction"},
		{map[string]any{"number": "+12025550143", "queue": queue, "replaces_interaction": "IMS9999999"}, "replaces_interaction"},
		{map[string]any{"number": "+12025550143", "queue": queue, "context": map[string]any{"interaction": "IMS9999999"}}, "context.interaction"},
		{map[string]any{"number": "+12025550143", "queue": queue, "context": map[string]any{"reason": string(make([]byte, 501))}}, "context.reason"},
	} {
		r := c.do(http.MethodPost, "/v1/callbacks", tc.body)
		require.Equal(t, http.StatusUnprocessableEntity, r.Code, "%v: %s", tc.body, r.Body.String())
		p := r.problem(t)
		require.Equal(t, tc.field, p.Errors[0].Field, r.Body.String())
	}
}

// Outside business hours a callback's first attempt waits for the opening:
// an expiry before it is refused, one after it is taken.
func TestCallbackExpiryAfterTheFirstOpening(t *testing.T) {
	queue := callbackQueue(t, `{"callbacks": {"business_hours": {"time_zone": "America/New_York",
		"windows": [{"days": ["mon","tue","wed","thu","fri"], "open": "08:00", "close": "20:00"}]}}}`)
	c := newClient(t, api.Deps{Temporal: newFakeTemporal(), CallbackHorizon: 14 * 24 * time.Hour}).as(issue(t, auth.RoleIntegration, ""))
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	saturday := time.Now().In(ny).AddDate(0, 0, 2)
	for saturday.Weekday() != time.Saturday {
		saturday = saturday.AddDate(0, 0, 1)
	}
	at := time.Date(saturday.Year(), saturday.Month(), saturday.Day(), 10, 0, 0, 0, ny)
	monday := time.Date(saturday.Year(), saturday.Month(), saturday.Day()+2, 8, 0, 0, 0, ny)
	body := func(expires time.Time) map[string]any {
		return map[string]any{"number": "+12025550173", "queue": queue, "scheduled_at": at.Format(time.RFC3339),
			"expires_at": expires.Format(time.RFC3339)}
	}

	r := c.do(http.MethodPost, "/v1/callbacks", body(at.Add(2*time.Hour)))
	require.Equal(t, http.StatusUnprocessableEntity, r.Code, r.Body.String())
	p := r.problem(t)
	require.Equal(t, "expires_at", p.Errors[0].Field)
	require.Contains(t, p.Errors[0].Detail, monday.UTC().Format(time.RFC3339), "it names the opening")

	r = c.do(http.MethodPost, "/v1/callbacks", body(monday.Add(time.Hour)))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
}

func TestCallbackDedupeAndReschedule(t *testing.T) {
	queue := callbackQueue(t, `{"callbacks": {"default_mode": "agent_first", "max_attempts": 5, "expiry_hours": 48}}`)
	fake := newFakeTemporal()
	c := newClient(t, api.Deps{Temporal: fake}).as(issue(t, auth.RoleIntegration, ""))

	// 09:30 on a day two days ahead, in New York: the instant and the zone are kept.
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	day := time.Now().In(ny).AddDate(0, 0, 2)
	local := time.Date(day.Year(), day.Month(), day.Day(), 9, 30, 0, 0, ny)
	r := c.do(http.MethodPost, "/v1/callbacks", map[string]any{
		"number": "+1 (202) 555-0177", "queue": queue, "scheduled_at": local.Format("2006-01-02T15:04"), "time_zone": "America/New_York",
		"context": map[string]any{"reason": "invoice", "ivr": map[string]string{"lang": "en"}, "case_number": "CS-000123"},
	})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	var cb store.Callback
	r.decode(t, &cb)
	require.Equal(t, "+12025550177", cb.Number, "stored in E.164")
	require.Equal(t, store.CallbackAgentFirst, cb.Mode, "the queue's default mode")
	require.Equal(t, 5, cb.MaxAttempts)
	require.True(t, local.Equal(*cb.ScheduledAt), "%s is %s", cb.ScheduledAt, local)
	require.Equal(t, "America/New_York", cb.TimeZone)
	require.True(t, local.Add(48*time.Hour).Equal(cb.ExpiresAt))
	in := fake.started[workflows.CallbackWorkflowID(cb.ID)]
	require.Equal(t, cb.ID, in.ID)
	require.Equal(t, "invoice", in.Reason)
	require.Equal(t, 30*24*time.Hour, in.Horizon)

	// The same number in another notation: the pending callback, not a second one.
	r = c.do(http.MethodPost, "/v1/callbacks", map[string]any{"number": "202-555-0177", "queue": queue})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var again store.Callback
	r.decode(t, &again)
	require.Equal(t, cb.ID, again.ID)
	require.Empty(t, fake.updates)

	// With reschedule: the pending one is moved by an Update its process validates.
	r = c.do(http.MethodPost, "/v1/callbacks", map[string]any{"number": "+12025550177", "queue": queue, "reschedule": true})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Len(t, fake.updates, 1)
	require.Equal(t, workflows.UpdateRescheduleCallback, fake.updates[0].UpdateName)
	require.Equal(t, workflows.CallbackWorkflowID(cb.ID), fake.updates[0].WorkflowID)

	// Another queue is another callback.
	other := callbackQueue(t, `{}`)
	r = c.do(http.MethodPost, "/v1/callbacks", map[string]any{"number": "+12025550177", "queue": other})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())

	// Read it back: the supervisor's list of who is waiting, and the detail.
	sup := c.as(issue(t, auth.RoleSupervisor, ""))
	r = sup.do(http.MethodGet, "/v1/callbacks?state=pending&queue="+queue, nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var list struct{ Items []store.Callback }
	r.decode(t, &list)
	require.Len(t, list.Items, 1)
	require.Equal(t, cb.ID, list.Items[0].ID)
	r = sup.do(http.MethodGet, "/v1/callbacks?state=nonsense", nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)

	require.NoError(t, st.RecordCallbackAttempt(context.Background(), store.CallbackAttempt{Callback: cb.ID, Attempt: 1,
		Number: cb.Number, Outcome: store.AttemptNoAnswer, StartedAt: time.Now()}))
	fake.On("QueryWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, context.DeadlineExceeded)
	r = sup.do(http.MethodGet, "/v1/callbacks/"+cb.ID, nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var d struct {
		store.Callback
		Dials []store.CallbackAttempt `json:"dials"`
	}
	r.decode(t, &d)
	require.Equal(t, "invoice", d.Reason)
	require.Equal(t, map[string]string{"lang": "en"}, d.IVR)
	require.Len(t, d.Dials, 1)
	require.Equal(t, store.AttemptNoAnswer, d.Dials[0].Outcome)

	// An agent reads only the callbacks offered to it or that it holds.
	r = c.as(agentToken(t)).do(http.MethodGet, "/v1/callbacks/"+cb.ID, nil)
	require.Equal(t, http.StatusForbidden, r.Code)
	r = sup.do(http.MethodGet, "/v1/callbacks/CB9999999", nil)
	require.Equal(t, http.StatusNotFound, r.Code)
}

// batchAnswer is the body of a batch's answer.
type batchAnswer struct {
	Items []struct {
		Index    int
		Status   int
		Callback *store.Callback
		Problem  *api.Problem
	}
}

func TestCallbackBatch(t *testing.T) {
	queue := callbackQueue(t, `{}`)
	temporal := newFakeTemporal()
	c := newClient(t, api.Deps{Temporal: temporal}).as(issue(t, auth.RoleIntegration, ""))
	ahead := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	items := []map[string]any{
		{"number": "+12025550181", "queue": queue},
		{"number": "+12025550181", "queue": queue}, // the same customer twice
		{"number": "not a number", "queue": queue},
		{"number": "+12025550182", "queue": queue, "mode": "agent_first"},
		{"number": "+12025550183", "queue": queue, "scheduled_at": ahead},
	}
	r := c.do(http.MethodPost, "/v1/callbacks:batch", map[string]any{"items": items})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var out batchAnswer
	r.decode(t, &out)
	require.Len(t, out.Items, 5)
	for i, it := range out.Items {
		require.Equal(t, i, it.Index, "answers in request order")
	}
	// The two requests for one customer run at once: either may be first.
	require.ElementsMatch(t, []int{201, 200}, []int{out.Items[0].Status, out.Items[1].Status})
	require.Equal(t, []int{422, 201, 201}, []int{out.Items[2].Status, out.Items[3].Status, out.Items[4].Status})
	temporal.mu.Lock()
	require.Equal(t, 0, temporal.priorities[workflows.CallbackWorkflowID(out.Items[3].Callback.ID)], "due now: live work's priority")
	require.Equal(t, workflows.PriorityLater, temporal.priorities[workflows.CallbackWorkflowID(out.Items[4].Callback.ID)], "scheduled ahead: below live work")
	temporal.mu.Unlock()
	require.Equal(t, out.Items[0].Callback.ID, out.Items[1].Callback.ID)
	require.Equal(t, "number", out.Items[2].Problem.Errors[0].Field)

	tooMany := make([]map[string]any, 1001)
	for i := range tooMany {
		tooMany[i] = map[string]any{"number": "+12025550181", "queue": queue}
	}
	r = c.do(http.MethodPost, "/v1/callbacks/batch", map[string]any{"items": tooMany})
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)
	require.Equal(t, "items", r.problem(t).Errors[0].Field)

	r = c.as(agentToken(t)).do(http.MethodPost, "/v1/callbacks/batch", map[string]any{"items": items[:1]})
	require.Equal(t, http.StatusForbidden, r.Code, "schedulers and supervisors only")
}

// A batch's items run several at a time; each number still gets one
// callback however many of its requests race.
func TestCallbackBatchInParallelMakesOnePerNumber(t *testing.T) {
	queue := callbackQueue(t, `{}`)
	fake := newFakeTemporal()
	c := newClient(t, api.Deps{Temporal: fake}).as(issue(t, auth.RoleIntegration, ""))
	const numbers, each = 25, 8
	items := make([]map[string]any, 0, numbers*each)
	for i := range numbers * each {
		items = append(items, map[string]any{"number": fmt.Sprintf("+1202555%04d", 300+i%numbers), "queue": queue})
	}
	r := c.do(http.MethodPost, "/v1/callbacks/batch", map[string]any{"items": items})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var out batchAnswer
	r.decode(t, &out)
	require.Len(t, out.Items, numbers*each)
	created, idOf := 0, map[string]string{}
	for i, it := range out.Items {
		require.Equal(t, i, it.Index)
		require.Contains(t, []int{http.StatusCreated, http.StatusOK}, it.Status)
		if it.Status == http.StatusCreated {
			created++
		}
		number := items[i]["number"].(string)
		require.Equal(t, number, it.Callback.Number)
		if id, ok := idOf[number]; ok {
			require.Equal(t, id, it.Callback.ID, "one callback per number")
		}
		idOf[number] = it.Callback.ID
	}
	require.Equal(t, numbers, created)
	pending, err := st.ListCallbacks(context.Background(), store.CallbackQuery{Queue: queue, Limit: 1000})
	require.NoError(t, err)
	require.Len(t, pending, numbers)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	require.Len(t, fake.started, numbers)
}

func TestClosedCallbacksRefuseSteps(t *testing.T) {
	queue := callbackQueue(t, `{}`)
	fake := newFakeTemporal()
	c := newClient(t, api.Deps{Temporal: fake}).as(issue(t, auth.RoleSupervisor, ""))
	r := c.do(http.MethodPost, "/v1/callbacks", map[string]any{"number": "+12025550191", "queue": queue})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	var cb store.Callback
	r.decode(t, &cb)
	_, err := st.ChangeCallback(context.Background(), store.CallbackChange{ID: cb.ID, Version: 2, State: store.CallbackCancelled,
		MaxAttempts: 3, ExpiresAt: cb.ExpiresAt})
	require.NoError(t, err)
	for _, step := range []string{"cancel", "reschedule", "dial", "accept"} {
		r = c.do(http.MethodPost, "/v1/callbacks/"+cb.ID+"/"+step, map[string]any{})
		require.Equal(t, http.StatusConflict, r.Code, "%s: %s", step, r.Body.String())
	}
	r = c.do(http.MethodPost, "/v1/callbacks/"+cb.ID+"/close", map[string]any{"outcome": "done"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)
	require.Empty(t, fake.updates, "nothing reached the process")

	// A closed callback frees the number for a new one.
	r = c.do(http.MethodPost, "/v1/callbacks", map[string]any{"number": "+12025550191", "queue": queue})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
}

func agentToken(t *testing.T) string {
	t.Helper()
	id := "cb-agent-" + uuid.NewString()[:8]
	_, err := st.UpsertAgent(context.Background(), id, id, 3)
	require.NoError(t, err)
	return issue(t, auth.RoleAgent, id)
}
