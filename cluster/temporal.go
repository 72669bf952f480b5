package cluster

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/casehub/casehub/schema"
	"github.com/casehub/casehub/worker"
	"github.com/casehub/casehub/workflows"
)

//go:embed dynamicconfig.yaml
var dynamicConfig []byte

// The Temporal services, in the order they are started (and stopped in
// reverse): history owns the shards the others route to.
var services = []string{"history", "matching", "frontend", "worker"}

// Health service names the history and matching services report SERVING
// under once they are ready (history: after it has acquired its shards).
var healthNames = map[string]string{
	"history":  "temporal.api.workflowservice.v1.HistoryService",
	"matching": "temporal.api.workflowservice.v1.MatchingService",
}

// Embedded schemas of the pinned server (its schema package), named for the
// SQL tool's --schema-name.
const (
	persistenceSchema = "postgresql/v12/temporal"
	visibilitySchema  = "postgresql/v12/visibility"
	sqlPlugin         = "postgres12"
)

// serverConfig is the part of the Temporal server's configuration
// (go.temporal.io/server/common/config.Config) casehub sets.
type serverConfig struct {
	Log struct {
		Stdout bool   `yaml:"stdout"`
		Level  string `yaml:"level"`
	} `yaml:"log"`
	Persistence struct {
		DefaultStore     string               `yaml:"defaultStore"`
		VisibilityStore  string               `yaml:"visibilityStore"`
		NumHistoryShards int                  `yaml:"numHistoryShards"`
		DataStores       map[string]dataStore `yaml:"datastores"`
	} `yaml:"persistence"`
	Global struct {
		Membership struct {
			MaxJoinDuration  string `yaml:"maxJoinDuration"`
			BroadcastAddress string `yaml:"broadcastAddress"`
		} `yaml:"membership"`
		Metrics *struct {
			Prometheus struct {
				Framework     string `yaml:"framework"`
				TimerType     string `yaml:"timerType"`
				ListenAddress string `yaml:"listenAddress"`
			} `yaml:"prometheus"`
		} `yaml:"metrics,omitempty"`
	} `yaml:"global"`
	Services        map[string]serviceConfig `yaml:"services"`
	ClusterMetadata struct {
		EnableGlobalNamespace    bool   `yaml:"enableGlobalNamespace"`
		FailoverVersionIncrement int    `yaml:"failoverVersionIncrement"`
		MasterClusterName        string `yaml:"masterClusterName"`
		CurrentClusterName       string `yaml:"currentClusterName"`
		ClusterInformation       map[string]struct {
			Enabled                bool   `yaml:"enabled"`
			InitialFailoverVersion int    `yaml:"initialFailoverVersion"`
			RPCName                string `yaml:"rpcName"`
			RPCAddress             string `yaml:"rpcAddress"`
		} `yaml:"clusterInformation"`
	} `yaml:"clusterMetadata"`
	DCRedirectionPolicy struct {
		Policy string `yaml:"policy"`
	} `yaml:"dcRedirectionPolicy"`
	Archival          archival `yaml:"archival"`
	NamespaceDefaults struct {
		Archival archival `yaml:"archival"`
	} `yaml:"namespaceDefaults"`
	PublicClient struct {
		HostPort string `yaml:"hostPort"`
	} `yaml:"publicClient"`
	DynamicConfigClient struct {
		Filepath     string `yaml:"filepath"`
		PollInterval string `yaml:"pollInterval"`
	} `yaml:"dynamicConfigClient"`
}

type dataStore struct {
	SQL struct {
		PluginName      string `yaml:"pluginName"`
		DatabaseName    string `yaml:"databaseName"`
		ConnectAddr     string `yaml:"connectAddr"`
		ConnectProtocol string `yaml:"connectProtocol"`
		User            string `yaml:"user"`
		Password        string `yaml:"password,omitempty"`
		MaxConns        int    `yaml:"maxConns"`
		MaxIdleConns    int    `yaml:"maxIdleConns"`
		MaxConnLifetime string `yaml:"maxConnLifetime"`
	} `yaml:"sql"`
}

