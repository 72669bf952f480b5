package bench

import (
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/workflows"
)

func at(base time.Time, ms int) *timestamppb.Timestamp {
	return timestamppb.New(base.Add(time.Duration(ms) * time.Millisecond))
}

func TestStagesFindTheirEvents(t *testing.T) {
	base := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	task := func(ms int) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventTime: at(base, ms), Attributes: &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{
			WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{}}}
	}
	accepted := func(ms int) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventTime: at(base, ms), Attributes: &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{
			WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{}}}
	}
	signal := func(ms int, name string) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventTime: at(base, ms), Attributes: &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{
			WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{SignalName: name}}}
	}
	t0 := base.Add(100 * time.Millisecond)

	// The agent's history: an earlier update, then the one timed.
	agent := []*historypb.HistoryEvent{task(10), accepted(12), task(105), accepted(120), task(130)}
	got, ok := updateTask(agent, t0)
	require.True(t, ok)
	require.Equal(t, base.Add(105*time.Millisecond), got)

	// An update accepted after t0 in a task that started before it is not
	// the one timed.
	_, ok = updateTask([]*historypb.HistoryEvent{task(95), accepted(110)}, t0)
	require.False(t, ok)
	_, ok = updateTask([]*historypb.HistoryEvent{task(10), accepted(12)}, t0)
	require.False(t, ok)

	// The item's history: another signal, then the offer, then its task.
	item := []*historypb.HistoryEvent{signal(50, workflows.SignalOffer), task(60), signal(110, "other"), signal(125, workflows.SignalOffer), task(129)}
	sig, ok := firstAfter(item, t0, isOfferSignal)
	require.True(t, ok)
	require.Equal(t, base.Add(125*time.Millisecond), sig)
	tk, ok := firstAfter(item, sig, isTaskStarted)
	require.True(t, ok)
	require.Equal(t, base.Add(129*time.Millisecond), tk)
	_, ok = firstAfter(item, base.Add(200*time.Millisecond), isTaskStarted)
	require.False(t, ok)
}

func TestStageMetricsNameEachStage(t *testing.T) {
	stages := [][]time.Duration{{5 * time.Millisecond, 7 * time.Millisecond, 9 * time.Millisecond}, nil}
	ms := stageMetrics("available", "agent available", []string{"a", "b"}, stages)
	require.Len(t, ms, 2)
	require.Equal(t, "dispatch_available_stage1_p50", ms[0].Key)
	require.True(t, ms[0].Available)
	require.InDelta(t, 7, *ms[0].Casehub, 0.001)
	require.Equal(t, "p99 9.00 ms, 3 samples", ms[0].Note)
	require.False(t, ms[1].Available)
	require.Contains(t, ms[1].Note, "not split")
}

func TestOnThisMachine(t *testing.T) {
	for _, tc := range []struct {
		address string
		want    bool
	}{
		{"", true},
		{"127.0.0.1:7233", true},
		{"localhost:7233", true},
		{"[::1]:7233", true},
		{"temporal.prod.internal:7233", false},
		{"10.0.0.5:7233", false},
		{"no-port", false},
	} {
		require.Equal(t, tc.want, onThisMachine(tc.address), tc.address)
	}
}
