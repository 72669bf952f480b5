package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOptionsValidate(t *testing.T) {
	child := []string{"casehub", "worker"}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"defaults", Options{}, ""},
		{"cluster, two child workers", Options{Cluster: true, Workers: 2, WorkerCommand: child}, ""},
		{"cluster, in-process worker", Options{Cluster: true}, ""},
		{"cluster and an address", Options{Cluster: true, TemporalAddress: "127.0.0.1:7233"}, "not both"},
		{"two in-process workers", Options{Workers: 2}, "child processes only"},
		{"negative workers", Options{Workers: -1, WorkerCommand: child}, "at least one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.want == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.want)
			}
		})
	}
}

// The CPU and RSS figures say what they cover.
func TestWorkerFiguresSayWhatTheyCover(t *testing.T) {
	one := (&system{workerPIDs: []int{10}, server: ServerInfo{Kind: ServerDev}}).cpuParts()
	require.Equal(t, "worker", one.workerKey)
	require.Equal(t, "temporal", one.temporalKey)
	two := (&system{workerPIDs: []int{10, 11}, server: ServerInfo{Kind: ServerCluster, Services: clusterServices}}).cpuParts()
	require.Equal(t, "workers (sum of 2)", two.workerKey)
	require.Equal(t, "temporal (sum of 4 services)", two.temporalKey)
	require.True(t, two.workers[10] && two.workers[11])

	m := rssMetric("worker_rss_all", "+ 20 interactions waiting for agents", workersRSS{Sum: 30, Each: []float64{30}})
	require.Equal(t, "worker RSS, + 20 interactions waiting for agents", m.Name)
	require.Nil(t, m.PerWorker)
	m = rssMetric("worker_rss_start", "before scale", workersRSS{Sum: 250, Each: []float64{120, 130}})
	require.Equal(t, "workers' RSS summed over 2 (120 + 130 MB) before scale", m.Name)
	require.Equal(t, 250.0, *m.Casehub)
	require.Equal(t, []float64{120, 130}, m.PerWorker)
	require.Equal(t, "workers' RSS summed over 2, 50 open callbacks", rssName("50 open callbacks", 2, nil))
}

func TestServerInfoSaysWhichServer(t *testing.T) {
	c := ServerInfo{Kind: ServerCluster, Address: "127.0.0.1:7633", Started: true, ServerVersion: "v1.29.1",
		Services: clusterServices, Shards: 4, Databases: []string{"casehub_bench_temporal_x", "casehub_bench_temporal_visibility_x"}}
	require.Equal(t, "Temporal cluster", c.Name())
	require.Contains(t, c.Describe(), "cluster of the pinned server v1.29.1 at 127.0.0.1:7633: frontend, history, matching, worker as separate processes, 4 history shards")
	require.Contains(t, c.Describe(), "casehub_bench_temporal_x, casehub_bench_temporal_visibility_x")
	require.Equal(t, "Temporal dev server", ServerInfo{Kind: ServerDev}.Name())
	require.Equal(t, "Temporal server at 127.0.0.1:7233", ServerInfo{Kind: ServerReused, Address: "127.0.0.1:7233"}.Name())

	s := &system{server: c, workerPIDs: []int{1, 2}}
	require.Equal(t, "Temporal cluster, 2 casehub workers", s.setup())
	s = &system{server: ServerInfo{Kind: ServerDev}, workerPIDs: []int{1}}
	require.Equal(t, "Temporal dev server, 1 casehub worker", s.setup())
}
