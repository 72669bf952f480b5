package cluster

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// Each service's configuration names the same databases, shards and
// service ports, and only its own metrics port; the pools stay inside
// PostgreSQL's default 100 connections with room for casehub.
func TestServiceConfigs(t *testing.T) {
	o := Options{StateDir: t.TempDir(), AdminURL: "postgres://postgres:pw@db.example:5433/postgres", DatabaseURL: "postgres://x/casehub",
		Ports: DefaultPorts()}
	require.NoError(t, o.defaults())
	metrics := map[string]bool{}
	conns := 0
	for _, svc := range services {
		raw, err := o.serviceYAML(svc)
		require.NoError(t, err)
		var c serverConfig
		require.NoError(t, yaml.Unmarshal(raw, &c), svc)
		require.Equal(t, DefaultShards, c.Persistence.NumHistoryShards)
		def, vis := c.Persistence.DataStores["default"].SQL, c.Persistence.DataStores["visibility"].SQL
		require.Equal(t, []string{"postgres12", DefaultTemporalDB, "db.example:5433", "postgres", "pw"},
			[]string{def.PluginName, def.DatabaseName, def.ConnectAddr, def.User, def.Password})
		require.Equal(t, DefaultVisibilityDB, vis.DatabaseName)
		conns += def.MaxConns + vis.MaxConns
		require.Len(t, c.Services, 4)
		require.Equal(t, 7633, c.Services["frontend"].RPC.GRPCPort)
		require.Equal(t, 6634, c.Services["history"].RPC.MembershipPort)
		require.Equal(t, "127.0.0.1:7633", c.PublicClient.HostPort)
		require.Equal(t, "127.0.0.1:7633", c.ClusterMetadata.ClusterInformation["active"].RPCAddress)
		require.NotNil(t, c.Global.Metrics, svc)
		m := c.Global.Metrics.Prometheus.ListenAddress
		require.False(t, metrics[m], "%s shares metrics address %s", svc, m)
		metrics[m] = true
	}
	require.LessOrEqual(t, conns, 30, "Temporal's connections at most")
}

// Ports the tests pick are distinct, and the membership ports fit
// Temporal's smallint column.
func TestFreePorts(t *testing.T) {
	p, err := FreePorts(2, 3)
	require.NoError(t, err)
	seen := map[int]bool{}
	all := []int{p.FrontendHTTP, p.UI, p.API, p.Sim}
	for _, s := range []ServicePorts{p.Frontend, p.History, p.Matching, p.Worker} {
		all = append(all, s.GRPC, s.Membership, s.Metrics)
		require.Less(t, s.Membership, 32768)
	}
	all = append(append(all, p.APIs...), p.WorkerMetrics...)
	require.Len(t, all, 4+12+5)
	for _, port := range all {
		require.NotZero(t, port)
		require.False(t, seen[port], "port %d twice", port)
		seen[port] = true
	}
}

// The proxy sends requests to the replicas in turn, moves a request to
// another replica when one refuses connections, and passes a stream
// through as it is written.
func TestProxy(t *testing.T) {
	release := make(chan struct{})
	backend := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/stream" {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprintf(w, "event: ready\ndata: %s\n\n", name)
				w.(http.Flusher).Flush()
				<-release // the stream stays open; its first event must already be through
				return
			}
			fmt.Fprint(w, name)
		}))
	}
	a, b := backend("a"), backend("b")
	defer a.Close()
	defer b.Close()
	p := newProxy([]string{strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(b.URL, "http://")})
	front := httptest.NewServer(p.srv.Handler)
	defer front.Close()

	get := func() string {
		resp, err := http.Get(front.URL + "/x")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var sb strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&sb)
		return sb.String()
	}
	require.Equal(t, []string{"a", "b", "a", "b"}, []string{get(), get(), get(), get()})

	resp, err := http.Get(front.URL + "/stream")
	require.NoError(t, err)
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(resp.Body).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		require.Equal(t, "event: ready\n", l)
	case <-time.After(10 * time.Second):
		t.Fatal("the stream's first event was held back by the proxy")
	}
	resp.Body.Close()
	close(release)

	a.Close() // a refuses connections now: every request reaches b
	require.Equal(t, []string{"b", "b", "b"}, []string{get(), get(), get()})
}
