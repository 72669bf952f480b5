package devserver

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// child is a process devserver runs (the dev server, the Web UI): it dies
// with casehub, stays out of the terminal's process group (so one Ctrl-C
// reaches casehub, which stops its children in order), and says when it
// has exited.
type child struct {
	name    string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

func startChild(name string, out io.Writer, bin string, args ...string) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// exitedWhileStarting is the error for a child that exited before it was ready.
func (c *child) exitedWhileStarting() error {
	return fmt.Errorf("%s exited while starting: %v", c.name, c.waitErr)
}

// stop interrupts the child and waits for it to exit, killing it after
// grace. Exiting because it was interrupted is no error.
func (c *child) stop(grace time.Duration) error {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
		var exitErr *exec.ExitError
		if errors.As(c.waitErr, &exitErr) {
			return nil // interrupted on purpose
		}
		return c.waitErr
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		return fmt.Errorf("%s did not stop in %s; killed", c.name, grace)
	}
}
