package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cluster"
	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/cti/ctisim"
	"github.com/casehub/casehub/devserver"
	"github.com/casehub/casehub/events"
	"github.com/casehub/casehub/schema"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/worker"
)

// ctiSecret signs the simulator's events to the bench's API.
const ctiSecret = "bench-cti-secret"

// system is every part the bench drives, all on 127.0.0.1.
type system struct {
	opts   Options
	log    *slog.Logger
	runID  string
	tmp    string
	server ServerInfo

	temporal   *devserver.Server // the dev server the bench started, if it did
	cluster    *cluster.Cluster  // the cluster the bench started, if it did
	clusterDBs *cluster.Options  // its databases, dropped by stop
	keepTmp    bool              // the cluster failed to start: its logs stay in tmp
	client     client.Client     // casehub's side: payloads sealed unless Options.NoCodec
	bareClient client.Client     // the bare side: plain Temporal
	codecKeys  string            // the worker's CASEHUB_CODEC_KEYS ("off" without the codec)

	adminURL string
	dbName   string
	db       *sqlx.DB
	store    *store.Store

	rec    *recorder
	sim    *ctisim.Simulator
	simURL string
	apiURL string
	https  []*http.Server

	workerPIDs []int // the casehub workers' processes (this one's when in-process)
	workerMode string
	children   []*childWorker
	inproc     sdkworker.Worker
	bare       sdkworker.Worker

	http       *http.Client
	stopHub    context.CancelFunc // ends the live event streams
	supervisor string
	integrator string
	numbers    atomic.Int64 // phone numbers handed out so far
}

// Kinds of ServerInfo.
const (
	ServerDev     = "dev_server" // a dev server the bench started
	ServerCluster = "cluster"    // a cluster the bench started
	ServerReused  = "reused"     // a server at Options.TemporalAddress
)

// ServerInfo says which Temporal server the bench ran against and how.
type ServerInfo struct {
	Kind      string   `json:"kind"`
	Address   string   `json:"address"`
	Started   bool     `json:"started_by_bench"`
	CLI       string   `json:"cli,omitempty"`
	Version   string   `json:"cli_version,omitempty"`
	DBFile    string   `json:"db_file,omitempty"`
	TunedArgs []string `json:"tuned_args,omitempty"`
	// A cluster's server release, services (one process each), history
	// shards and PostgreSQL databases (persistence, visibility).
	ServerVersion string   `json:"server_version,omitempty"`
	Services      []string `json:"services,omitempty"`
	Shards        int      `json:"shards,omitempty"`
	Databases     []string `json:"databases,omitempty"`
}

// Name is the kind of server in a few words.
func (s ServerInfo) Name() string {
	switch s.Kind {
	case ServerDev:
		return "Temporal dev server"
	case ServerCluster:
		return "Temporal cluster"
	}
	return "Temporal server at " + s.Address
}

// Describe is the one-line form for the table's header.
func (s ServerInfo) Describe() string {
	switch s.Kind {
	case ServerDev:
		return fmt.Sprintf("dev server from the pinned CLI %s at %s, file-backed SQLite (%s), %s",
			s.Version, s.Address, s.DBFile, strings.Join(tunedSettings(s.TunedArgs), ", "))
	case ServerCluster:
		return fmt.Sprintf("cluster of the pinned server %s at %s: %s as separate processes, %d history shards, "+
			"PostgreSQL persistence and SQL visibility (databases %s, created for this run and dropped after it)",
			s.ServerVersion, s.Address, strings.Join(s.Services, ", "), s.Shards, strings.Join(s.Databases, ", "))
	}
	return s.Address + " (reused; its settings are whatever it was started with)"
}

