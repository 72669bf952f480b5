// Package metrics exports casehub's contact-center figures to Prometheus.
//
// What lives in PostgreSQL is read there at scrape time, so every API replica
// shows the same figures: queue depth and oldest wait, agents by status and
// open callbacks are counted from their tables; offers, answers, handle and
// wrap-up times, dispatch latency and callback dials are counters and
// histograms that triggers keep in metric_counts in the transaction of each
// change (schema migration 00016), so a step counts once when it commits.
// What happens in one process only (CTI commands it sent, platform events it
// refused, case processes it started) is counted by that process (Counters).
package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the queries of one scrape.
const scrapeTimeout = 3 * time.Second

// family describes one metric read from metric_counts.
type family struct {
	desc      *prometheus.Desc
	histogram bool
	// labelName is the name of metric_counts.label for counters (outcome,
	// result); empty when the label is unused.
	labelName string
	// noChannel drops the channel label (callbacks are all voice).
	noChannel bool
}

var (
	queueChannel = []string{"queue", "channel"}

	counted = map[string]family{
		"offers": {desc: prometheus.NewDesc("casehub_offers_total",
			"Offers made: a waiting item booked for an agent, by queue and channel.", queueChannel, nil)},
		"offer_outcomes": {desc: prometheus.NewDesc("casehub_offer_outcomes_total",
			"Offers ended, by outcome: accepted, rejected, timed_out, withdrawn.", []string{"queue", "channel", "outcome"}, nil), labelName: "outcome"},
		"answered_within_target": {desc: prometheus.NewDesc("casehub_answered_within_target_total",
			"Offers accepted within the queue's service-level target (queue setting service_level_seconds, 20 s by default) of the item entering the queue.", queueChannel, nil)},
		"interactions_closed": {desc: prometheus.NewDesc("casehub_inbound_interactions_closed_total",
			"Inbound calls and chats closed, by whether an agent had answered (result=unanswered: abandoned, rejected or unroutable before answer).", []string{"queue", "channel", "result"}, nil), labelName: "result"},
		"callback_attempts": {desc: prometheus.NewDesc("casehub_callback_attempts_total",
			"Callback dials ended, by outcome (answered, connected, no_answer, busy, voicemail, failed, hung_up, no_agent).", []string{"queue", "outcome"}, nil), labelName: "outcome", noChannel: true},
		"answer_seconds": {desc: prometheus.NewDesc("casehub_answer_seconds",
			"Time to answer: from an item entering its queue to an agent accepting it.", queueChannel, nil), histogram: true},
		"handle_seconds": {desc: prometheus.NewDesc("casehub_handle_seconds",
			"Handle time: from an agent accepting an item to the item finishing.", queueChannel, nil), histogram: true},
		"wrapup_seconds": {desc: prometheus.NewDesc("casehub_wrapup_seconds",
			"Wrap-up time: from an item finishing to its agent leaving wrap-up.", queueChannel, nil), histogram: true},
		"dispatch_seconds": {desc: prometheus.NewDesc("casehub_dispatch_seconds",
			"Dispatch latency: from an item and an agent both being ready to the offer being booked.", queueChannel, nil), histogram: true},
		"callback_late_seconds": {desc: prometheus.NewDesc("casehub_callback_late_seconds",
			"How late a scheduled callback's first dial started after its scheduled time.", []string{"queue"}, nil), histogram: true, noChannel: true},
	}

	waitingItems = prometheus.NewDesc("casehub_queue_waiting_items",
		"Items waiting in a queue for an agent.", queueChannel, nil)
	oldestWait = prometheus.NewDesc("casehub_queue_oldest_wait_seconds",
		"How long the oldest waiting item of a queue has waited (absent when none waits).", queueChannel, nil)
	serviceLevelTarget = prometheus.NewDesc("casehub_queue_service_level_target_seconds",
		"The queue's service-level target: answered within this many seconds.", []string{"queue"}, nil)
	agentsByStatus = prometheus.NewDesc("casehub_agents",
		"Agents by status: offline, available, busy (available with work), on_break, wrap_up.", []string{"status"}, nil)
	openCallbacks = prometheus.NewDesc("casehub_callbacks_open",
		"Callbacks not closed, by state: scheduled, queued, in_progress.", []string{"queue", "state"}, nil)
	dueCallbacks = prometheus.NewDesc("casehub_callbacks_due",
		"Scheduled callbacks whose time (or retry) has come.", []string{"queue"}, nil)
	scrapeErrors = prometheus.NewDesc("casehub_metrics_scrape_errors",
		"1 when a query of this scrape failed (its figures are missing), else 0.", nil, nil)
)

