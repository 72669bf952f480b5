package schema_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/schema"
)

func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	ctx := context.Background()
	db, err := testenv.NewDatabase("schema")
	require.NoError(t, err)
	t.Cleanup(db.Close)

	cur, latest, err := schema.Version(ctx, db.DB.DB)
	require.NoError(t, err)
	require.Equal(t, latest, cur, "NewDatabase applies every migration")
	require.Positive(t, latest)

	for cur > 0 {
		v, err := schema.Down(ctx, db.DB.DB)
		require.NoError(t, err)
		require.Equal(t, cur, v)
		cur, _, err = schema.Version(ctx, db.DB.DB)
		require.NoError(t, err)
	}
	var tables int
	require.NoError(t, db.DB.GetContext(ctx, &tables, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'goose_db_version'`))
	require.Zero(t, tables, "down migrations remove every table")

	applied, err := schema.Up(ctx, db.DB.DB)
	require.NoError(t, err)
	require.Len(t, applied, int(latest))

	again, err := schema.Up(ctx, db.DB.DB)
	require.NoError(t, err)
	require.Empty(t, again, "up twice applies nothing the second time")
}

func TestEnsureDatabaseCreatesItOnce(t *testing.T) {
	ctx := context.Background()
	name := "casehub_test_ensure_" + uuid.NewString()[:8]
	u, err := url.Parse(testenv.DefaultAdminURL)
	require.NoError(t, err)
	u.Path = "/" + name

	require.NoError(t, schema.EnsureDatabase(ctx, u.String()))
	t.Cleanup(func() {
		admin, err := sql.Open("postgres", testenv.DefaultAdminURL)
		require.NoError(t, err)
		defer admin.Close()
		_, err = admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)")
		require.NoError(t, err)
	})
	require.NoError(t, schema.EnsureDatabase(ctx, u.String()), "an existing database is left as it is")

	db, err := sql.Open("postgres", u.String())
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.PingContext(ctx))

	require.Error(t, schema.EnsureDatabase(ctx, "postgres://postgres@127.0.0.1:5432/?sslmode=disable"))
}