// tunedSettings renders devserver.TunedArgs as name=value settings.
func tunedSettings(args []string) []string {
	var out []string
	for i := 0; i+1 < len(args); i += 2 {
		out = append(out, args[i+1])
	}
	return out
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// start brings the system up. On error, stop undoes what was started.
func (s *system) start(ctx context.Context) error {
	var err error
	if s.tmp, err = os.MkdirTemp("", "casehub-bench-"); err != nil {
		return err
	}
	s.http = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	if err := s.startTemporal(ctx); err != nil {
		return err
	}
	if err := s.createDatabase(ctx); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(s.opts.LogOutput, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// casehub's side seals its payloads as in production (unless the
	// options turn the codec off); the bare side is plain Temporal.
	copts := client.Options{HostPort: s.server.Address, Namespace: s.opts.Namespace,
		Logger: log.NewStructuredLogger(quiet.With("component", "temporal"))}
	s.bareClient, err = client.DialContext(ctx, copts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", s.server.Address, err)
	}
	s.codecKeys = "off"
	if !s.opts.NoCodec {
		if s.codecKeys, err = codec.NewKeyLine("bench"); err != nil {
			return err
		}
		keys, err := codec.ParseKeys(s.codecKeys)
		if err != nil {
			return err
		}
		copts.DataConverter = codec.DataConverter(keys)
	}
	// casehub's own connection, as `casehub api` dials it by default: no
	// gzip (its payloads are sealed). The bare side keeps the SDK's default.
	copts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	s.client, err = client.DialContext(ctx, copts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", s.server.Address, err)
	}
	if err := worker.RegisterSearchAttributes(ctx, s.client, s.opts.Namespace); err != nil {
		return err
	}
	for role, tok := range map[auth.Role]*string{auth.RoleSupervisor: &s.supervisor, auth.RoleIntegration: &s.integrator} {
		if *tok, _, err = auth.Issue(ctx, s.store, role, "", "casehub bench"); err != nil {
			return fmt.Errorf("issue %s token: %w", role, err)
		}
	}

	// The API and the simulator on free ports, real HTTP both ways: the
	// simulator posts signed events to the API, the worker and the API send
	// the simulator commands.
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		apiLn.Close()
		return err
	}
	s.apiURL, s.simURL = "http://"+apiLn.Addr().String(), "http://"+simLn.Addr().String()
	s.rec = newRecorder()
	s.sim = ctisim.New(ctisim.Config{
		EventsURL: s.apiURL + "/v1/cti/events", Secret: ctiSecret, Token: s.integrator,
		RingTime: 100 * time.Millisecond, AgentAnswerDelay: 20 * time.Millisecond,
		// Callbacks' dials find a busy line, so each closes after its one attempt.
		DefaultOutcome: ctisim.Outcome{Kind: ctisim.OutcomeBusy, After: 50 * time.Millisecond},
		Logger:         quiet.With("component", "cti-sim"),
	})
	// Live events as an API process serves them (LISTEN and the events table).
	hub := events.NewHub(s.db, s.adminURL, quiet.With("component", "events"))
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	s.stopHub = stopHub
	go func() {
		if err := hub.Run(hubCtx); err != nil {
			s.log.Warn("live events", "err", err)
		}
	}()
	handler := api.NewServer(api.Deps{Store: s.store, Temporal: s.client, Logger: quiet.With("component", "api"), Events: hub,
		CTISecret: []byte(ctiSecret), CTI: cti.NewHTTPAdapter(s.simURL, ""),
		Interactions: api.InteractionSettings{CreateInteraction: true, CallerID: "+12025550100"}})
	s.serve(apiLn, handler)
	s.serve(simLn, s.rec.wrap(s.sim.Handler()))

	if err := s.startWorker(ctx, quiet); err != nil {
		return err
	}
	s.bare = newBareWorker(s.bareClient, s.db)
	if err := s.bare.Start(); err != nil {
		s.bare = nil
		return fmt.Errorf("start bare worker: %w", err)
	}
	return nil
}

func (s *system) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.https = append(s.https, srv)
	go func() { _ = srv.Serve(ln) }()
}

// setup is the server and the workers in a few words.
func (s *system) setup() string {
	workers := "1 casehub worker"
	if n := len(s.workerPIDs); n != 1 {
		workers = fmt.Sprintf("%d casehub workers", n)
	}
	if s.inproc != nil {
		workers += " (in-process)"
	}
	return s.server.Name() + ", " + workers
}

