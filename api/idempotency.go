package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/casehub/casehub/store"
)

// HeaderIdempotencyKey is the request header that makes a POST safe to
// retry, as in the IETF draft "The Idempotency-Key HTTP Header Field".
const HeaderIdempotencyKey = "Idempotency-Key"

// idempotencyStaleAfter is how long a claim may stay unfinished before a
// retry may take it over (the first request's process died).
const idempotencyStaleAfter = 2 * time.Minute

// idempotent makes POSTs with an Idempotency-Key replay their first answer:
// same key and body replays it; another body under the key is 422; the same
// key while the first request still runs is 409. Keys are per token.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get(HeaderIdempotencyKey)
		if c.Request().Method != http.MethodPost || key == "" {
			return next(c)
		}
		if len(key) > 255 {
			return &Problem{Type: typeIdemKey, Title: "Invalid Idempotency-Key", Status: http.StatusBadRequest,
				Detail: "the Idempotency-Key header must be at most 255 characters",
				Errors: []FieldProblem{{Field: HeaderIdempotencyKey, Detail: "must be at most 255 characters"}}}
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			var he *echo.HTTPError
			if errors.As(err, &he) {
				return he
			}
			return malformed("could not read the request body")
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))

		ctx := c.Request().Context()
		who := principal(c).TokenID
		h := sha256.New()
		h.Write([]byte(c.Request().Method + " " + c.Request().URL.Path + "\n"))
		h.Write(body)
		req := idempotentRequest(who, key, c.Request().Method, c.Request().URL.Path, h.Sum(nil))
		req.Owner = s.deps.Instance.ID()
		claimed, claim, prior, err := s.deps.Store.ClaimIdempotencyKey(ctx, req, idempotencyStaleAfter)
		if err != nil {
			return err
		}
		if !claimed {
			switch {
			case !bytes.Equal(prior.RequestHash, req.RequestHash):
				return &Problem{Type: typeIdemKey, Title: "Idempotency-Key reused", Status: http.StatusUnprocessableEntity,
					Detail: "this Idempotency-Key was used with another request; use a new key for a new request",
					Errors: []FieldProblem{{Field: HeaderIdempotencyKey, Detail: "was used with another request body"}}}
			case prior.Status == nil:
				return &Problem{Type: typeIdemKey, Title: "Request in progress", Status: http.StatusConflict,
					Detail: "a request with this Idempotency-Key is still being processed; retry shortly"}
			}
			c.Response().Header().Set("Idempotent-Replayed", "true")
			if prior.Location != nil {
				c.Response().Header().Set(echo.HeaderLocation, *prior.Location)
			}
			ct := "application/json"
			if prior.ContentType != nil {
				ct = *prior.ContentType
			}
			return c.Blob(*prior.Status, ct, prior.Body)
		}

		c.SetRequest(c.Request().WithContext(context.WithValue(ctx, claimKey{}, claim)))
		rec := &recorder{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		if err := next(c); err != nil {
			c.Error(err)
		}
		// The answer is final unless the server failed: then the key is freed
		// so that the client's retry runs the request again.
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		status := c.Response().Status
		if status >= 500 {
			return s.deps.Store.ReleaseIdempotencyKey(saveCtx, who, key)
		}
		if err := s.deps.Store.CompleteIdempotencyKey(saveCtx, who, key, status, c.Response().Header().Get(echo.HeaderContentType),
			c.Response().Header().Get(echo.HeaderLocation), rec.body.Bytes()); err != nil {
			s.deps.Logger.ErrorContext(ctx, "store idempotent response", "err", err)
		}
		return nil
	}
}

// claimKey carries a request's store.Claim in its context.
type claimKey struct{}

// resumeOrAllocate returns what an earlier attempt of this request set
// aside (its process died: see store.Instance) or else allocates it and
// sets it aside before the caller's first side effect, so that a retry of
// a request whose first attempt died mid-way resumes the same work (the
// same interaction, the same callback) instead of doing it twice. Without
// an Idempotency-Key it only allocates.
func (s *Server) resumeOrAllocate(ctx context.Context, allocate func(context.Context) (string, error)) (value string, resumed bool, err error) {
	claim, ok := ctx.Value(claimKey{}).(store.Claim)
	if ok && claim.Progress != "" {
		return claim.Progress, true, nil
	}
	if value, err = allocate(ctx); err != nil {
		return "", false, err
	}
	if ok {
		if err := s.deps.Store.SetIdempotencyProgress(ctx, claim, value); err != nil {
			return "", false, err
		}
	}
	return value, false, nil
}

// recorder keeps a copy of the response body.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func idempotentRequest(principal, key, method, path string, hash []byte) store.IdempotentRequest {
	return store.IdempotentRequest{Principal: principal, Key: key, Method: method, Path: path, RequestHash: hash}
}
