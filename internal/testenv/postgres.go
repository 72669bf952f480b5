// Package testenv starts the real parts casehub's tests run against: a fresh
// PostgreSQL database per test package and a Temporal dev server built from
// the pinned CLI in tools/go.mod.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/casehub/casehub/schema"
	"github.com/casehub/casehub/store"
)

// DefaultAdminURL is where the tests find PostgreSQL unless
// CASEHUB_TEST_DATABASE_URL says otherwise.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

const howToStartPostgres = `PostgreSQL is not reachable at %s: %v

The tests need a real PostgreSQL. Start the local one with
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
or point CASEHUB_TEST_DATABASE_URL at a server where user postgres may create databases.`

// Database is a freshly created, migrated database owned by one test package.
type Database struct {
	URL   string
	DB    *sqlx.DB
	Store *store.Store
	name  string
	admin string
}

// NewDatabase creates a database named after pkg with a random suffix,
// applies every migration, and returns it. Drop it with Close.
func NewDatabase(pkg string) (*Database, error) {
	admin := os.Getenv("CASEHUB_TEST_DATABASE_URL")
	if admin == "" {
		admin = DefaultAdminURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	adminDB, err := sql.Open("postgres", admin)
	if err != nil {
		return nil, fmt.Errorf(howToStartPostgres, admin, err)
	}
	defer adminDB.Close()
	if err := adminDB.PingContext(ctx); err != nil {
		return nil, fmt.Errorf(howToStartPostgres, admin, err)
	}

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "casehub_test_" + strings.ReplaceAll(pkg, "/", "_") + "_" + hex.EncodeToString(suffix)
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return nil, fmt.Errorf("create test database %s: %w", name, err)
	}

	u, err := url.Parse(admin)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", admin, err)
	}
	u.Path = "/" + name
	d := &Database{URL: u.String(), name: name, admin: admin}

	d.DB, err = store.Open(ctx, store.DefaultConfig(d.URL))
	if err != nil {
		d.drop()
		return nil, err
	}
	if _, err := schema.Up(ctx, d.DB.DB); err != nil {
		d.Close()
		return nil, err
	}
	d.Store = store.New(d.DB, 10*time.Second)
	return d, nil
}

// MustDatabase is NewDatabase for TestMain: it exits the test binary with
// the reason when PostgreSQL cannot be used, so a missing server fails the
// run rather than skipping it.
func MustDatabase(pkg string) *Database {
	d, err := NewDatabase(pkg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(2)
	}
	return d
}

// Close drops the database.
func (d *Database) Close() {
	if d.DB != nil {
		d.DB.Close()
	}
	d.drop()
}

func (d *Database) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adminDB, err := sql.Open("postgres", d.admin)
	if err != nil {
		return
	}
	defer adminDB.Close()
	_, err = adminDB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(d.name)+" WITH (FORCE)")
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: drop %s: %v\n", d.name, err)
	}
}
