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
// when its own tail bound is met. Horizons with z above reflectAbove are
// summed in 1 − z instead (reflected). Where bgExpected would take its
// quadrature (a near 1, c near a non-positive integer, too many terms),
// that horizon is computed by bgExpected; the results equal bgExpected's
// to about curveTol (far below a cent of any CLV, and below every
// precision a percentile cut needs).
// curveTol is the relative tail bound of the curve's series: the CLV of a
// young customer has horizons with z near 1, whose series need about
// ln(tol)/ln(z) terms, so a bound at the precision the figures need
// rather than at rounding saves a third of them.
const curveTol = 1e-10

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
	open, far := 0, 0
	for i, t := range ts {
		z[i] = t / (beta + t)
		switch {
		case !(t > 0) || math.IsInf(t, 1):
			out[i], done[i], direct[i] = bgExpected(s, beta, a, b, t), true, true
			continue
		case z[i] > reflectAbove:
			done[i], direct[i] = true, true
			far++
			continue
		}
		zpow[i] = 1
		open++
	}
	if far > 0 {
		reflected(s, beta, a, b, ts, z[:n], out)
	}
	var tol [maxCurve]float64
	lo := n // the open horizons lie in [lo, hi)
	hi := 0
	for i := 0; i < n; i++ {
		tol[i] = curveTol * (1 - z[i])
		if !done[i] {
			lo, hi = min(lo, i), i+1
		}
	}
	coef := 1.0
	for k := 0; k < 20*maxSeriesStart && open > 0; k++ {
		fk := float64(k)
		coef *= (A + fk) * (B + fk) / ((c + fk) * (fk + 1))
		for i := lo; i < hi; i++ {
			if done[i] {
				continue
			}
			zpow[i] *= z[i]
			term := coef * zpow[i]
			sum[i] += term
			if term == 0 || (fk >= nmin && math.Abs(term) <= tol[i]*math.Abs(sum[i])) {
				done[i] = true
				open--
			}
		}
		for lo < hi && done[lo] {
			lo++
		}
		for hi > lo && done[hi-1] {
			hi--
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

// reflectAbove is the z = t/(β+t) above which bgExpectedCurve evaluates a
// horizon in w = 1 − z (reflected), where two series converge like wᵏ,
// instead of summing the series in z, which needs about ln(curveTol)/ln(z)
// terms (hundreds for a young customer's long horizons). Below it the
// shared series in z is the cheaper (measured in instructions on the
// benchmark mix: the break-even is near z = 0.65).
const reflectAbove = 0.7

// maxReflected bounds the parameters (s, b, |A|, |B|, |γ|) of a reflected
// horizon: past it (a customer with dozens of repeat purchases) the series
// in w start with as many growing terms as the series in z, and their
// rounding grows with them.
const maxReflected = 50

// reflected sets out[i] = bgExpected(s, β, a, b, ts[i]) for every horizon
// with z[i] > reflectAbove. With A = c − s, B = a − 1, c = a + b − 1 and
// γ = c − A − B = s − a + 1, the connection formula of ₂F₁ between z and
// w = 1 − z (Abramowitz and Stegun 15.3.6) turns bgExpected's
// w^(a−1) ₂F₁(A, B; c; z) into
//
//	G₁ w^(a−1) ₂F₁(A, B; 1−γ; w) + G₂ w^s ₂F₁(s, b; 1+γ; w),
//	G₁ = Γ(c)Γ(γ)/(Γ(s)Γ(b)),  G₂ = Γ(c)Γ(−γ)/(Γ(A)Γ(B)),
//
// whose gamma factors and series coefficients do not depend on t: they are
// computed once for all horizons. The two terms grow without bound, with
// opposite signs, as γ nears an integer; a horizon whose terms are more
// than 10³ times the result, counting the series' largest terms (or any
// non-finite figure), is computed by
// bgExpected instead, so the result keeps bgExpected's precision.
func reflected(s, beta, a, b float64, ts, z, out []float64) {
	c := a + b - 1
	A, B, g := c-s, a-1, s-a+1
	// logGamma returns ln|Γ(x)| and the sign of Γ(x); 1/Γ is 0 at a pole.
	logGamma := func(x float64) (float64, float64) {
		l, sign := math.Lgamma(x)
		return l, float64(sign)
	}
	lc, sc := logGamma(c)
	lg, sg := logGamma(g)
	ls, ss := logGamma(s)
	lb, sb := logGamma(b)
	lmg, smg := logGamma(-g)
	lA, sA := logGamma(A)
	lB, sB := logGamma(B)
	g1 := sc * sg * ss * sb * math.Exp(lc+lg-ls-lb)
	g2 := 0.0
	if !math.IsInf(lA, 1) && !math.IsInf(lB, 1) {
		g2 = sc * smg * sA * sB * math.Exp(lc+lmg-lA-lB)
	}
	ok := isFinite(g1) && isFinite(g2) && !nearNonPositiveInt(1-g) && !nearNonPositiveInt(1+g)
	// Past their largest parameter the series' term ratios stay below
	// about w: from there the tail is bounded by the last term/(1−w).
	nmin := math.Max(math.Max(math.Abs(A), math.Abs(B)), math.Max(math.Max(s, b), math.Abs(g)+1))
	// The coefficients of both series, shared by the horizons; a horizon
	// that needs more than were computed extends them.
	var co1, co2 [maxCurveTerms]float64
	have := 0
	c1, c2 := 1.0, 1.0
	for i, t := range ts {
		if z[i] <= reflectAbove || !(t > 0) || math.IsInf(t, 1) {
			continue
		}
		if !ok || nmin > maxReflected {
			out[i] = bgExpected(s, beta, a, b, t)
			continue
		}
		w := beta / (beta + t)
		lw := math.Log(w)
		e1, e2 := g1*math.Exp((a-1)*lw), g2*math.Exp(s*lw)
		// Sum until the next terms cannot move the result by a relative
		// curveTol; mag follows the largest partial terms, whose rounding
		// bounds the result's precision.
		f1, f2, conv := e1, e2, false
		mag := math.Abs(e1) + math.Abs(e2)
		wk := 1.0
		for k := 0; k < maxCurveTerms; k++ {
			if k == have {
				fk := float64(k)
				c1 *= (A + fk) * (B + fk) / ((1 - g + fk) * (fk + 1))
				c2 *= (s + fk) * (b + fk) / ((1 + g + fk) * (fk + 1))
				co1[k], co2[k] = c1, c2
				have++
			}
			wk *= w
			t1, t2 := e1*co1[k]*wk, e2*co2[k]*wk
			f1 += t1
			f2 += t2
			d := math.Abs(t1) + math.Abs(t2)
			if d > mag {
				mag = d
			}
			if float64(k) >= nmin && d <= curveTol*(1-w)*math.Abs(1-f1-f2) {
				conv = true
				break
			}
		}
		r := 1 - f1 - f2
		if !conv || !isFinite(r) || mag > 1e3*math.Abs(r) {
			out[i] = bgExpected(s, beta, a, b, t)
			continue
		}
		out[i] = c / (a - 1) * r
	}
}

// maxCurveTerms bounds the terms of a reflected series: with w ≤ 1/2 and
// parameters up to maxReflected, 1e-14 is reached well before.
const maxCurveTerms = 256
