package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

func TestEscalationsMoveOnlyAsTheirStatesAllow(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, nil)
	for _, tc := range []struct {
		kind, first string
		moves       []string // allowed, in turn
		final       string   // then refused from the last
	}{
		{store.RelatedIncident, store.IncidentNew, []string{store.IncidentOnHold, store.IncidentInProgress, store.IncidentResolved,
			store.IncidentInProgress, store.IncidentResolved, store.IncidentClosed}, store.IncidentInProgress},
		{store.RelatedRequest, store.RequestOpen, []string{store.RequestWorkInProgress, store.RequestClosedIncomplete}, store.RequestOpen},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			e, err := st.Escalate(ctx, store.NewEscalation{Interaction: in.Number, Kind: tc.kind, RequestID: tc.kind + "-" + f.tag,
				ShortDescription: "x", Actor: f.agent})
			require.NoError(t, err)
			require.Equal(t, tc.first, e.State)
			for _, to := range tc.moves {
				got, err := st.ChangeEscalation(ctx, store.EscalationChange{Kind: tc.kind, Number: e.Number, State: &to, Actor: f.agent})
				require.NoError(t, err, to)
				require.Equal(t, to, got.State)
			}
			_, err = st.ChangeEscalation(ctx, store.EscalationChange{Kind: tc.kind, Number: e.Number, State: &tc.final, Actor: f.agent})
			requireField(t, err, store.ErrConflict, "state")
			wrong := "bogus"
			_, err = st.ChangeEscalation(ctx, store.EscalationChange{Kind: tc.kind, Number: e.Number, State: &wrong, Actor: f.agent})
			requireField(t, err, store.ErrInvalid, "state")
			nobody := "nobody-" + f.tag
			_, err = st.ChangeEscalation(ctx, store.EscalationChange{Kind: tc.kind, Number: e.Number, AssignedTo: &nobody, Actor: f.agent})
			requireField(t, err, store.ErrNotFound, "assigned_to")

			h, err := st.EscalationHistory(ctx, tc.kind, e.Number)
			require.NoError(t, err)
			require.Len(t, h, 1+len(tc.moves), "opened, then one line per move; refused changes write none")
			require.Equal(t, store.ActivityOpened, h[0].What)

			// A note sent twice with its request id is kept once.
			n1, err := st.AddEscalationNote(ctx, tc.kind, e.Number, f.agent, "called back", "r-1")
			require.NoError(t, err)
			n2, err := st.AddEscalationNote(ctx, tc.kind, e.Number, f.agent, "called back", "r-1")
			require.NoError(t, err)
			require.Equal(t, n1, n2)
			h, err = st.EscalationHistory(ctx, tc.kind, e.Number)
			require.NoError(t, err)
			require.Len(t, h, 2+len(tc.moves))
		})
	}
	missing := store.IncidentInProgress
	_, err := st.ChangeEscalation(ctx, store.EscalationChange{Kind: store.RelatedIncident, Number: "INC9999999999", State: &missing})
	require.ErrorIs(t, err, store.ErrNotFound)
}
