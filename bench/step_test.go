package bench

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// The step arm's orders: every order once, so that each step comes first,
// and right after each other one, equally often.
func TestPermutationsBalanceTheSteps(t *testing.T) {
	for _, tc := range []struct{ n, orders int }{{1, 1}, {2, 2}, {3, 6}} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			orders := permutations(tc.n)
			require.Len(t, orders, tc.orders)
			seen := map[string]bool{}
			first := map[int]int{}
			after := map[[2]int]int{}
			for _, o := range orders {
				sorted := slices.Sorted(slices.Values(o))
				for i := range tc.n {
					require.Equal(t, i, sorted[i], "order %v", o)
				}
				key := fmt.Sprint(o)
				require.False(t, seen[key], "order %v twice", o)
				seen[key] = true
				first[o[0]]++
				for i := 1; i < len(o); i++ {
					after[[2]int{o[i-1], o[i]}]++
				}
			}
			for i := range tc.n {
				require.Equal(t, tc.orders/tc.n, first[i], "step %d first", i)
			}
			for pair, n := range after {
				require.Equal(t, after[[2]int{pair[1], pair[0]}], n, "%v", pair)
			}
			if tc.n == 3 {
				require.Len(t, after, 6)
				for pair, n := range after {
					require.Equal(t, 2, n, "%d right after %d", pair[1], pair[0])
				}
			}
		})
	}
}
