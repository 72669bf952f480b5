package phone

import (
	"regexp"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, raw, region, want string
		wantErr                 bool
	}{
		{name: "US national with punctuation", raw: "(202) 555-0143", region: "US", want: "+12025550143"},
		{name: "international with spaces", raw: "+44 20 7946 0958", region: "US", want: "+442079460958"},
		{name: "already E.164", raw: "+12025550143", region: "", want: "+12025550143"},
		{name: "German national", raw: "030 901820", region: "DE", want: "+4930901820"},
		{name: "trailing spaces", raw: "  +1 202 555 0143 ", region: "US", want: "+12025550143"},
		{name: "empty", raw: "", region: "US", wantErr: true},
		{name: "letters", raw: "call me maybe", region: "US", wantErr: true},
		{name: "too short", raw: "+1 202", region: "US", wantErr: true},
		{name: "national without region", raw: "202 555 0143", region: "", wantErr: true},
		{name: "absurdly long", raw: "+1" + string(make([]byte, 100)), region: "US", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.region)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestIsE164(t *testing.T) {
	require.True(t, IsE164("+12025550143"))
	require.False(t, IsE164("12025550143"))
	require.False(t, IsE164("+1 202 555 0143"))
	require.False(t, IsE164("+999"))
}

// Numbers of a plausible length and shape that no numbering plan assigns
// are refused: only the validity check knows them, a length check (or the
// E.164 pattern) lets each through, as the first assertions show.
func TestNormalizeRefusesUnassignedNumbers(t *testing.T) {
	e164 := regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	for _, tc := range []struct{ raw, e164, why string }{
		{"+1 099 555 0143", "+10995550143", "a NANP area code never starts with 0"},
		{"+10995550143", "+10995550143", "the same in E.164"},
		{"(099) 555-0143", "+10995550143", "the same, national in US"},
		{"+1 199 555 0143", "+11995550143", "nor with 1"},
		{"+1 202 055 0143", "+12020550143", "nor does an exchange"},
		{"+44 1000 000000", "+441000000000", "no UK number starts with 10"},
		{"+7 000 000 00 00", "+70000000000", "no Russian area code starts with 0"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			n, err := phonenumbers.Parse(tc.raw, "US")
			require.NoError(t, err)
			require.True(t, phonenumbers.IsPossibleNumber(n), "%s has a possible length", tc.raw)
			require.Equal(t, tc.e164, phonenumbers.Format(n, phonenumbers.E164))
			require.Regexp(t, e164, tc.e164)

			_, err = Normalize(tc.raw, "US")
			require.ErrorIs(t, err, ErrInvalid, tc.why)
			require.False(t, IsE164(tc.e164), tc.why)
		})
	}
	// And the assigned number beside them is taken.
	got, err := Normalize("+1 202 555 0143", "US")
	require.NoError(t, err)
	require.True(t, IsE164(got))
}
