package store_test

import (
	"os"
	"testing"

	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/store"
)

var (
	st    *store.Store
	dbURL string // the package's database, for a pool of a test's own
)

func TestMain(m *testing.M) {
	db := testenv.MustDatabase("store")
	st, dbURL = db.Store, db.URL
	code := m.Run()
	db.Close()
	os.Exit(code)
}
