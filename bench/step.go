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
// It returns the POSTs' latencies, then the straight notes'.
func (b *bencher) stepCasehub(ctx context.Context, tag string, samples int, check bool) (Latency, Latency, error) {
	s := b.s
	agents, err := s.setupQueue(ctx, tag, map[string]any{}, 1, false)
	if err != nil {
		return Latency{}, Latency{}, err
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
			return Latency{}, Latency{}, err
		}
		numbers = append(numbers, it.Number)
	}
	lats := make([]time.Duration, 0, samples)
	straight := make([]time.Duration, 0, samples)
	posted, sent := numbers[:per], numbers[per:]
	for i := range samples {
		number, other := posted[i%per], sent[i%per]
		body := fmt.Sprintf("bench note %d", i)
		post := func() error {
			t0 := time.Now()
			if err := s.api(ctx, http.StatusCreated, http.MethodPost, "/v1/interactions/"+number+"/notes", a.token,
				map[string]any{"body": body}, nil); err != nil {
				return err
			}
			lats = append(lats, time.Since(t0))
			return nil
		}
		direct := func() error {
			t0 := time.Now()
			if err := s.noteStraight(ctx, other, a.id, body, fmt.Sprintf("%s-direct-%d", tag, i)); err != nil {
				return err
			}
			straight = append(straight, time.Since(t0))
			return nil
		}
		// Each goes first every other time, so that neither always comes
		// right after the other.
		first, second := post, direct
		if i%2 == 1 {
			first, second = direct, post
		}
		if err := first(); err != nil {
			return summarize(lats), summarize(straight), err
		}
		if err := second(); err != nil {
			return summarize(lats), summarize(straight), err
		}
	}
	for _, n := range numbers {
		if err := s.api(ctx, http.StatusOK, http.MethodPost, "/v1/interactions/"+n+"/close", a.token, map[string]any{}, nil); err != nil {
			return summarize(lats), summarize(straight), err
		}
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
		b.count(settleCount(ctx, arm, "notes", len(lats)+len(straight),
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
	return summarize(lats), summarize(straight), nil
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
	s := b.s
	var ids []string
	for i := range min(processesPerStepArm, samples) {
		id := fmt.Sprintf("%s-%d", tag, i)
		if _, err := s.startBare(ctx, id, tag, workflowType, tag); err != nil {
			return Latency{}, err
		}
		ids = append(ids, id)
	}
	lats := make([]time.Duration, 0, samples)
	for i := range samples {
		t0 := time.Now()
		h, err := s.bareClient.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: ids[i%len(ids)], UpdateName: bareNoteUpdate, Args: []any{fmt.Sprintf("%s/note-%d", ids[i%len(ids)], i)},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			return summarize(lats), fmt.Errorf("bare update: %w", err)
		}
		lats = append(lats, time.Since(t0))
	}
	for _, id := range ids {
		if err := s.bareClient.SignalWorkflow(ctx, id, "", bareFinish, nil); err != nil {
			return summarize(lats), err
		}
	}
	if check {
		arm := "agent step bare " + tag
		b.count(settleCount(ctx, arm, "processes", len(ids),
			func(ctx context.Context) (int, error) {
				// Every process answered at least one update: its rows name it.
				return s.countRows(ctx, `SELECT count(DISTINCT split_part(key, '/', 1)) FROM bench_rows WHERE tag = $1`, tag)
			},
			func(ctx context.Context) (int, error) {
				return s.countWorkflows(ctx, fmt.Sprintf(`WorkflowType = %q AND Queue = %q`, workflowType, tag))
			}, settleWithin, 200*time.Millisecond))
		b.count(settleCount(ctx, arm, "updates", len(lats),
			func(ctx context.Context) (int, error) {
				return s.countRows(ctx, `SELECT count(*) FROM bench_rows WHERE tag = $1`, tag)
			},
			func(ctx context.Context) (int, error) {
				total := 0
				for _, id := range ids {
					c, err := updatesNamed(ctx, s.bareClient, id, bareNoteUpdate)
					if err != nil {
						return 0, err
					}
					total += c
				}
				return total, nil
			}, settleWithin, 200*time.Millisecond))
	}
	return summarize(lats), nil
}
