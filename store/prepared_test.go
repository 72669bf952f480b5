package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
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
