package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"
)

type healthStatus struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// healthz answers while the process is alive.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthStatus{Status: "ok"})
}

// readyz answers 200 when PostgreSQL and Temporal both answer, 503 otherwise.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	ready := true
	if err := s.deps.Store.Ping(ctx); err != nil {
		checks["postgres"], ready = "unavailable", false
	}
	if s.deps.Temporal == nil {
		checks["temporal"], ready = "not configured", false
	} else if _, err := s.deps.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ready = "unavailable", false
	}
	if !ready {
		return c.JSON(http.StatusServiceUnavailable, healthStatus{Status: "unavailable", Checks: checks})
	}
	return c.JSON(http.StatusOK, healthStatus{Status: "ready", Checks: checks})
}
