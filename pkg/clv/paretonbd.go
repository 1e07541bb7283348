package clv

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// ParetoNBDParams are the parameters of the Pareto/NBD model of Schmittlein,
// Morrison & Colombo (1987): while alive a customer buys at Poisson rate
// λ ~ Gamma(R, Alpha); the lifetime is exponential with rate μ ~ Gamma(S,
// Beta).
type ParetoNBDParams struct {
	R, Alpha, S, Beta float64
}

func (p ParetoNBDParams) valid() bool {
	for _, v := range [...]float64{p.R, p.Alpha, p.S, p.Beta} {
		if !(v > 0) || math.IsInf(v, 1) {
			return false
		}
	}
	return true
}

// ParetoNBD is a Pareto/NBD model; histories are (x, tx, T) as in Customer.
type ParetoNBD struct{ P ParetoNBDParams }

// hyp2f1c returns ln ₂F₁(a, b; a+1; z) for 0 ≤ z < 1 by its series, whose
// term ratio (a+n)(b+n)z/((a+1+n)(n+1)) tends to z: at most 100,000 terms
// (z up to about 0.9996); NaN beyond.
func hyp2f1c(a, b, z float64) float64 {
	if z == 0 {
		return 0
	}
	term, sum := 1.0, 1.0
	for n := 0.0; n < 1e5; n++ {
		term *= (a + n) * (b + n) / ((a + 1 + n) * (n + 1)) * z
		sum += term
		if term <= 1e-17*sum && n > b {
			return math.Log(sum)
		}
		if math.IsInf(sum, 1) {
			return math.NaN()
		}
	}
	return math.NaN()
}

// LogLikelihood is ln L(x, tx, T) of Fader, Hardie & Lee (2005), "A Note
// on Deriving the Pareto/NBD Model and Related Expressions", eq. 22:
//
//	L = Γ(r+x) α^r β^s / Γ(r) · [ 1/((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A₀ ],
//
// with, for α ≥ β (and symmetrically, swapping the roles, for α < β),
//
//	A₀ = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+tx)) / (α+tx)^(r+s+x)
//	   − ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+T)) / (α+T)^(r+s+x),
//
// computed in logarithms. It returns NaN outside the domain or where the
// series would need more than 100,000 terms.
func (m ParetoNBD) LogLikelihood(x, tx, T float64) float64 {
	base, alive, dead := m.terms(x, tx, T)
	return base + logAddExp(alive, dead)
}

// terms returns the logarithms of the three parts of the likelihood
// L = e^base · (e^alive + e^dead): the constant, the branch "alive at T"
// 1/((α+T)^(r+x) (β+T)^s) and the branch "dropped out in (tx, T]"
// s/(r+s+x)·A₀. NaN outside the domain.
func (m ParetoNBD) terms(x, tx, T float64) (base, alive, dead float64) {
	p := m.P
	if !p.valid() || !validHistory(x, tx, T) || (x == 0 && tx != 0) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	var dead0 float64
	if z := math.Abs(p.Alpha-p.Beta) / (math.Max(p.Alpha, p.Beta) + tx); z > 0.98 {
		// The series needs thousands of terms (they fall like z^n): integrate.
		dead0 = paretoDeadQuad(p, x, tx, T)
	} else {
		dead0 = paretoDeadSeries(p, x, tx, T)
	}
	if math.IsNaN(dead0) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	base = lgamma(p.R+x) - lgamma(p.R) + p.R*math.Log(p.Alpha) + p.S*math.Log(p.Beta)
	alive = -(p.R+x)*math.Log(p.Alpha+T) - p.S*math.Log(p.Beta+T)
	return base, alive, dead0
}

// paretoDeadSeries is ln(s/(r+s+x)·A₀) by the ₂F₁ series (see
// LogLikelihood).
func paretoDeadSeries(p ParetoNBDParams, x, tx, T float64) float64 {
	a1 := p.R + p.S + x
	var lf1, lf2, ld1, ld2 float64
	if p.Alpha >= p.Beta {
		b1 := p.S + 1
		lf1, lf2 = hyp2f1c(a1, b1, (p.Alpha-p.Beta)/(p.Alpha+tx)), hyp2f1c(a1, b1, (p.Alpha-p.Beta)/(p.Alpha+T))
		ld1, ld2 = a1*math.Log(p.Alpha+tx), a1*math.Log(p.Alpha+T)
	} else {
		b1 := p.R + x
		lf1, lf2 = hyp2f1c(a1, b1, (p.Beta-p.Alpha)/(p.Beta+tx)), hyp2f1c(a1, b1, (p.Beta-p.Alpha)/(p.Beta+T))
		ld1, ld2 = a1*math.Log(p.Beta+tx), a1*math.Log(p.Beta+T)
	}
	u, v := lf1-ld1, lf2-ld2 // A₀ = e^u − e^v ≥ 0
	switch {
	case math.IsNaN(u) || math.IsNaN(v):
		return math.NaN()
	case v >= u:
		return math.Inf(-1)
	}
	return math.Log(p.S/a1) + u + math.Log(-math.Expm1(v-u))
}

