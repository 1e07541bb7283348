package churn

import (
	"math"
	"testing"
)

func TestBaselineCurve(t *testing.T) {
	var b Baseline
	// Own gap 30 days after many repeats dominates the population gap.
	cases := []struct {
		recency float64
		want    float64
	}{{0, 0}, {30, 0.2}, {60, 0.5}, {120, 0.8}}
	for _, c := range cases {
		got := b.Risk(c.recency, 30, 1_000_000, 90)
		if math.Abs(got-c.want) > 1e-4 {
			t.Errorf("Risk(recency=%v) = %.5f, want %.5f", c.recency, got, c.want)
		}
	}
}

func TestBaselineShrinksTowardPopulation(t *testing.T) {
	var b Baseline
	// A one-time buyer has no own gap: the population gap decides.
	if g := b.ExpectedGap(0, 0, 40); g != 40 {
		t.Fatalf("ExpectedGap one-time buyer = %v, want 40", g)
	}
	// Two repeats at 10 days against a population of 40 with k=2 -> 25.
	if g := b.ExpectedGap(10, 2, 40); g != 25 {
		t.Fatalf("ExpectedGap = %v, want 25", g)
	}
	// A frequent buyer silent for 60 days is riskier than a rare buyer.
	frequent := b.Risk(60, 7, 20, 40)
	rare := b.Risk(60, 120, 20, 40)
	if !(frequent > 0.8 && rare < 0.2) {
		t.Fatalf("frequent=%v rare=%v: own rhythm should dominate", frequent, rare)
	}
}

func TestRecencyAtInvertsRisk(t *testing.T) {
	var b Baseline
	for _, p := range []float64{0.1, 0.3, 0.5, 0.6, 0.8, 0.95} {
		r := b.RecencyAt(p, 12, 3, 50)
		if got := b.Risk(r, 12, 3, 50); math.Abs(got-p) > 1e-9 {
			t.Errorf("Risk(RecencyAt(%v)) = %v", p, got)
		}
	}
}

func TestLevels(t *testing.T) {
	l := Levels{Medium: 0.3, High: 0.6}
	for p, want := range map[float64]string{0: "low", 0.29: "low", 0.3: "medium", 0.59: "medium", 0.6: "high", 1: "high"} {
		if got := l.Level(p); got != want {
			t.Errorf("Level(%v) = %q, want %q", p, got, want)
		}
	}
	var def Levels
	for p, want := range map[float64]string{0.49: "low", 0.5: "medium", 0.79: "medium", 0.8: "high"} {
		if got := def.Level(p); got != want {
			t.Errorf("default Level(%v) = %q, want %q", p, got, want)
		}
	}
}

func TestBaselineProbNoPurchase(t *testing.T) {
	var b Baseline
	// Right after a purchase the risk is 0: only the chance that an active
	// customer with a 30-day gap skips 90 days, e^-3.
	if got := b.ProbNoPurchase(0, 30, 1_000_000, 60, 90); math.Abs(got-math.Exp(-3)) > 1e-6 {
		t.Fatalf("ProbNoPurchase just after a purchase = %v, want e^-3", got)
	}
	// It grows with recency and with the horizon's length shrinking it falls.
	a, c := b.ProbNoPurchase(10, 30, 3, 60, 90), b.ProbNoPurchase(200, 30, 3, 60, 90)
	if !(a < c && c < 1) {
		t.Fatalf("recency 10: %v, recency 200: %v", a, c)
	}
	if s, l := b.ProbNoPurchase(10, 30, 3, 60, 30), b.ProbNoPurchase(10, 30, 3, 60, 365); !(l < a && a < s) {
		t.Fatalf("horizon 30: %v, 90: %v, 365: %v", s, a, l)
	}
}
