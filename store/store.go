// Package store is casehub's PostgreSQL data access: one Store with a file per
// aggregate, queries as named constants, every query under a deadline.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Config is the connection pool's configuration.
type Config struct {
	URL             string
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	QueryTimeout    time.Duration
}

// DefaultConfig returns pool settings sized for one casehub process.
func DefaultConfig(url string) Config {
	return Config{
		URL:             url,
		MaxOpenConns:    20,
		MaxIdleConns:    10,
		ConnMaxLifetime: 30 * time.Minute,
		QueryTimeout:    5 * time.Second,
	}
}

// Open connects to PostgreSQL with cfg's pool settings and checks the
// connection.
//
// Every connection sends an unprepared query and its parameters in one
// round trip (lib/pq's binary_parameters) instead of two, and keeps each
// statement it has run prepared (see preparing). In that mode a
// []byte parameter goes as binary data, which is right for bytea columns
// only: JSON for a jsonb column goes as a Go string, or through
// CAST(CAST(:x AS text) AS jsonb) when it is a struct's []byte field.
// Each connection keeps its statements prepared (see preparing).
func Open(ctx context.Context, cfg Config) (*sqlx.DB, error) {
	pqcfg, err := pq.NewConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pqcfg.BinaryParameters = true
	connector, err := pq.NewConnectorConfig(pqcfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(preparing{connector}), "postgres")
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

// Store is the data access layer. A Store made by InTx runs every method in
// that transaction.
type Store struct {
	root    *sqlx.DB
	q       sqlx.ExtContext
	timeout time.Duration
}

// New returns a Store over db; every query gets queryTimeout as its deadline
// (5 s when zero).
func New(db *sqlx.DB, queryTimeout time.Duration) *Store {
	if queryTimeout <= 0 {
		queryTimeout = 5 * time.Second
	}
	return &Store{root: db, q: db, timeout: queryTimeout}
}

// DB returns the underlying connection pool.
func (s *Store) DB() *sqlx.DB { return s.root }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return s.root.PingContext(ctx)
}

// InTx runs fn with a Store bound to one transaction: committed when fn
// returns nil, rolled back otherwise. Nested calls join the outer transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	if _, nested := s.q.(*sqlx.Tx); nested {
		return fn(s)
	}
	tx, err := s.root.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(&Store{root: s.root, q: tx, timeout: s.timeout}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// InSnapshot runs fn's reads in one read-only transaction that sees one
// snapshot of the database (repeatable read), so a view built from several
// queries (an agent with its offers) never mixes states before and after a
// write committed between them.
func (s *Store) InSnapshot(ctx context.Context, fn func(tx *Store) error) error {
	if _, nested := s.q.(*sqlx.Tx); nested {
		return fn(s)
	}
	tx, err := s.root.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(&Store{root: s.root, q: tx, timeout: s.timeout})
}

// deadline bounds one query by the store's timeout.
func (s *Store) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// namedGet runs a named query expecting one row.
func (s *Store) namedGet(ctx context.Context, dest any, query string, arg any) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	q, args, err := sqlx.Named(query, arg)
	if err != nil {
		return fmt.Errorf("bind query: %w", err)
	}
	err = sqlx.GetContext(ctx, s.q, dest, s.root.Rebind(q), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// namedSelect runs a named query into a slice.
func (s *Store) namedSelect(ctx context.Context, dest any, query string, arg any) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	q, args, err := sqlx.Named(query, arg)
	if err != nil {
		return fmt.Errorf("bind query: %w", err)
	}
	return sqlx.SelectContext(ctx, s.q, dest, s.root.Rebind(q), args...)
}

// namedExec runs a named statement and returns the rows affected.
func (s *Store) namedExec(ctx context.Context, query string, arg any) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res, err := sqlx.NamedExecContext(ctx, s.q, query, arg)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Domain errors that the API maps to status codes.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
	ErrConflict  = errors.New("conflicts with the current state")
)

// FieldError ties a domain error to the request field that caused it.
type FieldError struct {
	Err    error
	Field  string
	Detail string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Detail }
func (e *FieldError) Unwrap() error { return e.Err }

// constraintErr turns PostgreSQL constraint violations into domain errors,
// naming the field from fields (constraint name -> field) when known.
func constraintErr(err error, fields map[string]string) error {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return err
	}
	field := fields[pqErr.Constraint]
	switch pqErr.Code {
	case "23505": // unique_violation
		if field == "" {
			return fmt.Errorf("%w: %s", ErrDuplicate, pqErr.Constraint)
		}
		return &FieldError{Err: ErrDuplicate, Field: field, Detail: "a record with this value already exists"}
	case "23503": // foreign_key_violation
		if field == "" {
			return fmt.Errorf("%w: %s", ErrNotFound, pqErr.Constraint)
		}
		return &FieldError{Err: ErrNotFound, Field: field, Detail: "refers to a record that does not exist"}
	}
	return err
}

// IsUnavailable reports whether err means PostgreSQL could not be reached or
// answered in time, as opposed to a bad query or a constraint.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code.Class() {
		case "08", "57", "53": // connection exception, operator intervention (shutdown), insufficient resources
			return true
		}
	}
	return false
}

// pqStringArray passes a Go string slice as a PostgreSQL array parameter.
func pqStringArray(v []string) any { return pq.Array(v) }

// Get runs a query with :named parameters expecting one row (ErrNotFound
// when there is none), on the store's connection or its transaction.
// Packages that own a protocol over several tables (routing) run their
// queries with Get, Select and Exec inside InTx.
func (s *Store) Get(ctx context.Context, dest any, query string, arg any) error {
	return s.namedGet(ctx, dest, query, arg)
}

// Select runs a query with :named parameters into a slice.
func (s *Store) Select(ctx context.Context, dest any, query string, arg any) error {
	return s.namedSelect(ctx, dest, query, arg)
}

// Exec runs a statement with :named parameters and returns the rows affected.
func (s *Store) Exec(ctx context.Context, query string, arg any) (int64, error) {
	return s.namedExec(ctx, query, arg)
}

// ConstraintErr turns PostgreSQL constraint violations into domain errors,
// naming the field from fields (constraint name -> field) when known.
func ConstraintErr(err error, fields map[string]string) error { return constraintErr(err, fields) }
