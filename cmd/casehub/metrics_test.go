package main

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// The Temporal SDK's metrics, as a casehub process exports them: counters
// are counters, every family has HELP, the service is named, and promlint
// (what `promtool check metrics` runs) finds nothing.
func TestSDKMetricsAreCountersWithHelp(t *testing.T) {
	m, err := newMetrics()
	require.NoError(t, err)
	m.temporal.Counter("temporal_workflow_completed").Inc(1)
	m.temporal.Gauge("temporal_sticky_cache_size").Update(3)
	m.temporal.Timer("temporal_activity_execution_latency").Record(20 * time.Millisecond)
	m.temporal.Counter("temporal_some_future_metric").Inc(1)
	m.counters.CTICommand("offer to agent", "ok")

	fams, err := m.registry.Gather()
	require.NoError(t, err)
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
		require.NotEmpty(t, f.GetHelp(), "%s has no HELP", f.GetName())
	}
	require.Equal(t, dto.MetricType_COUNTER, byName["temporal_workflow_completed_total"].GetType())
	require.Equal(t, dto.MetricType_GAUGE, byName["temporal_sticky_cache_size"].GetType())
	require.Contains(t, byName, "temporal_some_future_metric_total")
	require.Equal(t, 1.0, byName["casehub_cti_commands_total"].GetMetric()[0].GetCounter().GetValue())
	var service string
	for _, l := range byName["target_info"].GetMetric()[0].GetLabel() {
		if l.GetName() == "service_name" {
			service = l.GetValue()
		}
	}
	require.Equal(t, "casehub", service)

	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}
