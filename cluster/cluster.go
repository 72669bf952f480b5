// Package cluster runs casehub on a Temporal cluster on one machine: the
// Temporal server pinned in tools/go.mod as separate frontend, history,
// matching and worker processes over PostgreSQL (persistence and SQL
// visibility), the Temporal Web UI, and casehub as it is deployed: several
// worker processes and several API replicas behind one address. `casehub
// cluster` runs it for people; the end-to-end tests run it with
// CASEHUB_TEST_CLUSTER=1.
//
// Everything durable is in PostgreSQL, so a cluster stopped and started
// again resumes: the schema tool's steps are idempotent and an existing
// namespace is kept.
package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/devserver"
)

// Defaults of Options.
const (
	DefaultShards       = 4
	DefaultNamespace    = "default"
	DefaultRetention    = 24 * time.Hour
	DefaultTemporalDB   = "casehub_temporal"
	DefaultVisibilityDB = "casehub_temporal_visibility"
)

// Options says what to run and where.
type Options struct {
	ServerBin  string // temporal-server (devserver.FindServer)
	SQLToolBin string // temporal-sql-tool (devserver.FindSQLTool)
	UIBin      string // temporal-ui (devserver.FindUI); "" runs no Web UI
	CasehubBin string // the casehub binary: migrate, worker, api, cti-sim

	// StateDir holds the generated configuration and every process's log.
	StateDir string
	// AdminURL is a PostgreSQL URL whose user may create databases; the
	// Temporal databases are made on its server.
	AdminURL     string
	TemporalDB   string // default DefaultTemporalDB
	VisibilityDB string // default DefaultVisibilityDB
	DatabaseURL  string // casehub's own database

	// Shards is the number of history shards, fixed when the persistence
	// database is first used: a later start must give the same number.
	Shards    int
	Namespace string        // default DefaultNamespace
	Retention time.Duration // of closed workflows in Namespace; default DefaultRetention
	LogLevel  string        // of the Temporal services; default "warn"

	Ports Ports

	// Env is added to the environment of every casehub process: payload
	// keys, the CTI webhook secret, log level and the like.
	Env []string
	// Logger hears of casehub processes that exited and are started again;
	// nil discards.
	Logger *slog.Logger
	// SimArgs are extra flags for `casehub cti-sim serve`.
	SimArgs []string
}

// ServicePorts are one Temporal service's ports.
type ServicePorts struct {
	GRPC       int
	Membership int // ringpop, among the services
	Metrics    int // Prometheus /metrics; 0 is off
}

// Ports is where everything listens, all on 127.0.0.1.
type Ports struct {
	Frontend, History, Matching, Worker ServicePorts
	FrontendHTTP                        int // the frontend's HTTP API
	UI                                  int // the Temporal Web UI
	API                                 int // the proxy over the API replicas: casehub's one address
	APIs                                []int
	WorkerMetrics                       []int // each casehub worker's /metrics and /readyz
	Sim                                 int
}

// DefaultPorts are `casehub cluster`'s ports, clear of `casehub dev`'s
// (7233, 8233, 8080, 8090, 9090).
func DefaultPorts() Ports {
	return Ports{
		Frontend:      ServicePorts{GRPC: 7633, Membership: 6633, Metrics: 9633},
		History:       ServicePorts{GRPC: 7634, Membership: 6634, Metrics: 9634},
		Matching:      ServicePorts{GRPC: 7635, Membership: 6635, Metrics: 9635},
		Worker:        ServicePorts{GRPC: 7639, Membership: 6639, Metrics: 9639},
		FrontendHTTP:  7643,
		UI:            8333,
		API:           8180,
		APIs:          []int{8181, 8182},
		WorkerMetrics: []int{9181, 9182},
		Sim:           8190,
	}
}

