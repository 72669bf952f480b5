package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/cti/ctisim"
	"github.com/casehub/casehub/devserver"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/worker"
	"github.com/casehub/casehub/workflows"
)

// devAgentID is the agent the printed agent token acts for.
const devAgentID = "agent-1"

// runDev brings the whole system up on one machine: the Temporal dev server
// with its Web UI (state in a SQLite file under the data directory), the
// PostgreSQL schema, the worker and the API. Ctrl-C stops all of it; running
// it again picks up where it stopped.
func runDev(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	f, c := newFlags("dev", getenv)
	f.httpFlags(c)
	f.str(&c.DataDir, "data-dir", "CASEHUB_DATA_DIR", ".data", "where the dev server keeps its state and logs")
	f.str(&c.TemporalBin, "temporal-bin", "CASEHUB_TEMPORAL_BIN", "", "Temporal CLI binary (default .bin/temporal, built from tools/go.mod)")
	uiBin := ""
	f.str(&uiBin, "temporal-ui-bin", "CASEHUB_TEMPORAL_UI_BIN", "", "Temporal Web UI server binary (default .bin/temporal-ui, built from tools/go.mod)")
	f.int(&c.TemporalUI, "temporal-ui-port", "CASEHUB_TEMPORAL_UI_PORT", 8233, "Temporal Web UI port")
	f.ctiFlags(c, ctisim.DefaultSecret)
	f.codecFlags(c, "")
	f.interactionFlags(c)
	f.workerFlags(c)
	simAddr := ""
	f.str(&simAddr, "cti-sim-addr", "CASEHUB_CTI_SIM_ADDR", ctisim.DefaultAddr, "where dev runs the CTI simulator (empty: do not run it)")
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	logger := c.logger()

	// 1. Temporal dev server, file-backed, tuned.
	cli := c.TemporalBin
	if cli == "" {
		var err error
		if cli, err = devserver.FindCLI(ctx, "."); err != nil {
			return err
		}
	}
	host, portText, err := net.SplitHostPort(c.TemporalAddress)
	if err != nil {
		return fmt.Errorf("temporal address %q: %w", c.TemporalAddress, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("temporal address %q: bad port", c.TemporalAddress)
	}
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", c.DataDir, err)
	}
	if c.CodecKeys == "" && c.CodecKeyFile == "" {
		// The dev setup's own payload key, made on the first start.
		c.CodecKeyFile = filepath.Join(c.DataDir, "codec-keys")
		if _, created, err := codec.EnsureFile(c.CodecKeyFile); err != nil {
			return err
		} else if created {
			logger.Info("created a payload encryption key for dev", "file", c.CodecKeyFile)
		}
	}
	logPath := filepath.Join(c.DataDir, "temporal.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", logPath, err)
	}
	defer logFile.Close()
	logger.Info("starting Temporal dev server", "cli", cli, "db", filepath.Join(c.DataDir, "temporal.db"), "log", logPath)
	srv, err := devserver.Start(ctx, devserver.Options{
		CLIPath: cli, IP: host, Port: port, Headless: true,
		DBFile: filepath.Join(c.DataDir, "temporal.db"), Namespace: c.TemporalNamespace, Output: logFile,
	})
	if err != nil {
		return err
	}
	defer func() {
		logger.Info("stopping Temporal dev server")
		if err := srv.Stop(); err != nil {
			logger.Error("stop Temporal dev server", "err", err)
		}
	}()

	// The Web UI runs on its own so that it sends the codec sign-in cookie to
	// casehub's codec endpoint: signed in, payloads read in clear.
	if uiBin == "" {
		if uiBin, err = devserver.FindUI(ctx, "."); err != nil {
			return err
		}
	}
	ui, err := devserver.StartUI(ctx, devserver.UIOptions{
		Bin: uiBin, IP: host, Port: c.TemporalUI, TemporalAddress: srv.HostPort,
		CodecEndpoint: "http://" + c.HTTPAddr + "/codec", Namespace: c.TemporalNamespace,
		ConfigDir: filepath.Join(c.DataDir, "temporal-ui"), Output: logFile,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := ui.Stop(); err != nil {
			logger.Error("stop Temporal UI", "err", err)
		}
	}()
	srv.UIURL = ui.URL

	// 2. PostgreSQL: create the database if missing, migrate.
	if err := migrate(ctx, c, "up", io.Discard); err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.DB().Close()

	// 3. One Temporal client, search attributes, worker and API.
	m, err := newMetrics()
	if err != nil {
		return err
	}
	cl, err := dialTemporal(ctx, c, logger, m)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := worker.RegisterSearchAttributes(ctx, cl, c.TemporalNamespace); err != nil {
		return err
	}

	tokens, err := devTokens(ctx, st)
	if err != nil {
		return err
	}
	if err := seedDev(ctx, st, cl); err != nil {
		return err
	}

	// 4. The CTI simulator, a separate process as a real platform would be,
	// posting signed events to the API with the integration token.
	if simAddr != "" {
		sim, err := startSimulator(c, simAddr, tokens[auth.RoleIntegration], filepath.Join(c.DataDir, "cti-sim.log"))
		if err != nil {
			return err
		}
		defer sim.stop(logger)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return runWorkerUntil(gctx, c, cl, st, logger, m) })
	g.Go(func() error { return serveAPI(gctx, c, apiDeps(c, st, cl, logger, m)) })
	g.Go(func() error {
		select {
		case <-srv.Exited():
			return errors.New("the Temporal dev server exited; see " + logPath)
		case <-gctx.Done():
			return nil
		}
	})
	g.Go(func() error { return announce(gctx, c, srv, cl, tokens, simAddr, stdout) })

	err = g.Wait()
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return nil // Ctrl-C
	}
	return err
}

