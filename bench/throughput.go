package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/workflows"
)

// callTimeout bounds one call's way through the system in the bench.
const callTimeout = 60 * time.Second

// settleWithin bounds how long a count check waits for rows and visibility
// to catch up.
const settleWithin = 60 * time.Second

// InteractionShape is what one inbound call's process did in Temporal.
type InteractionShape struct {
	WorkflowID      string `json:"workflow_id"`
	Events          int    `json:"events"`
	WorkflowTasks   int    `json:"workflow_tasks"`
	Activities      int    `json:"activities"`
	LocalActivities int    `json:"local_activities"`
	TimersStarted   int    `json:"timers_started"`
	TimersFired     int    `json:"timers_fired"`
	TimersCanceled  int    `json:"timers_canceled"`
	SignalsReceived int    `json:"signals_received"`
	Updates         int    `json:"updates"`
	SignalsSent     int    `json:"signals_sent"`
	Upserts         int    `json:"upserts"`
	Versions        int    `json:"versions"`
	// AgentSignals and AgentUpserts are how many signals each call brought
	// its agent's process, and how many search-attribute upserts they
	// made it write (the warm-up agent's, over the warm-up calls).
	AgentSignals float64 `json:"agent_signals_per_call"`
	AgentUpserts float64 `json:"agent_upserts_per_call"`
}

// bare is the bare process that mirrors the shape: as many activities and
// local activities, signals, updates, upserts and version markers, and
// timers that fire, are cancelled or are still running when it ends (as an
// interaction's acceptance and grace timers are), and the signals and
// upserts a call brings its agent's process.
func (sh InteractionShape) bare(tag string) BareShape {
	return BareShape{Tag: tag, Activities: sh.Activities, LocalActivities: sh.LocalActivities,
		CancelledTimers: sh.TimersCanceled, OpenTimers: sh.TimersStarted - sh.TimersFired - sh.TimersCanceled, FiredTimers: sh.TimersFired,
		Signals: sh.SignalsReceived, Updates: sh.Updates, Upserts: sh.Upserts, Versions: sh.Versions, AgentSignals: int(math.Round(sh.AgentSignals)), AgentUpserts: int(math.Round(sh.AgentUpserts))}
}

// agentTally is what a long-running process has taken in so far.
type agentTally struct{ signals, upserts int }

// agentSoFar counts the signals (but a bare agent's finish) and upserts in
// a running process's history, once the workflow task that takes in its
// latest signal has completed: up to settleWithin, it reads the history
// again while a task or a signal is still outstanding at its end.
func agentSoFar(ctx context.Context, c client.Client, workflowID string) (agentTally, error) {
	deadline := time.Now().Add(settleWithin)
	for {
		var t agentTally
		var last enums.EventType
		it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return t, fmt.Errorf("history of %s: %w", workflowID, err)
			}
			last = ev.GetEventType()
			switch last {
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				if ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() != bareFinish {
					t.signals++
				}
			case enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
				t.upserts++
			}
		}
		switch last {
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enums.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if time.Now().Before(deadline) {
				select {
				case <-time.After(20 * time.Millisecond):
					continue
				case <-ctx.Done():
					return t, ctx.Err()
				}
			}
			return t, fmt.Errorf("%s still taking in a signal after %s", workflowID, settleWithin)
		}
		return t, nil
	}
}

// localActivityMarker is the name of the marker the Go SDK records for a
// local activity's result.
const localActivityMarker = "LocalActivity"

// versionMarker is the name of the marker workflow.GetVersion records.
const versionMarker = "Version"

// historyShape counts what a closed process's history holds.
func historyShape(ctx context.Context, c client.Client, workflowID string) (InteractionShape, error) {
	sh := InteractionShape{WorkflowID: workflowID}
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return sh, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		sh.Events++
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			sh.WorkflowTasks++
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			sh.Activities++
		case enums.EVENT_TYPE_MARKER_RECORDED:
			switch ev.GetMarkerRecordedEventAttributes().GetMarkerName() {
			case localActivityMarker:
				sh.LocalActivities++
			case versionMarker:
				sh.Versions++
			}
		case enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			sh.Upserts++
		case enums.EVENT_TYPE_TIMER_STARTED:
			sh.TimersStarted++
		case enums.EVENT_TYPE_TIMER_FIRED:
			sh.TimersFired++
		case enums.EVENT_TYPE_TIMER_CANCELED:
			sh.TimersCanceled++
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			sh.SignalsReceived++
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			sh.Updates++
		case enums.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			sh.SignalsSent++
		}
	}
	return sh, nil
}

