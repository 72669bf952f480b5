package ctisim_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/cti/ctisim"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in different
// goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMainServeAndClientSubcommands(t *testing.T) {
	rc := newReceiver(t)
	env := map[string]string{
		ctisim.EnvEventsURL: rc.srv.URL + "/v1/cti/events",
		ctisim.EnvSecret:    testSecret,
		ctisim.EnvToken:     testToken,
		ctisim.EnvScripts:   "+15551230001=busy:10ms, +15551230002=answer:10ms",
	}
	getenv := func(k string) string { return env[k] }

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- ctisim.Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--agent-answer-delay", "10ms"}, getenv, &out)
	}()

	addrRE := regexp.MustCompile(`addr=(http://127\.0\.0\.1:\d+)`)
	var simURL string
	require.Eventually(t, func() bool {
		m := addrRE.FindStringSubmatch(out.String())
		if m != nil {
			simURL = m[1]
		}
		return m != nil
	}, waitFor, tick, "simulator did not report its address; output: %s", out.String())

	run := func(args ...string) string {
		t.Helper()
		var stdout bytes.Buffer
		require.NoError(t, ctisim.Main(ctx, args, getenv, &stdout))
		return strings.TrimSpace(stdout.String())
	}

	callID := run("call", "--from", "+15551234567", "--to", "+15550000000", "--queue", "support",
		"--ivr", "lang=en", "--ivr", "reason=billing", "--case", "CS-000123", "--sim", simURL)
	require.True(t, strings.HasPrefix(callID, "call_"), callID)
	ev := rc.await(t, onCall(callID), cti.EventIncomingCall)[0]
	require.Equal(t, map[string]string{"lang": "en", "reason": "billing"}, ev.IVR)
	require.Equal(t, "CS-000123", ev.CaseNumber)

	// Without --to the caller dials the dev support line.
	lineCall := run("call", "--from", "+15551234568", "--queue", "support", "--sim", simURL)
	require.Equal(t, ctisim.DefaultDialledNumber, rc.await(t, onCall(lineCall), cti.EventIncomingCall)[0].DialledNumber)

	// Flags may follow the call id.
	require.Equal(t, callID+" ended", run("hangup", callID, "--sim", simURL))
	rc.await(t, onCall(callID), cti.EventIncomingCall, cti.EventCallerHungUp, cti.EventCallEnded)

	chatID := run("chat", "--email", "ann@example.com", "--name", "Ann", "--queue", "support", "--text", "hello", "--sim", simURL)
	rc.await(t, onChat(chatID), cti.EventChatOffered, cti.EventChatMessage)

	// The scripts from the environment are in force.
	a := cti.NewHTTPAdapter(simURL, "")
	busy, err := a.PlaceCall(ctx, placeReq("+15551230001"))
	require.NoError(t, err)
	rc.await(t, onCall(busy.ID), cti.EventCallBusy, cti.EventCallEnded)

	// A client error names the problem.
	var stdout bytes.Buffer
	err = ctisim.Main(ctx, []string{"call", "--from", "12", "--to", "+15550000000", "--queue", "q", "--sim", simURL}, getenv, &stdout)
	require.ErrorContains(t, err, "422")
	require.ErrorContains(t, err, "from")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after the context was cancelled")
	}
}

func TestMainArgumentErrors(t *testing.T) {
	noenv := func(string) string { return "" }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		wantOut string
	}{
		{name: "unknown subcommand", args: []string{"dial"}, wantErr: `unknown subcommand "dial"`},
		{name: "help", args: []string{"help"}, wantOut: "usage: casehub cti-sim"},
		{name: "serve -h", args: []string{"serve", "-h"}, wantOut: "-events-url"},
		{name: "bad script flag", args: []string{"--addr", "127.0.0.1:0", "--script", "+1555=busy"}, wantErr: "--script"},
		{name: "bad script env", args: []string{"--addr", "127.0.0.1:0"}, env: map[string]string{ctisim.EnvScripts: "+15551230001=later"}, wantErr: "unknown kind"},
		{name: "bad default outcome", args: []string{"--addr", "127.0.0.1:0", "--default-outcome", "maybe"}, wantErr: "--default-outcome"},
		{name: "unknown flag", args: []string{"serve", "--colour", "red"}, wantErr: "flag provided but not defined"},
		{name: "hangup without id", args: []string{"hangup"}, wantErr: "exactly one CALL_ID"},
		{name: "bad ivr", args: []string{"call", "--ivr", "novalue"}, wantErr: "want KEY=VALUE"},
		{name: "simulator not running", args: []string{"hangup", "call_1", "--sim", "http://127.0.0.1:1"}, wantErr: "cti-sim hangup call_1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := noenv
			if tc.env != nil {
				getenv = func(k string) string { return tc.env[k] }
			}
			var out bytes.Buffer
			err := ctisim.Main(context.Background(), tc.args, getenv, &out)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Contains(t, out.String(), tc.wantOut)
		})
	}
}
