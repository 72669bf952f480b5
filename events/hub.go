package events

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Channel is the PostgreSQL notification channel each event insert notifies.
const Channel = "casehub_events"

const (
	// readBatch bounds one read of new rows.
	readBatch = 500
	// subBuffer is how many events a slow stream may fall behind before the
	// hub drops it (its client resumes from its last event).
	subBuffer = 1024
	// safetyPoll rereads even without a notification (one lost while the
	// listener reconnected).
	safetyPoll = time.Second
)

const (
	visible = `txid < pg_snapshot_xmin(pg_current_snapshot())`
	columns = `SELECT txid::text AS txid, id, coalesce(agent_id, '') AS agent_id, wall, kind, data, at FROM events `
	readNew = columns + `WHERE (txid, id) > ($1::xid8, $2) AND ` + visible + ` ORDER BY txid, id LIMIT $3`
	readAt  = `SELECT coalesce((SELECT txid::text || '-' || id FROM events WHERE ` + visible +
		` ORDER BY txid DESC, id DESC LIMIT 1), '0-0')`
	between = columns + `WHERE (txid, id) > ($1::xid8, $2) AND (txid, id) <= ($3::xid8, $4)
  AND (CASE WHEN $5 THEN wall ELSE agent_id = $6 END) ORDER BY txid, id`
	known = `SELECT EXISTS (SELECT 1 FROM events WHERE id = $1 AND txid = $2::xid8)`
)

// Hub reads new events as they commit and hands each to the streams that
// show it.
type Hub struct {
	db     *sqlx.DB
	dsn    string
	logger *slog.Logger

	mu    sync.Mutex
	pos   Cursor
	subs  map[*Sub]struct{}
	ready chan struct{}

	wake chan struct{}
	// pending are ids notified and not read yet: until they are, the hub
	// rereads every few milliseconds (their transaction committed, but an
	// older one still runs). recent are ids read lately, so that a
	// notification that comes after its row was read is not awaited.
	pmu     sync.Mutex
	pending map[int64]time.Time
	recent  map[int64]struct{}
	order   []int64
}

// recentKept is how many read ids the hub remembers.
const recentKept = 8192

// pendingExpiry forgets a notified id that never showed (it cannot happen
// while the table is only appended to; a sweep could delete a row first).
const pendingExpiry = 10 * time.Second

func (h *Hub) notified(id int64) {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	if _, ok := h.recent[id]; !ok {
		h.pending[id] = time.Now()
	}
}

// seen marks ids read and tells whether notified ones are still awaited.
func (h *Hub) seen(evs []Event) (waiting bool) {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	for _, e := range evs {
		delete(h.pending, e.Cursor.ID)
		h.recent[e.Cursor.ID] = struct{}{}
		h.order = append(h.order, e.Cursor.ID)
	}
	if over := len(h.order) - recentKept; over > 0 {
		for _, id := range h.order[:over] {
			delete(h.recent, id)
		}
		h.order = append(h.order[:0], h.order[over:]...)
	}
	for id, at := range h.pending {
		if time.Since(at) > pendingExpiry {
			delete(h.pending, id)
		}
	}
	return len(h.pending) > 0
}

// NewHub returns a hub over db; dsn is the same database's URL, for the
// listening connection.
func NewHub(db *sqlx.DB, dsn string, logger *slog.Logger) *Hub {
	if logger == nil {
		logger = slog.Default()
	}
	return &Hub{db: db, dsn: dsn, logger: logger, subs: map[*Sub]struct{}{}, ready: make(chan struct{}),
		wake: make(chan struct{}, 1), pending: map[int64]time.Time{}, recent: map[int64]struct{}{}}
}

// Sub is one stream's subscription.
type Sub struct {
	// Start is where the subscription begins: it receives every event after
	// it that its audience sees.
	Start    Cursor
	audience Audience
	c        chan Event
	dropped  chan struct{}
}

// Events are the subscription's events, in order.
func (s *Sub) Events() <-chan Event { return s.c }

// Dropped is closed when the subscriber fell too far behind; its stream
// should end so that its client resumes.
func (s *Sub) Dropped() <-chan struct{} { return s.dropped }

