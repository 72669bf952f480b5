package main

import (
	"context"
	"net/url"

	"golang.org/x/sync/errgroup"

	"github.com/casehub/casehub/worker"
)

// apiConfig is the configuration casehub api runs with.
func apiConfig(args []string, getenv func(string) string) (*config, error) {
	f, c := newFlags("api", getenv)
	f.httpFlags(c)
	f.codecFlags(c, "")
	f.ctiFlags(c, "")
	f.interactionFlags(c)
	return c, f.fs.Parse(args)
}

func runAPI(ctx context.Context, args []string, getenv func(string) string) error {
	c, err := apiConfig(args, getenv)
	if err != nil {
		return err
	}
	logger := c.logger()
	m, err := newMetrics()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.DB().Close()
	cl, err := dialTemporal(ctx, c, logger, m)
	if err != nil {
		return err
	}
	defer cl.Close()
	return serveAPI(ctx, c, apiDeps(c, st, cl, logger, m))
}

// workerConfig is the configuration casehub worker runs with.
func workerConfig(args []string, getenv func(string) string) (*config, error) {
	f, c := newFlags("worker", getenv)
	f.codecFlags(c, "")
	f.metricsFlags(c)
	f.workerFlags(c)
	f.ctiFlags(c, "")
	return c, f.fs.Parse(args)
}

func runWorker(ctx context.Context, args []string, getenv func(string) string) error {
	c, err := workerConfig(args, getenv)
	if err != nil {
		return err
	}
	logger := c.logger()
	m, err := newMetrics()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.DB().Close()
	cl, err := dialTemporal(ctx, c, logger, m)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := worker.RegisterSearchAttributes(ctx, cl, c.TemporalNamespace); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	ready := worker.Readiness{Temporal: cl, Postgres: st.Ping, Identity: worker.Identity(), Logger: logger}
	g.Go(func() error { return serveMetrics(ctx, c.MetricsAddr, workerMux(m.registry, ready), logger) })
	g.Go(func() error { return runWorkerUntil(ctx, c, cl, st, logger, m) })
	return g.Wait()
}

// redact hides a URL's password for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
