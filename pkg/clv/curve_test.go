package clv

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The curve equals bgExpected horizon by horizon, on the series path, the
// reflected one (z above reflectAbove) and every fallback (a near 1, z
// near 1, degenerate a or b), to 1e-8: the series in z stops at a relative
// 1e-10 of its sum, which the difference it is taken from amplifies for a
// small a (4e-9 at a = 0.06).
func TestExpectedCurveEqualsOneAtATime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := [][4]float64{{0.525, 6.183, 0.891, 1.614}, {0.2, 0.5, 1 + 1e-8, 3}, {5, 0.01, 0.3, 0.2}, {1e-3, 1e3, 1e-4, 1e-4}}
	for i := 0; i < 200; i++ {
		cases = append(cases, [4]float64{0.05 + 3*rng.Float64(), 0.1 + 50*rng.Float64(), 0.05 + 3*rng.Float64(), 0.05 + 10*rng.Float64()})
	}
	for _, p := range cases {
		for _, x := range []float64{0, 1, 7, 300} {
			for _, dbeta := range []float64{20, 0, -p[1] + 0.3} { // z of the last horizon 0.7 to 0.99
				expectCurve(t, p[0]+x, p[1]+dbeta, p[2], p[3]+x)
			}
		}
	}
}

// expectCurve checks bgExpectedCurve against bgExpected over a year of
// monthly horizons.
func expectCurve(t *testing.T, s, beta, a, b float64) {
	t.Helper()
	ts := make([]float64, 12)
	for i := range ts {
		ts[i] = float64(i+1) * 30 / 7
	}
	checkCurve(t, s, beta, a, b, ts, bgExpected, 1e-8)
}

// checkCurve checks bgExpectedCurve at the horizons ts against ref, to a
// relative tol.
func checkCurve(t *testing.T, s, beta, a, b float64, ts []float64, ref func(s, beta, a, b, t float64) float64, tol float64) {
	t.Helper()
	got := make([]float64, len(ts))
	bgExpectedCurve(s, beta, a, b, ts, got)
	for i, tt := range ts {
		want := ref(s, beta, a, b, tt)
		if !(math.Abs(got[i]-want) <= tol*math.Max(1, math.Abs(want))) {
			t.Fatalf("s=%g β=%g a=%g b=%g t=%g: curve %v, reference %v", s, beta, a, b, tt, got[i], want)
		}
	}
}

// The reflected horizons (z above reflectAbove) agree with the quadrature,
// an independent method, where the series of bgExpected would need
// hundreds of terms or give up (z above 0.995).
func TestReflectedCurveEqualsQuadrature(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 300; i++ {
		s, a, b := 0.05+3*rng.Float64(), 0.05+3*rng.Float64(), 0.05+10*rng.Float64()
		x := float64(rng.IntN(4))
		s, b = s+x, b+x
		beta := 0.05 + 5*rng.Float64()
		checkCurve(t, s, beta, a, b, []float64{beta, 3 * beta, 30 * beta, 400 * beta}, bgExpectedQuad, 1e-7)
	}
}
