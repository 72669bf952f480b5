package workflows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zones for schedules and business hours, the same on every machine

	"github.com/casehub/casehub/store"
)

// A queue's callback settings, its business hours, and how a callback's time
// is read: the rules the API and the Callback process share.

// CallbackSettings are a queue's callback settings, the "callbacks" object
// of its settings JSON. Zero values take the defaults below.
type CallbackSettings struct {
	DefaultMode          string `json:"default_mode"`           // customer_first (default) or agent_first
	OnInboundCall        string `json:"on_inbound_call"`        // cancel (default) or link
	MaxAttempts          int    `json:"max_attempts"`           // dials per callback, default 3
	RetryIntervalSeconds int    `json:"retry_interval_seconds"` // between dials, default 600
	ExpiryHours          int    `json:"expiry_hours"`           // after its time, default 24
	AutoDial             bool   `json:"auto_dial"`              // agent-first: dial as soon as the agent accepts
	// MaxOffers is how many agents a customer-first callback is offered to
	// while the customer waits on the line, per attempt (default 3).
	MaxOffers int `json:"max_offers"`
	// HoldSeconds is how long an answered customer waits on the line for an
	// agent before the attempt gives up (default 120).
	HoldSeconds int `json:"hold_seconds"`
	// DialTimeoutSeconds bounds a dial when the platform reports no outcome
	// (default 90).
	DialTimeoutSeconds int `json:"dial_timeout_seconds"`
	// AgentActionSeconds is how long an agent-first callback waits for the
	// agent to dial or close it (default 1800).
	AgentActionSeconds int            `json:"agent_action_seconds"`
	BusinessHours      *BusinessHours `json:"business_hours,omitempty"`
}

// Defaults of CallbackSettings.
const (
	DefaultCallbackAttempts = 3
	DefaultCallbackRetry    = 10 * time.Minute
	DefaultCallbackExpiry   = 24 * time.Hour
	DefaultCallbackHorizon  = 30 * 24 * time.Hour
)

// RetryInterval is the wait between two dials.
func (s CallbackSettings) RetryInterval() time.Duration {
	return time.Duration(s.RetryIntervalSeconds) * time.Second
}

// Expiry is how long after its time a callback stays pending.
func (s CallbackSettings) Expiry() time.Duration { return time.Duration(s.ExpiryHours) * time.Hour }

// ExpiresFrom is a callback's expiry when its request names none: the
// queue's expiry_hours from the first moment the queue is open at or after
// the callback's time, so a callback asked for outside business hours (a
// Friday evening) has its whole expiry once the queue opens (Monday).
func (s CallbackSettings) ExpiresFrom(at time.Time) time.Time {
	if s.BusinessHours != nil {
		at = s.BusinessHours.NextOpening(at)
	}
	return at.Add(s.Expiry())
}

