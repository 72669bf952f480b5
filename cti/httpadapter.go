package cti

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultRequestTimeout bounds each command the HTTPAdapter sends.
const DefaultRequestTimeout = 10 * time.Second

// maxResponseBytes bounds how much of a platform answer is read.
const maxResponseBytes = 1 << 20

// Operation names used in *Error.Op.
const (
	OpPlaceCall       = "place call"
	OpOfferToAgent    = "offer to agent"
	OpBridge          = "bridge"
	OpTransfer        = "transfer"
	OpHangUp          = "hang up"
	OpSendChatMessage = "send chat message"
	OpEndChat         = "end chat"
	OpSendEvent       = "send event"
)

// HTTPAdapter is the production Platform: JSON over HTTP to the
// contact-center platform's API. It does not retry; retries belong to the
// caller (the Temporal activity retry policy), which resends the same
// idempotency key.
type HTTPAdapter struct {
	base    string
	apiKey  string
	client  *http.Client
	timeout time.Duration
	log     *slog.Logger
	observe func(command, outcome string)
}

var _ Platform = (*HTTPAdapter)(nil)

// AdapterOption configures an HTTPAdapter.
type AdapterOption func(*HTTPAdapter)

// WithTimeout sets the per-request timeout (default DefaultRequestTimeout).
func WithTimeout(d time.Duration) AdapterOption {
	return func(a *HTTPAdapter) {
		if d > 0 {
			a.timeout = d
		}
	}
}

// WithHTTPClient sets the HTTP client (default: a new client with no
// client-level timeout; the per-request timeout applies).
func WithHTTPClient(c *http.Client) AdapterOption {
	return func(a *HTTPAdapter) {
		if c != nil {
			a.client = c
		}
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) AdapterOption {
	return func(a *HTTPAdapter) {
		if l != nil {
			a.log = l
		}
	}
}

// WithObserver has observe told of every command sent: its name and its
// outcome ("ok", or the error's code), for metrics.
func WithObserver(observe func(command, outcome string)) AdapterOption {
	return func(a *HTTPAdapter) { a.observe = observe }
}

// NewHTTPAdapter returns a Platform talking to the platform API at baseURL
// (for example "https://cti.example.com"), authenticating with apiKey.
func NewHTTPAdapter(baseURL, apiKey string, opts ...AdapterOption) *HTTPAdapter {
	a := &HTTPAdapter{
		base:    strings.TrimRight(baseURL, "/"),
		apiKey:  apiKey,
		client:  &http.Client{},
		timeout: DefaultRequestTimeout,
		log:     slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// PlaceCall implements Platform: POST /v1/calls.
func (a *HTTPAdapter) PlaceCall(ctx context.Context, r PlaceCallRequest) (Call, error) {
	var c Call
	err := a.do(ctx, OpPlaceCall, r.Validate(), "/v1/calls", r.IdempotencyKey, r, &c)
	return c, err
}

// OfferToAgent implements Platform: POST /v1/agent-offers.
func (a *HTTPAdapter) OfferToAgent(ctx context.Context, r OfferRequest) (Call, error) {
	var c Call
	err := a.do(ctx, OpOfferToAgent, r.Validate(), "/v1/agent-offers", r.IdempotencyKey, r, &c)
	return c, err
}

// Bridge implements Platform: POST /v1/bridges.
func (a *HTTPAdapter) Bridge(ctx context.Context, r BridgeRequest) error {
	return a.do(ctx, OpBridge, r.Validate(), "/v1/bridges", r.IdempotencyKey, r, nil)
}

// Transfer implements Platform: POST /v1/transfers.
func (a *HTTPAdapter) Transfer(ctx context.Context, r TransferRequest) error {
	return a.do(ctx, OpTransfer, r.Validate(), "/v1/transfers", r.IdempotencyKey, r, nil)
}

// HangUp implements Platform: POST /v1/calls/{id}/hangup.
func (a *HTTPAdapter) HangUp(ctx context.Context, r HangUpRequest) error {
	return a.do(ctx, OpHangUp, r.Validate(), "/v1/calls/"+url.PathEscape(r.CallID)+"/hangup", r.IdempotencyKey, r, nil)
}

// SendChatMessage implements Platform: POST /v1/chats/{id}/messages.
func (a *HTTPAdapter) SendChatMessage(ctx context.Context, r ChatMessageRequest) error {
	return a.do(ctx, OpSendChatMessage, r.Validate(), "/v1/chats/"+url.PathEscape(r.ChatID)+"/messages", r.IdempotencyKey, r, nil)
}

// EndChat implements Platform: POST /v1/chats/{id}/end.
func (a *HTTPAdapter) EndChat(ctx context.Context, r EndChatRequest) error {
	return a.do(ctx, OpEndChat, r.Validate(), "/v1/chats/"+url.PathEscape(r.ChatID)+"/end", r.IdempotencyKey, r, nil)
}

// do sends one command. invalid is the result of the request's Validate; a
// validation failure is reported without contacting the platform. out, when
// not nil, receives the decoded 2xx body.
func (a *HTTPAdapter) do(ctx context.Context, op string, invalid error, path, key string, in, out any) (err error) {
	if a.observe != nil {
		defer func() {
			outcome := "ok"
			if ce, ok := AsError(err); ok {
				outcome = ce.Code
			} else if err != nil {
				outcome = "error"
			}
			a.observe(op, outcome)
		}()
	}
	if invalid != nil {
		return &Error{Op: op, Code: CodeInvalidRequest, Message: invalid.Error(), Err: invalid}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return &Error{Op: op, Code: CodeInvalidRequest, Message: "encode request", Err: err}
	}

	rctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return &Error{Op: op, Code: CodeInvalidRequest, Message: "build request", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+a.apiKey)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	start := time.Now()
	resp, err := a.client.Do(req)
	if err != nil {
		cerr := transportError(op, ctx, err)
		a.log.WarnContext(ctx, "cti command failed", "op", op, "idempotency_key", key, "error", cerr)
		return cerr
	}
	defer resp.Body.Close()
	respBody, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	a.log.DebugContext(ctx, "cti command", "op", op, "idempotency_key", key,
		"status", resp.StatusCode, "elapsed", time.Since(start),
		"replayed", resp.Header.Get("Idempotent-Replayed") == "true")

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		cerr := statusError(op, resp.StatusCode, respBody)
		a.log.WarnContext(ctx, "cti command rejected", "op", op, "idempotency_key", key, "error", cerr)
		return cerr
	}
	if readErr != nil {
		return transportError(op, ctx, readErr)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(respBody, out); err != nil {
		// The command was carried out but the answer is unreadable; a retry
		// with the same key replays the answer, which may read fine.
		return &Error{Op: op, Status: resp.StatusCode, Code: CodeBadResponse, Message: "decode response", Retryable: true, Err: err}
	}
	return nil
}

// errorBody is the platform's error answer.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusError maps a non-2xx answer to a *Error, using the platform's JSON
// error body when there is one.
func statusError(op string, status int, body []byte) *Error {
	e := &Error{Op: op, Status: status, Code: CodeHTTPStatus, Retryable: RetryableStatus(status)}
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil && (eb.Code != "" || eb.Message != "") {
		if eb.Code != "" {
			e.Code = eb.Code
		}
		e.Message = eb.Message
		return e
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	if text == "" {
		text = http.StatusText(status)
	}
	e.Message = text
	return e
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var ce *Error
	ok := errors.As(err, &ce)
	return ce, ok
}
