package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

func TestClaimInteractionLeg(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		queued       bool
		wantPosition bool
	}{
		{name: "a queued caller draws a place in line", queued: true, wantPosition: true},
		{name: "a caller in the IVR draws none yet", queued: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leg := "leg-" + uuid.NewString()
			first, err := st.ClaimInteractionLeg(ctx, leg, "interaction-", tt.queued)
			require.NoError(t, err)
			require.True(t, first.Claimed)
			require.Regexp(t, `^interaction-IMS\d{7,}$`, first.WorkflowID)
			require.Equal(t, tt.wantPosition, first.Position > 0, "position %d", first.Position)

			owner, err := st.LegOwner(ctx, leg)
			require.NoError(t, err)
			require.Equal(t, first.WorkflowID, owner)

			// The next event of the call finds its process and draws nothing.
			again, err := st.ClaimInteractionLeg(ctx, leg, "interaction-", tt.queued)
			require.NoError(t, err)
			require.Equal(t, store.LegClaim{WorkflowID: first.WorkflowID}, again)
		})
	}
}

func TestClaimInteractionLegOnceForEventsAtOnce(t *testing.T) {
	ctx := context.Background()
	leg := "leg-" + uuid.NewString()
	const n = 8
	claims := make([]store.LegClaim, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claims[i], errs[i] = st.ClaimInteractionLeg(ctx, leg, "interaction-", true)
		}()
	}
	wg.Wait()
	claimed := 0
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, claims[0].WorkflowID, claims[i].WorkflowID, fmt.Sprintf("event %d", i))
		if claims[i].Claimed {
			claimed++
		}
	}
	require.Equal(t, 1, claimed)
	require.True(t, strings.HasPrefix(claims[0].WorkflowID, "interaction-IMS"))
}

func TestRegisterLegKeepsTheLatestOwner(t *testing.T) {
	ctx := context.Background()
	leg := "leg-" + uuid.NewString()
	version := func() string { // the row's version: it changes with every write
		var xmin string
		require.NoError(t, st.DB().GetContext(ctx, &xmin, `SELECT xmin::text FROM cti_legs WHERE leg_id = $1`, leg))
		return xmin
	}
	steps := []struct {
		owner   string
		written bool
	}{
		{owner: "interaction-A", written: true},
		{owner: "interaction-A"},             // again: nothing is written
		{owner: "callback-B", written: true}, // the leg passes to another process
		{owner: "callback-B"},
	}
	last := ""
	for i, s := range steps {
		require.NoError(t, st.RegisterLeg(ctx, leg, s.owner), "step %d", i)
		got, err := st.LegOwner(ctx, leg)
		require.NoError(t, err)
		require.Equal(t, s.owner, got, "step %d", i)
		v := version()
		require.Equal(t, s.written, v != last, "step %d: written", i)
		last = v
	}
}

func TestClaimInteractionLegDrawsNoNumberForAnOwnedLeg(t *testing.T) {
	ctx := context.Background()
	leg := "leg-" + uuid.NewString()
	_, err := st.ClaimInteractionLeg(ctx, leg, "interaction-", true)
	require.NoError(t, err)
	drawn := func() int64 {
		var n int64
		require.NoError(t, st.DB().GetContext(ctx, &n, `SELECT last_value FROM interaction_number`))
		return n
	}
	before := drawn()
	for range 3 {
		_, err := st.ClaimInteractionLeg(ctx, leg, "interaction-", true)
		require.NoError(t, err)
	}
	require.Equal(t, before, drawn())
}

// A claim that meets another claim of the same leg, not yet committed,
// waits for it and joins its process, with a place in line of its own.
func TestClaimInteractionLegJoinsAClaimCommittedMeanwhile(t *testing.T) {
	ctx := context.Background()
	leg := "leg-" + uuid.NewString()
	tx, err := st.DB().BeginTxx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, `INSERT INTO cti_legs (leg_id, workflow_id) VALUES ($1, 'interaction-first')`, leg)
	require.NoError(t, err)

	type result struct {
		claim store.LegClaim
		err   error
	}
	done := make(chan result, 1)
	go func() {
		c, err := st.ClaimInteractionLeg(ctx, leg, "interaction-", true)
		done <- result{c, err}
	}()
	// The claim waits on the uncommitted row before the first commits.
	require.Eventually(t, func() bool {
		var waiting bool
		err := st.DB().GetContext(ctx, &waiting, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO cti_legs%')`)
		return err == nil && waiting
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, tx.Commit())

	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, "interaction-first", r.claim.WorkflowID)
	require.False(t, r.claim.Claimed)
	require.Positive(t, r.claim.Position)
}
