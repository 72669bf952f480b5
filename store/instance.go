package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// instanceLockClass is the first key of the advisory lock an Instance
// holds: (7271003, Instance.ID()). Routing's queue locks use 7271002.
const instanceLockClass = 7271003

// instanceCheckEvery is how often an Instance checks that its connection,
// and so its lock, is still there.
const instanceCheckEvery = 2 * time.Second

// Instance is one running casehub process as PostgreSQL sees it: a
// session advisory lock held on a connection of its own for as long as the
// process lives. When the process dies its connection closes and the lock
// goes with it, so another process can tell, from pg_locks, that work
// claimed under this instance's id will never be finished by it.
//
// The connection is taken from db's pool for the process's life (one
// connection fewer for queries). When it breaks (PostgreSQL restarted) the
// lock is taken again on a new one, under the same id.
type Instance struct {
	id     int32
	db     *sqlx.DB
	logger *slog.Logger

	mu     sync.Mutex
	conn   *sql.Conn
	cancel context.CancelFunc
	done   chan struct{}
}

// HoldInstance takes an instance lock under a fresh random id and keeps
// it until Close.
func HoldInstance(ctx context.Context, db *sqlx.DB, logger *slog.Logger) (*Instance, error) {
	in := &Instance{db: db, logger: logger, done: make(chan struct{})}
	for range 10 {
		in.id = rand.Int32N(1<<31-2) + 1
		ok, err := in.lock(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			in.cancel = cancel
			go in.keep(kctx)
			return in, nil
		}
	}
	return nil, errors.New("take an instance lock: every id tried was taken")
}

// ID is the instance's id, the second key of its advisory lock.
func (in *Instance) ID() int32 {
	if in == nil {
		return 0
	}
	return in.id
}

// lock opens a connection and tries the lock on it; the connection is kept
// only when the lock was taken.
func (in *Instance) lock(ctx context.Context) (bool, error) {
	conn, err := in.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("take an instance lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, instanceLockClass, in.id).Scan(&ok); err != nil {
		conn.Close()
		return false, fmt.Errorf("take an instance lock: %w", err)
	}
	if !ok {
		conn.Close()
		return false, nil
	}
	in.mu.Lock()
	in.conn = conn
	in.mu.Unlock()
	return true, nil
}

// keep checks the connection every instanceCheckEvery and takes the lock
// again on a new connection when it broke.
func (in *Instance) keep(ctx context.Context) {
	defer close(in.done)
	t := time.NewTicker(instanceCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		in.mu.Lock()
		conn := in.conn
		in.mu.Unlock()
		if conn != nil {
			cctx, cancel := context.WithTimeout(ctx, instanceCheckEvery)
			_, err := conn.ExecContext(cctx, `SELECT 1`)
			cancel()
			if err == nil {
				continue
			}
			conn.Close()
			in.mu.Lock()
			in.conn = nil
			in.mu.Unlock()
		}
		cctx, cancel := context.WithTimeout(ctx, instanceCheckEvery)
		ok, err := in.lock(cctx)
		cancel()
		switch {
		case err != nil:
			in.logger.Warn("instance lock lost; taking it again", "instance", in.id, "err", err)
		case !ok:
			in.logger.Error("instance lock held by another session", "instance", in.id)
		default:
			in.logger.Info("instance lock taken again", "instance", in.id)
		}
	}
}

// Close gives the lock up (closing its connection).
func (in *Instance) Close() {
	if in == nil {
		return
	}
	in.cancel()
	<-in.done
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = in.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, $2)`, instanceLockClass, in.id)
		cancel()
		in.conn.Close()
		in.conn = nil
	}
}
