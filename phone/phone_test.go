package phone

import (
	"testing"

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
