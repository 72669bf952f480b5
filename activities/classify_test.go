package activities

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/casehub/casehub/store"
)

func TestClassify(t *testing.T) {
	missing := fmt.Errorf("create contact c-1: %w", &store.FieldError{Err: store.ErrNotFound, Field: "company_id", Detail: "refers to a record that does not exist"})
	invalid := fmt.Errorf("create contact c-1: %w", &store.FieldError{Err: store.ErrInvalid, Field: "email", Detail: "is not an email address"})
	for _, tc := range []struct {
		name    string
		err     error
		typ     string
		message string
		field   string // the field the error names in its details; "" for none
	}{
		{"a missing reference names its field", missing, ErrTypeNotFound, "company_id refers to a record that does not exist", "company_id"},
		{"an invalid field names its field", invalid, ErrTypeInvalidField, "email is not an email address", "email"},
		{"a missing record", fmt.Errorf("get case: %w", store.ErrNotFound), ErrTypeNotFound, "get case: not found", ""},
		{"a conflict", fmt.Errorf("accept: %w", store.ErrConflict), ErrTypeConflict, "accept: " + store.ErrConflict.Error(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(classify(tc.err), &appErr))
			require.Equal(t, tc.typ, appErr.Type())
			require.Equal(t, tc.message, appErr.Message())
			require.True(t, appErr.NonRetryable())
			if tc.field == "" {
				require.False(t, appErr.HasDetails())
				return
			}
			var field string
			require.NoError(t, appErr.Details(&field))
			require.Equal(t, tc.field, field)
		})
	}
	require.NoError(t, classify(nil))
	other := errors.New("connection refused")
	require.Equal(t, other, classify(other), "anything else is retried")
}