type serviceConfig struct {
	RPC struct {
		GRPCPort        int  `yaml:"grpcPort"`
		MembershipPort  int  `yaml:"membershipPort"`
		BindOnLocalHost bool `yaml:"bindOnLocalHost"`
		HTTPPort        int  `yaml:"httpPort,omitempty"`
	} `yaml:"rpc"`
}

type archival struct {
	History struct {
		State string `yaml:"state"`
	} `yaml:"history"`
	Visibility struct {
		State string `yaml:"state"`
	} `yaml:"visibility"`
}

// pool is the most PostgreSQL connections one service process opens to
// each store (persistence, visibility). History does most of the writing;
// the total stays well inside PostgreSQL's default 100 connections, which
// casehub's own processes and the tests share.
var pool = map[string][2]int{
	"history":  {10, 2},
	"matching": {4, 1},
	"frontend": {4, 2},
	"worker":   {2, 1},
}

// pgConn is what the Temporal services and the schema tool need to reach
// PostgreSQL: host:port, user, password.
type pgConn struct{ host, port, user, password string }

func parseAdminURL(raw string) (pgConn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return pgConn{}, fmt.Errorf("PostgreSQL URL: %w", err)
	}
	c := pgConn{host: u.Hostname(), port: u.Port(), user: u.User.Username()}
	c.password, _ = u.User.Password()
	if c.host == "" {
		c.host = "127.0.0.1"
	}
	if c.port == "" {
		c.port = "5432"
	}
	if c.user == "" {
		c.user = "postgres"
	}
	return c, nil
}

// serviceYAML is the configuration service svc runs with: the same for
// every service but its metrics port and connection pools.
func (o Options) serviceYAML(svc string) ([]byte, error) {
	pg, err := parseAdminURL(o.AdminURL)
	if err != nil {
		return nil, err
	}
	var c serverConfig
	c.Log.Stdout, c.Log.Level = true, o.LogLevel
	c.Persistence.DefaultStore, c.Persistence.VisibilityStore = "default", "visibility"
	c.Persistence.NumHistoryShards = o.Shards
	store := func(db string, conns int) dataStore {
		var d dataStore
		d.SQL.PluginName, d.SQL.DatabaseName = sqlPlugin, db
		d.SQL.ConnectAddr, d.SQL.ConnectProtocol = pg.host+":"+pg.port, "tcp"
		d.SQL.User, d.SQL.Password = pg.user, pg.password
		d.SQL.MaxConns, d.SQL.MaxIdleConns, d.SQL.MaxConnLifetime = conns, conns, "1h"
		return d
	}
	c.Persistence.DataStores = map[string]dataStore{
		"default":    store(o.TemporalDB, pool[svc][0]),
		"visibility": store(o.VisibilityDB, pool[svc][1]),
	}
	c.Global.Membership.MaxJoinDuration, c.Global.Membership.BroadcastAddress = "30s", "127.0.0.1"
	if port := o.servicePorts(svc).Metrics; port != 0 {
		c.Global.Metrics = &struct {
			Prometheus struct {
				Framework     string `yaml:"framework"`
				TimerType     string `yaml:"timerType"`
				ListenAddress string `yaml:"listenAddress"`
			} `yaml:"prometheus"`
		}{}
		c.Global.Metrics.Prometheus.Framework, c.Global.Metrics.Prometheus.TimerType = "tally", "histogram"
		c.Global.Metrics.Prometheus.ListenAddress = addr(port)
	}
	c.Services = map[string]serviceConfig{}
	for _, s := range services {
		var sc serviceConfig
		p := o.servicePorts(s)
		sc.RPC.GRPCPort, sc.RPC.MembershipPort, sc.RPC.BindOnLocalHost = p.GRPC, p.Membership, true
		if s == "frontend" {
			sc.RPC.HTTPPort = o.Ports.FrontendHTTP
		}
		c.Services[s] = sc
	}
	cm := &c.ClusterMetadata
	cm.FailoverVersionIncrement, cm.MasterClusterName, cm.CurrentClusterName = 10, "active", "active"
	cm.ClusterInformation = map[string]struct {
		Enabled                bool   `yaml:"enabled"`
		InitialFailoverVersion int    `yaml:"initialFailoverVersion"`
		RPCName                string `yaml:"rpcName"`
		RPCAddress             string `yaml:"rpcAddress"`
	}{"active": {Enabled: true, InitialFailoverVersion: 1, RPCName: "frontend", RPCAddress: addr(o.Ports.Frontend.GRPC)}}
	c.DCRedirectionPolicy.Policy = "noop"
	c.Archival.History.State, c.Archival.Visibility.State = "disabled", "disabled"
	c.NamespaceDefaults.Archival = c.Archival
	c.PublicClient.HostPort = addr(o.Ports.Frontend.GRPC)
	c.DynamicConfigClient.Filepath = filepath.Join(o.configDir(), "dynamicconfig.yaml")
	c.DynamicConfigClient.PollInterval = "10s"
	raw, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode the %s configuration: %w", svc, err)
	}
	header := "# Written by casehub on every start (cluster.Options.serviceYAML); edits are lost.\n"
	return append([]byte(header), raw...), nil
}

