package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// Business hours are read in the queue's zone, where the local date is not
// the UTC date: 20:00 on a Friday in New York is already Saturday in UTC,
// and 08:30 on a Monday in Tokyo is still Sunday in UTC.

var (
	weekdayNames = []string{"mon", "tue", "wed", "thu", "fri"}

	// New York, open on weekdayNames until 20:00.
	hoursNY = workflows.BusinessHours{TimeZone: "America/New_York", Windows: []workflows.HoursWindow{
		{Days: weekdayNames, Open: "08:00", Close: "20:00"},
	}}
	// The same with an evening window to 22:00 that touches it.
	hoursNYLate = workflows.BusinessHours{TimeZone: "America/New_York", Windows: []workflows.HoursWindow{
		{Days: weekdayNames, Open: "08:00", Close: "20:00"},
		{Days: weekdayNames, Open: "20:00", Close: "22:00"},
	}}
	// Weekdays and a Sunday window, to cross the daylight-saving changes
	// (Sunday 8 March and Sunday 1 November 2026).
	hoursNYSunday = workflows.BusinessHours{TimeZone: "America/New_York", Windows: []workflows.HoursWindow{
		{Days: weekdayNames, Open: "08:00", Close: "20:00"},
		{Days: []string{"sun"}, Open: "10:00", Close: "16:00"},
	}}
	// Friday night through local midnight into Saturday.
	hoursNYNight = workflows.BusinessHours{TimeZone: "America/New_York", Windows: []workflows.HoursWindow{
		{Days: []string{"fri"}, Open: "20:00", Close: "24:00"},
		{Days: []string{"sat"}, Open: "00:00", Close: "02:00"},
	}}
	// East of UTC: a local morning is the previous UTC date.
	hoursTokyo = workflows.BusinessHours{TimeZone: "Asia/Tokyo", Windows: []workflows.HoursWindow{
		{Days: weekdayNames, Open: "09:00", Close: "18:00"},
	}}
)

type hoursCase struct {
	name  string
	hours workflows.BusinessHours
	at    string // RFC 3339 with the local offset, so the local time is in plain sight
	want  string // RFC 3339; "" for none (NextClosing when closed)
}

func instant(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err, s)
	return v
}

