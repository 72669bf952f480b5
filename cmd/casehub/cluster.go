package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/cluster"
	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/cti/ctisim"
	"github.com/casehub/casehub/devserver"
)

// clusterSettings are `casehub cluster`'s own flags. They do not read
// DATABASE_URL or TEMPORAL_ADDRESS, which usually point at `casehub dev`.
type clusterSettings struct {
	opts      cluster.Options
	dbName    string
	workers   int
	apis      int
	logLevel  string
	ctiSecret string
}

func clusterFlags(args []string, getenv func(string) string) (*clusterSettings, []string, error) {
	fs := flag.NewFlagSet("casehub cluster", flag.ContinueOnError)
	f := envFlags{fs: fs, getenv: getenv}
	s := &clusterSettings{}
	f.str(&s.opts.StateDir, "state-dir", "CASEHUB_CLUSTER_DIR", filepath.Join(".data", "cluster"), "where the cluster keeps its configuration, payload key and logs")
	f.str(&s.opts.AdminURL, "postgres-url", "CASEHUB_CLUSTER_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"PostgreSQL server (a user that may create databases) for Temporal's and casehub's databases")
	f.str(&s.opts.TemporalDB, "temporal-db", "CASEHUB_CLUSTER_TEMPORAL_DB", cluster.DefaultTemporalDB, "Temporal's persistence database")
	f.str(&s.opts.VisibilityDB, "visibility-db", "CASEHUB_CLUSTER_VISIBILITY_DB", cluster.DefaultVisibilityDB, "Temporal's visibility database")
	f.str(&s.dbName, "database", "CASEHUB_CLUSTER_DATABASE", "casehub_cluster", "casehub's database")
	f.int(&s.opts.Shards, "shards", "CASEHUB_CLUSTER_SHARDS", cluster.DefaultShards, "history shards (fixed at the first start; a change needs `casehub cluster reset`)")
	f.int(&s.workers, "workers", "CASEHUB_CLUSTER_WORKERS", 2, "casehub worker processes")
	f.int(&s.apis, "apis", "CASEHUB_CLUSTER_APIS", 2, "casehub API replicas behind the proxy")
	f.str(&s.logLevel, "log-level", "CASEHUB_LOG_LEVEL", "info", "casehub processes' log level")
	f.str(&s.opts.LogLevel, "temporal-log-level", "CASEHUB_CLUSTER_TEMPORAL_LOG_LEVEL", "warn", "Temporal services' log level")
	f.str(&s.ctiSecret, "cti-webhook-secret", "CASEHUB_CTI_WEBHOOK_SECRET", ctisim.DefaultSecret, "secret the simulator signs its events with")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: casehub cluster [flags]        run casehub on a local Temporal cluster (Ctrl-C stops it)")
		fmt.Fprintln(fs.Output(), "       casehub cluster reset [flags]  drop the cluster's databases and state")
		fs.PrintDefaults()
	}
	rest := args
	if len(args) > 0 && args[0] == "reset" {
		rest = args[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return nil, nil, err
	}
	u, err := url.Parse(s.opts.AdminURL)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres URL: %w", err)
	}
	u.Path = "/" + s.dbName
	s.opts.DatabaseURL = u.String()
	if s.workers < 1 || s.apis < 1 || s.workers > 9 || s.apis > 9 {
		return nil, nil, errors.New("between 1 and 9 workers and API replicas")
	}
	s.opts.Ports = cluster.DefaultPorts()
	s.opts.Ports.APIs, s.opts.Ports.WorkerMetrics = nil, nil
	for i := range s.apis {
		s.opts.Ports.APIs = append(s.opts.Ports.APIs, s.opts.Ports.API+1+i)
	}
	for i := range s.workers {
		s.opts.Ports.WorkerMetrics = append(s.opts.Ports.WorkerMetrics, 9181+i)
	}
	return s, args, nil
}

