package devserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// FindCLI returns the path of the pinned temporal binary: $CASEHUB_TEMPORAL_BIN
// when set, else .bin/temporal at the root of the casehub module that contains
// dir. When that file is missing it is built from tools/go.mod with the go
// command (from the module cache or the module proxy; no binary download).
func FindCLI(ctx context.Context, dir string) (string, error) {
	if p := os.Getenv("CASEHUB_TEMPORAL_BIN"); p != "" {
		return p, nil
	}
	root, err := moduleRoot(dir)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, ".bin", "temporal")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := BuildCLI(ctx, root, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// BuildCLI builds the pinned Temporal CLI into out, atomically.
func BuildCLI(ctx context.Context, root, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(out), err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-modfile=tools/go.mod", "-o", tmp, "github.com/temporalio/cli/cmd/temporal")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("build temporal CLI %s from tools/go.mod: %w", CLIVersion, err)
	}
	return os.Rename(tmp, out)
}

// moduleRoot walks up from dir to the directory holding tools/go.mod.
func moduleRoot(dir string) (string, error) {
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
			return "", errors.New("casehub source tree not found (no tools/go.mod above the working directory); set CASEHUB_TEMPORAL_BIN")
		}
		dir = parent
	}
}