func TestNextOpeningAcrossTheLocalDateLine(t *testing.T) {
	for _, tc := range []hoursCase{
		// Winter time (EST, UTC-5): Friday evening is Saturday in UTC.
		{"fri 19:30 EST is sat 00:30Z: open", hoursNY, "2026-03-06T19:30:00-05:00", "2026-03-06T19:30:00-05:00"},
		{"fri 19:59 EST: open", hoursNY, "2026-03-06T19:59:00-05:00", "2026-03-06T19:59:00-05:00"},
		{"fri 20:00 EST, at closing: monday 08:00 EDT after the change", hoursNY, "2026-03-06T20:00:00-05:00", "2026-03-09T08:00:00-04:00"},
		{"fri 21:00 EST is sat 02:00Z: monday 08:00 EDT", hoursNY, "2026-03-06T21:00:00-05:00", "2026-03-09T08:00:00-04:00"},
		{"thu 21:00 EST is fri 02:00Z: friday 08:00", hoursNY, "2026-03-05T21:00:00-05:00", "2026-03-06T08:00:00-05:00"},
		// Summer time (EDT, UTC-4).
		{"fri 20:00 EDT is sat 00:00Z: monday 08:00", hoursNY, "2026-03-13T20:00:00-04:00", "2026-03-16T08:00:00-04:00"},
		{"tue 23:30 EDT is wed 03:30Z: wednesday 08:00", hoursNY, "2026-03-10T23:30:00-04:00", "2026-03-11T08:00:00-04:00"},
		{"sun 21:00 EDT is mon 01:00Z: still closed until 08:00", hoursNY, "2026-03-15T21:00:00-04:00", "2026-03-16T08:00:00-04:00"},
		{"mon 07:59 EDT: 08:00", hoursNY, "2026-03-16T07:59:00-04:00", "2026-03-16T08:00:00-04:00"},
		// The evening window to 22:00.
		{"late: fri 20:00 EST is open", hoursNYLate, "2026-03-06T20:00:00-05:00", "2026-03-06T20:00:00-05:00"},
		{"late: fri 21:59 EST is sat 02:59Z: open", hoursNYLate, "2026-03-06T21:59:00-05:00", "2026-03-06T21:59:00-05:00"},
		{"late: fri 22:00 EST, at closing: monday 08:00 EDT", hoursNYLate, "2026-03-06T22:00:00-05:00", "2026-03-09T08:00:00-04:00"},
		{"late: wed 22:30 EDT: thursday 08:00", hoursNYLate, "2026-03-11T22:30:00-04:00", "2026-03-12T08:00:00-04:00"},
		// Into autumn's change: Friday 30 October, clocks go back on Sunday 1 November.
		{"fri 20:00 EDT before winter time: monday 08:00 EST", hoursNY, "2026-10-30T20:00:00-04:00", "2026-11-02T08:00:00-05:00"},
		{"sun 20:30 EST is mon 01:30Z: monday 08:00 EST", hoursNY, "2026-11-01T20:30:00-05:00", "2026-11-02T08:00:00-05:00"},
		// A Sunday window on the days the clocks change.
		{"sat 21:00 EST before spring forward: sunday 10:00 EDT", hoursNYSunday, "2026-03-07T21:00:00-05:00", "2026-03-08T10:00:00-04:00"},
		{"sun 03:30 EDT just after spring forward: 10:00 EDT", hoursNYSunday, "2026-03-08T03:30:00-04:00", "2026-03-08T10:00:00-04:00"},
		{"sun 16:00 EDT at closing: monday 08:00", hoursNYSunday, "2026-03-08T16:00:00-04:00", "2026-03-09T08:00:00-04:00"},
		{"sat 21:00 EDT before fall back: sunday 10:00 EST", hoursNYSunday, "2026-10-31T21:00:00-04:00", "2026-11-01T10:00:00-05:00"},
		{"sun 01:30 EST, the second 01:30: 10:00 EST", hoursNYSunday, "2026-11-01T01:30:00-05:00", "2026-11-01T10:00:00-05:00"},
		// Across local midnight.
		{"night: fri 23:30 EST is sat 04:30Z: open", hoursNYNight, "2026-03-06T23:30:00-05:00", "2026-03-06T23:30:00-05:00"},
		{"night: sat 01:00 EST: open", hoursNYNight, "2026-03-07T01:00:00-05:00", "2026-03-07T01:00:00-05:00"},
		{"night: sat 02:00 EST at closing: next friday 20:00 EDT", hoursNYNight, "2026-03-07T02:00:00-05:00", "2026-03-13T20:00:00-04:00"},
		// Tokyo (UTC+9): the local morning is the previous UTC date.
		{"tokyo: mon 08:30 JST is sun 23:30Z: 09:00 JST", hoursTokyo, "2026-03-09T08:30:00+09:00", "2026-03-09T09:00:00+09:00"},
		{"tokyo: mon 00:30 JST is sun 15:30Z: 09:00 JST", hoursTokyo, "2026-03-09T00:30:00+09:00", "2026-03-09T09:00:00+09:00"},
		{"tokyo: mon 09:30 JST is mon 00:30Z: open", hoursTokyo, "2026-03-09T09:30:00+09:00", "2026-03-09T09:30:00+09:00"},
		{"tokyo: fri 18:00 JST at closing: monday 09:00", hoursTokyo, "2026-03-13T18:00:00+09:00", "2026-03-16T09:00:00+09:00"},
		{"tokyo: sat 08:00 JST is fri 23:00Z: monday 09:00", hoursTokyo, "2026-03-14T08:00:00+09:00", "2026-03-16T09:00:00+09:00"},
		{"tokyo: sun 23:00 JST is sun 14:00Z: monday 09:00", hoursTokyo, "2026-03-15T23:00:00+09:00", "2026-03-16T09:00:00+09:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.hours.NextOpening(instant(t, tc.at))
			require.Equal(t, instant(t, tc.want).UTC(), got.UTC(), "next opening from %s", tc.at)
		})
	}
}

