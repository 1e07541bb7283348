package clv

import "math"

// conditionalExpectedCurve sets out[i] to
// ConditionalExpectedPurchases(ts[i], x, tx, T) for an increasing ts of
// positive horizons (CLV needs one per month), computing P(alive) and the
// posterior once and the expectations with bgExpectedCurve.
func (m bgModel) conditionalExpectedCurve(ts []float64, x, tx, T float64, out []float64) {
	p := m.p
	if !p.valid() || !validHistory(x, tx, T) {
		for i := range out {
			out[i] = math.NaN()
		}
		return
	}
	bgExpectedCurve(p.R+x, p.Alpha+T, p.A, p.B+m.k(x), ts, out)
	pa := m.PAlive(x, tx, T)
	for i := range out {
		out[i] *= pa
	}
}

// bgExpectedCurve sets out[i] = bgExpected(s, beta, a, b, ts[i]) for an
// increasing ts of positive horizons. The series of bgExpected (see
// there) has coefficients that do not depend on t, only its powers of
// z = t/(β+t) do: the coefficients are computed once (one division per
// term instead of one per term and horizon) and each horizon's sum stops
// when its own tail bound is met. Where bgExpected would take its
// quadrature for a horizon (a near 1, c near a non-positive integer, z
// above 0.995, too many terms), that horizon is computed by bgExpected;
// the results equal bgExpected's to rounding.
func bgExpectedCurve(s, beta, a, b float64, ts, out []float64) {
	const maxCurve = 64
	n := len(ts)
	c := a + b - 1
	A, B := c-s, a-1
	nmin := math.Max(math.Abs(A), math.Abs(B))
	if n > maxCurve || !(s > 0 && beta > 0 && a > 0 && b > 0) || math.Abs(a-1) < 1e-6 || nearNonPositiveInt(c) || nmin > maxSeriesStart {
		for i, t := range ts {
			out[i] = bgExpected(s, beta, a, b, t)
		}
		return
	}
	var z, zpow, sum [maxCurve]float64
	var done, direct [maxCurve]bool
	open := 0
	for i, t := range ts {
		z[i] = t / (beta + t)
		if !(t > 0) || math.IsInf(t, 1) || z[i] > 0.995 {
			out[i], done[i], direct[i] = bgExpected(s, beta, a, b, t), true, true
			continue
		}
		zpow[i] = 1
		open++
	}
	coef := 1.0
	for k := 0; k < 20*maxSeriesStart && open > 0; k++ {
		fk := float64(k)
		coef *= (A + fk) * (B + fk) / ((c + fk) * (fk + 1))
		for i := 0; i < n; i++ {
			if done[i] {
				continue
			}
			zpow[i] *= z[i]
			term := coef * zpow[i]
			sum[i] += term
			if term == 0 || (fk >= nmin && math.Abs(term) <= 1e-14*math.Abs(sum[i])*(1-z[i])) {
				done[i] = true
				open--
			}
		}
	}
	for i := 0; i < n; i++ {
		if direct[i] {
			continue
		}
		if !done[i] || !isFinite(sum[i]) {
			out[i] = bgExpected(s, beta, a, b, ts[i]) // did not converge: bgExpected's quadrature
			continue
		}
		u := (a - 1) * math.Log1p(-z[i])
		out[i] = c / (a - 1) * (-math.Expm1(u) - math.Exp(u)*sum[i])
	}
}
