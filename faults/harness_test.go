//go:build faults

// Package faults injects faults into a running casehub and checks that
// nothing was lost and nothing happened twice. The system under test runs
// as separate OS processes of the real binary — cti-sim, api, one or more
// workers — against a PostgreSQL instance and a file-backed Temporal dev
// server that belong to this package alone, so that a kill is a real
// SIGKILL and stopping PostgreSQL or Temporal touches no other test. The
// tests of cluster_test.go run the same binary on a Temporal cluster
// instead, its stores on that same PostgreSQL instance, with two workers
// and two API replicas.
//
// Run with `make test-faults`.
package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cluster"
	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/devserver"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// ctiSecret signs the simulator's events (and the ones the tests post).
const ctiSecret = "faults-cti-secret"

// pkg is what every test shares: the binary under test, the Temporal CLI
// and the package's own PostgreSQL instance.
var pkg struct {
	bin         string
	temporalCLI string
	pg          *postgres
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "casehub-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 2
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	pkg.bin = filepath.Join(dir, "casehub")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "faults", "-o", pkg.bin, "github.com/casehub/casehub/cmd/casehub")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "faults: build casehub:", err)
		return 2
	}
	wd, _ := os.Getwd()
	if pkg.temporalCLI, err = devserver.FindCLI(ctx, wd); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 2
	}
	if pkg.pg, err = newPostgres(); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 2
	}
	defer pkg.pg.destroy()
	return m.Run()
}

// ---- PostgreSQL: an instance of our own, run as the postgres OS user ----

type postgres struct {
	binDir string
	dir    string // owned by the postgres user: data, socket and log
	port   int
}

// newPostgres initialises and starts a private PostgreSQL instance on a
// free port. Root may not run initdb, so it runs as the postgres user.
func newPostgres() (*postgres, error) {
	binDir := os.Getenv("CASEHUB_FAULTS_PG_BIN")
	if binDir == "" {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		if len(matches) == 0 {
			return nil, errors.New("no initdb under /usr/lib/postgresql/*/bin (set CASEHUB_FAULTS_PG_BIN)")
		}
		sort.Strings(matches)
		binDir = filepath.Dir(matches[len(matches)-1])
	}
	reapOrphans(binDir)
	dir, err := os.MkdirTemp("", "casehub-faults-pg-")
	if err != nil {
		return nil, err
	}
	// pg_ctl daemonises the server, so it outlives a test binary killed by
	// -timeout; the next run stops it (see reapOrphans).
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("the postgres OS user runs the test instance: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &postgres{binDir: binDir, dir: dir, port: port}
	if out, err := p.asPostgres("initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := p.start(); err != nil {
		return nil, err
	}
	return p, nil
}

// reapOrphans stops and removes instances left by earlier runs whose test
// binary is gone (killed by a timeout before it could clean up).
func reapOrphans(binDir string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "casehub-faults-pg-*"))
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || syscall.Kill(pid, 0) == nil {
			continue // its owner still runs
		}
		p := &postgres{binDir: binDir, dir: dir}
		if p.running() {
			_ = p.asPostgres("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "stop").Run()
		}
		_ = os.RemoveAll(dir)
	}
}

func (p *postgres) data() string { return filepath.Join(p.dir, "data") }

func (p *postgres) asPostgres(tool string, args ...string) *exec.Cmd {
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.binDir, tool)}, args...)...)
	cmd.Dir = p.dir
	return cmd
}

// start starts the instance and waits until it accepts connections.
func (p *postgres) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", p.port, p.dir)
	out, err := p.asPostgres("pg_ctl", "-D", p.data(), "-o", opts, "-l", filepath.Join(p.dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, tail(filepath.Join(p.dir, "log"), 30))
	}
	return nil
}

