package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cluster"
	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/devserver"
	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/metrics"
)

// runOnCluster runs the tests against casehub on a Temporal cluster
// (package cluster, as `make cluster` runs it): Temporal's services as
// separate processes on fresh databases of their own, two worker
// processes and two API replicas of the real binary behind one proxy, and
// the simulator as a process. Everything is on free ports, beside any
// `make dev` or `make cluster`. The logs are kept when a test failed.
func runOnCluster(m *testing.M) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "e2e (cluster):", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	db := testenv.MustDatabase("e2e")
	defer db.Close()

	dir, err := os.MkdirTemp("", "casehub-e2e-cluster-")
	if err != nil {
		return fail(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return fail(err)
	}
	keyFile, err := filepath.Abs(filepath.Join("..", "workflows", "testdata", "histories", "codec-keys"))
	if err != nil {
		return fail(err)
	}
	keys, err := codec.LoadFile(keyFile)
	if err != nil {
		return fail(err)
	}
	uiPort, err := freePort()
	if err != nil {
		return fail(err)
	}
	uiOrigin := fmt.Sprintf("http://127.0.0.1:%d", uiPort)

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	admin := os.Getenv("CASEHUB_TEST_DATABASE_URL")
	if admin == "" {
		admin = testenv.DefaultAdminURL
	}
	o := cluster.Options{
		StateDir: dir, AdminURL: admin, DatabaseURL: db.URL,
		TemporalDB:   "casehub_test_temporal_" + hex.EncodeToString(suffix),
		VisibilityDB: "casehub_test_temporal_visibility_" + hex.EncodeToString(suffix),
		Env: []string{
			"CASEHUB_CODEC_KEY_FILE=" + keyFile, "CASEHUB_CODEC_KEYS=",
			"CASEHUB_CODEC_CORS_ORIGINS=http://localhost:8233," + uiOrigin,
			"CASEHUB_CTI_WEBHOOK_SECRET=" + ctiSecret, "CASEHUB_CTI_API_KEY=",
			"CASEHUB_LOG_LEVEL=info",
		},
		SimArgs: []string{"--ring-time", "200ms", "--agent-answer-delay", "50ms"},
	}
	if o.Ports, err = cluster.FreePorts(2, 2); err != nil {
		return fail(err)
	}
	if o.ServerBin, err = devserver.FindServer(ctx, wd); err != nil {
		return fail(err)
	}
	if o.SQLToolBin, err = devserver.FindSQLTool(ctx, wd); err != nil {
		return fail(err)
	}
	o.CasehubBin = filepath.Join(dir, "casehub")
	build := exec.CommandContext(ctx, "go", "build", "-o", o.CasehubBin, "github.com/casehub/casehub/cmd/casehub")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fail(fmt.Errorf("build casehub: %w", err))
	}

	code := 2
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		if err := cluster.DropDatabases(dctx, o); err != nil {
			fmt.Fprintln(os.Stderr, "e2e (cluster):", err)
		}
		if code == 0 {
			_ = os.RemoveAll(dir)
		} else {
			fmt.Fprintln(os.Stderr, "e2e (cluster): the cluster's logs are in", filepath.Join(dir, "logs"))
		}
	}()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o.Logger = logger
	c, err := cluster.StartTemporal(ctx, o)
	if err != nil {
		return fail(err)
	}
	defer c.Stop()

	sdkMetrics, err := metrics.NewTemporalHandler(prometheus.NewRegistry())
	if err != nil {
		return fail(err)
	}
	copts := client.Options{Logger: log.NewStructuredLogger(logger), DataConverter: codec.DataConverter(keys), MetricsHandler: sdkMetrics}
	if os.Getenv("CASEHUB_TEST_CODEC") == "off" {
		copts.DataConverter = nil
	}
	cl, err := c.Dial(ctx, copts)
	if err != nil {
		return fail(fmt.Errorf("dial temporal: %w", err))
	}
	defer cl.Close()

	tokens := map[auth.Role]string{}
	for _, role := range []auth.Role{auth.RoleSupervisor, auth.RoleIntegration} {
		t, _, err := auth.Issue(ctx, db.Store, role, "", "e2e")
		if err != nil {
			return fail(fmt.Errorf("issue token: %w", err))
		}
		tokens[role] = t
	}
	if err := c.StartCasehub(ctx, tokens[auth.RoleIntegration]); err != nil {
		return fail(err)
	}
	sys = system{temporalAddr: c.FrontendAddr, client: cl, db: db, store: db.Store, apiURL: c.APIURL, simURL: c.SimURL,
		tokens: tokens, keys: keys, uiOrigin: uiOrigin, cluster: true}
	code = m.Run()
	return code
}

// notOnCluster skips a test whose premise holds for one casehub process
// only, saying why; the report of a cluster run lists them.
func notOnCluster(t *testing.T, why string) {
	t.Helper()
	if sys.cluster {
		t.Skip("not on a cluster: " + why)
	}
}