// paretoDeadQuad is ln(s/(r+s+x)·A₀) from its definition as the integral
// over the dropout time τ in (tx, T] (the derivation of Fader, Hardie &
// Lee's note),
//
//	s/(r+s+x)·A₀ = ∫_tx^T s (β+τ)^(−(s+1)) (α+τ)^(−(r+x)) dτ,
//
// by composite 8-point Gauss–Legendre quadrature on u = ln(c+τ), c =
// min(α, β), where the integrand is smooth: 10 panels of doubling width,
// a fixed amount of work, relative error below 1e-9 in the tests.
func paretoDeadQuad(p ParetoNBDParams, x, tx, T float64) float64 {
	if T <= tx {
		return math.Inf(-1)
	}
	c := math.Min(p.Alpha, p.Beta)
	d := math.Abs(p.Alpha - p.Beta)
	lo, hi := math.Log(c+tx), math.Log(c+T)
	// ln of integrand · dτ/du: one of ln(α+τ), ln(β+τ) is u itself.
	ea, eb := p.R+x, p.S+1
	if p.Alpha > p.Beta {
		ea, eb = eb, ea
	}
	ls := math.Log(p.S)
	lf := func(u float64) float64 {
		return ls - ea*u - eb*math.Log(math.Exp(u)+d) + u
	}
	// Panels double in width from tx on: the integrand falls fastest there
	// (like (α+τ)^(−(r+x)) for a frequent buyer).
	const panels = 10
	const span = 1<<panels - 1
	var vals [panels * 8]float64
	var ws [panels * 8]float64
	mx := math.Inf(-1)
	for k := 0; k < panels; k++ {
		a, b := lo+(hi-lo)*float64(int(1)<<k-1)/span, lo+(hi-lo)*float64(int(1)<<(k+1)-1)/span
		mid, half := (a+b)/2, (b-a)/2
		for i, z := range gl8x {
			j := k*8 + i
			vals[j] = lf(mid + half*z)
			ws[j] = half * gl8w[i]
			mx = math.Max(mx, vals[j])
		}
	}
	var sum float64
	for j := range vals {
		sum += ws[j] * math.Exp(vals[j]-mx)
	}
	return mx + math.Log(sum)
}

