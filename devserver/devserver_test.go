package devserver_test

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/devserver"
)

// freeListener holds a port on 127.0.0.1 until it is closed.
func freeListener(t *testing.T) (net.Listener, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l, l.Addr().(*net.TCPAddr).Port
}

// releaseOnBindFailure is the server's output: the first time the server
// says an address was in use, it frees the port it was asked to bind.
type releaseOnBindFailure struct {
	mu       sync.Mutex
	out      bytes.Buffer
	release  func()
	released bool
}

func (w *releaseOnBindFailure) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(p)
	if !w.released && bytes.Contains(w.out.Bytes(), []byte("address already in use")) {
		w.release()
		w.released = true
	}
	return len(p), nil
}

// A port taken between the moment it was picked and the moment the server
// binds it (by an outgoing connection of another process, say) costs one
// more start, not a failed run.
func TestStartTriesAgainWhenAPortWasTaken(t *testing.T) {
	ctx := context.Background()
	cli, err := devserver.FindCLI(ctx, ".")
	require.NoError(t, err)
	l, port := freeListener(t)
	out := &releaseOnBindFailure{release: func() { l.Close() }}

	srv, err := devserver.Start(ctx, devserver.Options{CLIPath: cli, Port: port, Headless: true, Output: out})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Stop()) })

	out.mu.Lock()
	require.True(t, out.released, "the first start failed on the taken port:\n%s", out.out.String())
	out.mu.Unlock()
	require.Equal(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), srv.HostPort)
}

// A port that stays taken is an error that says so, after a few tries.
func TestStartSaysWhenAPortStaysTaken(t *testing.T) {
	ctx := context.Background()
	cli, err := devserver.FindCLI(ctx, ".")
	require.NoError(t, err)
	_, port := freeListener(t)
	var out bytes.Buffer

	_, err = devserver.Start(ctx, devserver.Options{CLIPath: cli, Port: port, Headless: true, Output: &out})
	require.ErrorContains(t, err, "address the server binds was in use")
	require.Equal(t, 3, bytes.Count(out.Bytes(), []byte("address already in use")), "one failed start per try:\n%s", out.String())
}