func (s *system) startTemporal(ctx context.Context) error {
	if s.opts.TemporalAddress != "" {
		s.server = ServerInfo{Kind: ServerReused, Address: s.opts.TemporalAddress}
		return nil
	}
	if s.opts.Cluster {
		return s.startCluster(ctx)
	}
	cli := s.opts.TemporalCLI
	if cli == "" {
		var err error
		if cli, err = devserver.FindCLI(ctx, "."); err != nil {
			return err
		}
	}
	dbFile := filepath.Join(s.tmp, "temporal.db")
	logFile, err := os.Create(filepath.Join(s.tmp, "temporal.log"))
	if err != nil {
		return err
	}
	s.log.Info("starting Temporal dev server", "cli", cli, "db", dbFile)
	srv, err := devserver.Start(ctx, devserver.Options{CLIPath: cli, Headless: true, DBFile: dbFile,
		Namespace: s.opts.Namespace, LogLevel: "error", Output: logFile})
	if err != nil {
		return err
	}
	s.temporal = srv
	s.server = ServerInfo{Kind: ServerDev, Address: srv.HostPort, Started: true, CLI: cli, Version: devserver.CLIVersion, DBFile: dbFile, TunedArgs: devserver.TunedArgs()}
	return nil
}

// createDatabase makes the bench's own database and migrates it; stop
// drops it.
func (s *system) createDatabase(ctx context.Context) error {
	admin, err := sql.Open("postgres", s.opts.AdminDatabaseURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w (set --admin-database-url)", redact(s.opts.AdminDatabaseURL), err)
	}
	name := s.databaseName()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	s.dbName = name
	if s.adminURL, err = s.databaseURL(name); err != nil {
		return err
	}
	cfg := store.DefaultConfig(s.adminURL)
	if s.db, err = store.Open(ctx, cfg); err != nil {
		return err
	}
	if _, err := schema.Up(ctx, s.db.DB); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, benchRowsTable); err != nil {
		return fmt.Errorf("create bench_rows: %w", err)
	}
	s.store = store.New(s.db, 10*time.Second)
	return nil
}

// childWorker is a casehub worker the bench runs as a child process.
type childWorker struct {
	cmd        *exec.Cmd
	done       chan struct{}
	metricsURL string
}

// startWorker runs the casehub workers: Options.Workers child processes
// when the options name a command (so that their memory is their own), else
// one in this process.
func (s *system) startWorker(ctx context.Context, quiet *slog.Logger) error {
	if len(s.opts.WorkerCommand) == 0 {
		acts := &activities.Activities{Store: s.store, Temporal: s.client, CTI: cti.NewHTTPAdapter(s.simURL, "")}
		s.inproc = worker.New(s.client, acts, worker.Options{DeadlockDetectionTimeout: time.Minute})
		if err := s.inproc.Start(); err != nil {
			s.inproc = nil
			return fmt.Errorf("start worker: %w", err)
		}
		s.workerPIDs, s.workerMode = []int{os.Getpid()}, "in-process (RSS and CPU include the API, simulator and bench drivers)"
		return nil
	}
	var pids []string
	for range s.opts.Workers {
		w, err := s.startChild()
		if err != nil {
			return err
		}
		s.children = append(s.children, w)
		s.workerPIDs = append(s.workerPIDs, w.cmd.Process.Pid)
		pids = append(pids, strconv.Itoa(w.cmd.Process.Pid))
	}
	what := "child process"
	if len(s.children) > 1 {
		what = fmt.Sprintf("%d child processes", len(s.children))
	}
	s.workerMode = fmt.Sprintf("%s `%s worker` (pid %s)", what, filepath.Base(s.opts.WorkerCommand[0]), strings.Join(pids, ", "))
	if len(s.children) > 1 {
		s.workerMode += "; CPU and RSS are the sums over the workers"
	}
	// Ready once each serves its metrics (it registers search attributes first).
	deadline := time.Now().Add(60 * time.Second)
	for i, w := range s.children {
		if err := s.waitReady(ctx, w, deadline); err != nil {
			return fmt.Errorf("casehub worker %d of %d: %w", i+1, len(s.children), err)
		}
	}
	return nil
}

// startChild starts one casehub worker process with a metrics port of its own.
func (s *system) startChild() (*childWorker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	args := append(append([]string{}, s.opts.WorkerCommand[1:]...),
		"--database-url", s.adminURL, "--temporal-address", s.server.Address, "--temporal-namespace", s.opts.Namespace,
		"--cti-url", s.simURL, "--metrics-addr", metricsAddr, "--log-level", "warn", "--codec-keys", s.codecKeys)
	cmd := exec.Command(s.opts.WorkerCommand[0], args...)
	cmd.Stdout, cmd.Stderr = s.opts.LogOutput, s.opts.LogOutput
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", s.opts.WorkerCommand[0], err)
	}
	w := &childWorker{cmd: cmd, done: make(chan struct{}), metricsURL: "http://" + metricsAddr + "/metrics"}
	go func() { _ = cmd.Wait(); close(w.done) }()
	return w, nil
}

