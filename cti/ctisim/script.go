package ctisim

import (
	"fmt"
	"strings"
	"time"

	"github.com/casehub/casehub/cti"
)

// OutcomeKind is what happens to an outbound call.
type OutcomeKind string

// Outcome kinds.
const (
	// OutcomeAnswer: the customer answers after the delay.
	OutcomeAnswer OutcomeKind = "answer"
	// OutcomeNoAnswer: the call rings for the delay, then gives up.
	OutcomeNoAnswer OutcomeKind = "no_answer"
	// OutcomeBusy: the line is busy, reported after the delay.
	OutcomeBusy OutcomeKind = "busy"
	// OutcomeVoicemail: voicemail picks up after the delay.
	OutcomeVoicemail OutcomeKind = "voicemail"
	// OutcomeHangup: the customer answers after the simulator's ring time,
	// then hangs up once the delay has passed.
	OutcomeHangup OutcomeKind = "hangup"
	// OutcomeFail: the platform fails to place the call after the delay.
	OutcomeFail OutcomeKind = "fail"
)

var defaultDelays = map[OutcomeKind]time.Duration{
	OutcomeAnswer:    time.Second,
	OutcomeNoAnswer:  2 * time.Second,
	OutcomeBusy:      500 * time.Millisecond,
	OutcomeVoicemail: 2 * time.Second,
	OutcomeHangup:    5 * time.Second,
	OutcomeFail:      200 * time.Millisecond,
}

// Outcome is the scripted fate of an outbound call.
type Outcome struct {
	Kind OutcomeKind
	// After is when the outcome happens, measured from the dial (for
	// OutcomeHangup: from the answer).
	After time.Duration
}

// DefaultOutcome is used for numbers without a script when Config does not
// say otherwise: answer after one second.
var DefaultOutcome = Outcome{Kind: OutcomeAnswer, After: time.Second}

// String renders the outcome in script syntax, for example "answer:1s".
func (o Outcome) String() string { return string(o.Kind) + ":" + o.After.String() }

// ParseOutcome parses "kind" or "kind:duration", where kind is one of answer,
// no_answer, busy, voicemail, hangup, fail and duration is a Go duration
// ("3s", "50ms"). Without a duration the kind's default delay applies.
func ParseOutcome(s string) (Outcome, error) {
	kindStr, durStr, hasDur := strings.Cut(strings.TrimSpace(s), ":")
	kind := OutcomeKind(strings.ToLower(kindStr))
	def, ok := defaultDelays[kind]
	if !ok {
		return Outcome{}, fmt.Errorf("parse outcome %q: unknown kind %q (want answer, no_answer, busy, voicemail, hangup or fail)", s, kindStr)
	}
	o := Outcome{Kind: kind, After: def}
	if hasDur {
		d, err := time.ParseDuration(durStr)
		if err != nil {
			return Outcome{}, fmt.Errorf("parse outcome %q: %w", s, err)
		}
		if d < 0 {
			return Outcome{}, fmt.Errorf("parse outcome %q: negative duration", s)
		}
		o.After = d
	}
	return o, nil
}

// ParseScript parses "NUMBER=OUTCOME", for example "+15551230001=busy" or
// "+15551230002=answer:3s". NUMBER must be E.164.
func ParseScript(s string) (string, Outcome, error) {
	number, outcome, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return "", Outcome{}, fmt.Errorf("parse script %q: want NUMBER=OUTCOME", s)
	}
	number = strings.TrimSpace(number)
	if !cti.IsE164(number) {
		return "", Outcome{}, fmt.Errorf("parse script %q: %q is not an E.164 number", s, number)
	}
	o, err := ParseOutcome(outcome)
	if err != nil {
		return "", Outcome{}, fmt.Errorf("parse script %q: %w", s, err)
	}
	return number, o, nil
}
