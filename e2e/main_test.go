// Package e2e drives the whole system as its users do: a real Temporal dev
// server (started from the pinned CLI), real PostgreSQL, the casehub worker
// and the HTTP API, over HTTP. With CASEHUB_TEST_CLUSTER=1 the same tests
// run against a Temporal cluster instead (cluster_test.go): separate
// Temporal services on PostgreSQL, two worker processes and two API
// replicas behind one address.
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/cti/ctisim"
	"github.com/casehub/casehub/events"
	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/metrics"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/worker"
)

// system is everything the tests talk to.
type system struct {
	temporalAddr string // the Temporal frontend, host:port
	client       client.Client
	db           *testenv.Database
	store        *store.Store
	apiURL       string // the API (on a cluster, the proxy over its replicas)
	simURL       string
	tokens       map[auth.Role]string
	keys         *codec.Keyring // the payload keys
	// uiOrigin is where a test's Temporal Web UI runs: the codec endpoint
	// answers it (CORS with credentials).
	uiOrigin string
	// cluster says the system runs as separate processes on a Temporal
	// cluster (CASEHUB_TEST_CLUSTER=1).
	cluster bool
}

// eventKeepAlive is the streams' keep-alive in the tests (short, so that a
// test sees one).
const eventKeepAlive = 500 * time.Millisecond

// ctiSecret signs the simulator's events in the tests.
const ctiSecret = "e2e-cti-secret"

var sys system

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("CASEHUB_TEST_CLUSTER") == "1" {
		return runOnCluster(m)
	}
	db := testenv.MustDatabase("e2e")
	defer db.Close()
	srv := testenv.MustTemporal()
	defer srv.Stop()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Payloads are sealed as in production, with the key the committed
	// histories use (so that `make histories` records what replays).
	keys, err := codec.LoadFile(filepath.Join("..", "workflows", "testdata", "histories", "codec-keys"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	// Metrics as a casehub process exports them: the SDK's and casehub's
	// (TestContactCenterMetrics, TestDashboardQueriesNameExportedMetrics).
	reg := prometheus.NewRegistry()
	sdkMetrics, err := metrics.NewTemporalHandler(reg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	copts := client.Options{HostPort: srv.HostPort, Logger: log.NewStructuredLogger(logger), DataConverter: codec.DataConverter(keys),
		MetricsHandler: sdkMetrics}
	if os.Getenv("CASEHUB_TEST_CODEC") == "off" {
		// To see the personal-data test fail, as it must without the codec.
		copts.DataConverter = nil
	}
	cl, err := client.Dial(copts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: dial temporal:", err)
		return 2
	}
	defer cl.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := worker.RegisterSearchAttributes(ctx, cl, "default"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	tokens := map[auth.Role]string{}
	for role, agent := range map[auth.Role]string{auth.RoleSupervisor: "", auth.RoleIntegration: ""} {
		t, _, err := auth.Issue(ctx, db.Store, role, agent, "e2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: issue token:", err)
			return 2
		}
		tokens[role] = t
	}

	// The CTI simulator, over real HTTP both ways: the worker's adapter (and
	// the API's, for click-to-call without a record) sends it commands, and it
	// posts signed events to the API.
	var handler http.Handler
	httpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer httpSrv.Close()
	sim := ctisim.New(ctisim.Config{
		EventsURL: httpSrv.URL + "/v1/cti/events", Secret: ctiSecret, Token: tokens[auth.RoleIntegration],
		RingTime: 200 * time.Millisecond, AgentAnswerDelay: 50 * time.Millisecond, Logger: logger,
	})
	defer sim.Close()
	simSrv := httptest.NewServer(sim.Handler())
	defer simSrv.Close()
	// Live events, as an API process reads them (LISTEN and the events table).
	hub := events.NewHub(db.DB, db.URL, logger)
	hubCtx, stopHub := context.WithCancel(context.Background())
	defer stopHub() // before the server closes: it ends every open stream
	go func() {
		if err := hub.Run(hubCtx); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: live events:", err)
		}
	}()
	uiPort, err := freePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	uiOrigin := fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	counters := metrics.NewCounters(reg)
	observe := cti.WithObserver(counters.CTICommand)
	handler = api.NewServer(api.Deps{Store: db.Store, Temporal: cl, Logger: logger, CTISecret: []byte(ctiSecret),
		Events: hub, EventKeepAlive: eventKeepAlive, Metrics: reg, Counters: counters,
		Codec: codec.New(keys), CodecOrigins: []string{"http://localhost:8233", uiOrigin},
		CTI:          cti.NewHTTPAdapter(simSrv.URL, "", observe),
		Interactions: api.InteractionSettings{CreateInteraction: true, CallerID: "+12025550100"}})

	acts := &activities.Activities{Store: db.Store, Temporal: cl, CTI: cti.NewHTTPAdapter(simSrv.URL, "", observe)}
	w := worker.New(cl, acts, worker.Options{DeadlockDetectionTimeout: time.Minute})
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start worker:", err)
		return 2
	}
	defer w.Stop()
	if err := worker.StartSweeper(ctx, cl); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}

	sys = system{temporalAddr: srv.HostPort, client: cl, db: db, store: db.Store, apiURL: httpSrv.URL, simURL: simSrv.URL, tokens: tokens, keys: keys, uiOrigin: uiOrigin}
	return m.Run()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