// FreePorts picks free ports for a cluster with the given number of API
// replicas and workers (the tests' clusters, beside anything else).
// Membership ports are kept below 32768: Temporal stores them in a
// smallint column, and the kernel's free ports are usually above.
func FreePorts(apis, workers int) (Ports, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var err error
	next := func(low bool) int {
		for range 100 {
			a := "127.0.0.1:0"
			if low {
				a = addr(20000 + mrand.IntN(12768))
			}
			l, lerr := net.Listen("tcp", a)
			if lerr != nil {
				if !low {
					err = lerr
					return 0
				}
				continue
			}
			ls = append(ls, l)
			return l.Addr().(*net.TCPAddr).Port
		}
		err = errors.New("no free port below 32768")
		return 0
	}
	svc := func() ServicePorts {
		return ServicePorts{GRPC: next(false), Membership: next(true), Metrics: next(false)}
	}
	p := Ports{Frontend: svc(), History: svc(), Matching: svc(), Worker: svc(),
		FrontendHTTP: next(false), UI: next(false), API: next(false), Sim: next(false)}
	for range apis {
		p.APIs = append(p.APIs, next(false))
	}
	for range workers {
		p.WorkerMetrics = append(p.WorkerMetrics, next(false))
	}
	if err != nil {
		return Ports{}, fmt.Errorf("find free ports: %w", err)
	}
	return p, nil
}

// Cluster is a running cluster.
type Cluster struct {
	o        Options
	services []*process // the Temporal services, in start order
	ui       *devserver.UI
	workers  []*supervised
	apis     []*supervised
	sim      *supervised
	logger   *slog.Logger
	proxy    *proxy
	logDir   string
	files    []*os.File
	stopped  bool

	// Where to reach it.
	FrontendAddr string   // Temporal's frontend, host:port
	UIURL        string   // the Temporal Web UI; "" without one
	APIURL       string   // the proxy over the API replicas
	APIURLs      []string // each replica
	SimURL       string   // the CTI simulator
}

