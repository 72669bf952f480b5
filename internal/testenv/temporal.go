package testenv

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/casehub/casehub/devserver"
)

// StartTemporal starts an in-memory, headless Temporal dev server on free
// ports from the pinned CLI, tuned as `casehub dev` runs it.
func StartTemporal() (*devserver.Server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	cli, err := devserver.FindCLI(ctx, wd)
	if err != nil {
		return nil, err
	}
	srv, err := devserver.Start(ctx, devserver.Options{CLIPath: cli, Headless: true, Output: os.Stderr, LogLevel: "error"})
	if err != nil {
		return nil, fmt.Errorf("start temporal dev server for tests: %w", err)
	}
	return srv, nil
}

// MustTemporal is StartTemporal for TestMain: it exits with the reason on
// failure.
func MustTemporal() *devserver.Server {
	srv, err := StartTemporal()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(2)
	}
	return srv
}
