package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/auth"
)

// do sends a request to the casehub API as token and returns the status
// and body; out, when given, receives the decoded body.
func do(t *testing.T, method, path, token string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, sys.apiURL+path, r)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, out), "%s %s: %s", method, path, raw)
	}
	return resp.StatusCode
}

// mustAPI is api that requires the status.
func mustAPI(t *testing.T, status int, method, path, token string, body any, out any) {
	t.Helper()
	var raw json.RawMessage
	got := do(t, method, path, token, body, &raw)
	require.Equal(t, status, got, "%s %s: %s", method, path, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out))
	}
}

// sim posts to the CTI simulator's admin API (a customer's actions).
func sim(t *testing.T, path string, body any, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(sys.simURL+path, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Less(t, resp.StatusCode, 300, "%s: %s", path, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out))
	}
}

// simPost sends a request to the simulator's admin API and returns the
// status and body, whatever they are.
func simPost(t *testing.T, path string, body any) (int, string) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(sys.simURL+path, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(raw)
}

// simGet reads from the simulator's admin API.
func simGet(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(sys.simURL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, raw)
	require.NoError(t, json.Unmarshal(raw, out))
}

// agentToken issues a token for an agent.
func agentToken(t *testing.T, agentID string) string {
	t.Helper()
	tok, _, err := auth.Issue(t.Context(), sys.store, auth.RoleAgent, agentID, "e2e")
	require.NoError(t, err)
	return tok
}

func supervisor() string { return sys.tokens[auth.RoleSupervisor] }

// eventually waits for cond with generous limits for a busy 2-core machine.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 60*time.Second, 50*time.Millisecond, msg)
}

func decodeJSON(resp *http.Response, out any) error {
	return json.NewDecoder(resp.Body).Decode(out)
}

// doKeyed POSTs with an Idempotency-Key.
func doKeyed(t *testing.T, path, token, key string, body any, out any) int {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, sys.apiURL+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(raw, out), string(raw))
	}
	return resp.StatusCode
}
