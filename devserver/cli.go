package devserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The tools built from tools/go.mod: the Temporal CLI (its dev server),
// the Temporal Web UI server, and the Temporal server and its SQL schema
// tool (casehub's local cluster, package cluster).
var (
	cliTool     = tool{name: "temporal", env: "CASEHUB_TEMPORAL_BIN", pkg: "github.com/temporalio/cli/cmd/temporal", version: CLIVersion}
	uiTool      = tool{name: "temporal-ui", env: "CASEHUB_TEMPORAL_UI_BIN", pkg: "github.com/temporalio/ui-server/v2/cmd/server", version: UIVersion}
	serverTool  = tool{name: "temporal-server", env: "CASEHUB_TEMPORAL_SERVER_BIN", pkg: "go.temporal.io/server/cmd/server", version: ServerVersion}
	sqlToolTool = tool{name: "temporal-sql-tool", env: "CASEHUB_TEMPORAL_SQL_TOOL_BIN", pkg: "go.temporal.io/server/cmd/tools/sql", version: ServerVersion}
)

// ServerVersion is the Temporal server release pinned in tools/go.mod (the
// one the pinned CLI embeds).
const ServerVersion = "v1.29.1"

type tool struct{ name, env, pkg, version string }

// FindCLI returns the path of the pinned temporal binary: $CASEHUB_TEMPORAL_BIN
// when set, else .bin/temporal at the root of the casehub module that contains
// dir. When that file is missing it is built from tools/go.mod with the go
// command (from the module cache or the module proxy; no binary download).
func FindCLI(ctx context.Context, dir string) (string, error) { return find(ctx, dir, cliTool) }

// FindUI returns the path of the pinned Temporal Web UI server, as FindCLI
// does ($CASEHUB_TEMPORAL_UI_BIN, else .bin/temporal-ui, built if missing).
func FindUI(ctx context.Context, dir string) (string, error) { return find(ctx, dir, uiTool) }

// FindServer returns the path of the pinned Temporal server, as FindCLI does
// ($CASEHUB_TEMPORAL_SERVER_BIN, else .bin/temporal-server, built if missing).
func FindServer(ctx context.Context, dir string) (string, error) { return find(ctx, dir, serverTool) }

// FindSQLTool returns the path of the pinned server's SQL schema tool, as
// FindCLI does ($CASEHUB_TEMPORAL_SQL_TOOL_BIN, else .bin/temporal-sql-tool).
func FindSQLTool(ctx context.Context, dir string) (string, error) {
	return find(ctx, dir, sqlToolTool)
}

func find(ctx context.Context, dir string, t tool) (string, error) {
	if p := os.Getenv(t.env); p != "" {
		return p, nil
	}
	root, err := moduleRoot(dir, t)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, ".bin", t.name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := build(ctx, root, bin, t); err != nil {
		return "", err
	}
	return bin, nil
}

// BuildCLI builds the pinned Temporal CLI into out, atomically.
func BuildCLI(ctx context.Context, root, out string) error { return build(ctx, root, out, cliTool) }

func build(ctx context.Context, root, out string, t tool) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(out), err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-modfile=tools/go.mod", "-o", tmp, t.pkg)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("build %s %s from tools/go.mod: %w", t.name, t.version, err)
	}
	return os.Rename(tmp, out)
}

// moduleRoot walks up from dir to the directory holding tools/go.mod.
func moduleRoot(dir string, t tool) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("casehub source tree not found (no tools/go.mod above the working directory); set " + t.env)
		}
		dir = parent
	}
}