// stop is `pg_ctl stop -m fast`: sessions are terminated, the server goes down.
func (p *postgres) stop() error {
	out, err := p.asPostgres("pg_ctl", "-D", p.data(), "-m", "fast", "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

func (p *postgres) running() bool {
	return p.asPostgres("pg_ctl", "-D", p.data(), "status").Run() == nil
}

func (p *postgres) destroy() {
	if p.running() {
		_ = p.stop()
	}
	_ = os.RemoveAll(p.dir)
}

func (p *postgres) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// ---- processes of the casehub binary ----

// proc is one running OS process of the system under test.
type proc struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

func (s *system) spawn(name string, env []string, args ...string) *proc {
	s.t.Helper()
	s.seq++
	logPath := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.log", s.seq, name))
	f, err := os.Create(logPath)
	require.NoError(s.t, err)
	cmd := exec.Command(pkg.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Die with the test binary, whatever happens to it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(s.t, cmd.Start(), "start %s", name)
	p := &proc{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p
}

// kill is SIGKILL: no shutdown code runs.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop asks politely, then kills.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.kill()
	}
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// ---- the system under test, one per test ----

type system struct {
	t   *testing.T
	dir string

	temporalOpts devserver.Options
	temporal     *devserver.Server
	client       client.Client
	codecKeys    string // CASEHUB_CODEC_KEYS of every process

	dbName string
	dbURL  string
	db     *sqlx.DB
	store  *store.Store

	apiURL  string
	apiAddr string
	simAddr string
	simURL  string

	api     *proc
	sim     *proc
	workers []*proc

	// On a cluster (newClusterSystem) instead of the dev server and the
	// processes above.
	cluster     *cluster.Cluster
	clusterOpts cluster.Options

	supervisor  string
	integration string

	mu    sync.Mutex
	seq   int
	procs []*proc
}

// newSystem starts a fresh system for one test: a file-backed Temporal dev
// server, a migrated database on the package's PostgreSQL, the simulator,
// the API and one worker. Everything stops when the test ends; the logs
// are printed when it failed.
func newSystem(t *testing.T) *system {
	t.Helper()
	s := &system{t: t, dir: t.TempDir()}
	t.Cleanup(s.shutdown)
	if !pkg.pg.running() {
		require.NoError(t, pkg.pg.start(), "an earlier test left PostgreSQL stopped")
	}

	port, err := freePort()
	require.NoError(t, err)
	tlog, err := os.Create(filepath.Join(s.dir, "00-temporal.log"))
	require.NoError(t, err)
	t.Cleanup(func() { tlog.Close() })
	s.temporalOpts = devserver.Options{CLIPath: pkg.temporalCLI, Port: port, Headless: true,
		DBFile: filepath.Join(s.dir, "temporal.db"), LogLevel: "warn", Output: tlog}
	s.startTemporal()
	line, err := codec.NewKeyLine("faults")
	require.NoError(t, err)
	s.codecKeys = line
	keys, err := codec.ParseKeys(line)
	require.NoError(t, err)
	s.client, err = client.Dial(client.Options{HostPort: s.temporal.HostPort, Logger: quietLogger{}, DataConverter: codec.DataConverter(keys)})
	require.NoError(t, err)

	s.dbName = "casehub_faults_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	s.dbURL = pkg.pg.url(s.dbName)
	migrate := s.spawn("migrate", s.baseEnv(), "migrate")
	<-migrate.exited
	require.Zero(t, migrate.cmd.ProcessState.ExitCode(), "casehub migrate failed:\n%s", tail(migrate.log, 30))
	s.db, err = store.Open(t.Context(), store.DefaultConfig(s.dbURL))
	require.NoError(t, err)
	s.store = store.New(s.db, 10*time.Second)
	s.supervisor = s.issue(auth.RoleSupervisor, "")
	s.integration = s.issue(auth.RoleIntegration, "")

	s.apiAddr, s.simAddr = freeAddr(t), freeAddr(t)
	s.apiURL, s.simURL = "http://"+s.apiAddr, "http://"+s.simAddr
	s.startSim()
	s.startAPI()
	s.startWorker()
	return s
}

func (s *system) baseEnv() []string {
	return []string{
		"DATABASE_URL=" + s.dbURL,
		"TEMPORAL_ADDRESS=" + s.temporalOpts.IP + ":" + strconv.Itoa(s.temporalOpts.Port),
		"TEMPORAL_NAMESPACE=default",
		"CASEHUB_LOG_LEVEL=info",
		"CASEHUB_CODEC_KEYS=" + s.codecKeys,
		"CASEHUB_CTI_URL=" + s.simURL,
		"CASEHUB_CTI_WEBHOOK_SECRET=" + ctiSecret,
		"CASEHUB_CTI_API_KEY=",
	}
}

func (s *system) startTemporal() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if s.temporalOpts.IP == "" {
		s.temporalOpts.IP = "127.0.0.1"
	}
	srv, err := devserver.Start(ctx, s.temporalOpts)
	require.NoError(s.t, err)
	s.temporal = srv
}

// restartTemporal stops the dev server and starts it again on the same
// port and SQLite file; down is how long it stays stopped.
func (s *system) restartTemporal(down time.Duration) {
	s.t.Helper()
	require.NoError(s.t, s.temporal.Stop())
	time.Sleep(down)
	s.startTemporal()
}

// startSim runs `casehub cti-sim serve` on the system's simulator address
// (the same one on every start).
func (s *system) startSim() {
	s.t.Helper()
	env := append(s.baseEnv(),
		"CASEHUB_CTI_SIM_ADDR="+s.simAddr,
		"CASEHUB_CTI_EVENTS_URL="+s.apiURL+"/v1/cti/events",
		"CASEHUB_CTI_SIM_TOKEN="+s.integration,
	)
	s.sim = s.spawn("sim", env, "cti-sim", "serve", "--ring-time", "200ms", "--agent-answer-delay", "50ms")
	s.waitHTTP(s.sim, s.simURL+"/healthz")
}

func (s *system) startAPI() {
	s.t.Helper()
	s.api = s.spawn("api", append(s.baseEnv(), "CASEHUB_HTTP_ADDR="+s.apiAddr), "api")
	s.waitHTTP(s.api, s.apiURL+"/readyz")
}

// startWorker starts one more worker process and waits until it polls.
func (s *system) startWorker() *proc {
	s.t.Helper()
	w := s.spawn("worker", append(s.baseEnv(), "CASEHUB_METRICS_ADDR="+freeAddr(s.t)), "worker")
	require.Eventually(s.t, func() bool {
		require.True(s.t, w.alive(), "worker exited:\n%s", tail(w.log, 30))
		return strings.Contains(tail(w.log, 200), "worker polling")
	}, 2*time.Minute, 50*time.Millisecond, "worker polls")
	s.workers = append(s.workers, w)
	return w
}

// killWorkers SIGKILLs every worker process.
func (s *system) killWorkers() {
	for _, w := range s.workers {
		w.kill()
	}
	s.workers = nil
}

// waitHTTP waits until url answers 200, failing early if p exits.
func (s *system) waitHTTP(p *proc, url string) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		require.True(s.t, p.alive(), "%s exited:\n%s", p.name, tail(p.log, 30))
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 2*time.Minute, 50*time.Millisecond, "%s answers at %s", p.name, url)
}

