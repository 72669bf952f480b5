package metrics

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/casehub/casehub/workflows"
)

// sdkHelp describes the Temporal Go SDK's metrics, which carry no
// description of their own (docs.temporal.io/references/sdk-metrics).
var sdkHelp = map[string]string{
	"temporal_request":                                 "Requests the SDK made to the Temporal server.",
	"temporal_request_failure":                         "Requests to the Temporal server that failed.",
	"temporal_request_latency":                         "Latency of requests to the Temporal server.",
	"temporal_long_request":                            "Long-poll requests the SDK made to the Temporal server.",
	"temporal_long_request_failure":                    "Long-poll requests to the Temporal server that failed.",
	"temporal_long_request_latency":                    "Latency of long-poll requests to the Temporal server.",
	"temporal_workflow_completed":                      "Workflow executions this worker completed.",
	"temporal_workflow_failed":                         "Workflow executions this worker failed.",
	"temporal_workflow_canceled":                       "Workflow executions this worker cancelled.",
	"temporal_workflow_continue_as_new":                "Workflow executions this worker continued as new.",
	"temporal_workflow_endtoend_latency":               "Workflow executions' time from start to close.",
	"temporal_workflow_task_queue_poll_empty":          "Workflow task polls that returned no task.",
	"temporal_workflow_task_queue_poll_succeed":        "Workflow task polls that returned a task.",
	"temporal_workflow_task_schedule_to_start_latency": "Workflow tasks' time from scheduled to picked up by this worker.",
	"temporal_workflow_task_execution_latency":         "Workflow tasks' processing time in this worker.",
	"temporal_workflow_task_replay_latency":            "Time this worker spent replaying histories.",
	"temporal_workflow_task_execution_failed":          "Workflow tasks that failed in this worker (a panic or a non-determinism error).",
	"temporal_activity_poll_no_task":                   "Activity task polls that returned no task.",
	"temporal_activity_schedule_to_start_latency":      "Activity tasks' time from scheduled to picked up by this worker.",
	"temporal_activity_execution_latency":              "Activity executions' time in this worker.",
	"temporal_activity_succeed_endtoend_latency":       "Activities' time from scheduled to completed successfully, retries included.",
	"temporal_activity_execution_failed":               "Activity executions that failed in this worker.",
	"temporal_activity_execution_cancelled":            "Activity executions cancelled in this worker.",
	"temporal_local_activity_total":                    "Local activities this worker ran.",
	"temporal_local_activity_execution_latency":        "Local activities' execution time in this worker.",
	"temporal_local_activity_execution_failed":         "Local activities that failed in this worker.",
	"temporal_local_activity_execution_cancelled":      "Local activities cancelled in this worker.",
	"temporal_sticky_cache_hit":                        "Workflow tasks served from this worker's sticky cache.",
	"temporal_sticky_cache_miss":                       "Workflow tasks that missed this worker's sticky cache (the history was replayed).",
	"temporal_sticky_cache_size":                       "Workflow executions in this worker's sticky cache.",
	"temporal_sticky_cache_total_forced_eviction":      "Workflow executions evicted from this worker's sticky cache to make room.",
	"temporal_worker_start":                            "Workers started.",
	"temporal_worker_task_slots_available":             "Task slots this worker has free, by worker type.",
	"temporal_worker_task_slots_used":                  "Task slots this worker has in use, by worker type.",
	"temporal_poller_start":                            "Pollers started.",
	"temporal_num_pollers":                             "Pollers this worker runs, by poller type.",
	"temporal_corrupted_signals":                       "Signals dropped because their payload could not be decoded.",
	"temporal_unregistered_activity_invocation":        "Activity tasks for an activity type this worker does not register.",
	"temporal_workflow_active_thread_count":            "Workflow goroutines alive in this worker.",
	"temporal_activity_task_error":                     "Activity tasks that failed with an internal error.",
	"temporal_nexus_poll_no_task":                      "Nexus task polls that returned no task.",
}

// Descriptions of the metrics casehub's processes emit through the SDK's
// replay-aware handler (workflow.GetMetricsHandler): counted once, when the
// process runs the step for the first time, never when a worker replays it.
var workflowHelp = map[string]string{
	workflows.MetricCaseProcessesFinished: "Case processes ended, by kind and outcome (done, cancelled, abandoned when the agent did nothing in time).",
}

// SDKView gives each instrument of the Temporal SDK's handler a description
// (Prometheus HELP): the SDK's from its metric reference, or naming where it
// is documented; casehub's workflow metrics their own.
func SDKView(inst sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	if inst.Description != "" {
		return sdkmetric.Stream{}, false
	}
	desc, ok := workflowHelp[inst.Name]
	if !ok {
		if !strings.HasPrefix(inst.Name, "temporal_") {
			return sdkmetric.Stream{}, false
		}
		if desc, ok = sdkHelp[inst.Name]; !ok {
			desc = "Temporal Go SDK metric " + inst.Name + " (docs.temporal.io/references/sdk-metrics)."
		}
	}
	return sdkmetric.Stream{Name: inst.Name, Description: desc, Unit: inst.Unit}, true
}

// NewTemporalHandler is the Temporal SDK's metrics handler for a casehub
// process: OpenTelemetry instruments exported to reg, counters as monotonic
// counters, every family with HELP, the service named casehub.
func NewTemporalHandler(reg prometheus.Registerer) (client.MetricsHandler, error) {
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("create metrics exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(SDKView),
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "casehub"))))
	return opentelemetry.NewMetricsHandler(opentelemetry.MetricsHandlerOptions{Meter: provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true}), nil
}

// SDKExported names the Prometheus families the SDK's documented metrics
// become once used: counters end in _total, timers are histograms in
// seconds, the rest are gauges.
func SDKExported() []string {
	out := make([]string, 0, len(sdkHelp)+len(workflowHelp))
	for name := range workflowHelp {
		out = append(out, name+"_total")
	}
	for name := range sdkHelp {
		switch {
		case strings.HasSuffix(name, "_latency"):
			out = append(out, name+"_seconds")
		case sdkGauges[name]:
			out = append(out, name)
		default:
			out = append(out, name+"_total")
		}
	}
	return out
}

var sdkGauges = map[string]bool{
	"temporal_sticky_cache_size": true, "temporal_worker_task_slots_available": true, "temporal_worker_task_slots_used": true,
	"temporal_num_pollers": true, "temporal_workflow_active_thread_count": true,
}
