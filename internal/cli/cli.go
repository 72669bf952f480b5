// Package cli is what casehub's commands (cmd/casehub, cmd/casehub-bench)
// share: flags that fall back to environment variables, and the process
// logger set up from the log flags.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// Main runs a command's run with its arguments, environment and stdout,
// until it returns or Ctrl-C (or SIGTERM) cancels its context; an error
// is printed after the command's name (unless it is -h's) and exits 1.
func Main(name string, run func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, name+":", err)
		}
		stop()
		os.Exit(1)
	}
}

// EnvFlags defines flags on FS whose defaults come from environment
// variables (read through Getenv) when those are set and parse; each
// flag's help names its variable.
type EnvFlags struct {
	FS     *flag.FlagSet
	Getenv func(string) string
}

// Str defines a string flag with env as its fallback.
func (e EnvFlags) Str(p *string, name, env, def, help string) {
	if v := e.Getenv(env); v != "" {
		def = v
	}
	e.FS.StringVar(p, name, def, usage(help, env))
}

// Dur defines a duration flag with env as its fallback.
func (e EnvFlags) Dur(p *time.Duration, name, env string, def time.Duration, help string) {
	if v := e.Getenv(env); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	e.FS.DurationVar(p, name, def, usage(help, env))
}

// Int defines an int flag with env as its fallback.
func (e EnvFlags) Int(p *int, name, env string, def int, help string) {
	if v := e.Getenv(env); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			def = n
		}
	}
	e.FS.IntVar(p, name, def, usage(help, env))
}

// Bool defines a bool flag with env as its fallback.
func (e EnvFlags) Bool(p *bool, name, env string, def bool, help string) {
	if v := e.Getenv(env); v != "" {
		if b, err := strconv.ParseBool(v); err == nil {
			def = b
		}
	}
	e.FS.BoolVar(p, name, def, usage(help, env))
}

func usage(help, env string) string { return fmt.Sprintf("%s (env %s)", help, env) }

// Logger makes the process's logger on stderr, at level (debug, info,
// warn, error; anything else is info) in format "json" or text, and makes
// it slog's default.
func Logger(level, format string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	logger := slog.New(h)
	slog.SetDefault(logger)
	return logger
}