// runCluster runs casehub on a Temporal cluster on this machine (package
// cluster): Temporal's services as separate processes over PostgreSQL, its
// Web UI, casehub's workers and API replicas behind one address, and the
// CTI simulator. Ctrl-C stops all of it; running it again resumes.
func runCluster(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	s, args, err := clusterFlags(args, getenv)
	if err != nil {
		return err
	}
	c := &config{LogLevel: s.logLevel, LogFormat: "text"}
	logger := c.logger()
	if len(args) > 0 && args[0] == "reset" {
		if err := cluster.Reset(ctx, s.opts); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dropped %s, %s and %s; removed %s\n", s.opts.TemporalDB, s.opts.VisibilityDB, s.dbName, s.opts.StateDir)
		return nil
	}

	// The payload key, made on the first start. Workflows sealed with a
	// key that is gone cannot be read: refuse rather than start over them.
	keyFile, err := filepath.Abs(filepath.Join(s.opts.StateDir, "codec-keys"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
		ran, err := cluster.Exists(ctx, s.opts)
		if err != nil {
			return err
		}
		if ran {
			return fmt.Errorf("%s is gone but database %s holds workflows sealed with it; `casehub cluster reset` (make cluster-reset) starts afresh", keyFile, s.opts.TemporalDB)
		}
	}
	if _, created, err := codec.EnsureFile(keyFile); err != nil {
		return err
	} else if created {
		logger.Info("created a payload encryption key for the cluster", "file", keyFile)
	}

	for _, t := range []struct {
		bin  *string
		find func(context.Context, string) (string, error)
	}{{&s.opts.ServerBin, devserver.FindServer}, {&s.opts.SQLToolBin, devserver.FindSQLTool}, {&s.opts.UIBin, devserver.FindUI}} {
		if *t.bin, err = t.find(ctx, "."); err != nil {
			return err
		}
	}
	if s.opts.CasehubBin, err = os.Executable(); err != nil {
		return fmt.Errorf("find casehub binary: %w", err)
	}
	uiOrigin := fmt.Sprintf("http://localhost:%d,http://127.0.0.1:%d", s.opts.Ports.UI, s.opts.Ports.UI)
	s.opts.Env = []string{
		"CASEHUB_CODEC_KEY_FILE=" + keyFile, "CASEHUB_CODEC_KEYS=",
		"CASEHUB_CODEC_CORS_ORIGINS=" + uiOrigin,
		"CASEHUB_CTI_WEBHOOK_SECRET=" + s.ctiSecret, "CASEHUB_CTI_API_KEY=",
		"CASEHUB_LOG_LEVEL=" + s.logLevel,
	}

	s.opts.Logger = logger
	logger.Info("starting the Temporal cluster", "shards", s.opts.Shards, "state", s.opts.StateDir)
	cl, err := cluster.StartTemporal(ctx, s.opts)
	if err != nil {
		return err
	}
	defer func() {
		logger.Info("stopping the cluster")
		cl.Stop()
	}()
	if err := cl.Migrate(ctx); err != nil {
		return err
	}

	// Tokens and the dev queue and agent, as `casehub dev` makes them.
	c.DatabaseURL, c.QueryTimeout = s.opts.DatabaseURL, 5*time.Second
	c.TemporalAddress, c.TemporalNamespace, c.CodecKeyFile = cl.FrontendAddr, cluster.DefaultNamespace, keyFile
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.DB().Close()
	tc, err := dialTemporal(ctx, c, logger, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	tokens, err := devTokens(ctx, st)
	if err != nil {
		return err
	}
	if err := seedDev(ctx, st, tc); err != nil {
		return err
	}

	logger.Info("starting casehub", "workers", s.workers, "apis", s.apis)
	if err := cl.StartCasehub(ctx, tokens[auth.RoleIntegration]); err != nil {
		return err
	}
	_, took, err := selfCheck(ctx, tc, "casehub cluster start")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ncasehub is up on a Temporal cluster (self check: workflow -> activity -> PostgreSQL in %s)\n\n", took.Round(time.Millisecond))
	cl.Describe(stdout)
	fmt.Fprintf(stdout, `
Tokens for trying the API (new ones each start, the earlier ones revoked; printed only here):
  export SUPERVISOR_TOKEN=%s
  export AGENT_TOKEN=%s   # agent id %s
  export INTEGRATION_TOKEN=%s

  curl -s -H "Authorization: Bearer $SUPERVISOR_TOKEN" %s/v1/contacts
  .bin/casehub cti-sim call --sim %s --from +12025550143 --to +12025550100 --queue support

Ctrl-C stops everything; run it again to pick up where it stopped (make cluster-reset forgets it).
`, tokens[auth.RoleSupervisor], tokens[auth.RoleAgent], devAgentID, tokens[auth.RoleIntegration], cl.APIURL, cl.SimURL)

	select {
	case <-ctx.Done():
		return nil // Ctrl-C
	case err := <-cl.Exited():
		return err
	}
}