// updatesNamed counts the updates with name a process accepted.
func updatesNamed(ctx context.Context, c client.Client, workflowID, name string) (int, error) {
	n := 0
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return n, err
		}
		if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil && a.GetAcceptedRequest().GetInput().GetName() == name {
			n++
		}
	}
	return n, nil
}

type benchAgent struct {
	id, token string
}

// setupQueue makes a queue with n member agents, available or not.
func (s *system) setupQueue(ctx context.Context, queue string, settings map[string]any, n int, available bool) ([]benchAgent, error) {
	if err := s.api(ctx, http.StatusOK, http.MethodPut, "/v1/queues/"+queue, s.supervisor, settings, nil); err != nil {
		return nil, err
	}
	agents := make([]benchAgent, 0, n)
	for i := 1; i <= n; i++ {
		a := benchAgent{id: fmt.Sprintf("%s-a%d", queue, i)}
		if err := s.api(ctx, http.StatusOK, http.MethodPut, "/v1/agents/"+a.id, s.supervisor, map[string]any{"name": a.id}, nil); err != nil {
			return nil, err
		}
		if err := s.api(ctx, http.StatusNoContent, http.MethodPut, "/v1/queues/"+queue+"/members/"+a.id, s.supervisor, nil, nil); err != nil {
			return nil, err
		}
		tok, _, err := auth.Issue(ctx, s.store, auth.RoleAgent, a.id, "casehub bench")
		if err != nil {
			return nil, err
		}
		a.token = tok
		if available {
			if err := s.presence(ctx, a, "available"); err != nil {
				return nil, err
			}
		}
		agents = append(agents, a)
	}
	return agents, nil
}

func (s *system) presence(ctx context.Context, a benchAgent, p string) error {
	return s.api(ctx, http.StatusOK, http.MethodPut, "/v1/agents/"+a.id+"/presence", a.token, map[string]any{"presence": p}, nil)
}

// work is what a bench agent does with an offer: accept it and end the
// call, over HTTP as an agent UI would. An offer already answered (a
// repeated ring) is skipped.
func (s *system) work(ctx context.Context, a benchAgent, o offerSeen) (bool, error) {
	number := strings.TrimPrefix(o.WorkflowID, workflows.InteractionWorkflowID(""))
	st, err := s.do(ctx, http.MethodPost, s.apiURL, "/v1/interactions/"+number+"/accept", a.token, map[string]any{}, nil)
	if err != nil {
		return false, err
	}
	if st == http.StatusConflict {
		return false, nil
	}
	if st != http.StatusOK {
		return false, fmt.Errorf("accept %s: status %d", number, st)
	}
	return true, s.api(ctx, http.StatusOK, http.MethodPost, "/v1/interactions/"+number+"/end", a.token, map[string]any{"disposition": "bench"}, nil)
}

// throughputResult is one throughput arm.
type throughputResult struct {
	rate    float64
	latency Latency
}

// closedLoop keeps conc items in flight until n have run, each through
// one(ctx) returning when its item is done, and reports the rate.
func closedLoop(ctx context.Context, n, conc int, one func(ctx context.Context) error) (throughputResult, int, error) {
	var next, accepted atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	for range conc {
		g.Go(func() error {
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				if err := one(gctx); err != nil {
					return err
				}
				accepted.Add(1)
				mu.Lock()
				lats = append(lats, time.Since(t0))
				mu.Unlock()
			}
			return nil
		})
	}
	err := g.Wait()
	elapsed := time.Since(start)
	return throughputResult{rate: perSecond(int(accepted.Load()), elapsed), latency: summarize(lats)}, int(accepted.Load()), err
}