// FitParetoNBD fits Pareto/NBD by maximum likelihood (BFGS on the
// log-parameters with central-difference gradients on the grouped rows,
// from o.Starts starting points, checking ctx).
func FitParetoNBD(ctx context.Context, data []Customer, o FitOptions) (ParetoNBD, FitResult, error) {
	o = o.withDefaults()
	d, err := newPurchaseData(data)
	if err != nil {
		return ParetoNBD{}, FitResult{}, err
	}
	// The rows are summed in fixed chunks on all cores, combined in order
	// (the result does not depend on scheduling).
	meanLLOf := func(d *purchaseData, p ParetoNBDParams) float64 {
		m := ParetoNBD{P: p}
		const chunk = 4096
		parts := make([]float64, (len(d.w)+chunk-1)/chunk)
		parallel(len(parts), func(c int) {
			var s float64
			for i := c * chunk; i < min((c+1)*chunk, len(d.w)); i++ {
				s += d.w[i] * m.LogLikelihood(d.xs[d.xi[i]], d.txs[d.txi[i]], d.ts[d.ti[i]])
			}
			parts[c] = s
		})
		var s float64
		for _, v := range parts {
			s += v
		}
		return s / d.n
	}
	fromLog := func(v []float64) ParetoNBDParams {
		return ParetoNBDParams{math.Exp(v[0]), math.Exp(v[1]), math.Exp(v[2]), math.Exp(v[3])}
	}
	objOf := func(d *purchaseData) objective {
		meanLL := func(p ParetoNBDParams) float64 { return meanLLOf(d, p) }
		return func(v, grad []float64) float64 {
			p := fromLog(v)
			if !p.valid() {
				return math.Inf(1)
			}
			f := -meanLL(p)
			if !isFinite(f) {
				return math.Inf(1)
			}
			const h = 1e-6
			for i := range grad {
				up := append([]float64(nil), v...)
				dn := append([]float64(nil), v...)
				up[i] += h
				dn[i] -= h
				grad[i] = (meanLL(fromLog(dn)) - meanLL(fromLog(up))) / (2 * h)
			}
			if o.Penalizer > 0 {
				for i, th := range [...]float64{p.R, p.Alpha, p.S, p.Beta} {
					f += o.Penalizer * th * th
					grad[i] += 2 * o.Penalizer * th * th
				}
			}
			return f
		}
	}
	rate := d.sumX / math.Max(d.sumT, 1e-300)
	if !(rate > 0) {
		rate = 1 / math.Max(d.sumT/d.n, 1)
	}
	meanT := d.sumT / d.n
	starts := [][2]float64{{1, 1}, {0.5, 0.5}, {0.3, 2}, {2, 0.3}, {1, 5}}
	best := optResult{f: math.Inf(1)}
	tol := math.Max(o.Tol, 1e-7) // central differences
	// The starts are screened on a subsample (every k-th row, at most
	// screenRows) and the best one refined on all rows.
	screen := d.subsampleN(screenRows)
	obj := objOf(screen)
	for s := 0; s < o.Starts; s++ {
		st := starts[s%len(starts)]
		x0 := []float64{math.Log(st[0]), math.Log(st[0] / rate), math.Log(st[1]), math.Log(st[1] * meanT)}
		res, err := bfgs(ctx, obj, x0, nil, o.MaxIter, tol)
		if err != nil {
			return ParetoNBD{}, FitResult{N: int(math.Round(d.n))}, fmt.Errorf("clv: Pareto/NBD fit stopped: %w", err)
		}
		if res.f < best.f {
			best = res
		}
	}
	out := FitResult{N: int(math.Round(d.n))}
	if best.x == nil || !isFinite(best.f) {
		return ParetoNBD{}, out, errors.New("clv: Pareto/NBD likelihood is not finite at any starting point")
	}
	iters := best.iters
	if screen != d {
		res, err := bfgs(ctx, objOf(d), best.x, best.h, o.MaxIter, tol)
		if err != nil {
			return ParetoNBD{}, out, fmt.Errorf("clv: Pareto/NBD fit stopped: %w", err)
		}
		best, iters = res, iters+res.iters
		best.iters = iters
	}
	p := fromLog(best.x)
	out.LogLikelihood = meanLLOf(d, p) * d.n
	out.Converged, out.Iterations = best.converged, best.iters
	return ParetoNBD{P: p}, out, nil
}

// NameParetoNBD is the Pareto/NBD purchase model's name.
const NameParetoNBD = "paretonbd"

// Name is "paretonbd".
func (m ParetoNBD) Name() string { return NameParetoNBD }

// Params returns the parameters in the generic form: R and Alpha as in
// BG/NBD, A = s and B = β (the Gamma mixing distribution of the dropout
// rate).
func (m ParetoNBD) Params() Params {
	return Params{R: m.P.R, Alpha: m.P.Alpha, A: m.P.S, B: m.P.Beta}
}

// PAlive is P(alive at T | x, tx, T), the share of the likelihood in the
// branch "alive at T" (Schmittlein, Morrison & Colombo 1987; Fader, Hardie
// & Lee 2005, "A Note on Deriving the Pareto/NBD Model and Related
// Expressions"): 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A₀).
func (m ParetoNBD) PAlive(x, tx, T float64) float64 {
	_, alive, dead := m.terms(x, tx, T)
	if math.IsNaN(alive) || math.IsNaN(dead) {
		return math.NaN()
	}
	return logistic(alive - dead)
}

// paretoRate is (r'/α')·(β'/(s−1))·[1 − (β'/(β'+t))^(s−1)]: the expected
// purchases in the next t of a customer alive now with posterior rate
// λ ~ Gamma(r', α') and dropout rate μ ~ Gamma(s, β') (the limit
// (r'/α')·β'·ln((β'+t)/β') at s = 1).
func paretoRate(r, alpha, s, beta, t float64) float64 {
	l := math.Log(beta / (beta + t)) // ≤ 0
	var f float64
	if math.Abs(s-1) < 1e-9 {
		f = -l
	} else {
		f = -math.Expm1((s-1)*l) / (s - 1)
	}
	return r / alpha * beta * f
}

