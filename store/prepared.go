package store

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/lib/pq"
)

// maxPrepared bounds how many distinct statements one connection keeps
// prepared. casehub's queries are constants, a few hundred in all; past the
// bound (queries built from a varying set of filters, say) a statement runs
// unprepared.
const maxPrepared = 500

// preparing is a connector whose connections prepare every statement with
// parameters the first time they run it and keep it prepared, so PostgreSQL
// parses and plans it once per connection instead of on every run, and a
// run is one round trip (Bind, Execute, Sync). A statement without
// parameters (BEGIN, COMMIT) goes as a simple query, as lib/pq sends it.
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
// database/sql uses a connection from one goroutine at a time.
type preparedConn struct {
	pqConn
	stmts map[string]driver.Stmt
	inTx  bool // a transaction is open on the connection
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

// stale says whether err is PostgreSQL no longer holding a statement as it
// was prepared: a schema change altered what it returns, or it is gone.
// The statement is forgotten, so its next run prepares it again.
func (c *preparedConn) stale(query string, err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && (pqErr.Code == "0A000" || pqErr.Code == "26000") {
		delete(c.stmts, query)
		return true
	}
	return false
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
		if !c.stale(query, err) || c.inTx || try == 2 {
			return rows, err
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
		if !c.stale(query, err) || c.inTx || try == 2 {
			return res, err
		}
	}
}
