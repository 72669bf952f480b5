package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
)

// What the Temporal UI shows of a process, besides its search attributes
// (README, "Finding things in the Temporal UI"):
//
//   - static details, set when the process starts: what it is, its record
//     number, its queue (the *StaticDetails functions, used by every caller
//     that starts one);
//   - current details: its state and what it waits for, until when
//     (workflow.SetCurrentDetails);
//   - a summary on every timer: what it waits for and until when;
//   - a description on every query, signal and update handler.
//
// None of them holds personal data: ids, record numbers, queue names,
// states and times only, never a number, an email address, a name or text
// a customer or an agent wrote (e2e/personaldata_test.go checks). Times
// come from workflow.Now and are written in UTC, or in the callback's time
// zone for its due time, so replay produces the same text.

// uiClock is an instant as the Temporal UI's details show it: 10:41:07 UTC.
func uiClock(t time.Time) string { return t.UTC().Format("15:04:05") + " UTC" }

// after is uiClock of now + d.
func after(ctx workflow.Context, d time.Duration) string { return uiClock(workflow.Now(ctx).Add(d)) }

// clockIn is t in zone (an IANA name; UTC when empty or unknown), with the
// date when it is not on today's date there: "14:00 America/New_York",
// "2026-03-05 14:00 America/New_York".
func clockIn(now, t time.Time, zone string) string {
	loc := time.UTC
	if zone != "" && !strings.EqualFold(zone, "local") {
		if l, err := time.LoadLocation(zone); err == nil {
			loc = l
		}
	}
	name := loc.String()
	lt, ln := t.In(loc), now.In(loc)
	layout := "15:04"
	if lt.Second() != 0 {
		layout = "15:04:05"
	}
	if lt.Year() != ln.Year() || lt.YearDay() != ln.YearDay() {
		layout = "2006-01-02 " + layout
	}
	return lt.Format(layout) + " " + name
}

// awaitUntil is workflow.AwaitWithTimeout with a summary on its timer. It
// makes the same commands as AwaitWithTimeout (which only names its timer
// "AwaitWithTimeout"), so recorded histories replay.
func awaitUntil(ctx workflow.Context, d time.Duration, summary string, cond func() bool) (bool, error) {
	return workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: d, TimerOptions: workflow.TimerOptions{Summary: summary}}, cond)
}

// sleepUntil is workflow.Sleep with a summary on its timer.
func sleepUntil(ctx workflow.Context, d time.Duration, summary string) error {
	return workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: summary}).Get(ctx, nil)
}

// withDetails joins a process's heading and what it waits for.
func withDetails(head, waits string) string {
	if waits == "" {
		return head
	}
	return head + "\n\nWaits for " + waits
}

// queryState registers the state query with its description.
func queryState[T any](ctx workflow.Context, what string, state func() (T, error)) error {
	return workflow.SetQueryHandlerWithOptions(ctx, QueryState, state, workflow.QueryHandlerOptions{
		Description: "The " + what + ", as the API shows it",
	})
}

// signal is a signal channel with its description.
func signal(ctx workflow.Context, name, description string) workflow.ReceiveChannel {
	return workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: description})
}

// update is one update handler a process registers, with its description.
type update struct {
	name        string
	handler     any
	validator   any
	description string
}

func registerUpdates(ctx workflow.Context, updates []update) error {
	for _, u := range updates {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{
			Validator: u.validator, Description: u.description,
		}); err != nil {
			return fmt.Errorf("register %s: %w", u.name, err)
		}
	}
	return nil
}

// ---- static details, for the callers that start processes ----

// AgentStaticDetails are the static details of agent agentID's process.
func AgentStaticDetails(agentID string) string {
	return "**Agent " + agentID + "**: the agent's presence (available, on break, offline, wrap-up) and the " +
		"wrap-up countdown after each item, in step with PostgreSQL.\n\n" +
		"Record: `GET /v1/agents/" + agentID + "`. Search: `AgentId = \"" + agentID + "\"`; " +
		"`ProcessState` is its presence (or busy)."
}

// InteractionStaticDetails are the static details of an interaction's
// process.
func InteractionStaticDetails(in InteractionInput) string {
	dir := in.Direction
	if dir == "" {
		dir = "inbound"
	}
	s := fmt.Sprintf("**Interaction %s**: %s %s contact", in.Number, dir, in.Channel)
	if in.Queue != "" {
		s += ", queue " + in.Queue
	}
	if in.AgentID != "" {
		s += ", started by agent " + in.AgentID
	}
	s += ".\n\nRecord: `GET /v1/interactions/" + in.Number + "`. Search: `Queue`, `AgentId`, `ProcessState` " +
		"(New, Pending Acceptance, Work In Progress, Closed Complete), `Outcome` once it ends."
	return s
}

// CallbackStaticDetails are the static details of a callback's process.
func CallbackStaticDetails(in CallbackInput) string {
	s := fmt.Sprintf("**Callback %s**: %s, queue %s", in.ID, in.Mode, in.Queue)
	if in.ScheduledAt != nil {
		s += ", requested for " + clockIn(time.Time{}, *in.ScheduledAt, in.TimeZone)
	} else {
		s += ", as soon as possible"
	}
	s += ", expires " + clockIn(time.Time{}, in.ExpiresAt, in.TimeZone)
	if in.ReplacesItem != "" {
		s += "; it takes the place in line of a waiting call"
	}
	s += ".\n\nRecord: `GET /v1/callbacks/" + in.ID + "`. Search: `Queue`, `CallbackMode`, `ProcessState` (its step), " +
		"`NextAttemptAt`, `Outcome` once it ends."
	return s
}

// CaseProcessStaticDetails are the static details of a case process.
func CaseProcessStaticDetails(kind, interactionID, agentID string, stepTimeout time.Duration) string {
	if stepTimeout <= 0 {
		stepTimeout = DefaultCaseStepTimeout
	}
	what := map[string]string{
		CaseProcessAddNewCase: "identify the caller, then register a case with the contact filled in",
		CaseProcessAdvise:     "identify the caller, then advise on the contact's cases (or register one for a new customer)",
	}[kind]
	return fmt.Sprintf("**%s** on interaction %s, agent %s: %s. Each step is abandoned after %s without a move.\n\n"+
		"Record: `GET /v1/processes/%s`. Search: `AgentId`, `ProcessState` (its step), `ContactId`, `CaseNumber`.",
		kind, interactionID, agentID, what, stepTimeout, CaseProcessWorkflowID(interactionID, kind))
}

// SweeperStaticDetails are the static details of the routing sweeper.
var SweeperStaticDetails = "**Routing sweeper**: every " + SweepEvery.String() + " it delivers again the offers no process received " +
	"(their dispatcher died between commit and signal) and finishes the work items of processes that are gone, " +
	"so no agent stays booked. One per namespace; it continues as new every 200 sweeps."

// RetentionStaticDetails are the static details of a retention sweep.
func RetentionStaticDetails(r activities.RetentionRequest) string {
	return fmt.Sprintf("**Retention**: deletes raw platform events older than %s, Idempotency-Key records older than %s "+
		"and live events older than %s, in batches; started every %s by the %s schedule.", r.CTIEvents, r.IdempotencyKeys,
		r.Events, RetentionEvery, RetentionScheduleID)
}

// SelfCheckStaticDetails are the static details of a self check.
const SelfCheckStaticDetails = "**Self check**: a worker picks up this process, which runs an activity that writes a row " +
	"to PostgreSQL (`casehub selfcheck`, `casehub dev`)."