// ExpectedPurchases is E[X(t)] of a new customer, r·β/(α(s−1))·[1 −
// (β/(β+t))^(s−1)] (Schmittlein, Morrison & Colombo 1987).
func (m ParetoNBD) ExpectedPurchases(t float64) float64 {
	p := m.P
	if !p.valid() || t < 0 || math.IsNaN(t) {
		return math.NaN()
	}
	return paretoRate(p.R, p.Alpha, p.S, p.Beta, t)
}

// ConditionalExpectedPurchases is E[Y(t) | x, tx, T] = P(alive) ·
// (r+x)(β+T)/((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] (Schmittlein,
// Morrison & Colombo 1987; Fader, Hardie & Lee's note): given alive at T
// the posteriors are λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T).
func (m ParetoNBD) ConditionalExpectedPurchases(t, x, tx, T float64) float64 {
	p := m.P
	if t < 0 || math.IsNaN(t) {
		return math.NaN()
	}
	pa := m.PAlive(x, tx, T)
	if math.IsNaN(pa) || t == 0 {
		return pa * 0
	}
	return pa * paretoRate(p.R+x, p.Alpha+T, p.S, p.Beta+T, t)
}

// ProbNoPurchase is P(no purchase in (T, T+h] | x, tx, T). The likelihood
// L(x, tx, T) is the probability (density) of the purchases at their times
// and none in (tx, T], so a history with no purchase up to T+h has
// likelihood L(x, tx, T+h), and
//
//	P(Y(h) = 0 | x, tx, T) = L(x, tx, T+h) / L(x, tx, T),
//
// computed as the difference of the closed-form log-likelihoods.
func (m ParetoNBD) ProbNoPurchase(h, x, tx, T float64) float64 {
	if h < 0 || math.IsNaN(h) {
		return math.NaN()
	}
	if h == 0 {
		return 1
	}
	v := math.Exp(m.LogLikelihood(x, tx, T+h) - m.LogLikelihood(x, tx, T))
	return math.Min(v, 1)
}

// ProbPurchases is P(X(t) = n) for a new customer. Given λ and the dropout
// time τ ~ Exp(μ), X(t) is Poisson(λ·min(τ, t)); averaging over λ ~
// Gamma(r, α) and μ ~ Gamma(s, β),
//
//	P(X(t)=n) = (β/(β+t))^s · NB(n; t) + ∫₀^t s/β (β/(β+u))^(s+1) NB(n; u) du,
//
// NB(n; u) = Γ(r+n)/(Γ(r) n!) (α/(α+u))^r (u/(α+u))^n the negative
// binomial probability of n purchases in u (alive throughout, or dropped
// out at u < t). With w = 1 − (β/(β+u))^s (the dropout distribution) the
// integral is ∫₀^W NB(n; u(w)) dw, W = 1 − (β/(β+t))^s, of a function in
// [0, 1]; it is computed by composite Gauss–Legendre quadrature, 64
// panels of 8 nodes: a bounded amount of work (our derivation).
func (m ParetoNBD) ProbPurchases(n int, t float64) float64 {
	p := m.P
	if !p.valid() || n < 0 || t < 0 || math.IsNaN(t) {
		return math.NaN()
	}
	if t == 0 {
		if n == 0 {
			return 1
		}
		return 0
	}
	nf := float64(n)
	lc := lgamma(p.R+nf) - lgamma(p.R) - lgamma(nf+1)
	nb := func(u float64) float64 {
		if u <= 0 {
			if n == 0 {
				return 1
			}
			return 0
		}
		return math.Exp(lc + p.R*math.Log(p.Alpha/(p.Alpha+u)) + nf*math.Log(u/(p.Alpha+u)))
	}
	lsurv := p.S * math.Log(p.Beta/(p.Beta+t))
	W := -math.Expm1(lsurv)
	const panels = 64
	var integral float64
	for k := 0; k < panels; k++ {
		lo, hi := W*float64(k)/panels, W*float64(k+1)/panels
		mid, half := (lo+hi)/2, (hi-lo)/2
		for i, z := range gl8x {
			w := mid + half*z
			u := p.Beta * math.Expm1(-math.Log1p(-w)/p.S) // u(w) = β((1−w)^(−1/s) − 1)
			integral += half * gl8w[i] * nb(u)
		}
	}
	return math.Exp(lsurv)*nb(t) + integral
}

// 8-point Gauss–Legendre nodes and weights on [−1, 1].
var (
	gl8x = [8]float64{-0.9602898564975363, -0.7966664774136267, -0.5255324099163290, -0.1834346424956498,
		0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363}
	gl8w = [8]float64{0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.3626837833783620,
		0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763}
)
