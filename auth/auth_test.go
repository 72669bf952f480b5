package auth_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/internal/testenv"
	"github.com/casehub/casehub/store"
)

var st *store.Store

func TestMain(m *testing.M) {
	db := testenv.MustDatabase("auth")
	st = db.Store
	code := m.Run()
	db.Close()
	os.Exit(code)
}

func TestIssueAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	token, p, err := auth.Issue(ctx, st, auth.RoleAgent, "agent-7", "test")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(token, "chb_"))
	require.Equal(t, auth.RoleAgent, p.Role)

	got, err := auth.Authenticate(ctx, st, token)
	require.NoError(t, err)
	require.Equal(t, p, got)
	require.Equal(t, "agent-7", got.AgentID)

	// Only a hash of the secret is stored.
	row, err := st.GetToken(ctx, p.TokenID)
	require.NoError(t, err)
	secret := token[len("chb_")+len(p.TokenID)+1:]
	require.NotContains(t, string(row.SecretHash), secret)
	require.Len(t, row.SecretHash, 32)

	require.NoError(t, st.RevokeToken(ctx, auth.TokenID(token)))
	_, err = auth.Authenticate(ctx, st, token)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
}

func TestAuthenticateRejectsBadTokens(t *testing.T) {
	ctx := context.Background()
	token, _, err := auth.Issue(ctx, st, auth.RoleSupervisor, "", "test")
	require.NoError(t, err)

	for name, bad := range map[string]string{
		"empty":          "",
		"no prefix":      strings.TrimPrefix(token, "chb_"),
		"wrong secret":   token[:len(token)-2] + "xx",
		"unknown id":     "chb_0000000000000000_" + token[len(token)-10:],
		"no secret":      token[:len("chb_")+16] + "_",
		"garbage":        "chb_!!",
		"trailing stuff": token + "_more",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := auth.Authenticate(ctx, st, bad)
			require.ErrorIs(t, err, auth.ErrInvalidToken)
		})
	}
}

func TestIssueChecksRoleAndAgent(t *testing.T) {
	ctx := context.Background()
	_, _, err := auth.Issue(ctx, st, auth.RoleAgent, "", "")
	require.Error(t, err, "an agent token needs an agent id")
	_, _, err = auth.Issue(ctx, st, auth.RoleSupervisor, "agent-1", "")
	require.Error(t, err, "only agent tokens carry an agent id")
	_, _, err = auth.Issue(ctx, st, auth.Role("root"), "", "")
	require.Error(t, err)
	_, err = auth.ParseRole("integration")
	require.NoError(t, err)
}

// casehub dev revokes the tokens an earlier start printed by their
// description; tokens issued otherwise stay valid.
func TestRevokeTokensDescribed(t *testing.T) {
	ctx := context.Background()
	var old []string
	for range 2 {
		token, _, err := auth.Issue(ctx, st, auth.RoleSupervisor, "", "dev run")
		require.NoError(t, err)
		old = append(old, token)
	}
	other, _, err := auth.Issue(ctx, st, auth.RoleSupervisor, "", "scheduler")
	require.NoError(t, err)

	n, err := st.RevokeTokensDescribed(ctx, "dev run")
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	for _, token := range old {
		_, err := auth.Authenticate(ctx, st, token)
		require.ErrorIs(t, err, auth.ErrInvalidToken)
	}
	_, err = auth.Authenticate(ctx, st, other)
	require.NoError(t, err)

	n, err = st.RevokeTokensDescribed(ctx, "dev run")
	require.NoError(t, err)
	require.Zero(t, n, "revoking again changes nothing")
}
