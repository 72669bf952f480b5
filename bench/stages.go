package bench

import (
	"context"
	"fmt"
	"net"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/workflows"
)

// A timed offer splits into stages at the events Temporal wrote for it.
// Their times are the server's clock, so a server on another machine
// (--temporal-address) leaves the stages out.
//
// Agent available:
//
//	request → agent's task   the PUT, its token and agent read, the Update-with-Start, matching
//	→ offer signalled        the agent's task: its local activity books in one transaction and signals the item's process
//	→ item's task            the signal's workflow task reaches the worker
//	→ offer at CTI           the item's task: present (one transaction) and ring
//
// Call arrives:
//
//	event → process started  the simulator's event, the API, the start
//	→ first task             the first workflow task reaches the worker
//	→ offer at CTI           open, book, present (three transactions in two local activities) and ring, in that task
var (
	availableStages = []string{"request → agent's workflow task", "→ offer signalled to the item's process", "→ item's workflow task", "→ offer at CTI"}
	arrivalStages   = []string{"call event → process started", "→ first workflow task", "→ offer at CTI"}
)

// dispatchSample is one timed offer: when the bench acted and the offer it
// saw at the platform.
type dispatchSample struct {
	onAvailable bool
	t0          time.Time
	offer       offerSeen
}

// dispatchStages splits each sample's time into its stages. A sample whose
// events are not all found, or not in the order of its stages, is left out:
// its agent's process has continued as new since, and the latest run holds
// only later samples' events. It returns the stages of each kind, stage by
// stage.
func dispatchStages(ctx context.Context, c client.Client, samples []dispatchSample) (available, arrival [][]time.Duration, err error) {
	available, arrival = make([][]time.Duration, len(availableStages)), make([][]time.Duration, len(arrivalStages))
	histories := map[string][]*historypb.HistoryEvent{}
	history := func(workflowID string) ([]*historypb.HistoryEvent, error) {
		if h, ok := histories[workflowID]; ok {
			return h, nil
		}
		h, err := historyOf(ctx, c, workflowID)
		histories[workflowID] = h
		return h, err
	}
	for _, smp := range samples {
		item, err := history(smp.offer.WorkflowID)
		if err != nil {
			return nil, nil, err
		}
		if !smp.onAvailable {
			started, ok1 := firstAfter(item, smp.t0, isStarted)
			task, ok2 := firstAfter(item, started, isTaskStarted)
			if ok1 && ok2 && inOrder(smp.t0, started, task, smp.offer.At) {
				appendStages(arrival, smp.t0, started, task, smp.offer.At)
			}
			continue
		}
		agent, err := history(workflows.AgentWorkflowID(smp.offer.AgentID))
		if err != nil {
			return nil, nil, err
		}
		agentTask, ok1 := updateTask(agent, smp.t0)
		signalled, ok2 := firstAfter(item, smp.t0, isOfferSignal)
		itemTask, ok3 := firstAfter(item, signalled, isTaskStarted)
		if ok1 && ok2 && ok3 && inOrder(smp.t0, agentTask, signalled, itemTask, smp.offer.At) {
			appendStages(available, smp.t0, agentTask, signalled, itemTask, smp.offer.At)
		}
	}
	return available, arrival, nil
}

// inOrder says whether times never go back.
func inOrder(times ...time.Time) bool {
	for i := 1; i < len(times); i++ {
		if times[i].Before(times[i-1]) {
			return false
		}
	}
	return true
}

// appendStages adds one sample's stages, the spans between its times.
func appendStages(stages [][]time.Duration, times ...time.Time) {
	for i := range stages {
		stages[i] = append(stages[i], times[i+1].Sub(times[i]))
	}
}

func historyOf(ctx context.Context, c client.Client, workflowID string) ([]*historypb.HistoryEvent, error) {
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, 0)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

func isStarted(ev *historypb.HistoryEvent) bool {
	return ev.GetWorkflowExecutionStartedEventAttributes() != nil
}

func isTaskStarted(ev *historypb.HistoryEvent) bool {
	return ev.GetWorkflowTaskStartedEventAttributes() != nil
}

func isOfferSignal(ev *historypb.HistoryEvent) bool {
	return ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == workflows.SignalOffer
}

// firstAfter is the time of the first event from t on that is what match
// looks for.
func firstAfter(events []*historypb.HistoryEvent, t time.Time, match func(*historypb.HistoryEvent) bool) (time.Time, bool) {
	for _, ev := range events {
		if at := ev.GetEventTime().AsTime(); !at.Before(t) && match(ev) {
			return at, true
		}
	}
	return time.Time{}, false
}

// updateTask is when the workflow task started that took in the first
// update sent from t on: the first update accepted in a task that started
// from t on.
func updateTask(events []*historypb.HistoryEvent, t time.Time) (time.Time, bool) {
	var task time.Time
	for _, ev := range events {
		if isTaskStarted(ev) {
			task = ev.GetEventTime().AsTime()
		}
		if ev.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil && !task.IsZero() && !task.Before(t) {
			return task, true
		}
	}
	return time.Time{}, false
}

// stageMetrics are a kind's stages as rows: each its p50, and its p99 beside
// the name.
func stageMetrics(kind, what string, names []string, stages [][]time.Duration) []Metric {
	var out []Metric
	for i, name := range names {
		l := summarize(stages[i])
		out = append(out, Metric{Key: fmt.Sprintf("dispatch_%s_stage%d_p50", kind, i+1),
			Name: fmt.Sprintf("%s, stage %d p50: %s", what, i+1, name), Unit: "ms", Casehub: f(l.P50ms),
			Available: l.N > 0, Note: stageNote(l)})
	}
	return out
}

func stageNote(l Latency) string {
	if l.N == 0 {
		return "not split: no sample had all its events, or the server is on another machine (its clock is not the bench's)"
	}
	return fmt.Sprintf("p99 %s ms, %d samples", trim(l.P99ms), l.N)
}

// onThisMachine says whether a server at address (empty: the bench's own)
// runs on this machine, with its clock.
func onThisMachine(address string) bool {
	if address == "" {
		return true
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
