// Package devserver runs the Temporal dev server (with its Web UI) from the
// Temporal CLI pinned in tools/go.mod, for `casehub dev` and for the tests.
// Nothing is downloaded at run time: the CLI is built from Go modules.
package devserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
)

// CLIVersion is the Temporal CLI release pinned in tools/go.mod.
const CLIVersion = "v1.5.1"

// Options says how to start the server.
type Options struct {
	CLIPath  string // the temporal binary; see FindCLI
	IP       string // default 127.0.0.1
	Port     int    // frontend gRPC port; 0 picks a free one
	UIPort   int    // Web UI port; 0 with Headless=false picks a free one
	Headless bool   // no Web UI
	// UICodecEndpoint is where the Web UI sends payloads to be decoded
	// (casehub's /codec); "" shows them as stored.
	UICodecEndpoint string
	DBFile          string // SQLite file to keep state in; "" keeps it in memory
	Namespace       string // default "default"
	LogLevel        string // default "warn"
	Output          io.Writer
}

// Server is a running dev server process.
type Server struct {
	*child
	HostPort string
	UIURL    string
}

// TunedArgs are the settings measured to matter on the dev server's single
// history shard: SQLite in WAL mode with normal syncs; transfer/timer queue
// poll limits raised from the default 20/s, which otherwise add about 50 ms
// to every workflow hop; one task-queue partition instead of four, with
// which a task could wait about 2 s in a partition no poller was on; and
// the matcher that dispatches a task queue's tasks by priority (off by
// default in the release tools/go.mod pins, 1.29.1), so that callbacks
// scheduled for later (workflows.PriorityLater) never queue ahead of live
// contacts.
func TunedArgs() []string {
	return []string{
		"--sqlite-pragma", "journal_mode=wal",
		"--sqlite-pragma", "synchronous=normal",
		"--dynamic-config-value", "history.transferProcessorMaxPollRPS=10000",
		"--dynamic-config-value", "history.timerProcessorMaxPollRPS=10000",
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
		"--dynamic-config-value", "matching.useNewMatcher=true",
	}
}

// Args is the full command line (after the binary) for o.
func (o Options) Args() []string {
	args := []string{"server", "start-dev",
		"--ip", o.IP, "--port", strconv.Itoa(o.Port),
		"--namespace", o.Namespace,
		"--log-level", o.LogLevel,
	}
	if o.Headless {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", strconv.Itoa(o.UIPort))
		if o.UICodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", o.UICodecEndpoint)
		}
	}
	if o.DBFile != "" {
		args = append(args, "--db-filename", o.DBFile)
	}
	return append(args, TunedArgs()...)
}

// startAttempts is how many times Start tries when the server exits because
// a port it bound was taken. The CLI picks its HTTP, metrics and internal
// service ports itself, free when picked; an outgoing connection of another
// process can take one of them before the server binds it.
const startAttempts = 3

// Start launches the server and waits until its frontend answers. A server
// that exits while starting because an address was in use is started again
// (ports Start picked are picked again; ports in o are kept).
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	if o.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o755); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	if _, err := os.Stat(o.CLIPath); err != nil {
		return nil, fmt.Errorf("temporal CLI not found at %s (build it with `make tools`): %w", o.CLIPath, err)
	}
	for attempt := 1; ; attempt++ {
		s, err := startOnce(ctx, o)
		if err == nil || !errors.Is(err, errAddrInUse) || attempt == startAttempts || ctx.Err() != nil {
			return s, err
		}
	}
}

// errAddrInUse marks a server that exited because an address it binds was
// in use.
var errAddrInUse = errors.New("an address the server binds was in use")

func startOnce(ctx context.Context, o Options) (*Server, error) {
	var err error
	if o.Port == 0 {
		if o.Port, err = freePort(o.IP); err != nil {
			return nil, err
		}
	}
	if !o.Headless && o.UIPort == 0 {
		if o.UIPort, err = freePort(o.IP); err != nil {
			return nil, err
		}
	}
	inUse := &watch{needle: []byte("address already in use")}
	c, err := startChild("temporal dev server", io.MultiWriter(inUse, o.Output), o.CLIPath, o.Args()...)
	if err != nil {
		return nil, err
	}
	s := &Server{child: c, HostPort: net.JoinHostPort(o.IP, strconv.Itoa(o.Port))}
	if !o.Headless {
		s.UIURL = "http://" + net.JoinHostPort(o.IP, strconv.Itoa(o.UIPort))
	}

	if err := s.waitReady(ctx, o.Namespace); err != nil {
		gaveUp := exited(s.exited) // on its own, not stopped by us
		_ = s.Stop()
		if gaveUp && inUse.seen() {
			return nil, fmt.Errorf("%w: %w", errAddrInUse, err)
		}
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: s.HostPort, Namespace: namespace, Logger: quietLogger()})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-s.exited:
			return s.exitedWhileStarting()
		case <-ctx.Done():
			return fmt.Errorf("temporal dev server at %s not ready: %w", s.HostPort, errors.Join(ctx.Err(), last))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop interrupts the server and waits for it to exit (killing it after 20 s).
func (s *Server) Stop() error { return s.stop(20 * time.Second) }

// Exited is closed when the server process has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func exited(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// watch is an io.Writer that notes whether needle went through it, even
// split across writes.
type watch struct {
	needle []byte
	mu     sync.Mutex
	carry  []byte // the last len(needle)-1 bytes written
	found  bool
}

func (w *watch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.found {
		buf := append(w.carry, p...)
		w.found = bytes.Contains(buf, w.needle)
		keep := min(len(buf), len(w.needle)-1)
		w.carry = append(w.carry[:0:0], buf[len(buf)-keep:]...)
	}
	return len(p), nil
}

func (w *watch) seen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.found
}

func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}