func (o *Options) defaults() error {
	if o.TemporalDB == "" {
		o.TemporalDB = DefaultTemporalDB
	}
	if o.VisibilityDB == "" {
		o.VisibilityDB = DefaultVisibilityDB
	}
	if o.Shards == 0 {
		o.Shards = DefaultShards
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.StateDir == "" || o.AdminURL == "" || o.DatabaseURL == "" {
		return errors.New("cluster: StateDir, AdminURL and DatabaseURL are required")
	}
	if len(o.Ports.APIs) == 0 || len(o.Ports.WorkerMetrics) == 0 {
		return errors.New("cluster: at least one API replica and one worker")
	}
	var err error
	o.StateDir, err = filepath.Abs(o.StateDir)
	return err
}

// StartTemporal sets up the Temporal databases and starts the Temporal
// services and the Web UI; StartCasehub then starts casehub on them.
func StartTemporal(ctx context.Context, o Options) (*Cluster, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	c := &Cluster{o: o, logDir: filepath.Join(o.StateDir, "logs"), logger: o.Logger,
		FrontendAddr: addr(o.Ports.Frontend.GRPC)}
	if err := os.MkdirAll(c.logDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", c.logDir, err)
	}
	if err := c.setupDatabases(ctx); err != nil {
		return nil, err
	}
	if err := c.startServices(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.setupNamespace(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	if o.UIBin != "" {
		ui, err := devserver.StartUI(ctx, devserver.UIOptions{
			Bin: o.UIBin, Port: o.Ports.UI, TemporalAddress: c.FrontendAddr,
			CodecEndpoint: "http://" + addr(o.Ports.API) + "/codec", Namespace: o.Namespace,
			ConfigDir: filepath.Join(o.StateDir, "temporal-ui"), Output: c.logFile("temporal-ui"),
		})
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.ui, c.UIURL = ui, ui.URL
	}
	return c, nil
}

// Dial connects a Temporal client to the cluster's frontend.
func (c *Cluster) Dial(ctx context.Context, opts client.Options) (client.Client, error) {
	opts.HostPort = c.FrontendAddr
	if opts.Namespace == "" {
		opts.Namespace = c.o.Namespace
	}
	return client.DialContext(ctx, opts)
}

// Exited reports the first Temporal service that exits on its own: the
// cluster cannot go on without it. (casehub's processes are started again
// when they exit.)
func (c *Cluster) Exited() <-chan error {
	out := make(chan error, 1)
	for _, p := range c.services {
		go func() {
			<-p.exited
			select {
			case out <- p.exitedErr():
			default:
			}
		}()
	}
	return out
}

// Stop stops everything in order: the proxy (no new requests), the API
// replicas, the workers, the simulator, the Web UI, and Temporal last, each
// asked to stop and given time to.
func (c *Cluster) Stop() {
	if c.stopped {
		return
	}
	c.stopped = true
	if c.proxy != nil {
		c.proxy.close()
	}
	stopAll(c.apis, 30*time.Second)
	stopAll(c.workers, 30*time.Second)
	if c.sim != nil {
		stopAll([]*supervised{c.sim}, 10*time.Second)
	}
	if c.ui != nil {
		_ = c.ui.Stop()
	}
	// Temporal's own worker first, then the frontend (no new requests),
	// then matching and history.
	for i := len(c.services) - 1; i >= 0; i-- {
		c.services[i].stop(30 * time.Second)
	}
	for _, f := range c.files {
		f.Close()
	}
}

// Reset drops the cluster's databases (Temporal's two and casehub's) and
// removes its state directory: the next start begins afresh.
func Reset(ctx context.Context, o Options) error {
	if err := DropDatabases(ctx, o); err != nil {
		return err
	}
	return os.RemoveAll(o.StateDir)
}

// DropDatabases drops the cluster's databases, Temporal's two and casehub's.
func DropDatabases(ctx context.Context, o Options) error {
	if err := o.defaults(); err != nil {
		return err
	}
	for _, u := range []string{dbURL(o.AdminURL, o.TemporalDB), dbURL(o.AdminURL, o.VisibilityDB), o.DatabaseURL} {
		if err := dropDatabase(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// stopAll interrupts every process at once, then waits for each (and
// kills one that takes longer than grace).
func stopAll(ps []*supervised, grace time.Duration) {
	var stopping []*process
	for _, s := range ps {
		stopping = append(stopping, s.interrupt())
	}
	for _, p := range stopping {
		p.wait(grace)
	}
}

// LogDir is where every process of the cluster writes its log.
func (c *Cluster) LogDir() string { return c.logDir }

// logFile opens a log for output written by this process's children
// through devserver (the Web UI); Stop closes it.
func (c *Cluster) logFile(name string) io.Writer {
	f, err := os.OpenFile(filepath.Join(c.logDir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return io.Discard
	}
	c.files = append(c.files, f)
	return f
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// waitFor polls check every 200 ms until it succeeds, ctx ends or one of
// procs exits.
func waitFor(ctx context.Context, what string, limit time.Duration, procs []*process, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		err := check(cctx)
		ccancel()
		if err == nil {
			return nil
		}
		for _, p := range procs {
			select {
			case <-p.exited:
				return p.exitedErr()
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, errors.Join(ctx.Err(), err))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// dropDatabase drops the database databaseURL names, if it exists,
// closing the sessions still on it.
func dropDatabase(ctx context.Context, databaseURL string) error {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("parse database URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// Exists says whether the cluster's persistence database is there: the
// cluster has been started before (and holds workflows).
func Exists(ctx context.Context, o Options) (bool, error) {
	if err := o.defaults(); err != nil {
		return false, err
	}
	db, err := sql.Open("postgres", o.AdminURL)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var exists bool
	err = db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, o.TemporalDB).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("look up database %s: %w (is PostgreSQL running?)", o.TemporalDB, err)
	}
	return exists, nil
}