func (s *system) shutdown() {
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		if procs[i].alive() {
			procs[i].stop()
		}
	}
	if s.client != nil {
		s.client.Close()
	}
	if s.temporal != nil {
		_ = s.temporal.Stop()
	}
	if s.cluster != nil {
		s.cluster.Stop()
	}
	if !pkg.pg.running() {
		if err := pkg.pg.start(); err != nil {
			s.t.Errorf("restart PostgreSQL after the test: %v", err)
		}
	}
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := cluster.DropDatabases(ctx, s.clusterOpts); err != nil {
			s.t.Errorf("drop the cluster's databases: %v", err)
		}
		cancel()
	}
	if s.db != nil {
		s.db.Close()
		if admin, err := sqlx.Open("postgres", pkg.pg.url("postgres")); err == nil {
			_, _ = admin.Exec(`DROP DATABASE IF EXISTS "` + s.dbName + `" WITH (FORCE)`)
			admin.Close()
		}
	}
	if s.t.Failed() {
		s.printLogs()
	}
}

// printLogs prints the end of every process's log.
func (s *system) printLogs() {
	files, _ := filepath.Glob(filepath.Join(s.dir, "*.log"))
	cfiles, _ := filepath.Glob(filepath.Join(s.dir, "logs", "*.log")) // a cluster's
	files = append(files, cfiles...)
	sort.Strings(files)
	for _, f := range files {
		s.t.Logf("==== %s (last lines) ====\n%s", filepath.Base(f), tail(f, 80))
	}
	s.t.Logf("==== postgres log (errors) ====\n%s", grepLog(filepath.Join(pkg.pg.dir, "log"), 60, "ERROR:", "FATAL:", "STATEMENT:", "DETAIL:"))
}

