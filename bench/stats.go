package bench

import (
	"math"
	"slices"
	"time"
)

// Latency summarises a set of durations, in milliseconds for the JSON.
type Latency struct {
	N      int     `json:"n"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted: the
// smallest value with at least p% of the values at or below it. It is zero
// for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// summarize sorts a copy of ds and reports its percentiles.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Latency{N: len(s), P50ms: ms(percentile(s, 50)), P99ms: ms(percentile(s, 99)), MaxMs: ms(s[len(s)-1]),
		MeanMs: ms(sum / time.Duration(len(s)))}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

// ratio is a/b; ok is false when b is not positive (nothing to compare
// against).
func ratio(a, b float64) (float64, bool) {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0, false
	}
	return a / b, true
}

// Spread is the median of per-block values with their range.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// medianRange is the median of xs (the mean of the middle two for an even
// count) and its range; ok is false for no values.
func medianRange(xs []float64) (Spread, bool) {
	if len(xs) == 0 {
		return Spread{}, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{Median: med, Min: s[0], Max: s[n-1], N: n}, true
}

// perSecond is n events over d.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