func (o Options) servicePorts(svc string) ServicePorts {
	switch svc {
	case "frontend":
		return o.Ports.Frontend
	case "history":
		return o.Ports.History
	case "matching":
		return o.Ports.Matching
	}
	return o.Ports.Worker
}

func (o Options) configDir() string { return filepath.Join(o.StateDir, "temporal") }

// writeConfig writes one configuration file per service (the server reads
// <env>.yaml from its config directory, and each service runs with its own
// env) and the dynamic config.
func (o Options) writeConfig() error {
	dir := o.configDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, svc := range services {
		raw, err := o.serviceYAML(svc)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, svc+".yaml"), raw, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "dynamicconfig.yaml"), dynamicConfig, 0o644)
}

// setupDatabases creates the persistence and visibility databases when
// missing and brings their schemas to the pinned server's version. Every
// step is idempotent, so it runs on every start.
func (c *Cluster) setupDatabases(ctx context.Context) error {
	pg, err := parseAdminURL(c.o.AdminURL)
	if err != nil {
		return err
	}
	for _, db := range []struct{ name, schema string }{
		{c.o.TemporalDB, persistenceSchema}, {c.o.VisibilityDB, visibilitySchema},
	} {
		if err := schema.EnsureDatabase(ctx, dbURL(c.o.AdminURL, db.name)); err != nil {
			return err
		}
		args := []string{"--endpoint", pg.host, "--port", pg.port, "--user", pg.user,
			"--plugin", sqlPlugin, "--database", db.name}
		env := []string{}
		if pg.password != "" {
			env = append(env, "SQL_PASSWORD="+pg.password)
		}
		// The versioning tables (IF NOT EXISTS), then every versioned step
		// the database has not had yet.
		if err := run(ctx, "schema-"+db.name, c.logDir, c.o.SQLToolBin, env, append(args, "setup-schema", "--version", "0.0")...); err != nil {
			return err
		}
		if err := run(ctx, "schema-"+db.name, c.logDir, c.o.SQLToolBin, env, append(args, "update-schema", "--schema-name", db.schema)...); err != nil {
			return err
		}
	}
	return nil
}

// dbURL is admin with its database replaced by name.
func dbURL(admin, name string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.Path = "/" + name
	return u.String()
}

