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

	// An update accepted after t0 in a task that started before it was
	// sent before t0: the next one is the one timed.
	got, ok = updateTask([]*historypb.HistoryEvent{task(95), accepted(110), task(111), accepted(112)}, t0)
	require.True(t, ok)
	require.Equal(t, base.Add(111*time.Millisecond), got)
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

func TestStagesAreTheSpansBetweenTimesInOrder(t *testing.T) {
	base := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }
	for _, tc := range []struct {
		name  string
		times []time.Time
		ok    bool
		spans []time.Duration
	}{
		{"in order", []time.Time{ms(0), ms(6), ms(21), ms(24), ms(38)}, true,
			[]time.Duration{6 * time.Millisecond, 15 * time.Millisecond, 3 * time.Millisecond, 14 * time.Millisecond}},
		{"two at once", []time.Time{ms(0), ms(6), ms(6), ms(9), ms(30)}, true,
			[]time.Duration{6 * time.Millisecond, 0, 3 * time.Millisecond, 21 * time.Millisecond}},
		// A later sample's update, found in a run continued as new: its
		// task comes after this sample's signal.
		{"out of order", []time.Time{ms(0), ms(900), ms(21), ms(24), ms(38)}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.ok, inOrder(tc.times...))
			if !tc.ok {
				return
			}
			stages := make([][]time.Duration, len(tc.times)-1)
			appendStages(stages, tc.times...)
			var total time.Duration
			for i, s := range stages {
				require.Equal(t, []time.Duration{tc.spans[i]}, s)
				total += s[0]
			}
			require.Equal(t, tc.times[len(tc.times)-1].Sub(tc.times[0]), total, "the stages make the whole")
		})
	}
}
