package api

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/casehub/casehub/store"
)

// What a handler's error becomes: a client that went away is a 499 (never
// logged as a server failure), whether the cancellation came from Go or from
// the Temporal call it was in.
func TestErrorsBecomeProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"request context cancelled", fmt.Errorf("query: %w", context.Canceled), 499},
		{"Temporal call cancelled with the request", fmt.Errorf("update: %w", serviceerror.NewCanceled("context canceled")), 499},
		{"Temporal unavailable", serviceerror.NewUnavailable("down"), 503},
		{"not found", fmt.Errorf("get: %w", store.ErrNotFound), 404},
		{"conflict", store.ErrConflict, 409},
		{"anything else", errors.New("boom"), 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, toProblem(tc.err).Status)
		})
	}
}