// startServices writes the configuration, starts one process per service
// and waits until each serves.
func (c *Cluster) startServices(ctx context.Context) error {
	if err := c.o.writeConfig(); err != nil {
		return err
	}
	if _, err := os.Stat(c.o.ServerBin); err != nil {
		return fmt.Errorf("temporal server not found at %s (build it with `make cluster-tools`): %w", c.o.ServerBin, err)
	}
	// The pinned server checks every key and value of the dynamic config;
	// it only warns, and a mistyped key would silently not apply.
	out, err := exec.CommandContext(ctx, c.o.ServerBin, "validate-dynamic-config", filepath.Join(c.o.configDir(), "dynamicconfig.yaml")).CombinedOutput()
	if err != nil || strings.Contains(string(out), "warning:") || strings.Contains(string(out), "error:") {
		return fmt.Errorf("the cluster's dynamic config does not suit Temporal %s: %v\n%s", c.o.ServerBin, err, out)
	}
	serving := func(svc string) error {
		target := addr(c.o.servicePorts(svc).GRPC)
		return waitFor(ctx, "temporal "+svc+" at "+target, 3*time.Minute, c.services, func(ctx context.Context) error {
			return grpcHealth(ctx, target, healthNames[svc])
		})
	}
	for i, svc := range services {
		// The server joins --root and --config; from / an absolute directory stays as it is.
		p, err := start("temporal-"+svc, c.logDir, c.o.ServerBin, nil,
			"--root", "/", "--config", c.o.configDir(), "--env", svc, "--allow-no-auth", "start", "--service", svc)
		if err != nil {
			return err
		}
		c.services = append(c.services, p)
		// Every service writes the cluster's metadata row at its start if
		// it is missing; on fresh databases two at once collide on its key
		// and the loser exits (seen: matching, "duplicate key value violates
		// unique constraint cluster_metadata_info_pkey"). So the first
		// service serves, with the row written, before the others start.
		if i == 0 {
			if err := serving(svc); err != nil {
				return err
			}
		}
	}
	for svc := range healthNames {
		if err := serving(svc); err != nil {
			return err
		}
	}
	return waitFor(ctx, "temporal frontend at "+c.FrontendAddr, 3*time.Minute, c.services, func(ctx context.Context) error {
		cl, err := client.DialContext(ctx, client.Options{HostPort: c.FrontendAddr, Logger: quietLogger()})
		if err != nil {
			return err
		}
		defer cl.Close()
		_, err = cl.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
}

func grpcHealth(ctx context.Context, target, service string) error {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s at %s is %s", service, target, resp.GetStatus())
	}
	return nil
}

// setupNamespace registers the namespace (unless it exists) and casehub's
// search attributes, and waits until the frontend knows both.
func (c *Cluster) setupNamespace(ctx context.Context) error {
	cl, err := client.DialContext(ctx, client.Options{HostPort: c.FrontendAddr, Namespace: c.o.Namespace, Logger: quietLogger()})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", c.FrontendAddr, err)
	}
	defer cl.Close()
	created := false
	err = waitFor(ctx, "register namespace "+c.o.Namespace, time.Minute, c.services, func(ctx context.Context) error {
		_, err := cl.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: c.o.Namespace, Description: "casehub",
			WorkflowExecutionRetentionPeriod: durationpb.New(c.o.Retention),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) {
			return nil
		}
		created = err == nil
		return err
	})
	if err != nil {
		return err
	}
	// Each service reads namespaces from a cache refreshed every 2 s
	// (system.namespaceCacheRefreshInterval): the namespace is usable once
	// the frontend lists workflows in it.
	err = waitFor(ctx, "namespace "+c.o.Namespace+" known to the frontend", time.Minute, c.services, func(ctx context.Context) error {
		_, err := cl.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: c.o.Namespace, PageSize: 1})
		return err
	})
	if err != nil {
		return err
	}
	if err := worker.RegisterSearchAttributes(ctx, cl, c.o.Namespace); err != nil {
		return err
	}
	// On SQL visibility the custom attributes are aliases of the
	// namespace's pre-allocated columns, kept with the namespace and so
	// behind the same cache: wait until the frontend accepts a query that
	// names every one.
	query := searchAttributesQuery()
	err = waitFor(ctx, "search attributes known to the frontend", time.Minute, c.services, func(ctx context.Context) error {
		_, err := cl.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: c.o.Namespace, PageSize: 1, Query: query})
		return err
	})
	if err != nil {
		return err
	}
	if created {
		// The history service's cache refreshes on its own clock: give it
		// two refreshes before a workflow upserts the new attributes.
		select {
		case <-time.After(4 * time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// searchAttributesQuery is a visibility query naming each of casehub's
// search attributes.
func searchAttributesQuery() string {
	var terms []string
	for _, k := range workflows.SearchAttributes() {
		terms = append(terms, k.GetName()+" IS NOT NULL")
	}
	return strings.Join(terms, " OR ")
}
