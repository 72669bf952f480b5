package cti_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/casehub/casehub/cti"
)

// FuzzParseEvent: any body is either refused with a *cti.FieldError (or an
// encoding/json error), or accepted as an event that encodes and parses
// again to the same event.
func FuzzParseEvent(f *testing.F) {
	for _, body := range []string{
		event("incoming_call", inboundPayload),
		event("call_ended", endedPayload),
		event("agent_leg_answered", `"call_id":"call_2","agent_id":"agent_7","customer_call_id":"call_1"`),
		event("chat_offered", `"chat_id":"chat_1","customer_email":"ann@example.com","customer_name":"Ann","queue":"support"`),
		event("chat_message", `"chat_id":"chat_1","from":"customer","text":"caf\u00e9 <b>&amp;</b>"`),
		event("call_failed", `"call_id":"call_1","reason":"invalid_number"`),
		`{"id":"e","type":"chat_ended","occurred_at":"2026-03-01T10:00:00.123456789+05:30","chat_id":"c"}`,
		`{"id":"e","type":"chat_ended","occurred_at":null,"chat_id":"c"}`,
		`{"id":"e","ID":"f","type":"chat_ended","occurred_at":"2026-03-01T10:00:00Z","chat_id":"c"}`,
		`{"id":"e","type":"call_ended","occurred_at":"2026-03-01T10:00:00Z","call_id":"c","started_at":"2026-03-01T10:00:00Z","ended_at":"2026-03-01T10:00:00Z","duration_seconds":1e2}`,
		`[]`, `null`, ``, `{"id":`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := cti.ParseEvent(body)
		if err != nil {
			var fe *cti.FieldError
			var syntax *json.SyntaxError
			var typ *json.UnmarshalTypeError
			if !errors.As(err, &fe) && !errors.As(err, &syntax) && !errors.As(err, &typ) {
				t.Fatalf("ParseEvent(%q) failed with %T %v, neither a *cti.FieldError nor a JSON error", body, err, err)
			}
			return
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("ParseEvent(%q) accepted an event that does not encode: %v", body, err)
		}
		ev2, err := cti.ParseEvent(again)
		if err != nil {
			t.Fatalf("ParseEvent(%q) accepted the event, but its encoding %s is refused: %v", body, again, err)
		}
		if !sameEvent(ev, ev2) {
			t.Fatalf("ParseEvent(%q) = %#v\nencoded %s\nparses to %#v", body, ev, again, ev2)
		}
	})
}

// sameEvent compares events field by field: timestamps by instant and
// offset, and maps by their entries. An empty context or ivr object encodes
// as nothing (omitempty), as it does in a Temporal signal's payload, and
// casehub reads both with len(); so empty and absent maps are the same.
func sameEvent(a, b cti.Event) bool {
	sameTime := func(x, y *time.Time) bool {
		if x == nil || y == nil {
			return x == y
		}
		_, ox := x.Zone()
		_, oy := y.Zone()
		return x.Equal(*y) && ox == oy
	}
	sameMap := func(x, y map[string]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || w != v {
				return false
			}
		}
		return true
	}
	sameInt := func(x, y *int) bool {
		if x == nil || y == nil {
			return x == y
		}
		return *x == *y
	}
	if !sameTime(&a.OccurredAt, &b.OccurredAt) || !sameTime(a.StartedAt, b.StartedAt) ||
		!sameTime(a.AnsweredAt, b.AnsweredAt) || !sameTime(a.EndedAt, b.EndedAt) ||
		!sameMap(a.Context, b.Context) || !sameMap(a.IVR, b.IVR) || !sameInt(a.DurationSeconds, b.DurationSeconds) {
		return false
	}
	a.OccurredAt, b.OccurredAt = time.Time{}, time.Time{}
	a.StartedAt, a.AnsweredAt, a.EndedAt, b.StartedAt, b.AnsweredAt, b.EndedAt = nil, nil, nil, nil, nil, nil
	a.Context, a.IVR, b.Context, b.IVR = nil, nil, nil, nil
	a.DurationSeconds, b.DurationSeconds = nil, nil
	return reflect.DeepEqual(a, b)
}

// FuzzVerify: a signature made by Sign verifies for any secret, body and
// time; changing, adding or removing one byte of the body fails with
// ErrBadSignature; and any header at all is answered with nil or one of
// Verify's errors, never a panic.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(vectorSecret), []byte(vectorBody), int64(vectorUnix), uint(3), byte(1), vectorHeader)
	f.Add([]byte(""), []byte(""), int64(0), uint(0), byte(0xff), "")
	f.Add([]byte("k"), []byte(`{"id":"evt_1"}`), int64(-62135596800), uint(7), byte(0x80), "t=1,v1=zz")
	f.Add([]byte("s3cret"), []byte("\x00\xff"), int64(1<<62), uint(1), byte(0x20), "t=9223372036854775807,v1="+vectorHeader[len("t=1767225600,v1="):]+",v0=x")
	f.Add([]byte("rotate"), []byte("body"), int64(1_800_000_000), uint(2), byte(2), " t = 1 , v1 = ab ")
	f.Fuzz(func(t *testing.T, secret, body []byte, unix int64, pos uint, delta byte, header string) {
		at := time.Unix(unix, 0)
		sig := cti.Sign(secret, body, at)
		if err := cti.Verify(secret, sig, body, at, 0); err != nil {
			t.Fatalf("Verify(%q, Sign(...)) = %v", sig, err)
		}
		if len(body) > 0 && delta != 0 {
			i := int(pos % uint(len(body)))
			changed := append([]byte(nil), body...)
			changed[i] ^= delta
			removed := append(append([]byte(nil), body[:i]...), body[i+1:]...)
			added := append(append(append([]byte(nil), body[:i]...), delta), body[i:]...)
			for name, b := range map[string][]byte{"changed": changed, "removed": removed, "added": added} {
				if err := cti.Verify(secret, sig, b, at, 0); !errors.Is(err, cti.ErrBadSignature) {
					t.Fatalf("Verify with byte %d %s: %v, want ErrBadSignature", i, name, err)
				}
			}
		}
		err := cti.Verify(secret, header, body, at, time.Minute)
		if err != nil && !errors.Is(err, cti.ErrMissingSignature) && !errors.Is(err, cti.ErrMalformedSignature) &&
			!errors.Is(err, cti.ErrBadSignature) && !errors.Is(err, cti.ErrStaleTimestamp) {
			t.Fatalf("Verify(%q) = %v, not one of Verify's errors", header, err)
		}
	})
}
