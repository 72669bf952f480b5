package cti

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the webhook signature on every event delivery.
const SignatureHeader = "Casehub-Signature"

// DefaultTolerance is the replay window Verify applies when given a
// non-positive tolerance: a signature timestamp may be at most this far from
// the receiver's clock, in either direction.
const DefaultTolerance = 5 * time.Minute

// Verification failures. Verify wraps them with detail; test with errors.Is.
var (
	ErrMissingSignature   = errors.New("missing signature header")
	ErrMalformedSignature = errors.New("malformed signature header")
	ErrBadSignature       = errors.New("signature does not match")
	ErrStaleTimestamp     = errors.New("signature timestamp outside the replay window")
)

// Sign returns the Casehub-Signature header value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a Casehub-Signature header against the raw body. The header
// may carry several v1 entries (to allow rotating secrets); one matching entry
// is enough. The timestamp must lie within tolerance of now; a non-positive
// tolerance means DefaultTolerance. The signature is checked before the
// timestamp, so a forged request is always reported as ErrBadSignature.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: element %q is not key=value", ErrMalformedSignature, part)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: more than one t", ErrMalformedSignature)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: v1 is not a hex SHA-256 digest", ErrMalformedSignature)
			}
			sigs = append(sigs, sig)
		default:
			// Unknown schemes are ignored so that new ones can be added.
		}
	}
	if ts == "" {
		return fmt.Errorf("%w: no t", ErrMalformedSignature)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: t is not an integer", ErrMalformedSignature)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1", ErrMalformedSignature)
	}
	want := mac(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	skew := now.Sub(time.Unix(unix, 0))
	if skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: timestamp %d is %s away from now (tolerance %s)", ErrStaleTimestamp, unix, skew.Round(time.Second), tolerance)
	}
	return nil
}