const (
	readCounts  = `SELECT name, queue, channel, label, value FROM metric_counts`
	readBuckets = `SELECT n AS name, unnest(casehub_buckets(n)) AS le FROM unnest($1::text[]) AS n`
	readWaiting = `SELECT queue, channel, count(*) AS n, extract(epoch FROM now() - min(enqueued_at)) AS oldest
FROM work_items WHERE state = 'waiting' GROUP BY queue, channel`
	readTargets = `SELECT name, CASE WHEN jsonb_typeof(settings->'service_level_seconds') = 'number'
  THEN (settings->>'service_level_seconds')::double precision ELSE 20 END AS target FROM queues`
	readAgents = `SELECT CASE WHEN presence = 'available' AND voice_load + chat_load > 0 THEN 'busy' ELSE presence END AS status,
  count(*) AS n FROM agents GROUP BY 1`
	readCallbacks = `SELECT queue, state, count(*) AS n,
  count(*) FILTER (WHERE state = 'scheduled' AND coalesce(next_attempt_at, scheduled_at, created_at) <= now()) AS due
FROM callbacks WHERE state IN ('scheduled', 'queued', 'in_progress') GROUP BY queue, state`
)

// Store reads the figures that live in PostgreSQL at each scrape.
type Store struct {
	db     *sqlx.DB
	logger *slog.Logger

	mu      sync.Mutex
	buckets map[string][]float64 // each histogram's bounds, read once
}

// NewStore returns the collector over db.
func NewStore(db *sqlx.DB, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.Default()
	}
	return &Store{db: db, logger: logger}
}

// Describe sends every family's description.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range counted {
		ch <- f.desc
	}
	for _, d := range []*prometheus.Desc{waitingItems, oldestWait, serviceLevelTarget, agentsByStatus, openCallbacks, dueCallbacks, scrapeErrors} {
		ch <- d
	}
}

// Collect runs the scrape's queries.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	failed := 0.0
	for _, read := range []func(context.Context, chan<- prometheus.Metric) error{s.counts, s.waiting, s.targets, s.agents, s.callbacks} {
		if err := read(ctx, ch); err != nil {
			s.logger.Warn("read metrics", "err", err)
			failed = 1
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrors, prometheus.GaugeValue, failed)
}

type countRow struct {
	Name, Queue, Channel, Label string
	Value                       float64
}

type histKey struct{ name, queue, channel string }

type hist struct {
	buckets map[float64]uint64
	count   uint64
	sum     float64
}

