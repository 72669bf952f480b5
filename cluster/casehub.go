package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"go.temporal.io/sdk/log"
)

// baseEnv is what every casehub process of the cluster is told: where
// PostgreSQL, Temporal and the simulator are, then Options.Env.
func (c *Cluster) baseEnv() []string {
	env := []string{
		"DATABASE_URL=" + c.o.DatabaseURL,
		"TEMPORAL_ADDRESS=" + c.FrontendAddr,
		"TEMPORAL_NAMESPACE=" + c.o.Namespace,
		"CASEHUB_CTI_URL=http://" + addr(c.o.Ports.Sim),
	}
	return append(env, c.o.Env...)
}

// Migrate creates casehub's database when missing and applies its
// migrations (`casehub migrate`).
func (c *Cluster) Migrate(ctx context.Context) error {
	return run(ctx, "casehub-migrate", c.logDir, c.o.CasehubBin, c.baseEnv(), "migrate", "up")
}

// StartCasehub starts the CTI simulator (posting its events with
// simToken, an integration token), the API replicas behind the proxy and
// the workers, each a process of the casehub binary, and waits until each
// is ready. One that exits later is started again (and logged).
func (c *Cluster) StartCasehub(ctx context.Context, simToken string) error {
	o := c.o
	c.SimURL, c.APIURL = "http://"+addr(o.Ports.Sim), "http://"+addr(o.Ports.API)

	simEnv := append(c.baseEnv(),
		"CASEHUB_CTI_SIM_ADDR="+addr(o.Ports.Sim),
		"CASEHUB_CTI_EVENTS_URL="+c.APIURL+"/v1/cti/events",
		"CASEHUB_CTI_SIM_TOKEN="+simToken,
	)
	sim, err := supervise(c.logger, "casehub-cti-sim", c.logDir, o.CasehubBin, simEnv, append([]string{"cti-sim", "serve"}, o.SimArgs...)...)
	if err != nil {
		return err
	}
	c.sim = sim
	if err := waitHTTP(ctx, sim.current(), c.SimURL+"/healthz", time.Minute); err != nil {
		return err
	}

	var backends []string
	for i, port := range o.Ports.APIs {
		p, err := supervise(c.logger, "casehub-api-"+strconv.Itoa(i+1), c.logDir, o.CasehubBin,
			append(c.baseEnv(), "CASEHUB_HTTP_ADDR="+addr(port)), "api")
		if err != nil {
			return err
		}
		c.apis = append(c.apis, p)
		c.APIURLs = append(c.APIURLs, "http://"+addr(port))
		backends = append(backends, addr(port))
	}
	for i, p := range c.apis {
		if err := waitHTTP(ctx, p.current(), c.APIURLs[i]+"/readyz", 2*time.Minute); err != nil {
			return err
		}
	}
	c.proxy = newProxy(backends)
	if err := c.proxy.serve(addr(o.Ports.API)); err != nil {
		return err
	}

	for i, port := range o.Ports.WorkerMetrics {
		p, err := supervise(c.logger, "casehub-worker-"+strconv.Itoa(i+1), c.logDir, o.CasehubBin,
			append(c.baseEnv(), "CASEHUB_METRICS_ADDR="+addr(port)), "worker")
		if err != nil {
			return err
		}
		c.workers = append(c.workers, p)
	}
	for i, p := range c.workers {
		if err := waitHTTP(ctx, p.current(), "http://"+addr(o.Ports.WorkerMetrics[i])+"/readyz", 2*time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// Describe lists what runs where, one line each.
func (c *Cluster) Describe(w io.Writer) {
	o := c.o
	fmt.Fprintf(w, "  Temporal frontend %s (namespace %s, %d history shards), HTTP %s\n", c.FrontendAddr, o.Namespace, o.Shards, addr(o.Ports.FrontendHTTP))
	fmt.Fprintf(w, "  Temporal history %s, matching %s, worker %s (one process each)\n",
		addr(o.Ports.History.GRPC), addr(o.Ports.Matching.GRPC), addr(o.Ports.Worker.GRPC))
	fmt.Fprintf(w, "  Temporal state  PostgreSQL databases %s and %s\n", o.TemporalDB, o.VisibilityDB)
	if c.UIURL != "" {
		fmt.Fprintf(w, "  Temporal UI     %s\n", c.UIURL)
	}
	fmt.Fprintf(w, "  API             %s  (round robin over", c.APIURL)
	for _, u := range c.APIURLs {
		fmt.Fprintf(w, " %s", u)
	}
	fmt.Fprintln(w, ")")
	fmt.Fprintf(w, "  Workers         %d processes, metrics and readiness on", len(c.workers))
	for _, p := range o.Ports.WorkerMetrics {
		fmt.Fprintf(w, " %s", addr(p))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  CTI simulator   %s\n", c.SimURL)
	fmt.Fprintf(w, "  Logs            %s\n", c.logDir)
}

func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}
