package workflows_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// What the Temporal UI shows of a process: a summary on every timer,
// current details saying what it waits for and until when, a description
// on every handler (README, "Finding things in the Temporal UI").

// timers records the summary of every timer a process starts.
type timers struct {
	interceptor.WorkerInterceptorBase
	summaries []string
}

func (r *timers) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &timersIn{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, r: r}
}

type timersIn struct {
	interceptor.WorkflowInboundInterceptorBase
	r *timers
}

func (i *timersIn) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&timersOut{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}, r: i.r})
}

type timersOut struct {
	interceptor.WorkflowOutboundInterceptorBase
	r *timers
}

func (o *timersOut) NewTimerWithOptions(ctx workflow.Context, d time.Duration, opts workflow.TimerOptions) workflow.Future {
	o.r.summaries = append(o.r.summaries, opts.Summary)
	return o.Next.NewTimerWithOptions(ctx, d, opts)
}

// recordTimers has env record its processes' timer summaries.
func recordTimers(env *testsuite.TestWorkflowEnvironment) *timers {
	r := &timers{}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{r}})
	return r
}

// requireSummaries checks that every timer had a summary of its own (not
// the SDK's "AwaitWithTimeout" or "Sleep") and that each of want matched
// one of them.
func (r *timers) requireSummaries(t *testing.T, want ...string) {
	t.Helper()
	require.NotEmpty(t, r.summaries)
	for _, s := range r.summaries {
		require.NotContains(t, []string{"", "AwaitWithTimeout", "Sleep"}, s, "every timer says what it waits for: %q", r.summaries)
	}
	for _, w := range want {
		re := regexp.MustCompile(w)
		found := false
		for _, s := range r.summaries {
			found = found || re.MatchString(s)
		}
		require.True(t, found, "no timer summary matches %s in %q", w, r.summaries)
	}
}

// metadata is what the Temporal UI reads of a running process.
func metadata(t *testing.T, env *testsuite.TestWorkflowEnvironment) *sdkpb.WorkflowMetadata {
	t.Helper()
	v, err := env.QueryWorkflow("__temporal_workflow_metadata")
	require.NoError(t, err)
	var md *sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	return md
}

// requireDescribed checks every query, signal and update handler has a
// description.
func requireDescribed(t *testing.T, md *sdkpb.WorkflowMetadata) {
	t.Helper()
	def := md.GetDefinition()
	var all []*sdkpb.WorkflowInteractionDefinition
	all = append(all, def.GetQueryDefinitions()...)
	all = append(all, def.GetSignalDefinitions()...)
	all = append(all, def.GetUpdateDefinitions()...)
	require.NotEmpty(t, def.GetUpdateDefinitions())
	for _, d := range all {
		require.NotEmpty(t, d.GetDescription(), "%s handler %s has a description", def.GetType(), d.GetName())
	}
}

const clockRE = `\d\d:\d\d:\d\d UTC`

func TestInteractionShowsWhatItWaitsFor(t *testing.T) {
	e := newInteractionEnv(t, "ann")
	e.SetStartTime(time.Date(2026, 3, 6, 10, 40, 37, 0, time.UTC))
	tm := recordTimers(e.TestWorkflowEnvironment)
	var offered, working *sdkpb.WorkflowMetadata
	e.at(5*time.Second, func() { offered = metadata(t, e.TestWorkflowEnvironment) })
	e.at(10*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() { working = metadata(t, e.TestWorkflowEnvironment) })
	e.at(3*time.Minute, func() { e.event(callEnded()) })
	e.run(inboundCall())

	require.Contains(t, offered.GetCurrentDetails(), "**IMS0000001** phone interaction — pending_acceptance · queue support · agent ann")
	require.Regexp(t, "Waits for ann to accept the offer, until "+clockRE, offered.GetCurrentDetails())
	require.Contains(t, working.GetCurrentDetails(), "Waits for ann to end or transfer the call, or the customer to leave")
	requireDescribed(t, working)
	tm.requireSummaries(t, "^acceptance: ann until "+clockRE+"$", "^agent's phone: ann until "+clockRE+"$",
		"^call_ended for the phone log until "+clockRE+"$")
	require.Contains(t, tm.summaries, "acceptance: ann until 10:41:07 UTC", "offered at 10:40:37, the queue's 30 s")
}

