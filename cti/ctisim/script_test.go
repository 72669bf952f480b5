package ctisim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/cti/ctisim"
)

func TestParseScript(t *testing.T) {
	tests := []struct {
		in      string
		number  string
		outcome ctisim.Outcome
		wantErr string
	}{
		{in: "+15551230001=busy", number: "+15551230001", outcome: ctisim.Outcome{Kind: ctisim.OutcomeBusy, After: 500 * time.Millisecond}},
		{in: "+15551230002=answer:3s", number: "+15551230002", outcome: ctisim.Outcome{Kind: ctisim.OutcomeAnswer, After: 3 * time.Second}},
		{in: "+15551230003=hangup:5s", number: "+15551230003", outcome: ctisim.Outcome{Kind: ctisim.OutcomeHangup, After: 5 * time.Second}},
		{in: " +15551230004 = no_answer:50ms ", number: "+15551230004", outcome: ctisim.Outcome{Kind: ctisim.OutcomeNoAnswer, After: 50 * time.Millisecond}},
		{in: "+15551230005=VOICEMAIL", number: "+15551230005", outcome: ctisim.Outcome{Kind: ctisim.OutcomeVoicemail, After: 2 * time.Second}},
		{in: "+15551230006=fail:0s", number: "+15551230006", outcome: ctisim.Outcome{Kind: ctisim.OutcomeFail, After: 0}},
		{in: "+15551230007=answer", number: "+15551230007", outcome: ctisim.Outcome{Kind: ctisim.OutcomeAnswer, After: time.Second}},
		{in: "+15551230008=no_answer", number: "+15551230008", outcome: ctisim.Outcome{Kind: ctisim.OutcomeNoAnswer, After: 2 * time.Second}},
		{in: "+15551230001", wantErr: "want NUMBER=OUTCOME"},
		{in: "5551230001=busy", wantErr: "not an E.164 number"},
		{in: "+15551230001=explode", wantErr: "unknown kind"},
		{in: "+15551230001=answer:soon", wantErr: "invalid duration"},
		{in: "+15551230001=answer:-1s", wantErr: "negative duration"},
		{in: "", wantErr: "want NUMBER=OUTCOME"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			number, o, err := ctisim.ParseScript(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.number, number)
			require.Equal(t, tc.outcome, o)
		})
	}
}

func TestOutcomeStringRoundTrips(t *testing.T) {
	for _, s := range []string{"answer:1s", "no_answer:2s", "busy:500ms", "voicemail:1m0s", "hangup:5s", "fail:0s"} {
		o, err := ctisim.ParseOutcome(s)
		require.NoError(t, err)
		require.Equal(t, s, o.String())
	}
}
