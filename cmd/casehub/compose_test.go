package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/cti/ctisim"
)

// docker-compose.yml held to the binary: every casehub command it runs,
// health checks included, parses, every variable it sets is one that command
// reads, and every health check asks the port the command listens on for a
// path it serves. deploy/compose_test.go checks the file as Compose.

const casehubImage = "casehub:local"

// loadCompose loads docker-compose.yml as Docker Compose does, with the
// example env file, its empty settings filled in, as .env.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	env, err := dotenv.Read("../../deploy/compose.env.example")
	require.NoError(t, err)
	for k, v := range env {
		if v == "" {
			env[k] = "filled-in-" + strings.ToLower(k)
		}
	}
	ctx := context.Background()
	details, err := loader.LoadConfigFiles(ctx, []string{"../../docker-compose.yml"}, "../..")
	require.NoError(t, err)
	details.Environment = env
	p, err := loader.LoadWithContext(ctx, *details, func(o *loader.Options) { o.SetProjectName("casehub", true) })
	require.NoError(t, err)
	return p
}

// healthURL is the URL a casehub health check asks.
func healthURL(t *testing.T, svc types.ServiceConfig) *url.URL {
	t.Helper()
	require.NotNil(t, svc.HealthCheck, "%s has a health check", svc.Name)
	test := svc.HealthCheck.Test
	require.GreaterOrEqual(t, len(test), 3, "%s: health check %v", svc.Name, test)
	require.Equal(t, []string{"CMD", "/usr/local/bin/casehub", "healthcheck"}, []string(test[:3]), "%s: health check %v", svc.Name, test)
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	raw := fs.String("url", "", "")
	require.NoError(t, fs.Parse(test[3:]))
	u, err := url.Parse(*raw)
	require.NoError(t, err)
	return u
}

func TestComposeFileMatchesTheBinary(t *testing.T) {
	p := loadCompose(t)

	var casehub []string
	for name, svc := range p.Services {
		if svc.Image != casehubImage {
			continue
		}
		casehub = append(casehub, name)
		t.Run(name, func(t *testing.T) {
			require.Empty(t, svc.Entrypoint, "the image's entrypoint is casehub")
			env := map[string]string{}
			for k, v := range svc.Environment {
				require.NotNil(t, v, "%s is set", k)
				env[k] = *v
			}
			checkCommand(t, "docker-compose.yml", svc.Command, env)
			if svc.HealthCheck != nil {
				u := healthURL(t, svc)
				parses(t, helpOf(svc.HealthCheck.Test[2:]), func(k string) string { return env[k] })
				require.Equal(t, "127.0.0.1", u.Hostname(), "the health check runs in the container")
				_, port, err := net.SplitHostPort(listenAddr(t, svc.Command, env))
				require.NoError(t, err)
				require.Equal(t, port, u.Port(), "%s's health check asks the port it listens on", name)
				require.True(t, serves(t, svc.Command, u.Path), "casehub %s serves %s", svc.Command[0], u.Path)
			}
		})
	}
	sort.Strings(casehub)
	require.Equal(t, []string{"api", "cti-sim", "migrate", "worker"}, casehub)
}

// checkCommand checks a casehub command line from a deployment file: it
// parses with the binary's own flags, and every variable set for it is one
// it reads.
func checkCommand(t *testing.T, file string, cmd []string, env map[string]string) {
	t.Helper()
	require.NotEmpty(t, cmd, "a casehub container names its command")
	asked := map[string]bool{}
	parses(t, helpOf(cmd), func(k string) string { asked[k] = true; return env[k] })
	var unread []string
	for k := range env {
		if !asked[k] {
			unread = append(unread, k)
		}
	}
	sort.Strings(unread)
	require.Empty(t, unread, "set in %s but not read by casehub %s", file, strings.Join(cmd, " "))
}

// helpOf is a command line asking for its command's help after all its
// flags: migrate takes its flags before the step, the others after their
// (sub)command.
func helpOf(cmd []string) []string {
	out := append([]string{}, cmd...)
	if last := len(out) - 1; cmd[0] == "migrate" && last > 0 && slices.Contains([]string{"up", "down", "status"}, out[last]) {
		return append(append(out[:last:last], "-h"), out[last])
	}
	return append(out, "-h")
}

// parses runs a command line that ends in -h: its flags must all be known.
func parses(t *testing.T, args []string, getenv func(string) string) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, getenv, &out)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		require.NoError(t, err, "casehub %s", strings.Join(args, " "))
	}
	require.NotContains(t, out.String(), "flag provided but not defined", "casehub %s", strings.Join(args, " "))
}

// listenAddr is the address a casehub command serves HTTP on, as it reads
// its settings.
func listenAddr(t *testing.T, cmd []string, env map[string]string) string {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	switch cmd[0] {
	case "api":
		c, err := apiConfig(cmd[1:], getenv)
		require.NoError(t, err)
		return c.HTTPAddr
	case "worker":
		c, err := workerConfig(cmd[1:], getenv)
		require.NoError(t, err)
		return c.MetricsAddr
	case "cti-sim":
		require.Equal(t, []string{"cti-sim", "serve"}, cmd, "the simulator's address comes from its environment")
		if a := env[ctisim.EnvAddr]; a != "" {
			return a
		}
		return ctisim.DefaultAddr
	}
	t.Fatalf("casehub %s serves no HTTP", cmd[0])
	return ""
}

// serves reports whether casehub cmd answers GET path.
func serves(t *testing.T, cmd []string, path string) bool {
	t.Helper()
	switch cmd[0] {
	case "api":
		for _, r := range api.NewServer(api.Deps{}).Routes() {
			if r.Method == http.MethodGet && r.Path == path {
				return true
			}
		}
		return false
	case "worker":
		_, pattern := workerMux(prometheus.NewRegistry(), http.NotFoundHandler()).Handler(httptest.NewRequest(http.MethodGet, path, nil))
		return pattern != ""
	case "cti-sim":
		sim := ctisim.New(ctisim.Config{})
		defer sim.Close()
		rec := httptest.NewRecorder()
		sim.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code == http.StatusOK
	}
	t.Fatalf("casehub %s serves no HTTP", cmd[0])
	return false
}