func TestNextClosingAcrossTheLocalDateLine(t *testing.T) {
	for _, tc := range []hoursCase{
		{"fri 19:30 EST is sat 00:30Z: closes at 20:00 EST", hoursNY, "2026-03-06T19:30:00-05:00", "2026-03-06T20:00:00-05:00"},
		{"fri 08:00 EST, at opening: 20:00 EST", hoursNY, "2026-03-06T08:00:00-05:00", "2026-03-06T20:00:00-05:00"},
		{"fri 20:00 EST, at closing: closed", hoursNY, "2026-03-06T20:00:00-05:00", ""},
		{"fri 20:30 EST: closed", hoursNY, "2026-03-06T20:30:00-05:00", ""},
		{"sat 10:00 EST: closed", hoursNY, "2026-03-07T10:00:00-05:00", ""},
		{"mon 19:00 EDT is mon 23:00Z: 20:00 EDT", hoursNY, "2026-03-09T19:00:00-04:00", "2026-03-09T20:00:00-04:00"},
		// Touching windows join across UTC midnight.
		{"late: fri 19:30 EST: 22:00 EST", hoursNYLate, "2026-03-06T19:30:00-05:00", "2026-03-06T22:00:00-05:00"},
		{"late: fri 20:00 EST is sat 01:00Z: 22:00 EST", hoursNYLate, "2026-03-06T20:00:00-05:00", "2026-03-06T22:00:00-05:00"},
		{"late: fri 21:59 EST: 22:00 EST", hoursNYLate, "2026-03-06T21:59:00-05:00", "2026-03-06T22:00:00-05:00"},
		{"late: fri 22:00 EST: closed", hoursNYLate, "2026-03-06T22:00:00-05:00", ""},
		{"late: thu 21:00 EDT is fri 01:00Z: 22:00 EDT", hoursNYLate, "2026-03-12T21:00:00-04:00", "2026-03-12T22:00:00-04:00"},
		// Sunday windows on the days the clocks change.
		{"sun 8 march 11:00 EDT: 16:00 EDT", hoursNYSunday, "2026-03-08T11:00:00-04:00", "2026-03-08T16:00:00-04:00"},
		{"sun 1 november 15:00 EST: 16:00 EST", hoursNYSunday, "2026-11-01T15:00:00-05:00", "2026-11-01T16:00:00-05:00"},
		{"sun 8 march 09:00 EDT: closed", hoursNYSunday, "2026-03-08T09:00:00-04:00", ""},
		// Through local midnight: Friday to 24:00 joins Saturday from 00:00.
		{"night: fri 21:00 EST: sat 02:00 EST", hoursNYNight, "2026-03-06T21:00:00-05:00", "2026-03-07T02:00:00-05:00"},
		{"night: fri 23:59 EST is sat 04:59Z: sat 02:00 EST", hoursNYNight, "2026-03-06T23:59:00-05:00", "2026-03-07T02:00:00-05:00"},
		{"night: sat 00:00 EST: sat 02:00 EST", hoursNYNight, "2026-03-07T00:00:00-05:00", "2026-03-07T02:00:00-05:00"},
		// Tokyo.
		{"tokyo: mon 09:30 JST is mon 00:30Z: 18:00 JST", hoursTokyo, "2026-03-09T09:30:00+09:00", "2026-03-09T18:00:00+09:00"},
		{"tokyo: mon 09:00 JST is mon 00:00Z, at opening: 18:00 JST", hoursTokyo, "2026-03-09T09:00:00+09:00", "2026-03-09T18:00:00+09:00"},
		{"tokyo: mon 08:30 JST is sun 23:30Z: closed", hoursTokyo, "2026-03-09T08:30:00+09:00", ""},
		{"tokyo: sat 08:00 JST is fri 23:00Z: closed", hoursTokyo, "2026-03-14T08:00:00+09:00", ""},
		{"tokyo: fri 17:59 JST: 18:00 JST", hoursTokyo, "2026-03-13T17:59:00+09:00", "2026-03-13T18:00:00+09:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.hours.NextClosing(instant(t, tc.at))
			if tc.want == "" {
				require.True(t, got.IsZero(), "closed at %s, but NextClosing says %s", tc.at, got.UTC())
				return
			}
			require.Equal(t, instant(t, tc.want).UTC(), got.UTC(), "next closing from %s", tc.at)
		})
	}
}

const nyWeekdayHours = `{"callbacks": {"business_hours": {"time_zone": "America/New_York",
	"windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "open": "08:00", "close": "20:00"}]}}}`

