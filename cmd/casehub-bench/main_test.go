package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeBin writes an empty executable file at dir/name.
func fakeBin(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, nil, 0o755))
	return p
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestDefaultCasehubBin(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "casehub-bench")
	require.Equal(t, filepath.Join(".bin", "casehub"), defaultCasehubBin(self), "none next to it")
	require.Equal(t, filepath.Join(".bin", "casehub"), defaultCasehubBin(""))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "casehub"), 0o755))
	require.Equal(t, filepath.Join(".bin", "casehub"), defaultCasehubBin(self), "a directory is not the binary")
	require.NoError(t, os.Remove(filepath.Join(dir, "casehub")))
	want := fakeBin(t, dir, "casehub")
	require.Equal(t, want, defaultCasehubBin(self))
}

func TestParseFlags(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "casehub-bench")
	next := fakeBin(t, dir, "casehub")
	other := fakeBin(t, t.TempDir(), "casehub-other")

	t.Run("defaults: dev server, one worker, the casehub next to it", func(t *testing.T) {
		s, err := parseFlags(nil, env(nil), self)
		require.NoError(t, err)
		require.False(t, s.opts.Cluster)
		require.Equal(t, 1, s.opts.Workers)
		require.Equal(t, []string{next, "worker"}, s.opts.WorkerCommand)
		require.Equal(t, 200, s.opts.Calls)
	})
	t.Run("cluster and two workers, by flag", func(t *testing.T) {
		s, err := parseFlags([]string{"--cluster", "--workers", "2", "--calls", "20"}, env(nil), self)
		require.NoError(t, err)
		require.True(t, s.opts.Cluster)
		require.Equal(t, 2, s.opts.Workers)
		require.Equal(t, 20, s.opts.Calls)
	})
	t.Run("by environment", func(t *testing.T) {
		s, err := parseFlags(nil, env(map[string]string{
			"CASEHUB_BENCH_CLUSTER": "true", "CASEHUB_BENCH_WORKERS": "3", "CASEHUB_BENCH_CASEHUB_BIN": other,
		}), self)
		require.NoError(t, err)
		require.True(t, s.opts.Cluster)
		require.Equal(t, 3, s.opts.Workers)
		require.Equal(t, []string{other, "worker"}, s.opts.WorkerCommand)
	})
	t.Run("the flag wins over the environment", func(t *testing.T) {
		s, err := parseFlags([]string{"--casehub-bin", next}, env(map[string]string{"CASEHUB_BENCH_CASEHUB_BIN": other}), self)
		require.NoError(t, err)
		require.Equal(t, []string{next, "worker"}, s.opts.WorkerCommand)
	})
	t.Run("in-process worker needs no binary", func(t *testing.T) {
		s, err := parseFlags([]string{"--in-process-worker", "--casehub-bin", filepath.Join(dir, "missing")}, env(nil), self)
		require.NoError(t, err)
		require.Empty(t, s.opts.WorkerCommand)
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a missing binary", []string{"--casehub-bin", filepath.Join(dir, "missing")}, "make build"},
		{"no workers", []string{"--workers", "0"}, "--workers"},
		{"several workers in process", []string{"--in-process-worker", "--workers", "2"}, "child processes only"},
		{"a cluster and an address", []string{"--cluster", "--temporal-address", "127.0.0.1:7233"}, "not both"},
		{"stray arguments", []string{"cluster"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args, env(nil), self)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
