package clv

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// BGBBParams are the parameters of the beta-geometric/beta-binomial model
// of Fader, Hardie & Shang (2010) for discrete-time data (one transaction
// opportunity per period: a yearly donation, a weekly visit): while alive a
// customer transacts at each opportunity with probability p ~ Beta(Alpha,
// Beta), and drops out before each following opportunity with probability
// θ ~ Beta(Gamma, Delta).
type BGBBParams struct {
	Alpha, Beta, Gamma, Delta float64
}

func (p BGBBParams) valid() bool {
	for _, v := range [...]float64{p.Alpha, p.Beta, p.Gamma, p.Delta} {
		if !(v > 0) || math.IsInf(v, 1) {
			return false
		}
	}
	return true
}

// BGBB is a BG/BB model. A customer's history is (x, tx, n): x transactions
// in n opportunities after the first (acquisition) one, the last at
// opportunity tx (0 when x = 0).
type BGBB struct{ P BGBBParams }

// LogLikelihood is ln L(x, tx, n) (FHS 2010, eq. 5):
//
//	L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
//	  + Σ_{i=0}^{n−tx−1} B(α+x, β+tx−x+i)/B(α,β) · B(γ+1, δ+tx+i)/B(γ,δ),
//
// alive through all n opportunities, or dropped out after opportunity
// tx + i. The sum has n − tx terms, so the work is bounded by n.
func (m BGBB) LogLikelihood(x, tx, n float64) float64 {
	p := m.P
	if !p.valid() || x < 0 || tx < x || n < tx || (x > 0 && tx < 1) || math.IsInf(n, 1) {
		return math.NaN()
	}
	lab, lgd := lbeta(p.Alpha, p.Beta), lbeta(p.Gamma, p.Delta)
	ll := lbeta(p.Alpha+x, p.Beta+n-x) - lab + lbeta(p.Gamma, p.Delta+n) - lgd
	for i := 0.0; i <= n-tx-1; i++ {
		ll = logAddExp(ll, lbeta(p.Alpha+x, p.Beta+tx-x+i)-lab+lbeta(p.Gamma+1, p.Delta+tx+i)-lgd)
	}
	return ll
}

// ExpectedPurchases is E[X(n)], the expected number of transactions of a
// new customer in the n opportunities after acquisition (FHS 2010, eq. 7):
//
//	α/(α+β) · δ/(γ−1) · [1 − Γ(γ+δ)Γ(1+δ+n) / (Γ(γ+δ+n)Γ(1+δ))],
//
// computed through its γ → 1 continuous form Σ_{t=1..n} α/(α+β)·B(γ, δ+t)/B(γ, δ)
// when γ is near 1.
func (m BGBB) ExpectedPurchases(n float64) float64 {
	p := m.P
	if !p.valid() || n < 0 {
		return math.NaN()
	}
	mean := p.Alpha / (p.Alpha + p.Beta)
	if math.Abs(p.Gamma-1) < 1e-6 {
		var s float64
		for t := 1.0; t <= n; t++ {
			s += math.Exp(lbeta(p.Gamma, p.Delta+t) - lbeta(p.Gamma, p.Delta))
		}
		return mean * s
	}
	r := math.Exp(lgamma(p.Gamma+p.Delta) + lgamma(1+p.Delta+n) - lgamma(p.Gamma+p.Delta+n) - lgamma(1+p.Delta))
	return mean * p.Delta / (p.Gamma - 1) * (1 - r)
}

// ConditionalExpectedPurchases is the expected number of transactions in
// the next nStar opportunities of a customer with history (x, tx, n)
// (FHS 2010, eq. 13):
//
//	1/L · B(α+x+1, β+n−x)/B(α,β) · δ/(γ−1) · Γ(γ+δ)/Γ(1+δ)
//	    · [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)].
func (m BGBB) ConditionalExpectedPurchases(nStar, x, tx, n float64) float64 {
	p := m.P
	ll := m.LogLikelihood(x, tx, n)
	if math.IsNaN(ll) || nStar < 0 {
		return math.NaN()
	}
	if math.Abs(p.Gamma-1) < 1e-6 {
		// Continuous form: Σ_{t=1..n*} P(alive at n+t) · E[p | history].
		var s float64
		for t := 1.0; t <= nStar; t++ {
			s += math.Exp(lbeta(p.Alpha+x+1, p.Beta+n-x) - lbeta(p.Alpha, p.Beta) + lbeta(p.Gamma, p.Delta+n+t) - lbeta(p.Gamma, p.Delta) - ll)
		}
		return s
	}
	a := lgamma(1+p.Delta+n) - lgamma(p.Gamma+p.Delta+n)
	b := lgamma(1+p.Delta+n+nStar) - lgamma(p.Gamma+p.Delta+n+nStar)
	diff := math.Exp(a) - math.Exp(b)
	lc := lbeta(p.Alpha+x+1, p.Beta+n-x) - lbeta(p.Alpha, p.Beta) + lgamma(p.Gamma+p.Delta) - lgamma(1+p.Delta) - ll
	return math.Exp(lc) * p.Delta / (p.Gamma - 1) * diff
}

