//go:build faults

package routing

import (
	"log/slog"
	"os"
	"syscall"
)

// In a binary built for the fault tests, the failpoint named by
// CASEHUB_FAILPOINT kills the process (SIGKILL, as a crash) the first time
// it is reached while the file named by CASEHUB_FAILPOINT_FILE exists; the
// file is removed first, so the restarted process runs on.
func init() {
	name, file := os.Getenv("CASEHUB_FAILPOINT"), os.Getenv("CASEHUB_FAILPOINT_FILE")
	if name == "" || file == "" {
		return
	}
	failpoint = func(at string) {
		if at != name {
			return
		}
		if err := os.Remove(file); err != nil {
			return // not armed, or already fired
		}
		slog.Warn("failpoint: killing this process", "failpoint", at)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
