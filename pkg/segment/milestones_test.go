package segment

import (
	"math"
	"slices"
	"testing"
)

func TestCrossedMilestones(t *testing.T) {
	ms := []float64{1000, 100, 500, 5000, 500} // unsorted, with a duplicate
	cases := []struct {
		before, after float64
		want          []float64
	}{
		{0, 50, nil},
		{0, 100, []float64{100}}, // reaching a milestone exactly counts
		{100, 200, nil},          // already on it before
		{99.99, 100, []float64{100}},
		{50, 600, []float64{100, 500}},
		{0, 1e6, []float64{100, 500, 1000, 5000}},
		{600, 400, nil}, // refund: nothing
		{400, 400, nil},
		{400, 600, []float64{500}}, // climbing back over after a refund shows again
		{math.NaN(), 600, nil},
		{0, math.NaN(), nil},
	}
	for _, c := range cases {
		if got := CrossedMilestones(c.before, c.after, ms); !slices.Equal(got, c.want) {
			t.Errorf("CrossedMilestones(%v, %v) = %v, want %v", c.before, c.after, got, c.want)
		}
	}
	if got := CrossedMilestones(0, 100, nil); got != nil {
		t.Errorf("no thresholds: %v", got)
	}
	if got := CrossedMilestones(0, 100, []float64{math.NaN(), 50}); !slices.Equal(got, []float64{50}) {
		t.Errorf("NaN threshold: %v", got)
	}
	if !slices.Equal(ms, []float64{1000, 100, 500, 5000, 500}) {
		t.Error("thresholds modified")
	}
}
