package cti

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Error codes set by this package when the platform did not supply one.
const (
	CodeInvalidRequest = "invalid_request" // the request failed local validation
	CodeNetwork        = "network_error"   // the platform could not be reached
	CodeTimeout        = "timeout"         // no answer within the request timeout
	CodeCanceled       = "canceled"        // the caller's context was cancelled
	CodeBadResponse    = "bad_response"    // a 2xx answer whose body could not be read
	CodeHTTPStatus     = "http_status"     // an error status without a JSON error body
	// CodeTooLate: the platform refused to place a call after its
	// not_after (set by the platform).
	CodeTooLate = "too_late"
)

// IsTooLate reports whether err is the platform refusing a call whose
// moment has passed.
func IsTooLate(err error) bool {
	var ce *Error
	return errors.As(err, &ce) && ce.Code == CodeTooLate
}

// Error is a failed platform command.
type Error struct {
	// Op names the command, for example "place call".
	Op string
	// Status is the HTTP status the platform answered, or 0 when no answer
	// was received (network failure, timeout, local validation).
	Status int
	// Code is the platform's machine-readable error code, or one of the
	// Code* constants of this package.
	Code string
	// Message is a human-readable explanation.
	Message string
	// Retryable reports whether sending the same command again (with the
	// same idempotency key) may succeed.
	Retryable bool
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cti ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d ", e.Status)
	}
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Retryable {
		b.WriteString(" (retryable)")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth retrying with the same idempotency
// key. A *Error (anywhere in the chain) decides by its Retryable field; other
// errors are retryable only when they are network errors or deadlines.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Retryable
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// RetryableStatus reports whether an HTTP status from the platform is
// transient: 408, 429 and every 5xx.
func RetryableStatus(status int) bool {
	return status == http.StatusRequestTimeout ||
		status == http.StatusTooManyRequests ||
		status >= 500
}

// transportError converts an error from http.Client.Do into a *Error.
// parent is the caller's context, used to tell a caller cancellation apart
// from the adapter's own request timeout.
func transportError(op string, parent context.Context, err error) *Error {
	switch {
	case parent.Err() != nil && errors.Is(parent.Err(), context.Canceled):
		return &Error{Op: op, Code: CodeCanceled, Message: "request cancelled by caller", Err: err}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return &Error{Op: op, Code: CodeTimeout, Message: "no answer from the platform in time", Retryable: true, Err: err}
	default:
		return &Error{Op: op, Code: CodeNetwork, Message: "platform unreachable", Retryable: true, Err: err}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// FieldError reports a request or event that failed validation. Field is the
// JSON name of the offending field; it is empty when the body as a whole is
// unusable (for example, not JSON).
type FieldError struct {
	Field  string
	Detail string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return "invalid body: " + e.Detail
	}
	return "invalid field " + e.Field + ": " + e.Detail
}
