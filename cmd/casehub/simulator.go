package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/casehub/casehub/cti/ctisim"
)

// simProcess is the CTI simulator running as a child process of `casehub dev`.
type simProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// startSimulator runs `casehub cti-sim serve` from this same binary, posting
// events to the API at c.HTTPAddr.
func startSimulator(c *config, addr, token, logPath string) (*simProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find casehub binary: %w", err)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	cmd := exec.Command(self, "cti-sim", "serve")
	cmd.Env = append(os.Environ(),
		ctisim.EnvAddr+"="+addr,
		ctisim.EnvEventsURL+"=http://"+c.HTTPAddr+"/v1/cti/events",
		ctisim.EnvSecret+"="+c.CTIWebhookSecret,
		ctisim.EnvToken+"="+token,
		ctisim.EnvAPIKey+"="+c.CTIAPIKey,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start CTI simulator: %w", err)
	}
	p := &simProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

func (p *simProcess) stop(logger *slog.Logger) {
	logger.Info("stopping CTI simulator")
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}
