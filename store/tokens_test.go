package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// newToken stores a token record of its own, for agent.
func newToken(t testing.TB, agent string) store.APIToken {
	t.Helper()
	tok := store.APIToken{ID: uuid.NewString()[:16], SecretHash: []byte{0x01, 0x00, 0xfe}, Role: "agent", AgentID: &agent, Description: "test"}
	require.NoError(t, st.CreateToken(context.Background(), tok))
	read, err := st.GetToken(context.Background(), tok.ID)
	require.NoError(t, err)
	return read
}

// The one read of a token and an interaction finds each as its own read does,
// and finds neither when either is missing.
func TestGetTokenAndInteraction(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	it := f.open(t, func(n *store.NewInteraction) {
		n.AgentID, n.ContactPhone, n.IVR = f.agent, "+12025550143", map[string]string{"account": "A-1"}
	})
	record, err := st.GetInteractionRecord(ctx, it.Number)
	require.NoError(t, err)
	tok := newToken(t, f.agent)

	gotToken, gotRecord, err := st.GetTokenAndInteraction(ctx, tok.ID, it.Number)
	require.NoError(t, err)
	require.Equal(t, tok, gotToken)
	require.Equal(t, record, gotRecord)

	for name, args := range map[string][2]string{
		"no such token":       {"0000000000000000", it.Number},
		"no such interaction": {tok.ID, "IMS9999999999"},
		"neither":             {"0000000000000000", "IMS9999999999"},
	} {
		_, _, err := st.GetTokenAndInteraction(ctx, args[0], args[1])
		require.ErrorIs(t, err, store.ErrNotFound, name)
	}
}

// BenchmarkTokenAndInteractionReads: what an action on an interaction reads
// before it acts, as the two reads it was and as the one it is.
func BenchmarkTokenAndInteractionReads(b *testing.B) {
	ctx := context.Background()
	f := newInteractionFixture(b)
	it := f.open(b, nil)
	tok := newToken(b, f.agent)
	b.Run("two", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.GetToken(ctx, tok.ID); err != nil {
				b.Fatal(err)
			}
			if _, err := st.GetInteractionRecord(ctx, it.Number); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := st.GetTokenAndInteraction(ctx, tok.ID, it.Number); err != nil {
				b.Fatal(err)
			}
		}
	})
}