// BGBBCustomer is one row of discrete-time data: X transactions in N
// opportunities, the last at TX, standing for W identical customers (0
// means 1).
type BGBBCustomer struct {
	X, TX, N, W float64
}

// FitBGBB fits the BG/BB model by maximum likelihood (BFGS on the
// log-parameters with central-difference gradients; the data are one row
// per (x, tx, n) pattern, so the likelihood is cheap), from five starting
// points, checking ctx. Histories must satisfy 0 ≤ x ≤ tx ≤ n, tx ≥ 1 when
// x > 0, with x, tx, n whole numbers and n at most 10,000 opportunities.
func FitBGBB(ctx context.Context, data []BGBBCustomer, o FitOptions) (BGBB, FitResult, error) {
	o = o.withDefaults()
	var n float64
	for i, c := range data {
		w := c.W
		if w == 0 {
			w = 1
		}
		if math.IsNaN(w) || w < 0 || math.IsInf(w, 1) {
			return BGBB{}, FitResult{}, fmt.Errorf("clv: row %d: weight %v must be finite and ≥ 0", i, c.W)
		}
		whole := func(v float64) bool { return v == math.Trunc(v) && v >= 0 }
		if !whole(c.X) || !whole(c.TX) || !whole(c.N) || c.X > c.TX || c.TX > c.N || (c.X > 0 && c.TX < 1) || c.N > 10000 {
			return BGBB{}, FitResult{}, fmt.Errorf("clv: row %d: need whole numbers 0 ≤ x ≤ tx ≤ n ≤ 10000 with tx ≥ 1 when x > 0, got x=%v tx=%v n=%v", i, c.X, c.TX, c.N)
		}
		data[i].W = w
		n += w
	}
	if n == 0 {
		return BGBB{}, FitResult{}, errors.New("clv: no customers to fit")
	}
	meanLL := func(p BGBBParams) float64 {
		m := BGBB{P: p}
		var s float64
		for _, c := range data {
			s += c.W * m.LogLikelihood(c.X, c.TX, c.N)
		}
		return s / n
	}
	obj := func(v, grad []float64) float64 {
		p := BGBBParams{math.Exp(v[0]), math.Exp(v[1]), math.Exp(v[2]), math.Exp(v[3])}
		if !p.valid() {
			return math.Inf(1)
		}
		f := -meanLL(p)
		const h = 1e-6
		for i := range grad {
			up := append([]float64(nil), v...)
			dn := append([]float64(nil), v...)
			up[i] += h
			dn[i] -= h
			pu := BGBBParams{math.Exp(up[0]), math.Exp(up[1]), math.Exp(up[2]), math.Exp(up[3])}
			pd := BGBBParams{math.Exp(dn[0]), math.Exp(dn[1]), math.Exp(dn[2]), math.Exp(dn[3])}
			grad[i] = (-meanLL(pu) + meanLL(pd)) / (2 * h)
		}
		if o.Penalizer > 0 {
			for i, th := range [...]float64{p.Alpha, p.Beta, p.Gamma, p.Delta} {
				f += o.Penalizer * th * th
				grad[i] += 2 * o.Penalizer * th * th
			}
		}
		return f
	}
	starts := [][4]float64{{1, 1, 1, 1}, {0.5, 0.5, 0.5, 2}, {2, 1, 0.8, 3}, {1, 3, 2, 1}, {0.3, 0.3, 0.3, 0.3}}
	best := optResult{f: math.Inf(1)}
	// Central differences are accurate to ~1e−10: the gradient test is
	// looser than for the analytic fits.
	tol := math.Max(o.Tol, 1e-7)
	for s := 0; s < o.Starts; s++ {
		st := starts[s%len(starts)]
		x0 := []float64{math.Log(st[0]), math.Log(st[1]), math.Log(st[2]), math.Log(st[3])}
		res, err := bfgs(ctx, obj, x0, nil, o.MaxIter, tol)
		if err != nil {
			return BGBB{}, FitResult{N: int(math.Round(n))}, fmt.Errorf("clv: BG/BB fit stopped: %w", err)
		}
		if res.f < best.f {
			best = res
		}
	}
	out := FitResult{N: int(math.Round(n))}
	if best.x == nil || !isFinite(best.f) {
		return BGBB{}, out, errors.New("clv: BG/BB likelihood is not finite at any starting point")
	}
	p := BGBBParams{math.Exp(best.x[0]), math.Exp(best.x[1]), math.Exp(best.x[2]), math.Exp(best.x[3])}
	out.LogLikelihood = meanLL(p) * n
	out.Converged, out.Iterations = best.converged, best.iters
	return BGBB{P: p}, out, nil
}

