package clv

import (
	"math"
	"sync"
)

// This file holds the special functions the probabilistic models need and
// the Go standard library lacks: the digamma function, log-beta, a stable
// log(e^u + e^v), the expectation at the heart of every BG/NBD forecast
// (bgExpected) and an independent quadrature of that expectation.

// digamma returns ψ(x) = d/dx ln Γ(x) for x > 0. It shifts x up to 10 with
// the recurrence ψ(x) = ψ(x+1) − 1/x and then uses the asymptotic series
// ψ(x) ≈ ln x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ) (k ≤ 7), whose truncation error
// at x ≥ 10 is below 1e-16.
func digamma(x float64) float64 {
	if math.IsNaN(x) || x <= 0 {
		return math.NaN()
	}
	if math.IsInf(x, 1) {
		return math.Inf(1)
	}
	var acc float64
	for x < 10 {
		acc -= 1 / x
		x++
	}
	f := 1 / (x * x)
	// Bernoulli-number coefficients B₂ₖ/(2k): 1/12, 1/120, 1/252, 1/240, 1/132, 691/32760, 1/12.
	series := f * (1.0/12 - f*(1.0/120-f*(1.0/252-f*(1.0/240-f*(1.0/132-f*(691.0/32760-f/12))))))
	return acc + math.Log(x) - 0.5/x - series
}

// lgamma is math.Lgamma without the sign (all arguments here are positive).
func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// lbeta returns ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a+b) for a, b > 0.
func lbeta(a, b float64) float64 {
	return lgamma(a) + lgamma(b) - lgamma(a+b)
}

// logAddExp returns ln(e^u + e^v) without overflow.
func logAddExp(u, v float64) float64 {
	if u < v {
		u, v = v, u
	}
	if math.IsInf(v, -1) {
		return u
	}
	return u + math.Log1p(math.Exp(v-u))
}

// logistic returns 1/(1+e^(−u)) without overflow.
func logistic(u float64) float64 {
	if u >= 0 {
		return 1 / (1 + math.Exp(-u))
	}
	e := math.Exp(u)
	return e / (1 + e)
}

// bgExpected returns E[(1/p)(1 − e^(−λpt))] for λ ~ Gamma(shape s, rate β)
// and p ~ Beta(a, b): the expected number of purchases in (0, t] of a
// customer who is alive at 0, buys at Poisson rate λ and drops out with
// probability p after each purchase. This is the BG/NBD E[X(t)] (Fader,
// Hardie & Lee 2005, eq. 9),
//
//	(a+b−1)/(a−1) · [1 − (β/(β+t))^s · ₂F₁(s, b; a+b−1; t/(β+t))],
//
// and, with posterior parameters, the core of every conditional forecast.
//
// The hypergeometric term is evaluated after Euler's transformation,
// (1−z)^s ₂F₁(s, b; c; z) = (1−z)^(a−1) ₂F₁(c−s, a−1; c; z) with c = a+b−1,
// whose series has small numerator parameters even when s and b are huge
// (a customer with 10,000 purchases), so no term overflows. Near the
// removable singularity a = 1, when c is close to a non-positive integer, or
// when z = t/(β+t) is so close to 1 that the series would need too many
// terms, the expectation is integrated numerically over p instead
// (bgExpectedQuad).
func bgExpected(s, beta, a, b, t float64) float64 {
	if t <= 0 {
		return 0
	}
	if !(s > 0 && beta > 0 && a > 0 && b > 0) || math.IsNaN(t) {
		return math.NaN()
	}
	if math.IsInf(t, 1) {
		if a > 1 {
			return (a + b - 1) / (a - 1) // E[1/p]
		}
		return math.Inf(1)
	}
	z := t / (beta + t)
	c := a + b - 1
	// S = ₂F₁(A, B; c; z) − 1 with A = c−s, B = a−1. Past n = max(|A|, |B|)
	// the term ratio (A+n)(B+n)z/((c+n)(n+1)) stays below about z, so the
	// tail is bounded by about |term|/(1−z). When that takes more than
	// maxSeriesStart terms (a or c − s in the thousands: degenerate
	// parameters), the bounded quadrature is cheaper.
	A, B := c-s, a-1
	nmin := math.Max(math.Abs(A), math.Abs(B))
	if math.Abs(a-1) < 1e-6 || z > 0.995 || nearNonPositiveInt(c) || nmin > maxSeriesStart {
		return bgExpectedQuad(s, beta, a, b, t)
	}
	term, S := 1.0, 0.0
	converged := false
	for n := 0; n < 20*maxSeriesStart; n++ {
		fn := float64(n)
		term *= (A + fn) * (B + fn) / ((c + fn) * (fn + 1)) * z
		S += term
		if term == 0 || (fn >= nmin && math.Abs(term) <= 1e-14*math.Abs(S)*(1-z)) {
			converged = true
			break
		}
	}
	if !converged || !isFinite(S) {
		return bgExpectedQuad(s, beta, a, b, t)
	}
	u := (a - 1) * math.Log1p(-z)
	bracket := -math.Expm1(u) - math.Exp(u)*S
	return c / (a - 1) * bracket
}

// maxSeriesStart bounds the terms the series of bgExpected may need before
// its tail estimate applies.
const maxSeriesStart = 2000

// nearNonPositiveInt reports whether c is within 1e-6 of 0, −1, −2, …
func nearNonPositiveInt(c float64) bool {
	if c > 1e-6 {
		return false
	}
	return math.Abs(c-math.Round(c)) < 1e-6
}

