package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/workflows"
)

// processesPerStepArm is over how many open processes an arm's steps are
// spread, so that no single history grows long.
const processesPerStepArm = 10

// stepCasehub: an agent adds work notes to open walk-in interactions, one
// POST /v1/interactions/{n}/notes at a time (HTTP, the token and the record
// read, the Update, its local activity, the answer), and the walk-ins are
// closed afterwards. With each, the same note goes straight to another
// walk-in's process as an SDK Update, as the API sends it (straight): the
// difference is what the API adds to the process's own step. Each set of
// walk-ins takes as many updates per process as a bare arm's processes do.
//
// With each pair, a bare process of bareStepLocal tagged localTag (a row
// written by a local activity, the note's shape) takes an update of its own: the three kinds of step are taken in turn, in each of their
// orders in turn, so that what the machine is doing at a moment weighs on
// them alike.
// It returns the POSTs' latencies, the straight notes' and the bare ones'.
func (b *bencher) stepCasehub(ctx context.Context, tag, localTag string, samples int, check bool) (post, straight, local Latency, err error) {
	s := b.s
	agents, err := s.setupQueue(ctx, tag, map[string]any{}, 1, false)
	if err != nil {
		return post, straight, local, err
	}
	a := agents[0]
	var numbers []string
	per := min(processesPerStepArm, samples)
	for range 2 * per {
		var it struct {
			Number string `json:"number"`
		}
		if err := s.api(ctx, http.StatusCreated, http.MethodPost, "/v1/interactions", a.token,
			map[string]any{"channel": "walk_in", "queue": tag, "short_description": "bench walk-in"}, &it); err != nil {
			return post, straight, local, err
		}
		numbers = append(numbers, it.Number)
	}
	bare, err := b.startBareSteps(ctx, localTag, bareStepLocal, samples)
	if err != nil {
		return post, straight, local, err
	}
	posts := make([]time.Duration, 0, samples)
	straights := make([]time.Duration, 0, samples)
	posted, sent := numbers[:per], numbers[per:]
	// The steps go in each of their orders in turn, so that each comes
	// first, and right after each other one, as often as the others.
	orders := permutations(3)
	summarized := func() (Latency, Latency, Latency) {
		return summarize(posts), summarize(straights), summarize(bare.lats)
	}
	for i := range samples {
		number, other := posted[i%per], sent[i%per]
		body := fmt.Sprintf("bench note %d", i)
		steps := []func() error{
			func() error {
				t0 := time.Now()
				if err := s.api(ctx, http.StatusCreated, http.MethodPost, "/v1/interactions/"+number+"/notes", a.token,
					map[string]any{"body": body}, nil); err != nil {
					return err
				}
				posts = append(posts, time.Since(t0))
				return nil
			},
			func() error {
				t0 := time.Now()
				if err := s.noteStraight(ctx, other, a.id, body, fmt.Sprintf("%s-direct-%d", tag, i)); err != nil {
					return err
				}
				straights = append(straights, time.Since(t0))
				return nil
			},
			func() error { return bare.step(ctx, i) },
		}
		for _, k := range orders[i%len(orders)] {
			if err := steps[k](); err != nil {
				post, straight, local = summarized()
				return post, straight, local, err
			}
		}
	}
	post, straight, local = summarized()
	for _, n := range numbers {
		if err := s.api(ctx, http.StatusOK, http.MethodPost, "/v1/interactions/"+n+"/close", a.token, map[string]any{}, nil); err != nil {
			return post, straight, local, err
		}
	}
	if err := b.finishBareSteps(ctx, bare, check); err != nil {
		return post, straight, local, err
	}
	if check {
		arm := "agent step casehub " + tag
		b.count(settleCount(ctx, arm, "walk-ins", len(numbers),
			func(ctx context.Context) (int, error) {
				return s.countRows(ctx, `SELECT count(*) FROM interactions WHERE queue = $1`, tag)
			},
			func(ctx context.Context) (int, error) {
				return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = "Interaction" AND Queue = %q`, tag))
			}, settleWithin, 200*time.Millisecond))
		b.count(settleCount(ctx, arm, "notes", len(posts)+len(straights),
			func(ctx context.Context) (int, error) {
				return s.countRows(ctx, `SELECT count(*) FROM interaction_notes n JOIN interactions i ON i.number = n.interaction WHERE i.queue = $1`, tag)
			},
			func(ctx context.Context) (int, error) {
				total := 0
				for _, n := range numbers {
					c, err := updatesNamed(ctx, s.client, workflows.InteractionWorkflowID(n), workflows.UpdateAddNote)
					if err != nil {
						return 0, err
					}
					total += c
				}
				return total, nil
			}, settleWithin, 200*time.Millisecond))
	}
	return post, straight, local, nil
}

// permutations lists every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for at := 0; at <= len(p); at++ {
			q := append(append(append([]int{}, p[:at]...), n-1), p[at:]...)
			out = append(out, q)
		}
	}
	return out
}

// noteStraight sends the work note Update the API sends for POST
// /v1/interactions/{n}/notes straight to the interaction's process, through
// the same client (its payloads sealed as the API's are), and waits for the
// process's answer.
func (s *system) noteStraight(ctx context.Context, number, agent, body, requestID string) error {
	h, err := s.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.InteractionWorkflowID(number), UpdateName: workflows.UpdateAddNote,
		Args:         []any{workflows.NoteRequest{Author: agent, Body: body, RequestID: requestID}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var note activities.WorkNote // decoded, as the API decodes the answer
	if err == nil {
		err = h.Get(ctx, &note)
	}
	if err != nil {
		return fmt.Errorf("note straight to interaction %s: %w", number, err)
	}
	return nil
}

// stepBare: the same number of updates sent directly with the SDK to bare
// processes of workflowType (bareStepType or bareStepLocal), whose handler
// writes a row, as a note's step does.
func (b *bencher) stepBare(ctx context.Context, tag, workflowType string, samples int, check bool) (Latency, error) {
	bare, err := b.startBareSteps(ctx, tag, workflowType, samples)
	if err != nil {
		return Latency{}, err
	}
	for i := range samples {
		if err := bare.step(ctx, i); err != nil {
			return summarize(bare.lats), err
		}
	}
	return summarize(bare.lats), b.finishBareSteps(ctx, bare, check)
}

// bareSteps are the bare processes of one step arm and the latencies of
// the updates they have answered.
type bareSteps struct {
	s           *system
	tag, wfType string
	ids         []string
	lats        []time.Duration
}

// startBareSteps starts the processes of a bare step arm of samples
// updates.
func (b *bencher) startBareSteps(ctx context.Context, tag, workflowType string, samples int) (*bareSteps, error) {
	bs := &bareSteps{s: b.s, tag: tag, wfType: workflowType, lats: make([]time.Duration, 0, samples)}
	for i := range min(processesPerStepArm, samples) {
		id := fmt.Sprintf("%s-%d", tag, i)
		if _, err := b.s.startBare(ctx, id, tag, workflowType, tag); err != nil {
			return nil, err
		}
		bs.ids = append(bs.ids, id)
	}
	return bs, nil
}

// step sends the i-th update and waits for its answer.
func (bs *bareSteps) step(ctx context.Context, i int) error {
	id := bs.ids[i%len(bs.ids)]
	t0 := time.Now()
	h, err := bs.s.bareClient.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: bareNoteUpdate, Args: []any{fmt.Sprintf("%s/note-%d", id, i)},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("bare update: %w", err)
	}
	bs.lats = append(bs.lats, time.Since(t0))
	return nil
}

// finishBareSteps ends the arm's processes and, when check, counts what
// they wrote against what Temporal recorded.
func (b *bencher) finishBareSteps(ctx context.Context, bs *bareSteps, check bool) error {
	s := b.s
	for _, id := range bs.ids {
		if err := s.bareClient.SignalWorkflow(ctx, id, "", bareFinish, nil); err != nil {
			return err
		}
	}
	if !check {
		return nil
	}
	arm, tag := "agent step bare "+bs.tag, bs.tag
	b.count(settleCount(ctx, arm, "processes", len(bs.ids),
		func(ctx context.Context) (int, error) {
			// Every process answered at least one update: its rows name it.
			return s.countRows(ctx, `SELECT count(DISTINCT split_part(key, '/', 1)) FROM bench_rows WHERE tag = $1`, tag)
		},
		func(ctx context.Context) (int, error) {
			return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = %q AND Queue = %q`, bs.wfType, tag))
		}, settleWithin, 200*time.Millisecond))
	b.count(settleCount(ctx, arm, "updates", len(bs.lats),
		func(ctx context.Context) (int, error) {
			return s.countRows(ctx, `SELECT count(*) FROM bench_rows WHERE tag = $1`, tag)
		},
		func(ctx context.Context) (int, error) {
			total := 0
			for _, id := range bs.ids {
				c, err := updatesNamed(ctx, s.bareClient, id, bareNoteUpdate)
				if err != nil {
					return 0, err
				}
				total += c
			}
			return total, nil
		}, settleWithin, 200*time.Millisecond))
	return nil
}