// Run listens and reads until ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	l := pq.NewListener(h.dsn, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			h.logger.Warn("event listener", "event", ev, "err", err)
		}
		if ev == pq.ListenerEventReconnected {
			h.poke()
		}
	})
	defer l.Close()
	if err := l.Listen(Channel); err != nil {
		return wrap("listen for events", err)
	}
	start, err := h.head(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.pos = start
	h.mu.Unlock()
	close(h.ready)

	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case n, ok := <-l.Notify:
				if !ok {
					return
				}
				if n == nil { // reconnected: anything may have been missed
					h.poke()
					continue
				}
				if id, err := strconv.ParseInt(n.Extra, 10, 64); err == nil {
					h.notified(id)
				}
				h.poke()
			}
		}
	}()

	safety := time.NewTicker(safetyPoll)
	defer safety.Stop()
	backoff := time.Duration(0)
	for {
		var timer <-chan time.Time
		if backoff > 0 {
			timer = time.After(backoff)
		}
		select {
		case <-ctx.Done():
			h.closeAll()
			return nil
		case <-h.wake:
		case <-safety.C:
		case <-timer:
		}
		full, waiting, err := h.read(ctx)
		switch {
		case ctx.Err() != nil:
			h.closeAll()
			return nil
		case err != nil:
			// PostgreSQL away: try again, less and less often (up to 1 s).
			h.logger.Warn("read events", "err", err)
			backoff = min(max(2*backoff, 100*time.Millisecond), time.Second)
		case full:
			backoff = 0
			h.poke()
		case waiting:
			// Notified rows not visible yet: an older transaction still
			// runs. Look again soon.
			backoff = 5 * time.Millisecond
		default:
			backoff = 0
		}
	}
}

func (h *Hub) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Ready is closed once the hub has its starting position and listens.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

type row struct {
	Txid    string    `db:"txid"`
	ID      int64     `db:"id"`
	AgentID string    `db:"agent_id"`
	Wall    bool      `db:"wall"`
	Kind    string    `db:"kind"`
	Data    []byte    `db:"data"`
	At      time.Time `db:"at"`
}

func (r row) event() (Event, error) {
	tx, err := strconv.ParseUint(r.Txid, 10, 64)
	if err != nil {
		return Event{}, wrap("event txid", err)
	}
	return Event{Cursor: Cursor{Tx: tx, ID: r.ID}, AgentID: r.AgentID, Wall: r.Wall, Kind: r.Kind, Data: r.Data, At: r.At}, nil
}

// read reads what committed since the hub's position and publishes it. It
// reports a full batch (more to read now) and notified rows not seen yet.
func (h *Hub) read(ctx context.Context) (full, waiting bool, err error) {
	h.mu.Lock()
	pos := h.pos
	h.mu.Unlock()
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var rows []row
	if err := h.db.SelectContext(qctx, &rows, readNew, strconv.FormatUint(pos.Tx, 10), pos.ID, readBatch); err != nil {
		return false, false, wrap("read new events", err)
	}
	evs := make([]Event, 0, len(rows))
	for _, r := range rows {
		e, err := r.event()
		if err != nil {
			return false, false, err
		}
		evs = append(evs, e)
	}
	h.publish(evs)
	return len(rows) == readBatch, h.seen(evs), nil
}

func (h *Hub) publish(evs []Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range evs {
		if !e.Cursor.After(h.pos) {
			continue
		}
		h.pos = e.Cursor
		for s := range h.subs {
			if !s.audience.Sees(e) {
				continue
			}
			select {
			case s.c <- e:
			default:
				h.drop(s)
			}
		}
	}
}

// drop ends a subscription that fell behind; h.mu is held.
func (h *Hub) drop(s *Sub) {
	delete(h.subs, s)
	close(s.dropped)
}

func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		h.drop(s)
	}
}

// ErrNotRunning is a subscription to a hub that has not started.
var ErrNotRunning = errors.New("the event hub is not running")

// Subscribe starts a subscription at the hub's current position.
func (h *Hub) Subscribe(ctx context.Context, a Audience) (*Sub, error) {
	select {
	case <-h.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s := &Sub{audience: a, c: make(chan Event, subBuffer), dropped: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	s.Start = h.pos
	h.subs[s] = struct{}{}
	return s, nil
}

// Unsubscribe ends a subscription.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// Known tells whether c is an event still kept (or the zero cursor), so that
// a stream can resume after it.
func (h *Hub) Known(ctx context.Context, c Cursor) (bool, error) {
	if c == (Cursor{}) {
		return true, nil
	}
	var ok bool
	if err := h.db.GetContext(ctx, &ok, known, c.ID, strconv.FormatUint(c.Tx, 10)); err != nil {
		return false, wrap("look up event", err)
	}
	return ok, nil
}

// Between returns the events a sees after from, up to and including to.
func (h *Hub) Between(ctx context.Context, a Audience, from, to Cursor) ([]Event, error) {
	var rows []row
	if err := h.db.SelectContext(ctx, &rows, between, strconv.FormatUint(from.Tx, 10), from.ID,
		strconv.FormatUint(to.Tx, 10), to.ID, a.Wall, a.Agent); err != nil {
		return nil, wrap("read missed events", err)
	}
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		e, err := r.event()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (h *Hub) head(ctx context.Context) (Cursor, error) {
	var s string
	if err := h.db.GetContext(ctx, &s, readAt); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Cursor{}, wrap("read the events' head", err)
	}
	return ParseCursor(s)
}