// ParseCallbackSettings reads the "callbacks" object of a queue's settings
// and fills in the defaults. A malformed object is an error naming the field;
// the defaults are still returned with it.
func ParseCallbackSettings(raw json.RawMessage) (CallbackSettings, error) {
	var wrapper struct {
		Callbacks *CallbackSettings `json:"callbacks"`
	}
	s := CallbackSettings{}
	var err error
	if len(raw) > 0 {
		if jerr := json.Unmarshal(raw, &wrapper); jerr != nil {
			err = fmt.Errorf("settings.callbacks: %w", jerr)
		} else if wrapper.Callbacks != nil {
			s = *wrapper.Callbacks
		}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if s.DefaultMode != store.CallbackAgentFirst {
		s.DefaultMode = store.CallbackCustomerFirst
	}
	if s.OnInboundCall != OnInboundLink {
		s.OnInboundCall = OnInboundCancel
	}
	def(&s.MaxAttempts, DefaultCallbackAttempts)
	s.MaxAttempts = min(s.MaxAttempts, 20)
	def(&s.RetryIntervalSeconds, int(DefaultCallbackRetry/time.Second))
	def(&s.ExpiryHours, int(DefaultCallbackExpiry/time.Hour))
	def(&s.MaxOffers, 3)
	def(&s.HoldSeconds, 120)
	def(&s.DialTimeoutSeconds, 90)
	def(&s.AgentActionSeconds, 1800)
	if s.BusinessHours != nil {
		if berr := s.BusinessHours.check(); berr != nil {
			s.BusinessHours = nil
			if err == nil {
				err = berr
			}
		}
	}
	return s, err
}

// SettingsError names the field of a queue's settings that is wrong.
type SettingsError struct {
	Field  string
	Detail string
}

func (e *SettingsError) Error() string { return e.Field + ": " + e.Detail }

// CheckCallbackSettings is the strict reading of a queue's "callbacks"
// settings that the API applies before a queue is saved: unknown fields,
// unknown modes and out-of-range numbers are refused with the field named,
// where ParseCallbackSettings (used by running processes) falls back to the
// defaults. Zero still means "the default".
func CheckCallbackSettings(raw json.RawMessage) error {
	var wrapper struct {
		Callbacks json.RawMessage `json:"callbacks"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &wrapper) != nil || len(wrapper.Callbacks) == 0 || string(wrapper.Callbacks) == "null" {
		return nil
	}
	const field = "settings.callbacks"
	dec := json.NewDecoder(bytes.NewReader(wrapper.Callbacks))
	dec.DisallowUnknownFields()
	var s CallbackSettings
	if err := dec.Decode(&s); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return &SettingsError{Field: field + "." + typeErr.Field, Detail: "must be a " + typeErr.Type.String()}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &SettingsError{Field: field + "." + name, Detail: "is not a callback setting"}
		default:
			return &SettingsError{Field: field, Detail: "must be an object of callback settings"}
		}
	}
	if s.DefaultMode != "" && s.DefaultMode != store.CallbackCustomerFirst && s.DefaultMode != store.CallbackAgentFirst {
		return &SettingsError{Field: field + ".default_mode", Detail: "must be customer_first or agent_first"}
	}
	if s.OnInboundCall != "" && s.OnInboundCall != OnInboundCancel && s.OnInboundCall != OnInboundLink {
		return &SettingsError{Field: field + ".on_inbound_call", Detail: "must be cancel or link"}
	}
	for _, r := range []struct {
		name     string
		v, limit int
	}{
		{"max_attempts", s.MaxAttempts, 20},
		{"retry_interval_seconds", s.RetryIntervalSeconds, 7 * 24 * 3600},
		{"expiry_hours", s.ExpiryHours, 24 * 365},
		{"max_offers", s.MaxOffers, 50},
		{"hold_seconds", s.HoldSeconds, 3600},
		{"dial_timeout_seconds", s.DialTimeoutSeconds, 600},
		{"agent_action_seconds", s.AgentActionSeconds, 7 * 24 * 3600},
	} {
		if r.v < 0 || r.v > r.limit {
			return &SettingsError{Field: field + "." + r.name, Detail: fmt.Sprintf("must be between 0 (the default) and %d", r.limit)}
		}
	}
	if s.BusinessHours != nil {
		if err := s.BusinessHours.check(); err != nil {
			var se *SettingsError
			if errors.As(err, &se) {
				return se
			}
			return &SettingsError{Field: field + ".business_hours", Detail: err.Error()}
		}
	}
	return nil
}

// BusinessHours are a queue's weekly opening windows in a time zone.
// Outside them callbacks wait for the next opening.
type BusinessHours struct {
	TimeZone string        `json:"time_zone"`
	Windows  []HoursWindow `json:"windows"`
}

// HoursWindow is open from Open to Close (local "15:04") on Days ("mon" ...
// "sun"). Close "24:00" is midnight at the end of the day.
type HoursWindow struct {
	Days  []string `json:"days"`
	Open  string   `json:"open"`
	Close string   `json:"close"`
}

// NextClosing is when the opening that t falls in ends, joining windows
// that touch (Monday to 24:00, Tuesday from 00:00). It is zero when t is
// outside the opening hours or the hours never close.
func (b BusinessHours) NextClosing(t time.Time) time.Time {
	end := b.windowEnd(t)
	for range 14 { // two weeks of touching windows: the hours never close
		if end.IsZero() {
			return end
		}
		next := b.windowEnd(end)
		if next.IsZero() {
			return end
		}
		end = next
	}
	return time.Time{}
}

// windowEnd is the latest close of the windows open at t (zero if none).
// A window lies within one local day, so only t's own day can hold it.
func (b BusinessHours) windowEnd(t time.Time) time.Time {
	loc, err := time.LoadLocation(b.TimeZone)
	if err != nil {
		return time.Time{}
	}
	local := t.In(loc)
	name := weekdays[local.Weekday()]
	var end time.Time
	for _, w := range b.Windows {
		if !slices.ContainsFunc(w.Days, func(s string) bool { return strings.ToLower(s) == name }) {
			continue
		}
		o, _ := clock(w.Open)
		c, _ := clock(w.Close)
		open := time.Date(local.Year(), local.Month(), local.Day(), o/60, o%60, 0, 0, loc)
		closing := time.Date(local.Year(), local.Month(), local.Day(), c/60, c%60, 0, 0, loc)
		if !open.After(t) && closing.After(t) && closing.After(end) {
			end = closing
		}
	}
	return end
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func clock(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

func (b BusinessHours) check() error {
	if _, err := time.LoadLocation(b.TimeZone); err != nil || b.TimeZone == "" || strings.EqualFold(b.TimeZone, "local") {
		return &SettingsError{Field: "settings.callbacks.business_hours.time_zone", Detail: fmt.Sprintf("%q is not an IANA time zone", b.TimeZone)}
	}
	if len(b.Windows) == 0 {
		return &SettingsError{Field: "settings.callbacks.business_hours.windows", Detail: "at least one window is needed"}
	}
	for i, w := range b.Windows {
		o, ok1 := clock(w.Open)
		c, ok2 := clock(w.Close)
		if !ok1 || !ok2 || o >= c {
			return &SettingsError{Field: fmt.Sprintf("settings.callbacks.business_hours.windows[%d]", i), Detail: "open and close are HH:MM with open before close"}
		}
		for _, d := range w.Days {
			if !slices.Contains(weekdays, strings.ToLower(d)) {
				return &SettingsError{Field: fmt.Sprintf("settings.callbacks.business_hours.windows[%d].days", i), Detail: fmt.Sprintf("%q is not mon..sun", d)}
			}
		}
	}
	return nil
}

// NextOpening is t when the queue is open at t, else the next moment it
// opens, computed in the queue's zone (so 09:00 stays 09:00 local across a
// daylight-saving change). With no window in the next week it returns t.
// Pure computation on instants: safe in workflows.
func (b BusinessHours) NextOpening(t time.Time) time.Time {
	loc, err := time.LoadLocation(b.TimeZone)
	if err != nil {
		return t
	}
	local := t.In(loc)
	best := time.Time{}
	for d := 0; d <= 7; d++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+d, 0, 0, 0, 0, loc)
		name := weekdays[day.Weekday()]
		for _, w := range b.Windows {
			if !slices.ContainsFunc(w.Days, func(s string) bool { return strings.ToLower(s) == name }) {
				continue
			}
			o, _ := clock(w.Open)
			c, _ := clock(w.Close)
			open := time.Date(day.Year(), day.Month(), day.Day(), o/60, o%60, 0, 0, loc)
			closing := time.Date(day.Year(), day.Month(), day.Day(), c/60, c%60, 0, 0, loc)
			if !closing.After(t) {
				continue
			}
			at := open
			if !open.After(t) {
				return t // open now
			}
			if best.IsZero() || at.Before(best) {
				best = at
			}
		}
		if !best.IsZero() {
			return best
		}
	}
	return t
}

// ---- when ----

var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// ResolveSchedule reads scheduled_at in zone: an RFC 3339 value is that
// instant; a local date-time is read in the zone, as the customer meant it
// (09:00 in New York is 14:00Z in winter and 13:00Z in summer). An empty
// zone is UTC. Errors are invalid-field errors naming scheduled_at or
// time_zone.
func ResolveSchedule(value, zone string) (time.Time, error) {
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || strings.EqualFold(zone, "local") {
		return time.Time{}, invalidField("time_zone", "must be an IANA time zone such as Europe/Berlin")
	}
	if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, value, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, invalidField("scheduled_at", "must be an RFC 3339 date-time, or a local date-time like 2026-03-09T09:30 read in time_zone")
}

// CheckSchedule refuses a time in the past or beyond the horizon. A minute
// of slack lets "now" from a client with a slightly late clock through.
func CheckSchedule(now, at time.Time, horizon time.Duration) error {
	if horizon <= 0 {
		horizon = DefaultCallbackHorizon
	}
	switch {
	case at.Before(now.Add(-time.Minute)):
		return invalidField("scheduled_at", "is in the past")
	case at.After(now.Add(horizon)):
		return invalidField("scheduled_at", fmt.Sprintf("is more than %s ahead", horizon))
	}
	return nil
}
