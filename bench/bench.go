// Package bench measures casehub against bare Temporal on one machine, in
// one run and on the same server: how many inbound calls it handles end to
// end per second, how long an agent's step takes through the API, how soon
// routing offers work, how punctually scheduled callbacks dial, and what a
// worker holding thousands of waiting processes costs in memory.
//
// Everything runs on 127.0.0.1: a Temporal dev server from the pinned CLI,
// a Temporal cluster of the run's own (package cluster) or a server given
// by address, a fresh PostgreSQL database created and dropped by the run,
// the casehub workers, the API and the CTI simulator over real HTTP. Comparisons run in alternating blocks (casehub, bare,
// casehub, bare, ...) and every arm ends with a count check.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// Options size and place a run. Zero values take the defaults.
type Options struct {
	// TemporalAddress reuses a running server; empty starts a dev server
	// (or, with Cluster, a cluster).
	TemporalAddress string `json:"temporal_address,omitempty"`
	// TemporalCLI is the temporal binary (default: devserver.FindCLI).
	TemporalCLI string `json:"-"`
	Namespace   string `json:"namespace"`
	// Cluster runs the bench on a Temporal cluster it starts (package
	// cluster: the server's services as separate processes over fresh
	// PostgreSQL databases of the run's own, dropped afterwards) instead of
	// a dev server.
	Cluster bool `json:"cluster"`
	// ServerBin and SQLToolBin are the cluster's Temporal server and schema
	// tool (default: devserver.FindServer, devserver.FindSQLTool).
	ServerBin  string `json:"-"`
	SQLToolBin string `json:"-"`
	// AdminDatabaseURL is a PostgreSQL server where the bench may create
	// and drop its database.
	AdminDatabaseURL string `json:"-"`
	// WorkerCommand runs the casehub worker as a child process (the binary
	// and its "worker" argument); empty runs it in this process.
	WorkerCommand []string `json:"-"`
	// Workers is how many casehub worker processes run (default 1); more
	// than one needs WorkerCommand.
	Workers int `json:"workers"`
	// NoCodec runs casehub with its payloads in clear (to measure what the
	// payload codec costs); by default they are sealed as in production.
	NoCodec bool `json:"no_codec"`

	Concurrency        int           `json:"concurrency"`         // calls in flight, and agents (default 10)
	Calls              int           `json:"calls"`               // calls per throughput arm (default 200)
	Blocks             int           `json:"blocks"`              // A/B blocks (default 3)
	StepSamples        int           `json:"step_samples"`        // agent steps per arm (default 200)
	DispatchSamples    int           `json:"dispatch_samples"`    // offers measured, half of each kind (default 40)
	EventAgents        int           `json:"event_agents"`        // agents with a live event stream open (default 200)
	EventSamples       int           `json:"event_samples"`       // offers timed to the agent's stream (default 100)
	ScheduledCallbacks int           `json:"scheduled_callbacks"` // callbacks dialled for precision (default 20)
	ScheduledAhead     time.Duration `json:"scheduled_ahead"`     // how far ahead they are scheduled (default 3s)
	OpenCallbacks      int           `json:"open_callbacks"`      // callbacks left waiting for the memory reading (default 10,000)
	OpenInteractions   int           `json:"open_interactions"`   // calls left waiting in a queue without agents (default 1,000)
	GetRate            int           `json:"get_rate"`            // API GETs per second under scale (default 50)
	GetDuration        time.Duration `json:"get_duration"`        // for how long (default 10s)
	// AnswerSamples is how many calls, chats and agent-first callbacks
	// (each) are answered the instant their offer shows; ReservedCallbacks
	// how many customer-first callbacks are answered by the customer. Zero:
	// a fifth of Calls, from 6 to 40.
	AnswerSamples     int `json:"answer_samples"`
	ReservedCallbacks int `json:"reserved_callbacks"`

	Logger    *slog.Logger `json:"-"` // the bench's progress (default slog.Default())
	LogOutput io.Writer    `json:"-"` // warnings of the worker, API and simulator (default stderr)
}

