package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/workflows"
)

// PollSeenWithin is how recently Temporal must have seen this worker poll
// for it to be ready. An idle poll waits up to a minute on the server, and
// the server notes a poller when its poll starts and when it ends; on a
// queue with several partitions, DescribeTaskQueue reports the root
// partition, which sees a worker's polls directly or forwarded from the
// other partitions. Three minutes leaves room for that and stays under the
// five minutes the server remembers a poller.
const PollSeenWithin = 3 * time.Minute

// Identity is the identity a casehub process gives Temporal: the SDK's own
// default, set explicitly so that the readiness check knows which pollers
// are this worker's.
func Identity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%d@%s@", os.Getpid(), host)
}

// Readiness says whether this worker can do its work: PostgreSQL answers,
// and Temporal has lately seen this worker poll the casehub task queue for
// workflow tasks and for activity tasks. Served as the worker's /readyz.
type Readiness struct {
	Temporal client.Client
	// Postgres pings the database (store.Store.Ping).
	Postgres func(context.Context) error
	// Identity is the worker's identity as Temporal sees it (Identity()).
	Identity string
	// Within is how recent a poll must be; zero means PollSeenWithin.
	Within time.Duration
	Logger *slog.Logger
}

// NotReady is why a worker is not ready: Reason is for the probe's answer,
// Err (if any) for the logs.
type NotReady struct {
	Reason string
	Err    error
}

func (e *NotReady) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *NotReady) Unwrap() error { return e.Err }

// Check returns nil when the worker is ready, a *NotReady otherwise.
func (r Readiness) Check(ctx context.Context) error {
	if err := r.Postgres(ctx); err != nil {
		return &NotReady{Reason: "PostgreSQL does not answer", Err: err}
	}
	within := r.Within
	if within == 0 {
		within = PollSeenWithin
	}
	for _, tq := range []struct {
		kind string
		t    enums.TaskQueueType
	}{{"workflow", enums.TASK_QUEUE_TYPE_WORKFLOW}, {"activity", enums.TASK_QUEUE_TYPE_ACTIVITY}} {
		resp, err := r.Temporal.DescribeTaskQueue(ctx, workflows.TaskQueue, tq.t)
		if err != nil {
			return &NotReady{Reason: "Temporal does not answer", Err: err}
		}
		if !polledSince(resp.GetPollers(), r.Identity, time.Now().Add(-within)) {
			return &NotReady{Reason: fmt.Sprintf("not polling task queue %s for %s tasks (no poll by %s in the last %s)",
				workflows.TaskQueue, tq.kind, r.Identity, within)}
		}
	}
	return nil
}

// polledSince reports whether identity is among pollers with a poll after
// since.
func polledSince(pollers []*taskqueuepb.PollerInfo, identity string, since time.Time) bool {
	for _, p := range pollers {
		if p.GetIdentity() == identity && p.GetLastAccessTime().AsTime().After(since) {
			return true
		}
	}
	return false
}

// ServeHTTP answers 200 "ready" or 503 with the reason in plain text.
func (r Readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := r.Check(ctx); err != nil {
		reason := "not ready"
		var nr *NotReady
		if errors.As(err, &nr) {
			reason = nr.Reason
		}
		if r.Logger != nil {
			r.Logger.Warn("worker not ready", "err", err)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, reason)
		return
	}
	fmt.Fprintln(w, "ready")
}

// Alive answers 200 while the process serves HTTP: the worker's /healthz.
func Alive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}