func (s *system) waitReady(ctx context.Context, w *childWorker, deadline time.Time) error {
	for time.Now().Before(deadline) {
		resp, err := s.http.Get(w.metricsURL)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-w.done:
			return errors.New("it exited while starting; see its log above")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("it did not start in 60 s")
}

// stop takes everything down in order: drivers are done; the workers stop
// before the database goes away, and Temporal last.
func (s *system) stop() {
	for _, w := range s.children {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, w := range s.children {
		select {
		case <-w.done:
		case <-time.After(20 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	}
	if s.inproc != nil {
		s.inproc.Stop()
	}
	if s.bare != nil {
		s.bare.Stop()
	}
	if s.stopHub != nil {
		s.stopHub()
	}
	for _, h := range s.https {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = h.Shutdown(ctx)
		cancel()
	}
	if s.sim != nil {
		s.sim.Close()
	}
	if s.client != nil {
		s.client.Close()
	}
	if s.bareClient != nil {
		s.bareClient.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.dbName != "" {
		s.dropDatabase()
	}
	if s.temporal != nil {
		if err := s.temporal.Stop(); err != nil {
			s.log.Warn("stop Temporal dev server", "err", err)
		}
	}
	s.stopCluster()
	if s.tmp != "" && !s.keepTmp {
		_ = os.RemoveAll(s.tmp)
	}
}

// databaseName is the name of the run's own casehub database.
func (s *system) databaseName() string { return "casehub_bench_" + s.runID }

// databaseURL is the admin URL with its database replaced by name.
func (s *system) databaseURL(name string) (string, error) {
	u, err := url.Parse(s.opts.AdminDatabaseURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func (s *system) dropDatabase() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", s.opts.AdminDatabaseURL)
	if err != nil {
		return
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(s.dbName)+" WITH (FORCE)"); err != nil {
		s.log.Warn("drop bench database", "db", s.dbName, "err", err)
	}
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// ---- talking to the parts ----

// do sends a request to base+path as token; out, when given, receives a
// successful answer's body.
func (s *system) do(ctx context.Context, method, base, path, token string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// api calls the casehub API and requires the status.
func (s *system) api(ctx context.Context, want int, method, path, token string, body, out any) error {
	st, err := s.do(ctx, method, s.apiURL, path, token, body, out)
	if err != nil {
		return err
	}
	if st != want {
		return fmt.Errorf("%s %s: status %d, want %d", method, path, st, want)
	}
	return nil
}

// ring plays a customer calling queue through the simulator and returns
// the call's id.
func (s *system) ring(ctx context.Context, queue string) (string, error) {
	var call struct {
		ID string `json:"id"`
	}
	st, err := s.do(ctx, http.MethodPost, s.simURL, "/sim/inbound-calls", "",
		ctisim.InboundCall{From: s.nextNumber(), To: "+12025550100", Queue: queue}, &call)
	if err != nil {
		return "", err
	}
	if st != http.StatusCreated {
		return "", fmt.Errorf("simulator refused the call: status %d", st)
	}
	return call.ID, nil
}

// countWorkflows counts the processes visibility finds for query.
func (s *system) countWorkflows(ctx context.Context, query string) (int, error) {
	resp, err := s.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: s.opts.Namespace, Query: query})
	if err != nil {
		return 0, err
	}
	return int(resp.GetCount()), nil
}

// countRows runs a count query on the bench's database.
func (s *system) countRows(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, query, args...)
	return n, err
}

var areaCodes = []int{202, 303, 404, 415, 512, 617, 713, 818}

// nextNumber hands out a new customer number, a valid US number each time,
// so that no two calls or callbacks of a run share one.
func (s *system) nextNumber() string {
	n := s.numbers.Add(1)
	return fmt.Sprintf("+1%d%03d%04d", areaCodes[(n/8_000_000)%int64(len(areaCodes))], 200+(n/10_000)%800, n%10_000)
}