// devQueue is the queue casehub dev sets up, with the dev agent in it.
const devQueue = "support"

// seedDev makes sure the dev queue and agent exist (leaving any changes a
// user made to them), so that a call from cti-sim has somewhere to go.
func seedDev(ctx context.Context, st *store.Store, cl client.Client) error {
	if _, err := st.GetQueue(ctx, devQueue); errors.Is(err, store.ErrNotFound) {
		if _, err := st.UpsertQueue(ctx, store.Queue{Name: devQueue, Description: "created by casehub dev",
			AcceptanceTimeoutS: 30, WrapUpTimeoutS: 60, OnReject: store.OnRejectReoffer, OnTimeout: store.OnRejectReoffer}); err != nil {
			return fmt.Errorf("create dev queue: %w", err)
		}
	} else if err != nil {
		return err
	}
	if _, err := st.GetAgent(ctx, devAgentID); errors.Is(err, store.ErrNotFound) {
		if _, err := st.UpsertAgent(ctx, devAgentID, "Dev Agent", 3); err != nil {
			return fmt.Errorf("create dev agent: %w", err)
		}
		if err := st.SetMembership(ctx, devQueue, devAgentID, true); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	_, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.AgentWorkflowID(devAgentID), TaskQueue: workflows.TaskQueue,
		WorkflowTaskTimeout:      workflows.TaskTimeout,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "Agent " + devAgentID + ": presence and wrap-up",
		StaticDetails:            workflows.AgentStaticDetails(devAgentID),
	}, workflows.Agent, workflows.AgentInput{AgentID: devAgentID})
	if err != nil {
		return fmt.Errorf("start dev agent process: %w", err)
	}
	return nil
}

// devTokenDescription marks the tokens casehub dev issues.
const devTokenDescription = "casehub dev"

// devTokens issues one token per role for trying the API and revokes those
// an earlier start printed, in one transaction: only the latest are live.
func devTokens(ctx context.Context, st *store.Store) (map[auth.Role]string, error) {
	tokens := map[auth.Role]string{}
	err := st.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.RevokeTokensDescribed(ctx, devTokenDescription); err != nil {
			return err
		}
		for _, r := range []auth.Role{auth.RoleSupervisor, auth.RoleAgent, auth.RoleIntegration} {
			agent := ""
			if r == auth.RoleAgent {
				agent = devAgentID
			}
			t, _, err := auth.Issue(ctx, tx, r, agent, devTokenDescription)
			if err != nil {
				return fmt.Errorf("issue dev %s token: %w", r, err)
			}
			tokens[r] = t
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tokens, nil
}

// announce proves the chain with a self check, then prints where everything
// is and one token per role.
func announce(ctx context.Context, c *config, srv *devserver.Server, cl client.Client, tokens map[auth.Role]string, simAddr string, stdout io.Writer) error {
	_, took, err := selfCheck(ctx, cl, "casehub dev start")
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	sim := "not running"
	if simAddr != "" {
		sim = "http://" + simAddr + "   try: .bin/casehub cti-sim call --from +12025550143 --to +12025550100 --queue support"
	}
	fmt.Fprintf(stdout, `
casehub is up (self check: workflow -> activity -> PostgreSQL in %s)

  API           http://%s          OpenAPI: /openapi.yaml   ready: /readyz
  Agent desk    http://%s/desk     sign in as %s with the AGENT_TOKEN below
  Wall          http://%s/wall     sign in with the SUPERVISOR_TOKEN below
  Temporal UI   %s
  Temporal      %s (namespace %s), state in %s
  CTI simulator %s

Tokens for trying the API (new ones each start, the earlier ones revoked; printed only here):
  export SUPERVISOR_TOKEN=%s
  export AGENT_TOKEN=%s   # agent id %s
  export INTEGRATION_TOKEN=%s

  curl -s -H "Authorization: Bearer $SUPERVISOR_TOKEN" http://%s/v1/contacts

Ctrl-C stops everything; run it again to pick up where it stopped.
`, took.Round(time.Millisecond), c.HTTPAddr, c.HTTPAddr, devAgentID, c.HTTPAddr, srv.UIURL, srv.HostPort, c.TemporalNamespace, filepath.Join(c.DataDir, "temporal.db"), sim,
		tokens[auth.RoleSupervisor], tokens[auth.RoleAgent], devAgentID, tokens[auth.RoleIntegration], c.HTTPAddr)
	return nil
}
