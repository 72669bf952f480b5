//go:build faults

package faults

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// What the fault tests measure and how they explain it: percentiles of
// request times, how late timer-driven steps were, and the processes'
// histories around a late step.

// late is one timer-driven step: when it was due and when it was done.
type late struct {
	what, workflow string
	due, done      time.Time
}

func (x late) late() time.Duration { return x.done.Sub(x.due) }

// lateness reads timer-driven steps from PostgreSQL: id, due and done.
func (s *system) lateness(query string, args ...any) []late {
	s.t.Helper()
	var rows []struct {
		ID       string     `db:"id"`
		Workflow string     `db:"workflow"`
		Due      time.Time  `db:"due"`
		Done     *time.Time `db:"done"`
	}
	require.NoError(s.t, s.db.Select(&rows, query, args...))
	out := make([]late, 0, len(rows))
	for _, r := range rows {
		require.NotNil(s.t, r.Done, "%s was never done", r.ID)
		out = append(out, late{what: r.ID, workflow: r.Workflow, due: r.Due, done: *r.Done})
	}
	return out
}

func pct(reqs []request, p float64) request {
	if len(reqs) == 0 {
		return request{}
	}
	sorted := append([]request(nil), reqs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].dur < sorted[j].dur })
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func slowest(reqs []request, n int) []request {
	sorted := append([]request(nil), reqs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].dur > sorted[j].dur })
	return sorted[:min(n, len(sorted))]
}

func latePct(xs []late, p float64) string {
	if len(xs) == 0 {
		return "-"
	}
	d := make([]time.Duration, len(xs))
	for i, x := range xs {
		d[i] = x.late()
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[max(int(math.Ceil(p*float64(len(d))))-1, 0)].Round(time.Millisecond).String()
}

func durations(ds []time.Duration) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Round(10*time.Millisecond).String())
	}
	return strings.Join(out, " ")
}

// sinceKill says how long after the last kill before at something happened.
func sinceKill(kills []time.Time, at time.Time) string {
	last := time.Time{}
	for _, k := range kills {
		if !k.After(at) {
			last = k
		}
	}
	if last.IsZero() {
		return "before the first kill"
	}
	return fmt.Sprintf("%.1fs after kill %s", at.Sub(last).Seconds(), last.Format("15:04:05.0"))
}

// aroundLastTimeOut lists an agent process's history from 3 s before to
// 3 s after the last offer-timed-out signal it received.
func (s *system) aroundLastTimeOut(workflowID string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := s.client.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	var last time.Time
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return err.Error()
		}
		events = append(events, e)
		if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalOfferTimedOut {
			last = e.GetEventTime().AsTime()
		}
	}
	var out []string
	for _, e := range events {
		at := e.GetEventTime().AsTime()
		if last.IsZero() || at.Before(last.Add(-3*time.Second)) || at.After(last.Add(3*time.Second)) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s", at.Format("15:04:05.000"), describe(e)))
	}
	return strings.Join(out, ", ")
}

func describe(e *historypb.HistoryEvent) string {
	what := strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_")
	switch {
	case e.GetWorkflowTaskScheduledEventAttributes() != nil:
		what += "(" + strings.ToLower(e.GetWorkflowTaskScheduledEventAttributes().GetTaskQueue().GetKind().String()) + ")"
	case e.GetWorkflowTaskTimedOutEventAttributes() != nil:
		what += "(" + e.GetWorkflowTaskTimedOutEventAttributes().GetTimeoutType().String() + ")"
	case e.GetActivityTaskScheduledEventAttributes() != nil:
		what += "(" + e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() + ")"
	case e.GetActivityTaskTimedOutEventAttributes() != nil:
		what += "(" + e.GetActivityTaskTimedOutEventAttributes().GetFailure().GetTimeoutFailureInfo().GetTimeoutType().String() + ")"
	case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
		what += "(" + e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() + ")"
	case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
		what += "(" + e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName() + ")"
	}
	return what
}

// explain lists what a process's history shows between a step's due time
// and when it was done (offsets from due): where a late step waited.
func (s *system) explain(workflowID string, due, done time.Time) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := s.client.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []string
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return err.Error()
		}
		at := e.GetEventTime().AsTime()
		if at.Before(due.Add(-time.Second)) || at.After(done.Add(500*time.Millisecond)) {
			continue
		}
		what := describe(e)
		out = append(out, fmt.Sprintf("%+.2f %s", at.Sub(due).Seconds(), what))
	}
	return strings.Join(out, ", ")
}

// agentProcess is the agent process's own state (its state query).
func (s *system) agentProcess(id string) workflows.AgentState {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var st workflows.AgentState
	v, err := s.client.QueryWorkflow(ctx, workflows.AgentWorkflowID(id), "", workflows.QueryState)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		s.t.Logf("query %s: %v", workflows.AgentWorkflowID(id), err)
	}
	return st
}

// logRouting prints what routing and the agents' processes hold, for a run
// that did not drain.
func (s *system) logRouting(queue string, agents map[string]string) {
	for id := range agents {
		var a store.Agent
		require.NoError(s.t, s.db.Get(&a, `SELECT id, name, presence, max_chats, voice_load, chat_load, idle_since, presence_at,
       wrapup_item, wrapup_until, created_at, updated_at FROM agents WHERE id = $1`, id))
		st := s.agentProcess(id)
		s.t.Logf("agent %s: PostgreSQL %s load %d wrap-up until %v since %s; process %s (%s) wrap-up until %v items %v\n  its history around its last offer-timed-out signal: %s",
			id, a.Presence, a.VoiceLoad, a.WrapUpUntil, a.PresenceAt.Format(time.RFC3339Nano), st.Presence, st.Reason, st.WrapUpUntil, st.Items,
			s.aroundLastTimeOut(workflows.AgentWorkflowID(id)))
	}
	var items []struct {
		ID    string  `db:"id"`
		State string  `db:"state"`
		Agent *string `db:"agent_id"`
	}
	require.NoError(s.t, s.db.Select(&items, `SELECT id, state, agent_id FROM work_items WHERE queue = $1 AND state <> 'done' ORDER BY position`, queue))
	s.t.Logf("work items not done: %+v", items)
}

// logOpenInteractions prints the queue's interactions that are not closed,
// with what their processes wait for, for a run that did not drain.
func (s *system) logOpenInteractions(queue string) {
	var open []struct {
		Number   string    `db:"number"`
		State    string    `db:"state"`
		Workflow string    `db:"workflow_id"`
		Updated  time.Time `db:"updated_at"`
	}
	if err := s.db.Select(&open, `SELECT number, state, workflow_id, updated_at FROM interactions WHERE queue = $1 AND state <> 'closed_complete' ORDER BY number`, queue); err != nil {
		s.t.Logf("open interactions: %v", err)
		return
	}
	for _, it := range open {
		pending := ""
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if d, err := s.client.DescribeWorkflowExecution(ctx, it.Workflow, ""); err == nil {
			pending = d.GetWorkflowExecutionInfo().GetStatus().String()
			for _, a := range d.GetPendingActivities() {
				pending += fmt.Sprintf(" %s(attempt %d, %s)", a.GetActivityType().GetName(), a.GetAttempt(), a.GetLastFailure().GetMessage())
			}
		}
		cancel()
		s.t.Logf("open interaction %s: %s since %s; process %s; history: %s", it.Number, it.State, it.Updated.Format(time.RFC3339Nano), pending,
			s.explain(it.Workflow, it.Updated.Add(-2*time.Second), time.Now()))
	}
}
