package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/workflows"
)

// eventCollector stands in for a casehub process that owns a call: it keeps
// every CTI event signalled to it, so the test can count them.
func eventCollector(ctx workflow.Context) error {
	var got []cti.Event
	if err := workflow.SetQueryHandler(ctx, "events", func() ([]cti.Event, error) { return got, nil }); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, workflows.SignalCTIEvent)
	for {
		var ev cti.Event
		ch.Receive(ctx, &ev)
		got = append(got, ev)
	}
}

// postEvent posts a signed event as the platform does.
func postEvent(t *testing.T, ev cti.Event) *http.Response {
	t.Helper()
	body, err := json.Marshal(ev)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, sys.apiURL+"/v1/cti/events", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+sys.tokens[auth.RoleIntegration])
	req.Header.Set(cti.SignatureHeader, cti.Sign([]byte(ctiSecret), body, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestRepeatedCTIEventReachesItsProcessOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	queue := "e2e-collector-" + uuid.NewString()
	w := sdkworker.New(sys.client, queue, sdkworker.Options{})
	w.RegisterWorkflow(eventCollector)
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := sys.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "collector-" + uuid.NewString(), TaskQueue: queue}, eventCollector)
	require.NoError(t, err)
	defer func() { _ = sys.client.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") }()

	callID := "call-" + uuid.NewString()
	require.NoError(t, sys.store.RegisterLeg(ctx, callID, run.GetID()))
	ev := cti.Event{ID: "ev-" + uuid.NewString(), Type: cti.EventCallerHungUp, OccurredAt: time.Now().UTC(), CallID: callID}

	require.Equal(t, http.StatusAccepted, postEvent(t, ev).StatusCode)
	require.Equal(t, http.StatusOK, postEvent(t, ev).StatusCode, "a repeated event is acknowledged")

	// A second, different event shows the collector is listening; the
	// repeated one must not have arrived twice.
	second := ev
	second.ID = "ev-" + uuid.NewString()
	require.Equal(t, http.StatusAccepted, postEvent(t, second).StatusCode)
	var got []cti.Event
	require.Eventually(t, func() bool {
		v, err := sys.client.QueryWorkflow(ctx, run.GetID(), "", "events")
		return err == nil && v.Get(&got) == nil && len(got) >= 2
	}, 30*time.Second, 50*time.Millisecond)
	require.Len(t, got, 2)
	require.Equal(t, []string{ev.ID, second.ID}, []string{got[0].ID, got[1].ID})

	// An event naming the process in its context needs no leg lookup.
	third := cti.Event{ID: "ev-" + uuid.NewString(), Type: cti.EventCallNoAnswer, OccurredAt: time.Now().UTC(),
		CallID: "call-unregistered", Context: map[string]string{workflows.ContextWorkflowID: run.GetID()}}
	require.Equal(t, http.StatusAccepted, postEvent(t, third).StatusCode)
	require.Eventually(t, func() bool {
		v, err := sys.client.QueryWorkflow(ctx, run.GetID(), "", "events")
		return err == nil && v.Get(&got) == nil && len(got) == 3
	}, 30*time.Second, 50*time.Millisecond)

	// An event for a process that has ended is acknowledged and recorded.
	require.NoError(t, sys.client.TerminateWorkflow(ctx, run.GetID(), "", "call over"))
	fourth := cti.Event{ID: "ev-" + uuid.NewString(), Type: cti.EventCallEnded, OccurredAt: time.Now().UTC(), CallID: callID,
		StartedAt: ptr(time.Now().UTC().Add(-time.Minute)), EndedAt: ptr(time.Now().UTC()), DurationSeconds: ptr(60)}
	require.Equal(t, http.StatusAccepted, postEvent(t, fourth).StatusCode)
	rec, err := sys.store.GetCTIEvent(ctx, fourth.ID)
	require.NoError(t, err)
	require.Equal(t, "process_closed", rec.Outcome)
}

func ptr[T any](v T) *T { return &v }