// bgExpectedQuad computes the same expectation as bgExpected by numerical
// integration over the dropout probability p ~ Beta(a, b), with the λ
// expectation in closed form: E_λ[1 − e^(−λpt)] = 1 − (β/(β+pt))^s. The
// integral is split at p = 1/2; the lower half is integrated in u = ln p and
// the upper half in v = ln(1−p), which turns the endpoint singularities of the
// beta density into exponentially decaying tails, and each half is summed
// with 16-point Gauss–Legendre panels of width 1/2.
//
// The work is bounded whatever the parameters: each half is integrated
// numerically only down to a cut (u or v about −40, where p or 1−p is
// ~4e−18) and the remaining tail is added in closed form. Beyond the cut
// the integrand equals its limit (h(0)·p^(a−1), resp. h(1)·(1−p)^(b−1)) to
// a relative 1e−17, and ∫_{−∞}^{c} e^(a u) du = e^(a c)/a. Without this,
// a or b → 0 (a degenerate fit) would need ~40/a or ~40/b panels. It is
// valid for every a, b, s, β > 0 and t ≥ 0 and serves as the fallback of
// bgExpected and as an independent check of it in the tests.
func bgExpectedQuad(s, beta, a, b, t float64) float64 {
	if t <= 0 {
		return 0
	}
	lb := lbeta(a, b)
	tb := t / beta
	// h(p) = (1 − (1+p t/β)^(−s)) / p, bounded by s·t/β and by 1/p.
	h := func(p float64) float64 {
		if p*tb < 1e-300 {
			return s * tb
		}
		return -math.Expm1(-s*math.Log1p(p*tb)) / p
	}
	// Lower half: p = e^u, density p^(a−1)(1−p)^(b−1) dp = e^(a u)(1−e^u)^(b−1) du.
	lower := func(u float64) float64 {
		p := math.Exp(u)
		return h(p) * math.Exp(a*u+(b-1)*math.Log1p(-p)-lb)
	}
	// Upper half: 1−p = e^v, density = (1−e^v)^(a−1) e^(b v) dv.
	upper := func(v float64) float64 {
		q := math.Exp(v)
		p := -math.Expm1(v)
		return h(p) * math.Exp(b*v+(a-1)*math.Log1p(-q)-lb)
	}
	const cut = -40.0 // e^−40 ≈ 4.2e−18
	top := -math.Ln2
	// Below uCut, p·t/β < e^−40 as well, so h(p) = s·t/β to 1e−17.
	uCut := cut - math.Max(0, math.Log(tb))
	const tiny = 1e-18
	// Where the tail is negligible anyway, integrate less.
	hmax := math.Max(s*tb, 1)
	uMin := math.Min((math.Log(tiny)-math.Log(hmax)+lb+math.Log(a))/a, top-1)
	vMin := math.Min((math.Log(tiny)-math.Log(2)+lb+math.Log(b))/b, top-1)
	var sum float64
	if uMin >= uCut {
		sum += panelsGL(lower, uMin, top)
	} else {
		sum += panelsGL(lower, uCut, top) + s*tb*math.Exp(a*uCut-lb-math.Log(a))
	}
	if vMin >= cut {
		sum += panelsGL(upper, vMin, top)
	} else {
		sum += panelsGL(upper, cut, top) + h(1)*math.Exp(b*cut-lb-math.Log(b))
	}
	return sum
}

// panelsGL integrates f over [lo, hi] with 16-point Gauss–Legendre rules on
// panels of width at most 1/2.
func panelsGL(f func(float64) float64, lo, hi float64) float64 {
	nodes, weights := gaussLegendre16()
	n := int(math.Ceil((hi - lo) / 0.5))
	if n < 1 {
		n = 1
	}
	width := (hi - lo) / float64(n)
	var sum float64
	for i := 0; i < n; i++ {
		mid := lo + (float64(i)+0.5)*width
		var panel float64
		for k, x := range nodes {
			panel += weights[k] * f(mid+0.5*width*x)
		}
		sum += 0.5 * width * panel
	}
	return sum
}

var (
	glOnce    sync.Once
	glNodes   []float64
	glWeights []float64
)

// gaussLegendre16 returns the nodes and weights of the 16-point
// Gauss–Legendre rule on [−1, 1], computed once by Newton's method on the
// Legendre polynomial P₁₆ (three-term recurrence for P and its derivative).
func gaussLegendre16() ([]float64, []float64) {
	glOnce.Do(func() {
		const n = 16
		glNodes = make([]float64, n)
		glWeights = make([]float64, n)
		for i := 0; i < n; i++ {
			x := math.Cos(math.Pi * (float64(i) + 0.75) / (n + 0.5))
			var dp float64
			for iter := 0; iter < 100; iter++ {
				p0, p1 := 1.0, x
				for k := 2; k <= n; k++ {
					p0, p1 = p1, ((2*float64(k)-1)*x*p1-(float64(k)-1)*p0)/float64(k)
				}
				dp = n * (x*p1 - p0) / (x*x - 1)
				dx := p1 / dp
				x -= dx
				if math.Abs(dx) < 1e-16 {
					break
				}
			}
			glNodes[i] = x
			glWeights[i] = 2 / ((1 - x*x) * dp * dp)
		}
	})
	return glNodes, glWeights
}
