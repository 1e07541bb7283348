package clv

import (
	"math"
	"testing"
)

func TestClassicWorkedExample(t *testing.T) {
	// AOV 100, 10 purchases a year, 2-year lifespan, margin 1 -> 2000.
	if got := Classic(100, 10, 2, 1); got != 2000 {
		t.Fatalf("Classic(100,10,2,1) = %v, want 2000", got)
	}
	if got := Classic(100, 10, 2, 0.25); got != 500 {
		t.Fatalf("margin 0.25: got %v, want 500", got)
	}
	if got := Classic(-5, 10, 2, 1); got != 0 {
		t.Fatalf("negative AOV: got %v, want 0", got)
	}
}

func TestPurchasesPerYear(t *testing.T) {
	cases := []struct {
		days        int
		tenure, min float64
		want        float64
	}{
		{0, 100, 30, 0},
		{1, 0, 30, 365.25 / 30},
		{10, 365.25, 30, 10},
		{4, 730.5, 30, 2},
	}
	for _, c := range cases {
		if got := PurchasesPerYear(c.days, c.tenure, c.min); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("PurchasesPerYear(%d,%v,%v) = %v, want %v", c.days, c.tenure, c.min, got, c.want)
		}
	}
}