// ---- talking to the system ----

func (s *system) issue(role auth.Role, agent string) string {
	s.t.Helper()
	tok, _, err := auth.Issue(s.t.Context(), s.store, role, agent, "faults")
	require.NoError(s.t, err)
	return tok
}

// answer is what the API said to one request: the status (0 when the
// API could not be reached), the Idempotent-Replayed header and the body.
type answer struct {
	status   int
	replayed bool
	body     []byte
}

func (s *system) send(method, path, token, idemKey string, body any) answer {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.apiURL+path, r)
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, replayed: resp.Header.Get("Idempotent-Replayed") == "true", body: raw}
}

// do sends a request and decodes a 2xx answer into out.
func (s *system) do(method, path, token string, body, out any) int {
	s.t.Helper()
	a := s.send(method, path, token, "", body)
	if out != nil && a.status >= 200 && a.status < 300 && len(a.body) > 0 {
		require.NoError(s.t, json.Unmarshal(a.body, out), "%s %s: %s", method, path, a.body)
	}
	return a.status
}

// must sends a request and requires the status.
func (s *system) must(status int, method, path, token string, body, out any) {
	s.t.Helper()
	a := s.send(method, path, token, "", body)
	require.Equal(s.t, status, a.status, "%s %s: %s", method, path, a.body)
	if out != nil {
		require.NoError(s.t, json.Unmarshal(a.body, out))
	}
}

// simPost acts as the customer on the simulator's admin API.
func (s *system) simPost(path string, body, out any) {
	s.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(s.t, err)
	resp, err := http.Post(s.simURL+path, "application/json", bytes.NewReader(b))
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Less(s.t, resp.StatusCode, 300, "%s: %s", path, raw)
	if out != nil {
		require.NoError(s.t, json.Unmarshal(raw, out))
	}
}

// script sets what the simulated customer's phone does when dialled.
func (s *system) script(number, outcome string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPut, s.simURL+"/sim/scripts/"+number, strings.NewReader(`{"outcome":"`+outcome+`"}`))
	require.NoError(s.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode)
}

// simCall is what the simulator knows of a call.
type simCall struct {
	ID             string `json:"id"`
	IdempotencyKey string `json:"idempotency_key"`
	State          string `json:"state"`
}

// simCalls lists the simulator's calls placed under an idempotency key; nil
// when the simulator does not answer.
func (s *system) simCalls(key string) []simCall {
	resp, err := http.Get(s.simURL + "/sim/calls?idempotency_key=" + key)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []simCall
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	return out
}

// eventually waits for cond with generous limits for a busy 2-core machine.
func (s *system) eventually(cond func() bool, msg string, args ...any) {
	s.t.Helper()
	require.Eventually(s.t, cond, 2*time.Minute, 100*time.Millisecond, append([]any{msg}, args...)...)
}

// ---- the contact center's vocabulary ----

type agentView struct {
	ID            string        `json:"id"`
	Status        string        `json:"status"`
	Presence      string        `json:"presence"`
	PendingOffers []store.Offer `json:"pending_offers"`
}

type interactionDetail struct {
	store.Interaction
	History   []store.HistoryEntry `json:"history"`
	PhoneLogs []store.PhoneLog     `json:"phone_logs"`
}

// queue makes a queue with the given settings and agents who are members;
// available lists those who start available. It returns each agent's id
// and token by short name.
func (s *system) queue(settings map[string]any, agents []string, available ...string) (string, map[string]string, map[string]string) {
	s.t.Helper()
	q := "faults-" + strings.ToLower(uuid.NewString()[:8])
	s.must(http.StatusOK, "PUT", "/v1/queues/"+q, s.supervisor, settings, nil)
	ids, tokens := map[string]string{}, map[string]string{}
	for _, a := range agents {
		id := a + "-" + q
		s.must(http.StatusOK, "PUT", "/v1/agents/"+id, s.supervisor, map[string]any{"name": a}, nil)
		s.must(http.StatusNoContent, "PUT", "/v1/queues/"+q+"/members/"+id, s.supervisor, nil, nil)
		ids[a], tokens[a] = id, s.issue(auth.RoleAgent, id)
	}
	for _, a := range available {
		s.presence(ids[a], tokens[a], "available")
	}
	return q, ids, tokens
}

