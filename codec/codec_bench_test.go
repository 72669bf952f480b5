package codec_test

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"

	"github.com/casehub/casehub/codec"
)

// BenchmarkSealAndOpen measures one payload the size of an interaction's
// input (about 1 KB) through the codec and back.
func BenchmarkSealAndOpen(b *testing.B) {
	line, err := codec.NewKeyLine("bench")
	if err != nil {
		b.Fatal(err)
	}
	keys, err := codec.ParseKeys(line)
	if err != nil {
		b.Fatal(err)
	}
	in := map[string]string{"caller_number": "+12025550143", "description": strings.Repeat("x", 1000)}
	for _, bc := range []struct {
		name string
		dc   converter.DataConverter
	}{{"plain", converter.GetDefaultDataConverter()}, {"sealed", codec.DataConverter(keys)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := bc.dc.ToPayload(in)
				if err != nil {
					b.Fatal(err)
				}
				var out map[string]string
				if err := bc.dc.FromPayload(p, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
