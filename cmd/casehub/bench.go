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
)

// runBench measures casehub against bare Temporal on this machine and
// prints a table; the full results go to a JSON file.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("casehub bench", flag.ContinueOnError)
	f := envFlags{fs: fs, getenv: getenv}
	var o bench.Options
	var out, logLevel string
	var inProcess bool
	f.str(&o.TemporalAddress, "temporal-address", "CASEHUB_BENCH_TEMPORAL_ADDRESS", "", "reuse the Temporal server at host:port (empty: start a dev server from the pinned CLI in a temp dir)")
	f.str(&o.Namespace, "temporal-namespace", "TEMPORAL_NAMESPACE", "default", "Temporal namespace")
	f.str(&o.TemporalCLI, "temporal-bin", "CASEHUB_TEMPORAL_BIN", "", "Temporal CLI binary (default .bin/temporal, built from tools/go.mod)")
	f.str(&o.AdminDatabaseURL, "admin-database-url", "CASEHUB_BENCH_DATABASE_URL", bench.DefaultAdminURL, "PostgreSQL where the bench creates (and drops) its own database")
	f.int(&o.Concurrency, "concurrency", "CASEHUB_BENCH_CONCURRENCY", 10, "calls in flight in the throughput arms, and agents answering them")
	f.int(&o.Calls, "calls", "CASEHUB_BENCH_CALLS", 200, "calls (and bare processes) per throughput arm")
	f.int(&o.Blocks, "blocks", "CASEHUB_BENCH_BLOCKS", 3, "alternating casehub/bare blocks")
	f.int(&o.StepSamples, "step-samples", "CASEHUB_BENCH_STEP_SAMPLES", 200, "agent steps (and bare updates) per arm")
	f.int(&o.DispatchSamples, "dispatch-samples", "CASEHUB_BENCH_DISPATCH_SAMPLES", 40, "offers timed, half on an agent becoming available, half on a call arriving")
	f.int(&o.EventAgents, "event-agents", "CASEHUB_BENCH_EVENT_AGENTS", 200, "agents with a live event stream open while offers are timed to it")
	f.int(&o.EventSamples, "event-samples", "CASEHUB_BENCH_EVENT_SAMPLES", 100, "offers timed from their booking to the event at the agent's stream")
	f.int(&o.ScheduledCallbacks, "scheduled-callbacks", "CASEHUB_BENCH_SCHEDULED_CALLBACKS", 20, "callbacks scheduled a few seconds ahead to time their dial")
	f.dur(&o.ScheduledAhead, "scheduled-ahead", "CASEHUB_BENCH_SCHEDULED_AHEAD", 3*time.Second, "how far ahead those callbacks are scheduled")
	f.int(&o.OpenCallbacks, "open-callbacks", "CASEHUB_BENCH_OPEN_CALLBACKS", 10_000, "callbacks left waiting for the worker's memory reading")
	f.int(&o.OpenInteractions, "open-interactions", "CASEHUB_BENCH_OPEN_INTERACTIONS", 1_000, "calls left waiting in a queue without agents")
	f.int(&o.GetRate, "get-rate", "CASEHUB_BENCH_GET_RATE", 50, "API GETs per second while all that waits")
	f.dur(&o.GetDuration, "get-duration", "CASEHUB_BENCH_GET_DURATION", 10*time.Second, "for how long")
	f.bool(&o.NoCodec, "no-codec", "CASEHUB_BENCH_NO_CODEC", false, "run casehub with its Temporal payloads in clear (to measure what sealing them costs)")
	f.bool(&inProcess, "in-process-worker", "CASEHUB_BENCH_IN_PROCESS_WORKER", false, "run the casehub worker in this process instead of as a child process")
	f.str(&out, "out", "CASEHUB_BENCH_OUT", filepath.Join(".data", "bench-results.json"), "where to write the results as JSON")
	f.str(&logLevel, "log-level", "CASEHUB_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := &config{LogLevel: logLevel}
	o.Logger = c.logger()
	if !inProcess {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the casehub binary for the worker: %w", err)
		}
		o.WorkerCommand = []string{exe, "worker"}
	}

	res, runErr := bench.Run(ctx, o)
	if len(res.Metrics) > 0 || len(res.Counts) > 0 {
		bench.WriteTable(stdout, res)
	}
	if err := writeJSON(out, res); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(stdout, "\nresults: %s\n", out)
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
