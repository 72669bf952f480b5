package deploy_test

import (
	"context"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
)

const (
	composeFile    = "../docker-compose.yml"
	composeEnvFile = "compose.env.example"
	casehubImage   = "casehub:local"
)

// requiredComposeVars are the settings compose refuses to start without.
var requiredComposeVars = []string{"POSTGRES_PASSWORD", "CASEHUB_CODEC_KEYS", "CASEHUB_CTI_WEBHOOK_SECRET"}

// composeEnv is the example env file with its required settings filled in,
// as a user's .env would be.
func composeEnv(t *testing.T) map[string]string {
	t.Helper()
	env, err := dotenv.Read(composeEnvFile)
	require.NoError(t, err)
	for _, k := range requiredComposeVars {
		require.Contains(t, env, k, "%s lists every required setting", composeEnvFile)
		require.Empty(t, env[k], "%s leaves secrets for the user to fill in", composeEnvFile)
		env[k] = "filled-in-" + strings.ToLower(k)
	}
	return env
}

func loadCompose(env map[string]string) (*types.Project, error) {
	ctx := context.Background()
	details, err := loader.LoadConfigFiles(ctx, []string{composeFile}, "..")
	if err != nil {
		return nil, err
	}
	details.Environment = env
	return loader.LoadWithContext(ctx, *details, func(o *loader.Options) { o.SetProjectName("casehub", true) })
}

// The compose file is valid Compose (the compose-spec schema, with
// interpolation from the example env file), refuses to start without each
// required setting, and uses no setting the example does not document.
func TestComposeFileLoads(t *testing.T) {
	env := composeEnv(t)
	_, err := loadCompose(env)
	require.NoError(t, err)

	for _, k := range requiredComposeVars {
		without := maps.Clone(env)
		delete(without, k)
		_, err := loadCompose(without)
		require.ErrorContains(t, err, "set "+k+" in .env", "docker compose must refuse to start without %s", k)
	}

	raw, err := os.ReadFile(composeFile)
	require.NoError(t, err)
	example, err := dotenv.Read(composeEnvFile)
	require.NoError(t, err)
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(string(raw), -1) {
		used[m[1]] = true
		require.Contains(t, example, m[1], "docker-compose.yml uses ${%s}: document it in %s", m[1], composeEnvFile)
	}
	for k := range example {
		require.True(t, used[k], "%s sets %s, which docker-compose.yml does not use", composeEnvFile, k)
	}
}

// What the compose file promises: only the API and the UI published, on
// 127.0.0.1 unless CASEHUB_BIND says otherwise; one casehub image, built
// once; pinned images; Temporal's own server image (not auto-setup) after a
// schema job of the admin tools of the same version.
func TestComposeFileShape(t *testing.T) {
	env := composeEnv(t)
	delete(env, "CASEHUB_BIND")
	p, err := loadCompose(env)
	require.NoError(t, err)

	published := map[string][]types.ServicePortConfig{}
	var builders []string
	for name, svc := range p.Services {
		if len(svc.Ports) > 0 {
			published[name] = svc.Ports
		}
		if svc.Build != nil {
			builders = append(builders, name)
		}
		if svc.Image == casehubImage {
			if svc.Build == nil {
				require.Equal(t, types.PullPolicyNever, svc.PullPolicy, "%s runs the image another service builds", name)
			}
			continue
		}
		require.Nil(t, svc.Build, "%s: only the casehub image is built", name)
		repo, tag, ok := strings.Cut(svc.Image, ":")
		require.True(t, ok && tag != "" && tag != "latest", "%s: pin %s to a version", name, svc.Image)
		require.Regexp(t, `^\d+\.\d+`, tag, "%s: pin %s to a version", name, svc.Image)
		require.NotEqual(t, "temporalio/auto-setup", repo, "%s: Temporal's server image, its schema set up by a job", name)
	}
	require.Equal(t, []string{"migrate"}, builders, "one service builds the casehub image, once")
	require.Equal(t, []string{"api", "temporal-ui"}, slices.Sorted(maps.Keys(published)), "only the API and the UI are published")
	for name, ports := range published {
		for _, port := range ports {
			require.Equal(t, "127.0.0.1", port.HostIP, "%s is published on localhost by default", name)
		}
	}

	server, admin := p.Services["temporal"].Image, p.Services["temporal-schema"].Image
	require.Equal(t, "temporalio/server:1.29.1", server)
	require.True(t, strings.HasPrefix(admin, "temporalio/admin-tools:1.29.1-"), "admin tools %s of the server's version", admin)
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, p.Services["temporal"].DependsOn["temporal-schema"].Condition)
	require.Equal(t, admin, p.Services["temporal-namespace"].Image)
	for _, name := range []string{"api", "worker"} {
		deps := p.Services[name].DependsOn
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, deps["migrate"].Condition, name)
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, deps["temporal-namespace"].Condition, name)
		require.Equal(t, "/readyz", healthPath(t, p.Services[name]), "%s's health check tests readiness", name)
	}

	env["CASEHUB_BIND"] = "0.0.0.0"
	p, err = loadCompose(env)
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0", p.Services["api"].Ports[0].HostIP, "CASEHUB_BIND opens the API to the network")
}

// healthPath is the path a casehub health check asks.
func healthPath(t *testing.T, svc types.ServiceConfig) string {
	t.Helper()
	require.NotNil(t, svc.HealthCheck, "%s has a health check", svc.Name)
	test := svc.HealthCheck.Test
	i := slices.Index(test, "--url")
	require.True(t, i > 0 && i+1 < len(test), "%s: health check %v", svc.Name, test)
	u, err := url.Parse(test[i+1])
	require.NoError(t, err)
	return u.Path
}