// NameBGBB is the BG/BB purchase model's name.
const NameBGBB = "bgbb"

var _ PurchaseModel = BGBB{}

// Name is "bgbb".
func (m BGBB) Name() string { return NameBGBB }

// Params returns the parameters in the generic form: R = α, Alpha = β
// (the Beta distribution of the transaction probability), A = γ, B = δ
// (that of the dropout probability).
func (m BGBB) Params() Params {
	return Params{R: m.P.Alpha, Alpha: m.P.Beta, A: m.P.Gamma, B: m.P.Delta}
}

// PAlive is P(alive at opportunity n+1 | x, tx, n) (FHS 2010, eq. 11): the
// branch "alive through all n opportunities and the next" of the
// likelihood, B(α+x, β+n−x)/B(α,β) · B(γ, δ+n+1)/B(γ,δ) / L(x, tx, n).
func (m BGBB) PAlive(x, tx, n float64) float64 {
	p := m.P
	ll := m.LogLikelihood(x, tx, n)
	if math.IsNaN(ll) {
		return math.NaN()
	}
	v := math.Exp(lbeta(p.Alpha+x, p.Beta+n-x) - lbeta(p.Alpha, p.Beta) + lbeta(p.Gamma, p.Delta+n+1) - lbeta(p.Gamma, p.Delta) - ll)
	return math.Min(v, 1)
}

// ProbNoPurchase is P(no transaction in the next h opportunities | x, tx,
// n), h rounded down to whole opportunities: the likelihood L(x, tx, n) is
// the probability of the history, so the history extended by h empty
// opportunities has probability L(x, tx, n+h), and the conditional
// probability is their ratio.
func (m BGBB) ProbNoPurchase(h, x, tx, n float64) float64 {
	if h < 0 || math.IsNaN(h) {
		return math.NaN()
	}
	h = math.Floor(h)
	if h == 0 {
		return 1
	}
	return math.Min(1, math.Exp(m.LogLikelihood(x, tx, n+h)-m.LogLikelihood(x, tx, n)))
}

// ProbPurchases is P(X(n) = k), the probability of k transactions in the
// n opportunities after acquisition (FHS 2010, eq. 8): alive through all n
// with k of n transactions, or dropped out after opportunity i (k ≤ i < n)
// with k of i,
//
//	C(n,k) B(α+k, β+n−k)/B(α,β) · B(γ, δ+n)/B(γ,δ)
//	+ Σ_{i=k}^{n−1} C(i,k) B(α+k, β+i−k)/B(α,β) · B(γ+1, δ+i)/B(γ,δ),
//
// n rounded down (at most n terms).
func (m BGBB) ProbPurchases(k int, n float64) float64 {
	p := m.P
	if !p.valid() || k < 0 || n < 0 || math.IsNaN(n) {
		return math.NaN()
	}
	n = math.Floor(n)
	kf := float64(k)
	if kf > n {
		return 0
	}
	lchoose := func(a, b float64) float64 { return lgamma(a+1) - lgamma(b+1) - lgamma(a-b+1) }
	lab, lgd := lbeta(p.Alpha, p.Beta), lbeta(p.Gamma, p.Delta)
	sum := math.Exp(lchoose(n, kf) + lbeta(p.Alpha+kf, p.Beta+n-kf) - lab + lbeta(p.Gamma, p.Delta+n) - lgd)
	for i := kf; i < n; i++ {
		sum += math.Exp(lchoose(i, kf) + lbeta(p.Alpha+kf, p.Beta+i-kf) - lab + lbeta(p.Gamma+1, p.Delta+i) - lgd)
	}
	return sum
}

// Discrete reports whether data are discrete-time histories that BG/BB
// can model: every x, tx and T a whole number (in the time unit: one
// transaction opportunity per unit) with x ≤ tx ≤ T, tx ≥ 1 when x > 0,
// and T at most 10,000 opportunities. Continuous purchase times (the
// usual event streams) are not.
func Discrete(data []Customer) bool {
	if len(data) == 0 {
		return false
	}
	whole := func(v float64) bool { return v == math.Trunc(v) && v >= 0 }
	for _, c := range data {
		if !whole(c.X) || !whole(c.TX) || !whole(c.T) || c.X > c.TX || c.TX > c.T || (c.X > 0 && c.TX < 1) || c.T > 10000 {
			return false
		}
	}
	return true
}
