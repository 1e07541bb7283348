package clv

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The curve equals bgExpected horizon by horizon (to 1e-9, its series
// stops at a relative 1e-10), on the series path and
// on every fallback (a near 1, z near 1, degenerate a or b).
func TestExpectedCurveEqualsOneAtATime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := [][4]float64{{0.525, 6.183, 0.891, 1.614}, {0.2, 0.5, 1 + 1e-8, 3}, {5, 0.01, 0.3, 0.2}, {1e-3, 1e3, 1e-4, 1e-4}}
	for i := 0; i < 200; i++ {
		cases = append(cases, [4]float64{0.05 + 3*rng.Float64(), 0.1 + 50*rng.Float64(), 0.05 + 3*rng.Float64(), 0.05 + 10*rng.Float64()})
	}
	for _, p := range cases {
		for _, x := range []float64{0, 1, 7, 300} {
			s, beta, a, b := p[0]+x, p[1]+20, p[2], p[3]+x
			ts := make([]float64, 12)
			for i := range ts {
				ts[i] = float64(i+1) * 30 / 7
			}
			got := make([]float64, len(ts))
			bgExpectedCurve(s, beta, a, b, ts, got)
			for i, tt := range ts {
				want := bgExpected(s, beta, a, b, tt)
				if !(math.Abs(got[i]-want) <= 1e-9*math.Max(1, math.Abs(want))) {
					t.Fatalf("s=%g β=%g a=%g b=%g t=%g: curve %v, bgExpected %v", s, beta, a, b, tt, got[i], want)
				}
			}
		}
	}
}