// DefaultAdminURL is where the bench finds PostgreSQL by default.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Workers, 1)
	def(&o.Concurrency, 10)
	def(&o.Calls, 200)
	def(&o.Blocks, 3)
	def(&o.StepSamples, 200)
	def(&o.DispatchSamples, 40)
	def(&o.EventAgents, 200)
	def(&o.EventSamples, 100)
	def(&o.ScheduledCallbacks, 20)
	def(&o.OpenCallbacks, 10_000)
	def(&o.OpenInteractions, 1_000)
	def(&o.GetRate, 50)
	def(&o.AnswerSamples, min(max(o.Calls/5, 6), 40))
	def(&o.ReservedCallbacks, o.AnswerSamples)
	if o.ScheduledAhead <= 0 {
		o.ScheduledAhead = 3 * time.Second
	}
	if o.GetDuration <= 0 {
		o.GetDuration = 10 * time.Second
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.AdminDatabaseURL == "" {
		o.AdminDatabaseURL = DefaultAdminURL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LogOutput == nil {
		o.LogOutput = os.Stderr
	}
	return o
}

// Validate refuses options that cannot run together.
func (o Options) Validate() error {
	switch {
	case o.Cluster && o.TemporalAddress != "":
		return errors.New("a cluster of the bench's own or a server at an address, not both")
	case o.Workers < 0:
		return errors.New("workers: at least one (zero is the default, one)")
	case o.Workers > 1 && len(o.WorkerCommand) == 0:
		return errors.New("more than one worker runs as child processes only (not in this process)")
	}
	return nil
}

// Results is everything a run measured; WriteTable prints it and it
// encodes to the JSON report.
type Results struct {
	RunID     string    `json:"run_id"`
	StartedAt time.Time `json:"started_at"`
	Seconds   float64   `json:"seconds"`
	Machine   Machine   `json:"machine"`
	// Setup is which server and how many workers, in a few words.
	Setup      string     `json:"setup"`
	Server     ServerInfo `json:"temporal"`
	WorkerMode string     `json:"worker"`
	Options    Options    `json:"options"`
	// Shape is what one inbound call's process did in Temporal (the warm-up
	// call's history, and what the warm-up calls brought the agent's
	// process); the bare process mirrors it (see InteractionShape.bare).
	Shape InteractionShape `json:"interaction_shape"`
	// TwinShape is what a bare process mirroring it did (the warm-up's).
	TwinShape InteractionShape `json:"twin_shape"`
	Metrics   []Metric         `json:"metrics"`
	Counts    []CountCheck     `json:"count_checks"`
	CPU       []CPUUse         `json:"cpu"`
	// Blocks holds each block's raw values, for the ratios' spread.
	Blocks []Block `json:"blocks"`
	// Answers is what the API did with offers answered the instant they
	// showed; Reservation how long customer-first callbacks held agents.
	Answers       *AnswersResult     `json:"immediate_answers,omitempty"`
	Reservation   *ReservationResult `json:"customer_first_reservation,omitempty"`
	WorkerMetrics []string           `json:"worker_metrics,omitempty"`
	Notes         []string           `json:"notes,omitempty"`
}

// Block is one A/B block's values.
type Block struct {
	N               int     `json:"n"`
	CasehubRate     float64 `json:"casehub_calls_per_s"`
	BareRate        float64 `json:"bare_processes_per_s"`
	CasehubCallLat  Latency `json:"casehub_call_latency"`
	BareProcessLat  Latency `json:"bare_process_latency"`
	CasehubStep     Latency `json:"casehub_step"`
	BareUpdate      Latency `json:"bare_update"`
	ThroughputRatio float64 `json:"throughput_ratio"`
	ReferenceRate   float64 `json:"reference_processes_per_s"`
	ReferenceRatio  float64 `json:"reference_ratio"`
	StepRatioP50    float64 `json:"step_ratio_p50"`
	StepRatioP99    float64 `json:"step_ratio_p99"`
	// The same step against bare updates that write their row as a local
	// activity, the shape of a casehub note.
	BareLocalUpdate   Latency `json:"bare_local_update"`
	StepLocalRatioP50 float64 `json:"step_local_ratio_p50"`
	StepLocalRatioP99 float64 `json:"step_local_ratio_p99"`
	CasehubStepError  string  `json:"casehub_step_error,omitempty"`
	// The same note sent straight to a process as an SDK Update, with each
	// POST (to walk-ins of its own): the process's part of the step, against
	// the local-activity update; the rest of the POST (HTTP, the token and
	// the record read) is the API's part, given as its share of the POST's
	// p50.
	CasehubStepStraight   Latency `json:"casehub_step_straight"`
	StraightLocalRatioP50 float64 `json:"straight_local_ratio_p50"`
	APIShareP50           float64 `json:"api_share_p50"`
}

// bencher runs the measurements on a started system into res.
type bencher struct {
	s   *system
	res *Results
}

// Run starts the system, measures, and takes it all down again. It returns
// the results even when it fails part way, with the error; a count
// mismatch is an error wrapping ErrCountMismatch. The results' Seconds
// include taking the system down.
func Run(ctx context.Context, o Options) (res Results, err error) {
	if err := o.Validate(); err != nil {
		return Results{Options: o}, err
	}
	o = o.withDefaults()
	s := &system{opts: o, log: o.Logger, runID: newRunID()}
	res = Results{RunID: s.runID, StartedAt: time.Now().UTC(), Machine: machine(), Options: o}
	defer func() { res.Seconds = time.Since(res.StartedAt).Seconds() }()
	defer s.stop()
	if err := s.start(ctx); err != nil {
		return res, err
	}
	res.Setup, res.Server, res.WorkerMode = s.setup(), s.server, s.workerMode
	b := &bencher{s: s, res: &res}
	phases := []struct {
		name string
		run  func(context.Context) error
	}{
		{"warm-up", b.warmUp},
		{"A/B blocks", b.blocks},
		{"dispatch", b.dispatch},
		{"live events", b.liveEvents},
		{"offers answered at once", b.answers},
		{"scheduled callbacks", b.scheduled},
		{"scale", b.scale},
	}
	// The warm-up must work (the bare process copies its shape); a later
	// phase that fails is reported and the others still run.
	var errs []error
	for i, p := range phases {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		o.Logger.Info("bench phase", "phase", p.name)
		if perr := p.run(ctx); perr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.name, perr))
			o.Logger.Error("bench phase failed", "phase", p.name, "err", perr)
			b.note("%s failed: %v", p.name, perr)
			if i == 0 {
				break
			}
		}
	}
	err = errors.Join(errs...)
	b.collectWorkerMetrics(ctx)
	if !s.server.Started { // a dev server or a cluster the bench started goes away whole
		s.terminateLeftovers(context.WithoutCancel(ctx))
	}
	for i := range res.Metrics {
		res.Metrics[i].Met = res.Metrics[i].met()
	}
	return res, errors.Join(err, countFailures(res.Counts))
}

// arm brackets one measured arm with CPU samples.
func (b *bencher) arm(name string, fn func() error) error {
	before, t0 := b.s.sampleCPU(), time.Now()
	err := fn()
	b.res.CPU = append(b.res.CPU, cpuUse(name, time.Since(t0).Seconds(), before, b.s.sampleCPU()))
	return err
}

func (b *bencher) count(c CountCheck, err error) {
	b.res.Counts = append(b.res.Counts, c)
	if err != nil {
		b.s.log.Warn("count check did not settle", "check", c.String(), "err", err)
	}
}

func (b *bencher) note(format string, args ...any) {
	b.res.Notes = append(b.res.Notes, fmt.Sprintf(format, args...))
}
