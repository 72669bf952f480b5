package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBusy(t *testing.T) {
	tests := []struct {
		name      string
		use       CPUUse
		cpus      int
		available bool
		busy      float64
		note      string
	}{
		{
			name: "shares of the machine, largest first",
			use: CPUUse{Arm: "a", Seconds: 40, CPU: map[string]float64{
				"temporal": 32, "worker": 8, "postgres (live backends)": 4, "bench+api+bare": 4}},
			cpus: 2, available: true, busy: 60,
			note: "temporal 40.0 %, worker 10.0 %, bench+api+bare 5.00 %, postgres (live backends) 5.00 %, of 2 CPUs for 40.0 s",
		},
		{
			name: "one CPU, one process",
			use:  CPUUse{Arm: "a", Seconds: 2, CPU: map[string]float64{"temporal": 1}},
			cpus: 1, available: true, busy: 50,
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
			cpus: 2, note: "no CPU time was sampled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := busy("k", "n", tt.use, tt.cpus)
			require.Equal(t, "%", m.Unit)
			require.Equal(t, tt.available, m.Available)
			require.Equal(t, tt.note, m.Note)
			if !tt.available {
				require.Nil(t, m.Casehub)
				return
			}
			require.NotNil(t, m.Casehub)
			require.InDelta(t, tt.busy, *m.Casehub, 1e-9)
		})
	}
}