func (s *system) presence(agent, token, presence string) {
	s.t.Helper()
	s.must(http.StatusOK, "PUT", "/v1/agents/"+agent+"/presence", token, map[string]any{"presence": presence}, nil)
}

func (s *system) agent(id, token string) agentView {
	s.t.Helper()
	var a agentView
	s.must(http.StatusOK, "GET", "/v1/agents/"+id, token, nil, &a)
	return a
}

// ringIn places an inbound call on the simulator and returns its call id
// and the number of the interaction it opened.
func (s *system) ringIn(from, queue string) (string, string) {
	s.t.Helper()
	var call struct{ ID string }
	s.simPost("/sim/inbound-calls", map[string]any{"from": from, "to": "+12025550100", "queue": queue}, &call)
	var owner string
	s.eventually(func() bool {
		wf, err := s.store.LegOwner(s.t.Context(), call.ID)
		owner = wf
		return err == nil
	}, "call %s opens an interaction", call.ID)
	n := strings.TrimPrefix(owner, workflows.InteractionWorkflowID(""))
	s.eventually(func() bool { return s.do("GET", "/v1/interactions/"+n, s.supervisor, nil, nil) == http.StatusOK }, "%s is recorded", n)
	return call.ID, n
}

func (s *system) interaction(number string) interactionDetail {
	s.t.Helper()
	var d interactionDetail
	s.must(http.StatusOK, "GET", "/v1/interactions/"+number, s.supervisor, nil, &d)
	return d
}

// waitState waits until the interaction's record is in state (and, when
// agent is given, assigned to it).
func (s *system) waitState(number, state, agent string) interactionDetail {
	s.t.Helper()
	var d interactionDetail
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d = interactionDetail{}
		ok := s.do("GET", "/v1/interactions/"+number, s.supervisor, nil, &d) == http.StatusOK && d.State == state
		if ok && (agent == "" || (d.AgentID != nil && *d.AgentID == agent)) {
			return d
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s did not reach %s %s; it is %s, history %v", number, state, agent, d.State, states(d))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// requireClean checks what the fault tests are about for one interaction:
// closed, one phone log when it was a call, and a history whose versions
// run 1, 2, 3... with no duplicate or gap.
func (s *system) requireClean(number string, phoneLogs int) interactionDetail {
	s.t.Helper()
	d := s.waitState(number, "closed_complete", "")
	s.eventually(func() bool { d = s.interaction(number); return len(d.PhoneLogs) >= phoneLogs }, "%s has its phone log", number)
	require.Len(s.t, d.PhoneLogs, phoneLogs, "%s: phone logs", number)
	var rows int
	require.NoError(s.t, s.db.Get(&rows, `SELECT count(*) FROM phone_logs WHERE interaction = $1`, number))
	require.Equal(s.t, phoneLogs, rows, "%s: phone log rows", number)
	for i, h := range d.History {
		require.Equal(s.t, i+1, h.Version, "%s: history versions %v", number, versions(d))
	}
	return d
}

func versions(d interactionDetail) []int {
	var out []int
	for _, h := range d.History {
		out = append(out, h.Version)
	}
	return out
}

func states(d interactionDetail) []string {
	var out []string
	for _, h := range d.History {
		out = append(out, h.ToState)
	}
	return out
}

// count runs a count query on the test's view of the database.
func (s *system) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	require.NoError(s.t, s.db.Get(&n, query, args...))
	return n
}

// ---- small things ----

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freeAddr(t *testing.T) string {
	port, err := freePort()
	require.NoError(t, err)
	return "127.0.0.1:" + strconv.Itoa(port)
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// grepLog returns the last n lines of a file that contain one of words.
func grepLog(path string, n int, words ...string) string {
	var out []string
	for _, l := range strings.Split(tail(path, 1<<20), "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}

// quietLogger keeps the test's own Temporal client out of the output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