// throughputCasehub: conc customers call queue tag, one after the other
// each, and conc agents accept and end every call over HTTP.
func (b *bencher) throughputCasehub(ctx context.Context, tag string, calls, conc int) (throughputResult, error) {
	s := b.s
	agents, err := s.setupQueue(ctx, tag, map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": 0}, conc, true)
	if err != nil {
		return throughputResult{}, err
	}
	actx, stopAgents := context.WithCancel(ctx)
	var done sync.Map // customer call id -> chan struct{}
	handled := func(callID string) chan struct{} {
		ch, _ := done.LoadOrStore(callID, make(chan struct{}, 1))
		return ch.(chan struct{})
	}
	var wg sync.WaitGroup
	var agentErr atomic.Value
	for _, a := range agents {
		offers := s.rec.subscribe(a.id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.rec.unsubscribe(a.id)
			for {
				select {
				case <-actx.Done():
					return
				case o := <-offers:
					ok, err := s.work(actx, a, o)
					if err != nil && actx.Err() == nil {
						agentErr.CompareAndSwap(nil, err)
						s.log.Warn("bench agent", "agent", a.id, "err", err)
					}
					if ok && err == nil {
						select {
						case handled(o.CallID) <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	var accepted atomic.Int64
	res, _, err := closedLoop(ctx, calls, conc, func(ctx context.Context) error {
		id, err := s.ring(ctx, tag)
		if err != nil {
			return err
		}
		accepted.Add(1)
		select {
		case <-handled(id):
			return nil
		case <-time.After(callTimeout):
			if e, _ := agentErr.Load().(error); e != nil {
				return fmt.Errorf("call %s not handled in %s (an agent failed: %w)", id, callTimeout, e)
			}
			return fmt.Errorf("call %s not handled in %s", id, callTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	stopAgents()
	wg.Wait()
	b.count(settleCount(ctx, "throughput casehub "+tag, "calls handled", int(accepted.Load()),
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT count(*) FROM interactions i WHERE i.queue = $1 AND i.state = 'closed_complete'
AND EXISTS (SELECT 1 FROM phone_logs p WHERE p.interaction = i.number)`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = "Interaction" AND Queue = %q AND ExecutionStatus = "Completed"`, tag))
		}, settleWithin, 200*time.Millisecond))
	return res, err
}

// throughputBare: conc clients each start a bare process and wait for it.
func (b *bencher) throughputBare(ctx context.Context, tag string, calls, conc int) (throughputResult, error) {
	return b.throughputOf(ctx, b.res.Shape.bare(tag), calls, conc)
}

// throughputReference runs the fixed reference: a bare workflow of one
// activity (the row the count check finds), whatever casehub's shape is.
func (b *bencher) throughputReference(ctx context.Context, tag string, calls, conc int) (throughputResult, error) {
	return b.throughputOf(ctx, BareShape{Tag: tag, Activities: 1}, calls, conc)
}

func (b *bencher) throughputOf(ctx context.Context, shape BareShape, calls, conc int) (throughputResult, error) {
	s := b.s
	tag := shape.Tag
	agents, err := s.startBareAgents(ctx, tag, shape, conc)
	if err != nil {
		return throughputResult{}, err
	}
	var seq, accepted atomic.Int64
	res, _, err := closedLoop(ctx, calls, conc, func(ctx context.Context) error {
		agent := <-agents.free
		defer func() { agents.free <- agent }()
		return s.runBare(ctx, fmt.Sprintf("%s-%d", tag, seq.Add(1)), agent, shape, func() { accepted.Add(1) })
	})
	err = errors.Join(err, agents.stop(ctx))
	b.count(settleCount(ctx, "throughput bare "+tag, "processes completed", int(accepted.Load()),
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT count(*) FROM bench_rows WHERE tag = $1`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = %q AND Queue = %q AND ExecutionStatus = "Completed"`, bareProcessType, tag))
		}, settleWithin, 200*time.Millisecond))
	return res, err
}

// bareAgents are the bare agent processes of one arm, one per call in
// flight; free hands them out.
type bareAgents struct {
	s    *system
	ids  []string
	runs []client.WorkflowRun
	free chan string
}

// startBareAgents starts n bare agent processes when the shape brings an
// agent signals (none for the reference).
func (s *system) startBareAgents(ctx context.Context, tag string, shape BareShape, n int) (*bareAgents, error) {
	in := BareAgentShape{Tag: tag, Signals: shape.AgentSignals, Upserts: shape.AgentUpserts}
	a := &bareAgents{s: s, free: make(chan string, n)}
	for i := range n {
		id := ""
		if shape.AgentSignals > 0 {
			id = fmt.Sprintf("%s-agent-%d", tag, i+1)
			run, err := s.bareClient.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: id, TaskQueue: bareTaskQueue,
				// It lives as long as its arm; one whose arm failed does
				// not stay open.
				WorkflowExecutionTimeout: 2 * time.Hour,
				TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SearchQueue.ValueSet(tag)),
			}, bareAgentType, in)
			if err != nil {
				return nil, errors.Join(err, a.stop(ctx))
			}
			a.ids, a.runs = append(a.ids, id), append(a.runs, run)
		}
		a.free <- id
	}
	return a, nil
}

// stop tells each bare agent process to finish and waits for it, even
// when ctx is done.
func (a *bareAgents) stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	var errs []error
	for i, id := range a.ids {
		if err := a.s.bareClient.SignalWorkflow(ctx, id, "", bareFinish, nil); err != nil {
			errs = append(errs, fmt.Errorf("finish bare agent %s: %w", id, err))
			continue
		}
		if err := a.runs[i].Get(ctx, nil); err != nil {
			errs = append(errs, fmt.Errorf("bare agent %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// runBare starts bare process id of shape (calling started once it has),
// drives it and waits for it to end.
func (s *system) runBare(ctx context.Context, id, agent string, shape BareShape, started func()) error {
	heard := make(chan int, shape.Signals)
	signalsHeard.Store(id, heard)
	defer signalsHeard.Delete(id)
	var run client.WorkflowRun
	var err error
	if shape.Signals > 0 {
		run, err = s.bareClient.SignalWithStartWorkflow(ctx, id, bareEvent, 0, bareStartOptions(id, shape.Tag), bareProcessType, shape)
	} else {
		run, err = s.bareClient.ExecuteWorkflow(ctx, bareStartOptions(id, shape.Tag), bareProcessType, shape)
	}
	if err != nil {
		return err
	}
	started()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := s.driveBare(ctx, id, agent, shape, heard); err != nil {
		return err
	}
	return run.Get(ctx, nil)
}

// driveBare sends a bare process the signals and updates its shape takes
// in, one after the other, as the platform and the agent send a call's,
// and its agent's process (agent, when the shape has one) a signal after
// each update (as the accepted item's, then the finished item's) and any
// others at the end.
func (s *system) driveBare(ctx context.Context, id, agent string, shape BareShape, heard <-chan int) error {
	sent := 0
	tellAgent := func() error {
		if err := s.bareClient.SignalWorkflow(ctx, agent, "", bareEvent, sent); err != nil {
			return fmt.Errorf("signal bare agent %s: %w", agent, err)
		}
		sent++
		return nil
	}
	n := 0 // signals taken in so far
	for i := range shape.Signals {
		if i > 0 { // the first started the process
			if err := s.bareClient.SignalWorkflow(ctx, id, "", bareEvent, i); err != nil {
				return fmt.Errorf("signal bare process %s: %w", id, err)
			}
		}
		for n <= i {
			select {
			case n = <-heard:
			case <-ctx.Done():
				return fmt.Errorf("bare process %s took in %d of %d signals: %w", id, n, shape.Signals, ctx.Err())
			}
		}
	}
	for i := range shape.Updates {
		h, err := s.bareClient.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateName: bareNoteUpdate, Args: []any{fmt.Sprintf("%s/%d", id, i)},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return fmt.Errorf("update bare process %s: %w", id, err)
		}
		if err := h.Get(ctx, nil); err != nil {
			return fmt.Errorf("update bare process %s: %w", id, err)
		}
		if agent != "" && sent < shape.AgentSignals {
			if err := tellAgent(); err != nil {
				return err
			}
		}
	}
	for agent != "" && sent < shape.AgentSignals {
		if err := tellAgent(); err != nil {
			return err
		}
	}
	return nil
}

// startBare starts a bare workflow tagged with the run tag (in the Queue
// search attribute, which the count check queries).
func (s *system) startBare(ctx context.Context, id, tag, workflowType string, arg any) (client.WorkflowRun, error) {
	return s.bareClient.ExecuteWorkflow(ctx, bareStartOptions(id, tag), workflowType, arg)
}

func bareStartOptions(id, tag string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: id, TaskQueue: bareTaskQueue,
		// A bare process whose driver failed does not stay open.
		WorkflowExecutionTimeout: 10 * time.Minute,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SearchQueue.ValueSet(tag)),
	}
}

// warmUp runs one call end to end (and one of each other kind of work)
// untimed, and reads the call's history for the bare process to mirror.
func (b *bencher) warmUp(ctx context.Context) error {
	s := b.s
	tag := "bench-" + s.runID + "-warm"
	agents, err := s.setupQueue(ctx, tag, map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": 0}, 1, true)
	if err != nil {
		return err
	}
	offers := s.rec.subscribe(agents[0].id)
	defer s.rec.unsubscribe(agents[0].id)
	agentID := workflows.AgentWorkflowID(agents[0].id)
	agentBefore, err := agentSoFar(ctx, s.client, agentID)
	if err != nil {
		return err
	}
	const warmCalls = 3
	var workflowID string
	for range warmCalls { // the first calls also warm the caches
		callID, err := s.ring(ctx, tag)
		if err != nil {
			return err
		}
		o, err := waitOffer(ctx, offers, callID, callTimeout)
		if err != nil {
			return err
		}
		if _, err := s.work(ctx, agents[0], o); err != nil {
			return err
		}
		workflowID = o.WorkflowID
		wctx, cancel := context.WithTimeout(ctx, callTimeout)
		err = s.client.GetWorkflow(wctx, workflowID, "").Get(wctx, nil)
		cancel()
		if err != nil {
			return fmt.Errorf("warm-up call %s: %w", workflowID, err)
		}
	}
	if b.res.Shape, err = historyShape(ctx, s.client, workflowID); err != nil {
		return err
	}
	agentAfter, err := agentSoFar(ctx, s.client, agentID)
	if err != nil {
		return err
	}
	b.res.Shape.AgentSignals = float64(agentAfter.signals-agentBefore.signals) / warmCalls
	b.res.Shape.AgentUpserts = float64(agentAfter.upserts-agentBefore.upserts) / warmCalls
	sh := b.res.Shape
	s.log.Info("an inbound call's process", "activities", sh.Activities, "timers_started", sh.TimersStarted,
		"timers_fired", sh.TimersFired, "signals", sh.SignalsReceived, "updates", sh.Updates, "events", sh.Events,
		"workflow_tasks", sh.WorkflowTasks, "agent_signals_per_call", sh.AgentSignals, "agent_upserts_per_call", sh.AgentUpserts)
	if sh.Activities == 0 {
		return errors.New("the warm-up call ran no activities")
	}
	shape := sh.bare(tag)
	twins, err := s.startBareAgents(ctx, tag, shape, 1)
	if err != nil {
		return err
	}
	agent := <-twins.free
	var twinID string
	for i := range warmCalls {
		twinID = fmt.Sprintf("%s-bare-%d", tag, i)
		if err := s.runBare(ctx, twinID, agent, shape, func() {}); err != nil {
			return errors.Join(err, twins.stop(ctx))
		}
	}
	var twinAgent agentTally
	if agent != "" { // a call that brought its agent's process nothing has none
		twinAgent, err = agentSoFar(ctx, s.bareClient, agent)
	}
	if err = errors.Join(err, twins.stop(ctx)); err != nil {
		return err
	}
	if b.res.TwinShape, err = historyShape(ctx, s.bareClient, twinID); err != nil {
		return err
	}
	b.res.TwinShape.AgentSignals = float64(twinAgent.signals) / warmCalls
	b.res.TwinShape.AgentUpserts = float64(twinAgent.upserts) / warmCalls
	// One step of each kind, so that the first timed ones pay no first-use cost.
	if _, _, _, err := b.stepCasehub(ctx, tag+"-step", tag+"-step-bare-local", 10, false); err != nil {
		return err
	}
	_, err = b.stepBare(ctx, tag+"-step-bare", bareStepType, 10, false)
	return err
}

// waitOffer waits for the offer of the customer's call callID.
func waitOffer(ctx context.Context, offers <-chan offerSeen, callID string, within time.Duration) (offerSeen, error) {
	timeout := time.After(within)
	for {
		select {
		case o := <-offers:
			if o.CallID == callID {
				return o, nil
			}
		case <-timeout:
			return offerSeen{}, fmt.Errorf("no offer for call %s in %s", callID, within)
		case <-ctx.Done():
			return offerSeen{}, ctx.Err()
		}
	}
}
