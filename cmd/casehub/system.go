package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/events"
	ccmetrics "github.com/casehub/casehub/metrics"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/worker"
)

// metrics is one Prometheus registry for the process, with the Temporal
// SDK's metrics bridged into it.
type metrics struct {
	registry *prometheus.Registry
	temporal client.MetricsHandler
	counters *ccmetrics.Counters
}

func newMetrics() (*metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h, err := ccmetrics.NewTemporalHandler(reg)
	if err != nil {
		return nil, err
	}
	return &metrics{registry: reg, temporal: h, counters: ccmetrics.NewCounters(reg)}, nil
}

func openStore(ctx context.Context, c *config) (*store.Store, error) {
	cfg := store.DefaultConfig(c.DatabaseURL)
	cfg.QueryTimeout = c.QueryTimeout
	db, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (is PostgreSQL running at %s, and migrated with `casehub migrate`?)", err, redact(c.DatabaseURL))
	}
	return store.New(db, c.QueryTimeout), nil
}

func dialTemporal(ctx context.Context, c *config, logger *slog.Logger, m *metrics) (client.Client, error) {
	keys, err := c.keyring()
	if err != nil {
		return nil, err
	}
	opts := client.Options{
		HostPort:  c.TemporalAddress,
		Namespace: c.TemporalNamespace,
		Identity:  worker.Identity(),
		Logger:    log.NewStructuredLogger(logger.With("component", "temporal")),
	}
	if keys != nil {
		opts.DataConverter = codec.DataConverter(keys)
	} else {
		logger.Warn("CASEHUB_CODEC_KEYS=off: payloads go to Temporal in clear")
	}
	if m != nil {
		opts.MetricsHandler = m.temporal
	}
	// The SDK gzips every request by default, and the server then gzips its
	// answers. casehub's payloads are sealed (ciphertext does not compress)
	// and its processes sit next to Temporal: by default neither side pays.
	switch c.TemporalCompression {
	case "none":
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	case "gzip":
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionGzip{}
	default:
		return nil, fmt.Errorf("--temporal-grpc-compression (TEMPORAL_GRPC_COMPRESSION): want none or gzip, got %q", c.TemporalCompression)
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl, err := client.DialContext(dialCtx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", c.TemporalAddress, err)
	}
	return cl, nil
}

// serveAPI serves the API on c.HTTPAddr until ctx is done, then shuts down
// gracefully.
func serveAPI(ctx context.Context, c *config, deps api.Deps) error {
	// While this process lives, its Idempotency-Key requests are its own;
	// when it dies, a retry through another replica takes them over.
	instance, err := store.HoldInstance(ctx, deps.Store.DB(), deps.Logger)
	if err != nil {
		return err
	}
	defer instance.Close()
	deps.Instance = instance
	e := api.NewServer(deps)
	ln, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.HTTPAddr, err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if deps.Events != nil {
		// The hub ends every stream when ctx ends, so Shutdown need not wait for them.
		go func() {
			if err := deps.Events.Run(ctx); err != nil {
				errc <- fmt.Errorf("live events: %w", err)
			}
		}()
	}
	deps.Logger.Info("API listening", "addr", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve API: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down API: %w", err)
	}
	deps.Logger.Info("API stopped")
	return nil
}

// apiDeps wires the API's dependencies from the configuration.
func apiDeps(c *config, st *store.Store, cl client.Client, logger *slog.Logger, m *metrics) api.Deps {
	return api.Deps{Store: st, Temporal: cl, Logger: logger, Metrics: m.registry,
		DefaultRegion: c.DefaultRegion, CTISecret: []byte(c.CTIWebhookSecret),
		CTI:             cti.NewHTTPAdapter(c.CTIURL, c.CTIAPIKey, cti.WithLogger(logger), cti.WithObserver(m.counters.CTICommand)),
		Counters:        m.counters,
		Interactions:    api.InteractionSettings{CreateInteraction: c.CreateInteraction, CloseOnEscalate: c.CloseOnEscalate, CallerID: c.CallerID},
		CallbackHorizon: c.CallbackHorizon, CaseStepTimeout: c.CaseStepTimeout,
		Codec: c.payloadCodec(), CodecOrigins: splitList(c.CodecOrigins),
		Events: events.NewHub(st.DB(), c.DatabaseURL, logger)}
}

// payloadCodec is the codec over the configured keys (nil without keys:
// the API then has no codec endpoint).
func (c *config) payloadCodec() *codec.Codec {
	keys, err := c.keyring()
	if err != nil || keys == nil {
		return nil
	}
	return codec.New(keys)
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// newActivities wires the activities' dependencies from the configuration.
func newActivities(c *config, cl client.Client, st *store.Store, logger *slog.Logger, m *metrics) *activities.Activities {
	return &activities.Activities{
		Store:    st,
		Temporal: cl,
		CTI:      cti.NewHTTPAdapter(c.CTIURL, c.CTIAPIKey, cti.WithLogger(logger), cti.WithObserver(m.counters.CTICommand)),
	}
}

// runWorkerUntil runs the casehub worker until ctx is done.
func runWorkerUntil(ctx context.Context, c *config, cl client.Client, st *store.Store, logger *slog.Logger, m *metrics) error {
	if c.WorkflowCacheSize > 0 {
		sdkworker.SetStickyWorkflowCacheSize(c.WorkflowCacheSize)
	}
	w := worker.New(cl, newActivities(c, cl, st, logger, m), worker.Options{StopTimeout: c.ShutdownTimeout})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	if err := worker.StartSweeper(ctx, cl); err != nil {
		w.Stop()
		return err
	}
	retention := activities.RetentionRequest{CTIEvents: c.CTIEventRetention, IdempotencyKeys: c.IdemKeyRetention, Events: c.EventRetention}
	if err := worker.StartRetention(ctx, cl, retention); err != nil {
		w.Stop()
		return err
	}
	logger.Info("worker polling", "task_queue", "casehub")
	<-ctx.Done()
	// The SDK lets running activities finish for the shutdown timeout
	// (worker.Options.StopTimeout), then cancels them; a deployment's grace
	// period is set against this one setting.
	w.Stop()
	logger.Info("worker stopped")
	return nil
}

// workerMux is what a worker serves on its metrics address: /metrics,
// /readyz (PostgreSQL answers and the worker polls) and /healthz.
func workerMux(reg *prometheus.Registry, ready http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /readyz", ready)
	mux.HandleFunc("GET /healthz", worker.Alive)
	return mux
}

// serveMetrics serves h on addr until ctx is done.
func serveMetrics(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) error {
	if addr == "" {
		return nil
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	logger.Info("metrics listening", "addr", "http://"+addr+"/metrics")
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}
