package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/casehub/casehub/cluster"
	"github.com/casehub/casehub/devserver"
)

// clusterServices are the Temporal services a cluster runs, one process
// each (package cluster).
var clusterServices = []string{"frontend", "history", "matching", "worker"}

// startCluster starts a Temporal cluster of the run's own (Options.Cluster):
// the Temporal services alone (casehub's API, simulator and workers are
// the bench's, as on a dev server; no Web UI) on free ports, over fresh
// persistence and visibility databases named for the run, its
// configuration and logs in the run's temp dir. stop stops it and drops the
// databases. Its start is not measured.
func (s *system) startCluster(ctx context.Context) error {
	o := s.opts
	server, sqlTool := o.ServerBin, o.SQLToolBin
	var err error
	if server == "" {
		if server, err = devserver.FindServer(ctx, "."); err != nil {
			return err
		}
	}
	if sqlTool == "" {
		if sqlTool, err = devserver.FindSQLTool(ctx, "."); err != nil {
			return err
		}
	}
	dbURL, err := s.databaseURL(s.databaseName())
	if err != nil {
		return err
	}
	// One API and one worker port because the options want them; the
	// cluster runs neither (the bench does).
	ports, err := cluster.FreePorts(1, 1)
	if err != nil {
		return err
	}
	co := cluster.Options{
		ServerBin: server, SQLToolBin: sqlTool,
		StateDir: filepath.Join(s.tmp, "cluster"), AdminURL: o.AdminDatabaseURL,
		TemporalDB:   "casehub_bench_temporal_" + s.runID,
		VisibilityDB: "casehub_bench_temporal_visibility_" + s.runID,
		DatabaseURL:  dbURL, // the bench's own; it creates and drops it
		Shards:       cluster.DefaultShards, Namespace: o.Namespace,
		Ports: ports, Logger: s.log,
	}
	s.clusterDBs = &co
	s.log.Info("starting a Temporal cluster (not measured)", "server", server, "shards", co.Shards,
		"databases", co.TemporalDB+", "+co.VisibilityDB)
	t0 := time.Now()
	c, err := cluster.StartTemporal(ctx, co)
	if err != nil {
		s.keepTmp = true
		return fmt.Errorf("start the Temporal cluster (its logs are kept in %s): %w", filepath.Join(co.StateDir, "logs"), err)
	}
	s.cluster = c
	s.log.Info("Temporal cluster up", "frontend", c.FrontendAddr, "took", time.Since(t0).Round(time.Millisecond))
	s.server = ServerInfo{Kind: ServerCluster, Address: c.FrontendAddr, Started: true,
		ServerVersion: devserver.ServerVersion, Services: clusterServices, Shards: co.Shards,
		Databases: []string{co.TemporalDB, co.VisibilityDB}}
	return nil
}

// stopCluster stops the cluster the run started, if it did, and drops its
// databases (also when it failed to start after making them).
func (s *system) stopCluster() {
	if s.cluster != nil {
		s.cluster.Stop()
	}
	if s.clusterDBs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cluster.DropDatabases(ctx, *s.clusterDBs); err != nil {
		s.log.Warn("drop the cluster's databases", "err", err)
	}
}
