package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Counters are what one process counts of its own doing; Prometheus sums
// them over processes. A nil *Counters counts nothing.
type Counters struct {
	ctiCommands      *prometheus.CounterVec
	ctiRefused       *prometheus.CounterVec
	processesStarted *prometheus.CounterVec
}

// NewCounters registers the counters with reg.
func NewCounters(reg prometheus.Registerer) *Counters {
	c := &Counters{
		ctiCommands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "casehub_cti_commands_total",
			Help: "Commands sent to the telephony platform (CTI), by command and outcome (ok, or the error code: timeout, unavailable, too_late, http_status...)."},
			[]string{"command", "outcome"}),
		ctiRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "casehub_cti_events_refused_total",
			Help: "Events from the telephony platform this API refused, by reason (signature, stale, malformed, unknown_type...)."},
			[]string{"reason"}),
		processesStarted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "casehub_case_processes_started_total",
			Help: "Case processes (Add new case, Advise on existing case) started from a call panel, by kind."},
			[]string{"kind"}),
	}
	reg.MustRegister(c.ctiCommands, c.ctiRefused, c.processesStarted)
	return c
}

// CTICommand counts one command sent to the platform.
func (c *Counters) CTICommand(command, outcome string) {
	if c != nil {
		c.ctiCommands.WithLabelValues(strings.ReplaceAll(command, " ", "_"), outcome).Inc()
	}
}

// CTIEventRefused counts one platform event refused.
func (c *Counters) CTIEventRefused(reason string) {
	if c != nil {
		c.ctiRefused.WithLabelValues(reason).Inc()
	}
}

// CaseProcessStarted counts one new case process.
func (c *Counters) CaseProcessStarted(kind string) {
	if c != nil {
		c.processesStarted.WithLabelValues(kind).Inc()
	}
}
