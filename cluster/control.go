package cluster

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// What the fault tests do to a running cluster: kill one casehub process
// and keep it down, start it again, restart one Temporal service.

// WorkerPID is the process id of casehub worker i (from 0), as Temporal
// shows it in a worker's identity ("pid@host@").
func (c *Cluster) WorkerPID(i int) int { return c.workers[i].current().cmd.Process.Pid }

// WorkerIndex is the index of the casehub worker whose process id is pid,
// or -1.
func (c *Cluster) WorkerIndex(pid int) int {
	for i, w := range c.workers {
		if w.current().cmd.Process.Pid == pid {
			return i
		}
	}
	return -1
}

// KillWorker SIGKILLs casehub worker i (no shutdown code runs) and keeps
// it down until StartWorker.
func (c *Cluster) KillWorker(i int) { c.workers[i].kill() }

// StartWorker starts casehub worker i again after KillWorker and waits
// until it is ready.
func (c *Cluster) StartWorker(ctx context.Context, i int) error {
	p, err := c.workers[i].restart()
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, "http://"+addr(c.o.Ports.WorkerMetrics[i])+"/readyz", 2*time.Minute)
}

// KillAPI SIGKILLs API replica i and keeps it down until StartAPI; the
// proxy sends new connections to the other replicas meanwhile.
func (c *Cluster) KillAPI(i int) { c.apis[i].kill() }

// StartAPI starts API replica i again after KillAPI and waits until it is
// ready.
func (c *Cluster) StartAPI(ctx context.Context, i int) error {
	p, err := c.apis[i].restart()
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, c.APIURLs[i]+"/readyz", 2*time.Minute)
}

// RestartService SIGKILLs one Temporal service ("frontend", "history",
// "matching" or "worker"), keeps it down for down, starts it again with the
// same configuration and waits until it serves. Exited keeps watching the
// process it was given, so a caller of both sees this kill as an exit.
func (c *Cluster) RestartService(ctx context.Context, svc string, down time.Duration) error {
	at := -1
	for i, name := range services {
		if name == svc {
			at = i
		}
	}
	if at < 0 || at >= len(c.services) {
		return fmt.Errorf("no Temporal service %q", svc)
	}
	old := c.services[at]
	_ = old.cmd.Process.Signal(syscall.SIGKILL)
	<-old.exited
	time.Sleep(down)
	p, err := start("temporal-"+svc, c.logDir, c.o.ServerBin, nil,
		"--root", "/", "--config", c.o.configDir(), "--env", svc, "--allow-no-auth", "start", "--service", svc)
	if err != nil {
		return err
	}
	c.services[at] = p
	name, ok := healthNames[svc]
	if !ok {
		return nil // the frontend and worker services report no readiness of their own
	}
	target := addr(c.o.servicePorts(svc).GRPC)
	return waitFor(ctx, "temporal "+svc+" at "+target, 3*time.Minute, []*process{p}, func(ctx context.Context) error {
		return grpcHealth(ctx, target, name)
	})
}

// kill SIGKILLs the process and holds it down: it is not started again
// until restart.
func (s *supervised) kill() {
	s.mu.Lock()
	s.held = true
	p := s.cur
	s.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// restart starts a held process again.
func (s *supervised) restart() (*process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held {
		return nil, fmt.Errorf("%s is running (kill it first)", s.name)
	}
	p, err := start(s.name, s.logDir, s.bin, s.env, s.args...)
	if err != nil {
		return nil, err
	}
	s.held, s.cur = false, p
	go s.watch(p)
	return p, nil
}
