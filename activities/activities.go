// Package activities holds the side effects casehub's workflows ask for:
// reads and writes to PostgreSQL and commands to the telephony platform.
// Every activity is idempotent, so Temporal may retry it freely.
package activities

import (
	"errors"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/casehub/casehub/cti"

	"github.com/casehub/casehub/store"
)

// Activities carries the dependencies of every activity method.
type Activities struct {
	Store    *store.Store
	Temporal client.Client // signals other processes (dispatch offers)
	CTI      cti.Platform
	Now      func() time.Time
}

// Error types that no retry can fix; workflows list them in their retry
// policies' NonRetryableErrorTypes.
const (
	ErrTypeNotFound = "NotFound"
	ErrTypeInvalid  = "Invalid"
	ErrTypeConflict = "Conflict"
	// ErrTypeInvalidField is a request field the store refused; the error's
	// details hold the field's name (as the workflows' validators give it).
	ErrTypeInvalidField = "InvalidField"
)

// NonRetryable lists the error types above.
func NonRetryable() []string {
	return []string{ErrTypeNotFound, ErrTypeInvalid, ErrTypeConflict, ErrTypeInvalidField}
}

// classify turns a store error into an application error a workflow can act
// on: domain errors stop the retries, anything else (PostgreSQL down, a
// timeout) is retried.
func classify(err error) error {
	var fe *store.FieldError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe) && errors.Is(err, store.ErrInvalid):
		return temporal.NewNonRetryableApplicationError(fe.Field+" "+fe.Detail, ErrTypeInvalidField, err, fe.Field)
	case errors.Is(err, store.ErrInvalid):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalid, err)
	case errors.As(err, &fe) && errors.Is(err, store.ErrNotFound):
		// A reference to a record that does not exist, named by its field.
		return temporal.NewNonRetryableApplicationError(fe.Field+" "+fe.Detail, ErrTypeNotFound, err, fe.Field)
	case errors.Is(err, store.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, err)
	case errors.Is(err, store.ErrDuplicate), errors.Is(err, store.ErrConflict):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeConflict, err)
	}
	return err
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
