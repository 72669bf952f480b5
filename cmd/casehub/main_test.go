package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// The bench is its own command (cmd/casehub-bench), not part of the
// production binary.
func TestNoBenchCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "--calls", "1"}, func(string) string { return "" }, &out)
	require.EqualError(t, err, `unknown command "bench"`)
	require.NotContains(t, out.String(), "bench")

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"help"}, func(string) string { return "" }, &out))
	require.NotContains(t, out.String(), "bench")
}
