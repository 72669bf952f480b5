package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one child process of the cluster, its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	log     string
	exited  chan struct{}
	waitErr error
}

// start runs bin with args and env (added to this process's environment),
// its output appended to logDir/name.log.
func start(name, logDir, bin string, env []string, args ...string) (*process, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", logDir, err)
	}
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	fmt.Fprintf(f, "==== %s %s %s\n", time.Now().Format(time.RFC3339), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Die with us, and stay out of the terminal's process group so that one
	// Ctrl-C reaches casehub alone, which then stops everything in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return p, nil
}

// run starts a process and waits for it to finish; a failure carries the
// end of its log.
func run(ctx context.Context, name, logDir, bin string, env []string, args ...string) error {
	p, err := start(name, logDir, bin, env, args...)
	if err != nil {
		return err
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		p.stop(5 * time.Second)
		return ctx.Err()
	}
	if p.waitErr != nil {
		return fmt.Errorf("%s: %w\n%s", name, p.waitErr, tail(p.log, 20))
	}
	return nil
}

// stop sends SIGTERM and waits up to grace before killing.
func (p *process) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(grace)
}

// wait waits for the process to exit, killing it after grace.
func (p *process) wait(grace time.Duration) {
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// exitedErr describes an exit nobody asked for.
func (p *process) exitedErr() error {
	return fmt.Errorf("%s exited (%v); see %s\n%s", p.name, p.waitErr, p.log, tail(p.log, 20))
}

// waitHTTP waits until url answers 200, failing early if p exits.
func waitHTTP(ctx context.Context, p *process, url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-p.exited:
			return p.exitedErr()
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w", p.name, url, errors.Join(ctx.Err(), last))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail is the last n lines of a log file, for error messages.
func tail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// supervised is a casehub process the cluster keeps running: when it exits
// on its own (killed, crashed) it is started again a second later, as its
// deployment would start it again.
type supervised struct {
	name, logDir, bin string
	env, args         []string
	logger            *slog.Logger

	mu       sync.Mutex
	cur      *process
	stopping bool
	held     bool // killed on purpose and kept down (kill)
}

func supervise(logger *slog.Logger, name, logDir, bin string, env []string, args ...string) (*supervised, error) {
	s := &supervised{name: name, logDir: logDir, bin: bin, env: env, args: args, logger: logger}
	p, err := start(name, logDir, bin, env, args...)
	if err != nil {
		return nil, err
	}
	s.cur = p
	go s.watch(p)
	return s, nil
}

func (s *supervised) watch(p *process) {
	<-p.exited
	s.mu.Lock()
	stopping := s.stopping || s.held
	s.mu.Unlock()
	if stopping {
		return
	}
	s.logger.Warn("process exited; starting it again in 1 s", "process", s.name, "err", p.waitErr, "log", p.log)
	time.Sleep(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping || s.held {
		return
	}
	np, err := start(s.name, s.logDir, s.bin, s.env, s.args...)
	if err != nil {
		s.logger.Error("could not start the process again", "process", s.name, "err", err)
		return
	}
	s.cur = np
	go s.watch(np)
}

// current is the running process (the latest start).
func (s *supervised) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// interrupt asks the process to stop, for good.
func (s *supervised) interrupt() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping = true
	_ = s.cur.cmd.Process.Signal(syscall.SIGINT)
	return s.cur
}
