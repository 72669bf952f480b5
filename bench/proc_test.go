package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBusy(t *testing.T) {
	for _, tc := range []struct {
		name string
		use  CPUUse
		cpus int
		busy float64 // 0: no value
		note string
	}{
		{
			name: "shares of the machine, largest first, ties by name",
			use: CPUUse{Arm: "a", Seconds: 40, CPU: map[string]float64{
				"temporal": 32, "worker": 8, "postgres (live backends)": 4, "bench+api+bare": 4}},
			cpus: 2, busy: 60,
			note: "temporal 40.0 %, worker 10.0 %, bench+api+bare 5.00 %, postgres (live backends) 5.00 %, of 2 CPUs for 40.0 s",
		},
		{
			name: "one CPU, one process",
			use:  CPUUse{Arm: "a", Seconds: 2, CPU: map[string]float64{"temporal": 1}},
			cpus: 1, busy: 50,
			note: "temporal 50.0 %, of 1 CPU for 2.00 s",
		},
		{
			name: "nothing sampled",
			use:  CPUUse{Arm: "a", Seconds: 2},
			cpus: 2, note: "no CPU time was sampled",
		},
		{
			name: "no wall time",
			use:  CPUUse{Arm: "a", CPU: map[string]float64{"temporal": 1}},
			cpus: 2, note: "no wall time",
		},
		{
			name: "no CPU count",
			use:  CPUUse{Arm: "a", Seconds: 2, CPU: map[string]float64{"temporal": 1}},
			note: "no CPU count",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := busy("k", "n", tc.use, tc.cpus)
			require.Equal(t, "%", m.Unit)
			require.Equal(t, tc.note, m.Note)
			if tc.busy == 0 {
				require.False(t, m.Available)
				require.Nil(t, m.Casehub)
				return
			}
			require.True(t, m.Available)
			require.NotNil(t, m.Casehub)
			require.InDelta(t, tc.busy, *m.Casehub, 1e-9)
		})
	}
}
