package cti

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// EventSender posts signed events to casehub's events endpoint. The
// simulator uses it; a real platform does the equivalent on its side.
type EventSender struct {
	url    string
	secret []byte
	token  string
	client *http.Client

	// MaxAttempts bounds deliveries per event (default 12: with the default
	// backoff an event is retried for about 36 s, long enough to ride out a
	// restart of casehub's API or PostgreSQL).
	MaxAttempts int
	// Backoff is the wait before the second attempt; it doubles per attempt
	// up to MaxBackoff (defaults 200ms and 5s).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// AttemptTimeout bounds each delivery attempt (default 10s).
	AttemptTimeout time.Duration
	// Now returns the signing time (default time.Now).
	Now func() time.Time
}

// NewEventSender returns a sender posting to url (casehub's
// /v1/cti/events), signing with secret and authenticating with bearerToken
// (omitted when empty). A nil httpClient means a new default client.
func NewEventSender(url, secret, bearerToken string, httpClient *http.Client) *EventSender {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &EventSender{
		url:            url,
		secret:         []byte(secret),
		token:          bearerToken,
		client:         httpClient,
		MaxAttempts:    12,
		Backoff:        200 * time.Millisecond,
		MaxBackoff:     5 * time.Second,
		AttemptTimeout: 10 * time.Second,
		Now:            time.Now,
	}
}

// Send delivers ev. Network errors and retryable statuses (408, 429, 5xx)
// are retried with exponential backoff, at most MaxAttempts times in all;
// the event body is identical on every attempt (same id), so casehub can
// discard duplicates. Each attempt is signed afresh. Any 2xx is success.
// The error, if any, wraps a *Error.
func (s *EventSender) Send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("send event %s: encode: %w", ev.ID, err)
	}
	attempts := max(s.MaxAttempts, 1)
	wait := s.Backoff
	var last *Error
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("send event %s (%s): gave up after %d attempts: %w", ev.ID, ev.Type, attempt-1, last)
			case <-t.C:
			}
			wait = min(wait*2, s.MaxBackoff)
		}
		last = s.attempt(ctx, body)
		if last == nil {
			return nil
		}
		if !last.Retryable {
			break
		}
	}
	return fmt.Errorf("send event %s (%s): %w", ev.ID, ev.Type, last)
}

func (s *EventSender) attempt(ctx context.Context, body []byte) *Error {
	actx, cancel := context.WithTimeout(ctx, s.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return &Error{Op: OpSendEvent, Code: CodeInvalidRequest, Message: "build request", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(s.secret, body, s.Now()))
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return transportError(OpSendEvent, ctx, err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return statusError(OpSendEvent, resp.StatusCode, respBody)
}
