package bench

import (
	"context"
	"errors"
	"fmt"
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
}

// bare is the bare process that mirrors the shape: as many activities and
// local activities, and as many timers. A timer that did not fire (cancelled, or still running
// when the process closed, as an interaction's acceptance and grace timers
// are) becomes one started and cancelled.
func (sh InteractionShape) bare(tag string) BareShape {
	return BareShape{Tag: tag, Activities: sh.Activities, LocalActivities: sh.LocalActivities,
		CancelledTimers: sh.TimersStarted - sh.TimersFired, FiredTimers: sh.TimersFired,
		Signals: sh.SignalsReceived, Updates: sh.Updates}
}

// localActivityMarker is the name of the marker the Go SDK records for a
// local activity's result.
const localActivityMarker = "LocalActivity"

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
			if ev.GetMarkerRecordedEventAttributes().GetMarkerName() == localActivityMarker {
				sh.LocalActivities++
			}
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
	var seq, accepted atomic.Int64
	res, _, err := closedLoop(ctx, calls, conc, func(ctx context.Context) error {
		run, err := s.startBare(ctx, fmt.Sprintf("%s-%d", tag, seq.Add(1)), tag, bareProcessType, shape)
		if err != nil {
			return err
		}
		accepted.Add(1)
		wctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		if err := s.driveBare(wctx, run.GetID(), shape); err != nil {
			return err
		}
		return run.Get(wctx, nil)
	})
	b.count(settleCount(ctx, "throughput bare "+tag, "processes completed", int(accepted.Load()),
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT count(*) FROM bench_rows WHERE tag = $1`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = %q AND Queue = %q AND ExecutionStatus = "Completed"`, bareProcessType, tag))
		}, settleWithin, 200*time.Millisecond))
	return res, err
}

// driveBare sends a bare process the signals and updates its shape takes
// in, one after the other, as the platform and the agent send a call's.
func (s *system) driveBare(ctx context.Context, id string, shape BareShape) error {
	for i := range shape.Signals {
		if err := s.bareClient.SignalWorkflow(ctx, id, "", bareEvent, i); err != nil {
			return fmt.Errorf("signal bare process %s: %w", id, err)
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
	}
	return nil
}

// startBare starts a bare workflow tagged with the run tag (in the Queue
// search attribute, which the count check queries).
func (s *system) startBare(ctx context.Context, id, tag, workflowType string, arg any) (client.WorkflowRun, error) {
	return s.bareClient.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: bareTaskQueue,
		// A bare process whose driver failed does not stay open.
		WorkflowExecutionTimeout: 10 * time.Minute,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SearchQueue.ValueSet(tag)),
	}, workflowType, arg)
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
	var workflowID string
	for range 3 { // the first calls also warm the caches
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
	sh := b.res.Shape
	s.log.Info("an inbound call's process", "activities", sh.Activities, "timers_started", sh.TimersStarted,
		"timers_fired", sh.TimersFired, "signals", sh.SignalsReceived, "updates", sh.Updates, "events", sh.Events)
	if sh.Activities == 0 {
		return errors.New("the warm-up call ran no activities")
	}
	for i := range 3 {
		shape := sh.bare(tag)
		run, err := s.startBare(ctx, fmt.Sprintf("%s-bare-%d", tag, i), tag, bareProcessType, shape)
		if err != nil {
			return err
		}
		if err := s.driveBare(ctx, run.GetID(), shape); err != nil {
			return err
		}
		if err := run.Get(ctx, nil); err != nil {
			return err
		}
	}
	// One step of each kind, so that the first timed ones pay no first-use cost.
	if _, _, err := b.stepCasehub(ctx, tag+"-step", 10, false); err != nil {
		return err
	}
	if _, err := b.stepBare(ctx, tag+"-step-bare", bareStepType, 10, false); err != nil {
		return err
	}
	_, err = b.stepBare(ctx, tag+"-step-bare-local", bareStepLocal, 10, false)
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
