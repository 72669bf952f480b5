package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CountCheck closes every arm: what the bench was told was accepted must be
// what PostgreSQL holds and what Temporal knows, one for one.
type CountCheck struct {
	Arm      string `json:"arm"`
	What     string `json:"what"`
	Accepted int    `json:"accepted"` // requests answered with success
	Rows     int    `json:"rows"`     // database rows for them
	Temporal int    `json:"temporal"` // processes in visibility (or updates in history)
	OK       bool   `json:"ok"`
}

func newCountCheck(arm, what string, accepted, rows, temporal int) CountCheck {
	return CountCheck{Arm: arm, What: what, Accepted: accepted, Rows: rows, Temporal: temporal,
		OK: accepted == rows && rows == temporal}
}

func (c CountCheck) String() string {
	verdict := "ok"
	if !c.OK {
		verdict = "MISMATCH"
	}
	return fmt.Sprintf("%s %s: accepted %d, rows %d, temporal %d: %s", c.Arm, c.What, c.Accepted, c.Rows, c.Temporal, verdict)
}

// ErrCountMismatch is returned (wrapped) by Run when any count check failed.
var ErrCountMismatch = errors.New("count check failed")

// countFailures is nil when every check matched, else an error listing the
// ones that did not.
func countFailures(cs []CountCheck) error {
	var bad []string
	for _, c := range cs {
		if !c.OK {
			bad = append(bad, c.String())
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrCountMismatch, strings.Join(bad, "; "))
}

// counter reads a count from somewhere that catches up eventually
// (visibility lags history; a process writes its last row after it
// answered).
type counter func(ctx context.Context) (int, error)

// settleCount polls rows and temporal until both equal accepted or the
// deadline passes, and reports the last values it saw. Errors from a
// counter end the wait early only when ctx is done.
func settleCount(ctx context.Context, arm, what string, accepted int, rows, temporal counter, within, every time.Duration) (CountCheck, error) {
	deadline := time.Now().Add(within)
	for {
		r, rerr := rows(ctx)
		t, terr := temporal(ctx)
		c := newCountCheck(arm, what, accepted, r, t)
		if rerr == nil && terr == nil && c.OK {
			return c, nil
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return c, errors.Join(fmt.Errorf("counts did not settle in %s", within), rerr, terr, ctx.Err())
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}