func TestAgentShowsItsWrapUp(t *testing.T) {
	e := newAgentEnv(t)
	tm := recordTimers(e.TestWorkflowEnvironment)
	var wrapping *sdkpb.WorkflowMetadata
	e.at(time.Second, func() {
		e.update(workflows.UpdateSetPresence, workflows.SetPresenceRequest{Presence: "available"}, nil)
	})
	e.at(10*time.Second, func() {
		e.presence = store.PresenceWrapUp
		e.SignalWorkflow(workflows.SignalItemFinished, workflows.ItemFinished{ItemID: "IMS1-1", Queue: "support", WrappingUp: true, WrapUp: time.Minute})
	})
	e.at(20*time.Second, func() { wrapping = metadata(t, e.TestWorkflowEnvironment) })
	e.run(5 * time.Minute)

	require.Regexp(t, `^\*\*Agent ann\*\* — wrap_up since `+clockRE, wrapping.GetCurrentDetails())
	require.Regexp(t, "Waits for the wrap-up of IMS1-1 to end, until "+clockRE, wrapping.GetCurrentDetails())
	requireDescribed(t, wrapping)
	tm.requireSummaries(t, "^wrap-up: IMS1-1 until "+clockRE+"$")
}

func TestCallbackShowsWhenItIsDue(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	tm := recordTimers(e.TestWorkflowEnvironment)
	in := asap(store.CallbackCustomerFirst)
	at := time.Date(2026, 3, 6, 19, 0, 0, 0, time.UTC) // 14:00 in New York, the same day
	in.ScheduledAt, in.TimeZone, in.ExpiresAt = &at, "America/New_York", at.Add(24*time.Hour)
	var waiting *sdkpb.WorkflowMetadata
	e.at(time.Hour, func() { waiting = metadata(t, e.TestWorkflowEnvironment) })
	e.at(2*time.Hour, func() {
		e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor", Reason: "solved by email"})
	})
	e.run(in)

	require.Contains(t, waiting.GetCurrentDetails(), "**CB0000001** customer_first callback — scheduled · queue support")
	require.Contains(t, waiting.GetCurrentDetails(), "Waits for its time: callback due 14:00 America/New_York")
	requireDescribed(t, waiting)
	tm.requireSummaries(t, "^callback due 14:00 America/New_York$", "^callback expires 2026-03-07 14:00 America/New_York$")
	for _, s := range append(tm.summaries, waiting.GetCurrentDetails()) {
		require.NotContains(t, s, in.Number, "no phone number")
		require.NotContains(t, s, "solved by email", "no text someone typed")
	}
}

func TestCallbackAttemptTimersSayWhatTheyWaitFor(t *testing.T) {
	e := newCallbackEnv(t, "ann")
	tm := recordTimers(e.TestWorkflowEnvironment)
	e.at(5*time.Second, func() { e.event(cti.EventCallAnswered, "call-1") })
	e.at(6*time.Second, func() { e.event(cti.EventAgentLegAnswered, "leg-ann") })
	e.at(10*time.Second, func() { e.ok(workflows.UpdateAccept, workflows.DecisionRequest{AgentID: "ann"}) })
	e.at(time.Minute, func() { e.event(cti.EventCallEnded, "call-1") })
	e.run(asap(store.CallbackCustomerFirst))
	tm.requireSummaries(t, `^ring: attempt 1 until `+clockRE+`$`, `^hold: attempt 1, customer on the line for an agent until `+clockRE+`$`,
		"^acceptance: ann until "+clockRE+"$", "^call_ended for the phone log until "+clockRE+"$")
}

func TestCaseProcessShowsItsStep(t *testing.T) {
	r := newCaseRun(t)
	r.env.SetStartTime(time.Date(2026, 3, 6, 9, 0, 0, 0, time.UTC))
	tm := recordTimers(r.env)
	var identifying *sdkpb.WorkflowMetadata
	r.env.RegisterDelayedCallback(func() { identifying = metadata(t, r.env) }, 30*time.Second)
	st := r.execute(workflows.AddNewCase, 10*time.Minute)
	require.Equal(t, workflows.CaseStepAbandoned, st.Step)

	require.Contains(t, identifying.GetCurrentDetails(), "**add_new_case** on interaction "+interaction+" — identify_contact · agent "+processAgent)
	require.Regexp(t, "Waits for the agent to search, select or add the caller's contact, until "+clockRE+` \(then abandoned\)`,
		identifying.GetCurrentDetails())
	requireDescribed(t, identifying)
	tm.requireSummaries(t, "^step timeout: identify_contact until 09:10:00 UTC$")
	require.False(t, strings.Contains(identifying.GetCurrentDetails(), callerE164), "no phone number")
}
