package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/casehub/casehub/store"
)

// Problem is an RFC 9457 problem detail. Handlers return it as their error;
// HTTPErrorHandler writes it as application/problem+json.
type Problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Instance  string         `json:"instance,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	Errors    []FieldProblem `json:"errors,omitempty"`
	// ProcessID names the process a conflict is with (a case process
	// already running on the interaction), for the client to go on in it.
	ProcessID string `json:"process_id,omitempty"`
}

// FieldProblem names one offending request field.
type FieldProblem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// Problem types.
const (
	typeBlank      = "about:blank"
	typeValidation = "urn:casehub:problem:validation"
	typeMalformed  = "urn:casehub:problem:malformed-request"
	typeConflict   = "urn:casehub:problem:conflict"
	typeDuplicate  = "urn:casehub:problem:duplicate"
	typeIdemKey    = "urn:casehub:problem:idempotency-key"
)

func problem(status int, detail string) *Problem {
	return &Problem{Type: typeBlank, Title: http.StatusText(status), Status: status, Detail: detail}
}

// invalid is a 422 naming the fields at fault.
func invalid(fields ...FieldProblem) *Problem {
	detail := "the request has invalid fields"
	if len(fields) == 1 {
		detail = fields[0].Field + " " + fields[0].Detail
	}
	return &Problem{Type: typeValidation, Title: "Invalid request", Status: http.StatusUnprocessableEntity, Detail: detail, Errors: fields}
}

func invalidField(field, detail string) *Problem {
	return invalid(FieldProblem{Field: field, Detail: detail})
}

func malformed(detail string) *Problem {
	return &Problem{Type: typeMalformed, Title: "Malformed request", Status: http.StatusBadRequest, Detail: detail}
}

func notFound(what string) *Problem { return problem(http.StatusNotFound, what+" not found") }

func forbidden(detail string) *Problem { return problem(http.StatusForbidden, detail) }

// HTTPErrorHandler renders every error as problem+json. Internal errors are
// logged with the request id and answered without their text.
func HTTPErrorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := toProblem(err)
		p.Instance = c.Request().URL.Path
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		if p.Status >= 500 {
			logger.ErrorContext(c.Request().Context(), "request failed", "request_id", p.RequestID,
				"method", c.Request().Method, "path", p.Instance, "status", p.Status, "err", err)
		}
		c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(p.Status)
			return
		}
		_ = c.JSON(p.Status, p)
	}
}

// toProblem maps any error a handler may return to a problem.
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		cp := *p
		return &cp
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		detail := http.StatusText(he.Code)
		switch he.Code {
		case http.StatusNotFound:
			detail = "no such route"
		case http.StatusMethodNotAllowed:
			detail = "method not allowed on this route"
		case http.StatusRequestEntityTooLarge:
			detail = "request body is larger than the limit"
		default:
			if m, ok := he.Message.(string); ok && he.Code < 500 {
				detail = m
			}
		}
		return problem(he.Code, detail)
	}
	var fe *store.FieldError
	switch {
	case errors.As(err, &fe) && errors.Is(err, store.ErrDuplicate):
		return &Problem{Type: typeDuplicate, Title: "Duplicate", Status: http.StatusConflict,
			Detail: fe.Field + " " + fe.Detail, Errors: []FieldProblem{{Field: fe.Field, Detail: fe.Detail}}}
	case errors.As(err, &fe):
		return invalidField(fe.Field, fe.Detail)
	case errors.Is(err, store.ErrNotFound):
		return problem(http.StatusNotFound, "not found")
	case errors.Is(err, store.ErrDuplicate):
		return &Problem{Type: typeDuplicate, Title: "Duplicate", Status: http.StatusConflict, Detail: "the record already exists"}
	case errors.Is(err, store.ErrConflict):
		return &Problem{Type: typeConflict, Title: "Conflict", Status: http.StatusConflict, Detail: "the request conflicts with the record's current state"}
	case store.IsUnavailable(err), isTemporalUnavailable(err):
		return problem(http.StatusServiceUnavailable, "a backing service is unavailable; retry later")
	case errors.Is(err, context.Canceled), isTemporalCanceled(err):
		return problem(499, "client closed the request")
	}
	return problem(http.StatusInternalServerError, "internal error; the request id identifies it in the logs")
}

// isTemporalCanceled: a Temporal call cancelled with the request's context
// (the client went away) comes back as a gRPC Canceled, not context.Canceled.
func isTemporalCanceled(err error) bool {
	var canceled *serviceerror.Canceled
	return errors.As(err, &canceled)
}

func isTemporalUnavailable(err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	return errors.As(err, &unavailable) || errors.As(err, &deadline)
}

// created answers 201 with body and the Location of what was created.
func created(c echo.Context, location string, body any) error {
	c.Response().Header().Set(echo.HeaderLocation, location)
	return c.JSON(http.StatusCreated, body)
}

// parentOf is the record a sub-resource path belongs to (a note's record).
func parentOf(path, sub string) string { return strings.TrimSuffix(path, "/"+sub) }
