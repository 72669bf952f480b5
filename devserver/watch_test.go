package devserver

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWatchSeesItsNeedleHoweverTheWritesFall(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		seen   bool
	}{
		{"in one write", []string{"listen tcp: bind: address already in use\n"}, true},
		{"split in two", []string{"bind: address al", "ready in use"}, true},
		{"one byte at a time", []string{"a", "d", "d", "r", "e", "s", "s", " ", "a", "l", "r", "e", "a", "d", "y", " ", "i", "n", " ", "u", "s", "e"}, true},
		{"after a long line", []string{string(make([]byte, 5000)), "address already in use"}, true},
		{"never", []string{"address already", " used", "in use"}, false},
		{"nothing written", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &watch{needle: []byte("address already in use")}
			for _, s := range tc.writes {
				n, err := w.Write([]byte(s))
				require.NoError(t, err)
				require.Equal(t, len(s), n)
			}
			require.Equal(t, tc.seen, w.seen())
		})
	}
}
