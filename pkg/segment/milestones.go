package segment

import (
	"math"
	"slices"
)

// CrossedMilestones returns the thresholds crossed upward when cumulative
// spend goes from before to after: those t with before < t <= after
// (reaching a milestone exactly counts; having already been on it does
// not), ascending and without duplicates. It returns nil when spend does
// not go up (a refund never un-crosses or re-crosses a milestone: when
// spend later climbs back over a threshold it was above before, that shows
// here again, so callers that must announce a milestone once keep the
// highest one announced). thresholds need not be sorted; NaN ones are
// ignored.
func CrossedMilestones(before, after float64, thresholds []float64) []float64 {
	if !(after > before) { // also false with NaN
		return nil
	}
	var out []float64
	for _, t := range thresholds {
		if before < t && t <= after && !math.IsNaN(t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
