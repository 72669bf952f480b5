package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// Requests to Temporal go without gzip unless asked; a setting that is
// neither none nor gzip is refused by name before anything is dialled.
func TestTemporalCompression(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "default", want: "none"},
		{name: "env", env: map[string]string{"TEMPORAL_GRPC_COMPRESSION": "gzip"}, want: "gzip"},
		{name: "flag over env", env: map[string]string{"TEMPORAL_GRPC_COMPRESSION": "gzip"}, args: []string{"--temporal-grpc-compression", "none"}, want: "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := workerConfig(tc.args, func(k string) string { return tc.env[k] })
			require.NoError(t, err)
			require.Equal(t, tc.want, c.TemporalCompression)
		})
	}

	c, err := workerConfig([]string{"--temporal-grpc-compression", "zstd", "--codec-keys", "off"}, func(string) string { return "" })
	require.NoError(t, err)
	_, err = dialTemporal(context.Background(), c, slog.New(slog.DiscardHandler), nil)
	require.EqualError(t, err, `--temporal-grpc-compression (TEMPORAL_GRPC_COMPRESSION): want none or gzip, got "zstd"`)
}
