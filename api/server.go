// Package api is casehub's HTTP API: Echo, routes under /v1, JSON in and
// out, RFC 9457 problems for every error, bearer tokens with roles.
package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/events"
	"github.com/casehub/casehub/metrics"
	"github.com/casehub/casehub/store"
)

// Deps is what the API needs.
type Deps struct {
	Store    *store.Store
	Temporal client.Client
	Logger   *slog.Logger
	// Metrics registers the API's metrics and is served at /metrics; nil
	// makes a private registry.
	Metrics *prometheus.Registry
	// DefaultRegion reads phone numbers written without a country code.
	DefaultRegion string
	// BodyLimit caps request bodies (Echo notation, e.g. "1M").
	BodyLimit string
	// CTISecret is the shared secret the platform signs events with; empty
	// turns POST /v1/cti/events off.
	CTISecret []byte
	// CTI places calls that have no interaction (click-to-call without a
	// record).
	CTI cti.Platform
	// Interactions holds the system-wide interaction properties.
	Interactions InteractionSettings
	// CallbackHorizon is how far ahead a callback may be scheduled (zero:
	// 30 days).
	CallbackHorizon time.Duration
	// CaseStepTimeout bounds each wait of a case process for the agent
	// (zero: workflows.DefaultCaseStepTimeout).
	CaseStepTimeout time.Duration
	// Codec opens and seals Temporal payloads for the Temporal Web UI and
	// CLI (/codec/decode, /codec/encode); nil turns the endpoint off.
	Codec *codec.Codec
	// Instance is this process's instance lock: an Idempotency-Key request
	// it was running when it died is taken over by a retry at once
	// (nil: after the claim's two minutes).
	Instance *store.Instance
	// Counters count what this process does (CTI events refused, case
	// processes started); nil counts nothing.
	Counters *metrics.Counters
	// Events feeds the live event streams (GET /v1/agents/{id}/events,
	// GET /v1/events); nil answers them 503. Its Run must be going.
	Events *events.Hub
	// EventKeepAlive is how often an idle stream sends a comment line
	// (zero: 15 s).
	EventKeepAlive time.Duration
	// CodecOrigins are the browser origins (the Temporal Web UI) allowed to
	// call the codec endpoint.
	CodecOrigins []string
}

// after is a timer channel of ms milliseconds (for short waits on a new
// process's first write).
func (s *Server) after(ms int) <-chan time.Time {
	return time.After(time.Duration(ms) * time.Millisecond)
}

// Server holds the handlers' dependencies.
type Server struct {
	deps Deps
}

// NewServer returns the API with every route registered.
func NewServer(deps Deps) *echo.Echo {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Metrics == nil {
		deps.Metrics = prometheus.NewRegistry()
	}
	if deps.DefaultRegion == "" {
		deps.DefaultRegion = "US"
	}
	if deps.BodyLimit == "" {
		deps.BodyLimit = "1M"
	}
	if deps.Store != nil {
		// Contact-center figures, read from PostgreSQL at each scrape.
		deps.Metrics.MustRegister(metrics.NewStore(deps.Store.DB(), deps.Logger))
	}
	s := &Server{deps: deps}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = HTTPErrorHandler(deps.Logger)
	e.Pre(headAsGet)
	e.Use(
		middleware.RequestID(),
		accessLog(deps.Logger),
		httpMetrics(deps.Metrics),
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			deps.Logger.ErrorContext(c.Request().Context(), "handler panicked", "err", err, "stack", string(stack))
			return err
		}}),
		middleware.BodyLimit(deps.BodyLimit),
	)
	s.routes(e)
	// Parameters are checked against openapi.yaml before any route's own
	// middleware or handler runs. A route missing from the embedded document
	// is a programming error, found at the first start (and by every test).
	params, err := paramChecks(e)
	if err != nil {
		panic("api: " + err.Error())
	}
	e.Use(checkParams(params))
	return e
}

// headAsGet answers HEAD wherever GET is served: the same status and
// headers, no body.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodHead {
			return next(c)
		}
		c.Request().Method = http.MethodGet
		c.Response().Writer = bodiless{c.Response().Writer}
		return next(c)
	}
}

// bodiless drops a response's body, keeping its status and headers.
type bodiless struct{ http.ResponseWriter }

func (b bodiless) Write(p []byte) (int, error) { return len(p), nil }

// accessLog writes one slog line per request.
func accessLog(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogURIPath: true, LogRoutePath: true, LogStatus: true, LogLatency: true,
		LogRequestID: true, LogRemoteIP: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			logger.LogAttrs(c.Request().Context(), level, "http request",
				slog.String("method", v.Method), slog.String("path", v.URIPath), slog.String("route", v.RoutePath),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID), slog.String("remote_ip", v.RemoteIP))
			return nil
		},
	})
}

// httpMetrics counts requests and their latency per route and status.
func httpMetrics(reg *prometheus.Registry) echo.MiddlewareFunc {
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "casehub_http_request_duration_seconds",
		Help:    "HTTP requests served by the casehub API, by method, route and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"method", "route", "status"})
	reg.MustRegister(duration)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				status = toProblem(err).Status
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			duration.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
			return err
		}
	}
}
