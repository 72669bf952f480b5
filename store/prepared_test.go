package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// A statement with parameters is prepared once on a connection and run
// from then on as prepared: PostgreSQL holds it once, however often it runs.
func TestStatementsArePreparedOncePerConnection(t *testing.T) {
	ctx := context.Background()
	conn, err := st.DB().Connx(ctx)
	require.NoError(t, err)
	defer conn.Close()
	const query = `SELECT $1::int + 1`

	for i := range 5 {
		var got int
		require.NoError(t, conn.GetContext(ctx, &got, query, i))
		require.Equal(t, i+1, got)
	}
	var prepared []string
	require.NoError(t, conn.SelectContext(ctx, &prepared,
		`SELECT statement FROM pg_prepared_statements WHERE statement = $1 OR statement LIKE '%pg_prepared_statements%'`, query))
	require.ElementsMatch(t, []string{
		`SELECT statement FROM pg_prepared_statements WHERE statement = $1 OR statement LIKE '%pg_prepared_statements%'`,
		query,
	}, prepared)

	var plain int
	require.NoError(t, conn.GetContext(ctx, &plain, `SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT 7'`))
	require.NoError(t, conn.GetContext(ctx, &plain, `SELECT 7`))
	require.NoError(t, conn.GetContext(ctx, &plain, `SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT 7'`))
	require.Zero(t, plain, "a statement without parameters goes as a simple query")
}

// A schema change that alters what a prepared statement returns is met by
// preparing it again: at once outside a transaction; inside one, whose run
// the error aborted, on the run after it.
func TestAStatementMadeStaleByASchemaChangeIsPreparedAgain(t *testing.T) {
	ctx := context.Background()
	conn, err := st.DB().Connx(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `CREATE TEMPORARY TABLE stale (a int)`)
	require.NoError(t, err)
	defer func() { _, _ = conn.ExecContext(ctx, `DROP TABLE stale`) }()
	_, err = conn.ExecContext(ctx, `INSERT INTO stale VALUES ($1)`, 1)
	require.NoError(t, err)
	const query = `SELECT * FROM stale WHERE a = $1`
	var before []int
	require.NoError(t, conn.SelectContext(ctx, &before, query, 1))
	require.Equal(t, []int{1}, before)

	_, err = conn.ExecContext(ctx, `ALTER TABLE stale ADD COLUMN b text NOT NULL DEFAULT 'x'`)
	require.NoError(t, err)
	type ab struct {
		A int    `db:"a"`
		B string `db:"b"`
	}
	var after []ab
	require.NoError(t, conn.SelectContext(ctx, &after, query, 1))
	require.Equal(t, []ab{{A: 1, B: "x"}}, after)

	_, err = conn.ExecContext(ctx, `ALTER TABLE stale ADD COLUMN c int NOT NULL DEFAULT 3`)
	require.NoError(t, err)
	type abc struct {
		A int    `db:"a"`
		B string `db:"b"`
		C int    `db:"c"`
	}
	tx, err := conn.BeginTxx(ctx, nil)
	require.NoError(t, err)
	var inTx []abc
	require.ErrorContains(t, tx.SelectContext(ctx, &inTx, query, 1), "cached plan must not change result type")
	require.NoError(t, tx.Rollback())
	tx, err = conn.BeginTxx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, tx.SelectContext(ctx, &inTx, query, 1))
	require.NoError(t, tx.Commit())
	require.Equal(t, []abc{{A: 1, B: "x", C: 3}}, inTx)
}

// A statement PostgreSQL no longer holds (DEALLOCATE, a pooler that moved
// the session) is prepared again and run at once.
func TestAStatementPostgreSQLDroppedIsPreparedAgain(t *testing.T) {
	ctx := context.Background()
	// A pool of its own: the connection it empties would otherwise go back
	// to the package's pool with every other statement it held gone too,
	// for a later test's transaction to find.
	db, err := store.Open(ctx, store.DefaultConfig(dbURL))
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Connx(ctx)
	require.NoError(t, err)
	defer conn.Close()
	const query = `SELECT $1::int * 2`
	var got int
	require.NoError(t, conn.GetContext(ctx, &got, query, 2))
	_, err = conn.ExecContext(ctx, `DEALLOCATE ALL`)
	require.NoError(t, err)
	require.NoError(t, conn.GetContext(ctx, &got, query, 3))
	require.Equal(t, 6, got)
}

// A statement its context cancelled takes its connection out of the pool:
// the cancel request PostgreSQL got must not land on the next statement.
func TestAStatementCancelledByItsContextRetiresItsConnection(t *testing.T) {
	ctx := context.Background()
	cfg := store.DefaultConfig(dbURL)
	cfg.MaxOpenConns, cfg.MaxIdleConns = 1, 1
	db, err := store.Open(ctx, cfg)
	require.NoError(t, err)
	defer db.Close()
	var before, after int
	require.NoError(t, db.GetContext(ctx, &before, `SELECT pg_backend_pid() + $1`, 0))

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = db.ExecContext(short, `SELECT pg_sleep($1)`, 5)
	require.Error(t, err)

	require.NoError(t, db.GetContext(ctx, &after, `SELECT pg_backend_pid() + $1`, 0))
	require.NotEqual(t, before, after, "the cancelled statement's connection was used again")
	var n int
	require.NoError(t, db.GetContext(ctx, &n, `SELECT $1::int`, 7))
	require.Equal(t, 7, n)
}