func (s *Store) counts(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []countRow
	if err := s.db.SelectContext(ctx, &rows, readCounts); err != nil {
		return err
	}
	hists := map[histKey]*hist{}
	histOf := func(k histKey) *hist {
		h := hists[k]
		if h == nil {
			h = &hist{buckets: map[float64]uint64{}}
			hists[k] = h
		}
		return h
	}
	for _, r := range rows {
		if base, ok := cutSum(r.Name); ok {
			if f, ok := counted[base]; ok && f.histogram {
				histOf(histKey{base, r.Queue, r.Channel}).sum = r.Value
			}
			continue
		}
		f, ok := counted[r.Name]
		if !ok {
			continue
		}
		if f.histogram {
			h := histOf(histKey{r.Name, r.Queue, r.Channel})
			if r.Label == "+Inf" {
				h.count = uint64(r.Value)
				continue
			}
			le, err := strconv.ParseFloat(r.Label, 64)
			if err == nil {
				h.buckets[le] = uint64(r.Value)
			}
			continue
		}
		labels := []string{r.Queue}
		if !f.noChannel {
			labels = append(labels, r.Channel)
		}
		if f.labelName != "" {
			labels = append(labels, r.Label)
		}
		ch <- prometheus.MustNewConstMetric(f.desc, prometheus.CounterValue, r.Value, labels...)
	}
	bounds, err := s.bounds(ctx)
	if err != nil {
		return err
	}
	for k, h := range hists {
		for _, le := range bounds[k.name] {
			if _, ok := h.buckets[le]; !ok {
				h.buckets[le] = 0 // no observation at or below it yet
			}
		}
		f := counted[k.name]
		labels := []string{k.queue}
		if !f.noChannel {
			labels = append(labels, k.channel)
		}
		ch <- prometheus.MustNewConstHistogram(f.desc, h.count, h.sum, h.buckets, labels...)
	}
	return nil
}

// bounds reads the histograms' bucket bounds from PostgreSQL (where the
// triggers take them from), once.
func (s *Store) bounds(ctx context.Context) (map[string][]float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets != nil {
		return s.buckets, nil
	}
	var names []string
	for name, f := range counted {
		if f.histogram {
			names = append(names, name)
		}
	}
	var rows []struct {
		Name string
		LE   float64 `db:"le"`
	}
	if err := s.db.SelectContext(ctx, &rows, readBuckets, pq.Array(names)); err != nil {
		return nil, err
	}
	b := map[string][]float64{}
	for _, r := range rows {
		b[r.Name] = append(b[r.Name], r.LE)
	}
	s.buckets = b
	return b, nil
}

func cutSum(name string) (string, bool) {
	const suffix = "_sum"
	if len(name) > len(suffix) && name[len(name)-len(suffix):] == suffix {
		return name[:len(name)-len(suffix)], true
	}
	return "", false
}

func (s *Store) waiting(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []struct {
		Queue, Channel string
		N              float64
		Oldest         float64
	}
	if err := s.db.SelectContext(ctx, &rows, readWaiting); err != nil {
		return err
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(waitingItems, prometheus.GaugeValue, r.N, r.Queue, r.Channel)
		ch <- prometheus.MustNewConstMetric(oldestWait, prometheus.GaugeValue, r.Oldest, r.Queue, r.Channel)
	}
	return nil
}

func (s *Store) targets(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []struct {
		Name   string
		Target float64
	}
	if err := s.db.SelectContext(ctx, &rows, readTargets); err != nil {
		return err
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(serviceLevelTarget, prometheus.GaugeValue, r.Target, r.Name)
	}
	return nil
}

func (s *Store) agents(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []struct {
		Status string
		N      float64
	}
	if err := s.db.SelectContext(ctx, &rows, readAgents); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Status] = true
		ch <- prometheus.MustNewConstMetric(agentsByStatus, prometheus.GaugeValue, r.N, r.Status)
	}
	for _, st := range []string{"offline", "available", "busy", "on_break", "wrap_up"} {
		if !seen[st] {
			ch <- prometheus.MustNewConstMetric(agentsByStatus, prometheus.GaugeValue, 0, st)
		}
	}
	return nil
}

func (s *Store) callbacks(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []struct {
		Queue, State string
		N, Due       float64
	}
	if err := s.db.SelectContext(ctx, &rows, readCallbacks); err != nil {
		return err
	}
	due := map[string]float64{}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(openCallbacks, prometheus.GaugeValue, r.N, r.Queue, r.State)
		due[r.Queue] += r.Due
	}
	for q, n := range due {
		ch <- prometheus.MustNewConstMetric(dueCallbacks, prometheus.GaugeValue, n, q)
	}
	return nil
}