// A callback asked for at 19:30 on a Friday in New York (already Saturday in
// UTC during winter time) for 21:00 that evening, after the queue closes,
// waits for Monday 08:00 in New York: that is the next attempt it records,
// and the moment it enters the queue.
func TestScheduledAfterFridayClosingWaitsForMonday(t *testing.T) {
	for _, tc := range []struct {
		name    string
		asked   string // 19:30 on the Friday, local
		at      string // the requested local time, read in America/New_York
		opening string // Monday 08:00 local
	}{
		{"weekend into summer time", "2026-03-06T19:30:00-05:00", "2026-03-06T21:00", "2026-03-09T08:00:00-04:00"},
		{"summer time", "2026-03-13T19:30:00-04:00", "2026-03-13T21:00", "2026-03-16T08:00:00-04:00"},
		{"weekend into winter time", "2026-10-30T19:30:00-04:00", "2026-10-30T21:00", "2026-11-02T08:00:00-05:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked, opening := instant(t, tc.asked), instant(t, tc.opening).UTC()
			at, err := workflows.ResolveSchedule(tc.at, "America/New_York")
			require.NoError(t, err)
			require.Equal(t, 90*time.Minute, at.Sub(asked), "21:00 local is an hour and a half later")

			e := newCallbackEnv(t) // nobody free: it waits in the queue once it is in
			e.settings(nyWeekdayHours)
			e.SetStartTime(asked)
			in := asap(store.CallbackCustomerFirst)
			in.ScheduledAt, in.TimeZone, in.ExpiresAt = &at, "America/New_York", at.Add(7*24*time.Hour)

			e.at(time.Minute, func() {
				st := e.state()
				require.Equal(t, workflows.CallbackStepScheduled, st.Step)
				require.NotNil(t, st.NextAttemptAt)
				require.Equal(t, opening, st.NextAttemptAt.UTC(), "waits for Monday 08:00 local, not 21:00 Friday")
			})
			e.at(opening.Sub(asked)-time.Minute, func() {
				require.Equal(t, workflows.CallbackStepScheduled, e.state().Step, "still waiting a minute before the opening")
				require.Empty(t, e.items, "not in the queue over the weekend")
			})
			e.at(opening.Sub(asked)+time.Minute, func() {
				require.Equal(t, workflows.CallbackStepQueued, e.state().Step)
				e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor"})
			})
			st := e.run(in)

			require.Equal(t, store.CallbackCancelled, st.State)
			require.Equal(t, store.CallbackScheduled, e.changes[0].State)
			require.NotNil(t, e.changes[0].NextAttemptAt)
			require.Equal(t, opening, e.changes[0].NextAttemptAt.UTC(), "the recorded next attempt")
			require.Len(t, e.enqueuedAt, 1)
			require.Equal(t, opening, e.enqueuedAt[0].UTC(), "entered the queue at the opening, by a durable timer")
			require.Empty(t, e.dials)
		})
	}
}

// The same request with the expiry the API gives it when the request names
// none (the queue's expiry_hours, 24, from the next opening): outside
// business hours a callback waits for the next opening, so a customer who
// asks on Friday evening is called on Monday morning, not expired on
// Saturday.
func TestScheduledAfterFridayClosingWithTheDefaultExpiry(t *testing.T) {
	asked := instant(t, "2026-03-13T19:30:00-04:00")
	opening := instant(t, "2026-03-16T08:00:00-04:00").UTC()
	at, err := workflows.ResolveSchedule("2026-03-13T21:00", "America/New_York")
	require.NoError(t, err)
	settings, err := workflows.ParseCallbackSettings([]byte(nyWeekdayHours))
	require.NoError(t, err)

	e := newCallbackEnv(t)
	e.settings(nyWeekdayHours)
	e.SetStartTime(asked)
	in := asap(store.CallbackCustomerFirst)
	in.ScheduledAt, in.TimeZone, in.ExpiresAt = &at, "America/New_York", settings.ExpiresFrom(at) // as the API sets it
	e.at(opening.Sub(asked)+time.Minute, func() {
		require.Equal(t, workflows.CallbackStepQueued, e.state().Step, "in the queue once it opens")
		e.ok(workflows.UpdateCancelCallback, workflows.CallbackCancelRequest{By: "supervisor"})
	})
	st := e.run(in)

	require.Equal(t, store.CallbackCancelled, st.State, "outcome: %s", st.Outcome)
	require.Len(t, e.enqueuedAt, 1)
	require.Equal(t, opening, e.enqueuedAt[0].UTC())
}
