package phone

import (
	"errors"
	"testing"
)

// FuzzNormalize: any input either fails with ErrInvalid or gives a number in
// E.164 that normalises to itself, in its own region and in any other.
func FuzzNormalize(f *testing.F) {
	for _, s := range []struct{ raw, region string }{
		{"(202) 555-0143", "US"},
		{"+44 20 7946 0958", "US"},
		{"030 901820", "DE"},
		{"+12025550143", ""},
		{"06 12 34 56 78", "fr"},
		{"+1 202 555 0143 ext. 12", "US"},
		{"tel:+1-202-555-0143", "US"},
		{"00 44 20 7946 0958", "DE"},
		{"\u0661\u0662\u0663", "EG"},
		{"++", "ZZ"},
	} {
		f.Add(s.raw, s.region)
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := Normalize(raw, region)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%q, %q) failed with %v, which is not ErrInvalid", raw, region, err)
			}
			return
		}
		if !IsE164(got) {
			t.Fatalf("Normalize(%q, %q) = %q, which is not E.164", raw, region, got)
		}
		for _, r := range []string{region, "", "US"} {
			again, err := Normalize(got, r)
			if err != nil || again != got {
				t.Fatalf("Normalize(%q, %q) = %q, but normalising that in %q gives %q, %v", raw, region, got, r, again, err)
			}
		}
	})
}
