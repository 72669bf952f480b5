package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strings"

	"github.com/lib/pq"
)

// maxPrepared bounds how many distinct statements one connection keeps
// prepared. casehub's queries are constants, a few hundred in all; past the
// bound (queries built from a varying set of filters, say) a statement runs
// unprepared.
const maxPrepared = 500

// preparing is a connector whose connections prepare every statement with
// parameters the first time they run it and keep it prepared, so PostgreSQL
// parses and analyses it once per connection instead of on every run (and,
// where its generic plan is as good as a custom one, plans it once too;
// plan_cache_mode=force_custom_plan in the role's settings undoes that for
// a query whose plans should follow its parameters). A run stays one round
// trip, as lib/pq's binary-parameter mode sends an unprepared one. A
// statement without parameters (BEGIN, COMMIT) goes as a simple query.
//
// Prepared statements live in the server session: a connection pooler in
// transaction mode (PgBouncer's default) between casehub and PostgreSQL
// needs its own prepared-statement support turned on
// (max_prepared_statements).
type preparing struct{ driver.Connector }

// pqConn is what lib/pq's connection implements and database/sql uses.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// pqRows is what lib/pq's rows implement.
type pqRows interface {
	driver.Rows
	driver.RowsNextResultSet
	driver.RowsColumnTypeScanType
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypePrecisionScale
}

func (p preparing) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := p.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := c.(pqConn)
	if !ok {
		return c, nil
	}
	return &preparedConn{pqConn: pc, stmts: map[string]driver.Stmt{}}, nil
}

// preparedConn is one connection and the statements prepared on it.
// database/sql uses a connection from one goroutine at a time, and casehub
// reads a query's rows to the end before it runs the next (lib/pq's
// prepared path, unlike its unprepared one, does not refuse a query while
// another's rows are open).
type preparedConn struct {
	pqConn
	stmts map[string]driver.Stmt
	inTx  bool // a transaction is open on the connection
	// cancelled: a statement failed with its context done. lib/pq sent
	// PostgreSQL a cancel request, which may land on a later statement;
	// unlike lib/pq's unprepared path, its prepared one keeps the
	// connection. database/sql is told to close it instead.
	cancelled bool
}

func (c *preparedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.pqConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx = true
	return txOn{Tx: tx, c: c}, nil
}

// txOn is a transaction that tells its connection when it ends.
type txOn struct {
	driver.Tx
	c *preparedConn
}

func (t txOn) Commit() error {
	t.c.inTx = false
	return t.Tx.Commit()
}

func (t txOn) Rollback() error {
	t.c.inTx = false
	return t.Tx.Rollback()
}

func (c *preparedConn) ResetSession(ctx context.Context) error {
	if c.cancelled {
		return driver.ErrBadConn
	}
	return c.pqConn.ResetSession(ctx)
}

func (c *preparedConn) IsValid() bool { return !c.cancelled && c.pqConn.IsValid() }

// stmt returns query's prepared statement, preparing it the first time;
// nil when query runs unprepared.
func (c *preparedConn) stmt(ctx context.Context, query string, args []driver.NamedValue) (driver.Stmt, error) {
	if len(args) == 0 {
		return nil, nil
	}
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxPrepared {
		return nil, nil
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// failed notes what err says of the connection and of query's statement,
// and whether the statement went stale: a schema change altered what it
// returns, or PostgreSQL no longer holds it. A stale statement is
// forgotten, so its next run prepares it again.
func (c *preparedConn) failed(ctx context.Context, query string, err error) (stale bool) {
	if err == nil {
		return false
	}
	if ctx.Err() != nil {
		c.cancelled = true
	}
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	switch {
	case pqErr.Code == "26000": // invalid_sql_statement_name: gone
	case pqErr.Code == "0A000" && strings.Contains(pqErr.Message, "cached plan must not change result type"):
		if !c.inTx {
			// Still held by the server; a transaction the error aborted
			// keeps it until the connection closes.
			_ = c.stmts[query].Close()
		}
	default:
		return false
	}
	delete(c.stmts, query)
	return true
}

// QueryContext runs query prepared. A statement gone stale is prepared and
// run again at once, unless a transaction is open: the error has aborted
// it, and it is the caller's to run again.
func (c *preparedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	for try := 1; ; try++ {
		st, err := c.stmt(ctx, query, args)
		if err != nil {
			return nil, err
		}
		if st == nil {
			return c.pqConn.QueryContext(ctx, query, args)
		}
		rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
		if err == nil {
			if r, ok := rows.(pqRows); ok {
				return rowsOn{pqRows: r, ctx: ctx, c: c}, nil
			}
			return rows, nil
		}
		if !c.failed(ctx, query, err) || c.inTx || try == 2 {
			return nil, err
		}
	}
}

// ExecContext is QueryContext for a statement whose rows are not read.
func (c *preparedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	for try := 1; ; try++ {
		st, err := c.stmt(ctx, query, args)
		if err != nil {
			return nil, err
		}
		if st == nil {
			return c.pqConn.ExecContext(ctx, query, args)
		}
		res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
		if !c.failed(ctx, query, err) || c.inTx || try == 2 {
			return res, err
		}
	}
}

// rowsOn are a prepared query's rows, which tell their connection when
// reading them failed because the query's context was done.
type rowsOn struct {
	pqRows
	ctx context.Context
	c   *preparedConn
}

func (r rowsOn) Next(dest []driver.Value) error {
	err := r.pqRows.Next(dest)
	if err != nil && err != io.EOF && r.ctx.Err() != nil {
		r.c.cancelled = true
	}
	return err
}
