package worker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/devserver"
	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/worker"
)

var (
	temporal *devserver.Server
	quiet    = log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
)

func TestMain(m *testing.M) {
	temporal = testenv.MustTemporal()
	code := m.Run()
	temporal.Stop()
	os.Exit(code)
}

func dial(t *testing.T, identity string) client.Client {
	t.Helper()
	cl, err := client.Dial(client.Options{HostPort: temporal.HostPort, Identity: identity, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func probe(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// The worker's /readyz: not ready until Temporal has seen this worker poll
// for both kinds of task, ready while it does, not ready when PostgreSQL does
// not answer; polls older than the window, or another process's, do not make
// it ready.
func TestReadinessFollowsThePolling(t *testing.T) {
	identity := fmt.Sprintf("health-test-%d@%s@", os.Getpid(), t.Name())
	cl := dial(t, identity)
	dbUp := func(context.Context) error { return nil }
	ready := worker.Readiness{Temporal: cl, Postgres: dbUp, Identity: identity}

	code, body := probe(t, ready)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "not polling task queue casehub for workflow tasks")

	w := worker.New(cl, &activities.Activities{}, worker.Options{DeadlockDetectionTimeout: time.Minute})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	require.Eventually(t, func() bool {
		code, _ := probe(t, ready)
		return code == http.StatusOK
	}, time.Minute, 100*time.Millisecond, "the worker polls, so it must become ready")
	_, body = probe(t, ready)
	require.Equal(t, "ready", body)

	down := ready
	down.Postgres = func(context.Context) error { return errors.New("connection refused") }
	code, body = probe(t, down)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "PostgreSQL does not answer", body, "the reason, without the error's text")

	stale := ready
	stale.Within = time.Nanosecond
	code, body = probe(t, stale)
	require.Equal(t, http.StatusServiceUnavailable, code, "a poll older than the window does not count")
	require.Contains(t, body, "in the last 1ns")

	other := ready
	other.Identity = "someone-else@elsewhere@"
	code, body = probe(t, other)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "someone-else@elsewhere@")
}

// A Temporal that does not answer makes the worker not ready (and the check
// gives up within its deadline).
func TestReadinessWithoutTemporal(t *testing.T) {
	cl, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: quiet})
	require.NoError(t, err)
	defer cl.Close()
	ready := worker.Readiness{Temporal: cl, Postgres: func(context.Context) error { return nil }, Identity: worker.Identity()}
	start := time.Now()
	code, body := probe(t, ready)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "Temporal does not answer", body)
	require.Less(t, time.Since(start), 30*time.Second)
}
