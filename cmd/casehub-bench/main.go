// Command casehub-bench measures casehub against bare Temporal on this
// machine (package bench) and prints a table; the full results go to a JSON
// file. It is not part of the production image: it runs the casehub
// binary's worker as child processes (--casehub-bin).
//
//	casehub-bench [flags]                       on a Temporal dev server of its own
//	casehub-bench --cluster --workers 2 [flags] on a Temporal cluster of its own, two workers
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/casehub/casehub/bench"
	"github.com/casehub/casehub/internal/cli"
)

func main() { cli.Main("casehub-bench", run) }

// settings are the bench's flags.
type settings struct {
	opts       bench.Options
	out        string
	logLevel   string
	inProcess  bool
	casehubBin string
}

// parseFlags reads the flags, with environment fallbacks. self is this
// program's path: the casehub binary is looked for next to it.
func parseFlags(args []string, getenv func(string) string, self string) (*settings, error) {
	fs := flag.NewFlagSet("casehub-bench", flag.ContinueOnError)
	f := cli.EnvFlags{FS: fs, Getenv: getenv}
	s := &settings{}
	o := &s.opts
	f.Str(&o.TemporalAddress, "temporal-address", "CASEHUB_BENCH_TEMPORAL_ADDRESS", "", "reuse the Temporal server at host:port (empty: start a dev server from the pinned CLI in a temp dir, or with --cluster a cluster)")
	f.Str(&o.Namespace, "temporal-namespace", "TEMPORAL_NAMESPACE", "default", "Temporal namespace")
	f.Str(&o.TemporalCLI, "temporal-bin", "CASEHUB_TEMPORAL_BIN", "", "Temporal CLI binary for the dev server (default .bin/temporal, built from tools/go.mod)")
	f.Bool(&o.Cluster, "cluster", "CASEHUB_BENCH_CLUSTER", false, "run on a Temporal cluster of the bench's own (the pinned server's services as separate processes on PostgreSQL; databases made and dropped by the run; .bin/temporal-server and .bin/temporal-sql-tool from make cluster-tools) instead of a dev server")
	f.Int(&o.Workers, "workers", "CASEHUB_BENCH_WORKERS", 1, "casehub worker processes (CPU and RSS are then summed over them)")
	f.Str(&s.casehubBin, "casehub-bin", "CASEHUB_BENCH_CASEHUB_BIN", "", "the casehub binary whose worker command the bench runs (default: casehub next to this program, else .bin/casehub)")
	f.Str(&o.AdminDatabaseURL, "admin-database-url", "CASEHUB_BENCH_DATABASE_URL", bench.DefaultAdminURL, "PostgreSQL where the bench creates (and drops) its own databases")
	f.Int(&o.Concurrency, "concurrency", "CASEHUB_BENCH_CONCURRENCY", 10, "calls in flight in the throughput arms, and agents answering them")
	f.Int(&o.Calls, "calls", "CASEHUB_BENCH_CALLS", 200, "calls (and bare processes) per throughput arm")
	f.Int(&o.Blocks, "blocks", "CASEHUB_BENCH_BLOCKS", 3, "alternating casehub/bare blocks")
	f.Int(&o.StepSamples, "step-samples", "CASEHUB_BENCH_STEP_SAMPLES", 200, "agent steps (and bare updates) per arm")
	f.Int(&o.DispatchSamples, "dispatch-samples", "CASEHUB_BENCH_DISPATCH_SAMPLES", 40, "offers timed, half on an agent becoming available, half on a call arriving")
	f.Int(&o.EventAgents, "event-agents", "CASEHUB_BENCH_EVENT_AGENTS", 200, "agents with a live event stream open while offers are timed to it")
	f.Int(&o.EventSamples, "event-samples", "CASEHUB_BENCH_EVENT_SAMPLES", 100, "offers timed from their booking to the event at the agent's stream")
	f.Int(&o.ScheduledCallbacks, "scheduled-callbacks", "CASEHUB_BENCH_SCHEDULED_CALLBACKS", 20, "callbacks scheduled a few seconds ahead to time their dial")
	f.Dur(&o.ScheduledAhead, "scheduled-ahead", "CASEHUB_BENCH_SCHEDULED_AHEAD", 3*time.Second, "how far ahead those callbacks are scheduled")
	f.Int(&o.OpenCallbacks, "open-callbacks", "CASEHUB_BENCH_OPEN_CALLBACKS", 10_000, "callbacks left waiting for the workers' memory reading")
	f.Int(&o.OpenInteractions, "open-interactions", "CASEHUB_BENCH_OPEN_INTERACTIONS", 1_000, "calls left waiting in a queue without agents")
	f.Int(&o.GetRate, "get-rate", "CASEHUB_BENCH_GET_RATE", 50, "API GETs per second while all that waits")
	f.Dur(&o.GetDuration, "get-duration", "CASEHUB_BENCH_GET_DURATION", 10*time.Second, "for how long")
	f.Bool(&o.NoCodec, "no-codec", "CASEHUB_BENCH_NO_CODEC", false, "run casehub with its Temporal payloads in clear (to measure what sealing them costs)")
	f.Bool(&s.inProcess, "in-process-worker", "CASEHUB_BENCH_IN_PROCESS_WORKER", false, "run the casehub worker in this process instead of as a child process (one worker)")
	f.Str(&s.out, "out", "CASEHUB_BENCH_OUT", filepath.Join(".data", "bench-results.json"), "where to write the results as JSON")
	f.Str(&s.logLevel, "log-level", "CASEHUB_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Workers < 1 {
		return nil, errors.New("--workers: at least 1")
	}
	if !s.inProcess {
		if s.casehubBin == "" {
			s.casehubBin = defaultCasehubBin(self)
		}
		if _, err := os.Stat(s.casehubBin); err != nil {
			return nil, fmt.Errorf("the casehub binary for the workers: %w (`make build` builds .bin/casehub; or set --casehub-bin)", err)
		}
		o.WorkerCommand = []string{s.casehubBin, "worker"}
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// defaultCasehubBin is the casehub next to self (both are built into .bin),
// else .bin/casehub.
func defaultCasehubBin(self string) string {
	if self != "" {
		p := filepath.Join(filepath.Dir(self), "casehub")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return filepath.Join(".bin", "casehub")
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		self = ""
	}
	s, err := parseFlags(args, getenv, self)
	if err != nil {
		return err
	}
	s.opts.Logger = cli.Logger(s.logLevel, "text")

	res, runErr := bench.Run(ctx, s.opts)
	if len(res.Metrics) > 0 || len(res.Counts) > 0 {
		bench.WriteTable(stdout, res)
	}
	if err := writeJSON(s.out, res); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(stdout, "\nresults: %s\n", s.out)
	return runErr
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
