package store_test

import (
	"os"
	"testing"

	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/store"
)

var st *store.Store

func TestMain(m *testing.M) {
	db := testenv.MustDatabase("store")
	st = db.Store
	code := m.Run()
	db.Close()
	os.Exit(code)
}
