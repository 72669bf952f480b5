package cti_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti"
)

// The vector below was computed independently with
//
//	printf '%s' '1767225600.<body>' | openssl dgst -sha256 -hmac 'dev-cti-secret' -hex
//
// and is the worked example in docs/cti-contract.md.
const (
	vectorSecret = "dev-cti-secret"
	vectorBody   = `{"id":"evt_1","type":"chat_ended","occurred_at":"2026-01-01T00:00:00Z","chat_id":"chat_1"}`
	vectorUnix   = 1767225600
	vectorHeader = "t=1767225600,v1=872c5414475a8196268d6a67fb1aaf2f1857536c7336fb4d1561980628662468"
)

func TestSignMatchesKnownVector(t *testing.T) {
	got := cti.Sign([]byte(vectorSecret), []byte(vectorBody), time.Unix(vectorUnix, 0))
	require.Equal(t, vectorHeader, got)
}

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"id":"evt_1"}`)
	now := time.Unix(1_800_000_000, 0)
	good := cti.Sign(secret, body, now)
	goodSig := good[len("t=1800000000,"):]

	tests := []struct {
		name      string
		secret    []byte
		header    string
		body      []byte
		tolerance time.Duration
		want      error
	}{
		{name: "good", header: good},
		{name: "good with surrounding spaces", header: "  " + good + " "},
		{name: "known vector", secret: []byte(vectorSecret), header: vectorHeader, body: []byte(vectorBody), want: nil},
		{name: "second v1 matches (secret rotation)", header: "t=1800000000,v1=" + hexOf(0xab) + "," + goodSig},
		{name: "unknown scheme ignored", header: good + ",v0=whatever"},
		{name: "tampered body", header: good, body: []byte(`{"id":"evt_2"}`), want: cti.ErrBadSignature},
		{name: "wrong secret", secret: []byte("other"), header: good, want: cti.ErrBadSignature},
		{name: "signature for another timestamp", header: "t=1800000001," + goodSig, want: cti.ErrBadSignature},
		{name: "missing header", header: "", want: cti.ErrMissingSignature},
		{name: "blank header", header: "   ", want: cti.ErrMissingSignature},
		{name: "not key=value", header: "garbage", want: cti.ErrMalformedSignature},
		{name: "no timestamp", header: goodSig, want: cti.ErrMalformedSignature},
		{name: "no v1", header: "t=1800000000", want: cti.ErrMalformedSignature},
		{name: "timestamp not a number", header: "t=yesterday," + goodSig, want: cti.ErrMalformedSignature},
		{name: "v1 not hex", header: "t=1800000000,v1=zz", want: cti.ErrMalformedSignature},
		{name: "v1 too short", header: "t=1800000000,v1=abcd", want: cti.ErrMalformedSignature},
		{name: "two timestamps", header: "t=1,t=1800000000," + goodSig, want: cti.ErrMalformedSignature},
		{
			name:   "stale: older than default tolerance",
			header: cti.Sign(secret, body, now.Add(-cti.DefaultTolerance-time.Second)),
			want:   cti.ErrStaleTimestamp,
		},
		{
			name:   "future: beyond default tolerance",
			header: cti.Sign(secret, body, now.Add(cti.DefaultTolerance+time.Second)),
			want:   cti.ErrStaleTimestamp,
		},
		{name: "old but within tolerance", header: cti.Sign(secret, body, now.Add(-cti.DefaultTolerance+time.Second))},
		{name: "ahead but within tolerance", header: cti.Sign(secret, body, now.Add(cti.DefaultTolerance-time.Second))},
		{
			name:      "custom tolerance exceeded",
			header:    cti.Sign(secret, body, now.Add(-11*time.Second)),
			tolerance: 10 * time.Second,
			want:      cti.ErrStaleTimestamp,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, b, n := secret, body, now
			if tc.secret != nil {
				s = tc.secret
			}
			if tc.body != nil {
				b = tc.body
			}
			if tc.name == "known vector" {
				n = time.Unix(vectorUnix+30, 0)
			}
			err := cti.Verify(s, tc.header, b, n, tc.tolerance)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			for _, other := range []error{cti.ErrMissingSignature, cti.ErrMalformedSignature, cti.ErrBadSignature, cti.ErrStaleTimestamp} {
				if !errors.Is(tc.want, other) {
					require.NotErrorIs(t, err, other, "errors must be distinct")
				}
			}
		})
	}
}

// A stale but forged header is reported as a bad signature, not as stale:
// the timestamp of an unauthenticated header means nothing.
func TestVerifyChecksSignatureBeforeTimestamp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	old := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	err := cti.Verify([]byte("k"), "t="+old+",v1="+hexOf(0x01), []byte("{}"), now, 0)
	require.ErrorIs(t, err, cti.ErrBadSignature)
}

func hexOf(b byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 64)
	for i := 0; i < 64; i += 2 {
		out[i], out[i+1] = digits[b>>4], digits[b&0xf]
	}
	return string(out)
}
