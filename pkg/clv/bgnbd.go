package clv

import (
	"math"
)

// Customer is one customer's calibration-period summary, the sufficient
// statistics of the BG/NBD, MBG/NBD and Gamma-Gamma models. All times are in
// one unit of the caller's choice (the CDNOW tests use weeks) measured from
// the customer's first purchase.
type Customer struct {
	// X is the number of repeat purchases (purchases after the first).
	X float64
	// TX is the recency: the time of the last repeat purchase (0 if X = 0).
	TX float64
	// T is the customer's age: the time from the first purchase to the end
	// of the calibration period. 0 ≤ TX ≤ T.
	T float64
	// M is the mean value of the repeat purchases (used by Gamma-Gamma only).
	M float64
	// W is the weight: the number of identical customers this row stands for.
	// 0 means 1.
	W float64
}

// weight returns the customer's weight, with 0 meaning 1.
func (c Customer) weight() float64 {
	if c.W == 0 {
		return 1
	}
	return c.W
}

// Params are the four parameters of a BG/NBD or MBG/NBD purchase model:
// the purchase rate λ of a customer is Gamma(shape R, rate Alpha)
// distributed, the dropout probability p is Beta(A, B) distributed. All four
// are positive; Alpha is in the caller's time unit.
type Params struct {
	R, Alpha, A, B float64
}

// valid reports whether all parameters are finite and positive.
func (p Params) valid() bool {
	for _, v := range [...]float64{p.R, p.Alpha, p.A, p.B} {
		if !(v > 0) || math.IsInf(v, 1) {
			return false
		}
	}
	return true
}

// PurchaseModel is a fitted (or given) BG/NBD or MBG/NBD model. x is a
// number of repeat purchases, tx the recency and T the age of a customer, as
// in Customer; t is a forecast horizon in the same time unit. Methods return
// NaN for parameters or inputs outside the model's domain (negative x, tx > T,
// non-positive parameters).
type PurchaseModel interface {
	// Name returns "bgnbd" or "mbgnbd".
	Name() string
	// Params returns the model parameters.
	Params() Params
	// LogLikelihood returns ln L(params | x, tx, T) for one customer. It is
	// computed with ln Γ and log-sum-exp, so it stays finite for very
	// large x.
	LogLikelihood(x, tx, T float64) float64
	// PAlive returns P(alive at T | x, tx, T).
	PAlive(x, tx, T float64) float64
	// ExpectedPurchases returns E[X(t)], the expected number of repeat
	// purchases in (0, t] of a new customer (one who made the first purchase
	// at time 0).
	ExpectedPurchases(t float64) float64
	// ConditionalExpectedPurchases returns E[Y(t) | x, tx, T], the expected
	// number of purchases in (T, T+t] of a customer with history (x, tx, T).
	ConditionalExpectedPurchases(t, x, tx, T float64) float64
	// ProbPurchases returns P(X(t) = n), the probability that a new customer
	// makes exactly n repeat purchases in (0, t].
	ProbPurchases(n int, t float64) float64
	// ProbNoPurchase returns P(Y(h) = 0 | x, tx, T), the probability that a
	// customer with history (x, tx, T) makes no purchase in (T, T+h]: the
	// churn probability over the horizon h.
	ProbNoPurchase(h, x, tx, T float64) float64
}

// NewBGNBD returns the BG/NBD model of Fader, Hardie & Lee (2005) with the
// given parameters: while alive a customer buys at Poisson rate λ, and after
// every repeat purchase drops out with probability p.
func NewBGNBD(p Params) PurchaseModel { return bgModel{p: p} }

// NewMBGNBD returns the MBG/NBD model of Batislam, Denizel & Filiztekin
// (2007) and Hoppe & Wagner (2007) (lifetimes' ModifiedBetaGeoFitter): as
// BG/NBD, but the customer may also drop out right at the first purchase
// (time 0), so customers without repeat purchases are not certainly alive.
func NewMBGNBD(p Params) PurchaseModel { return bgModel{p: p, modified: true} }

// bgModel implements both BG/NBD (modified = false) and MBG/NBD.
//
// Writing k for the number of dropout "coin flips" survived by a customer who
// is alive after x repeat purchases (k = x for BG/NBD, x+1 for MBG/NBD), the
// likelihood of (x, tx, T) given λ and p is
//
//	(1−p)^k λ^x e^(−λT)  +  [x > 0 or MBG] p (1−p)^(k−1) λ^x e^(−λ tx),
//
// alive at T or dead right after the last purchase. Integrating over λ and p
// gives B(a, b+k)/B(a,b) and B(a+1, b+k−1)/B(a,b) for the two dropout terms.
type bgModel struct {
	p        Params
	modified bool
}

func (m bgModel) Name() string {
	if m.modified {
		return "mbgnbd"
	}
	return "bgnbd"
}

func (m bgModel) Params() Params { return m.p }

// k returns the number of survived dropout opportunities of an alive customer.
func (m bgModel) k(x float64) float64 {
	if m.modified {
		return x + 1
	}
	return x
}

// validHistory reports whether (x, tx, T) is a possible customer history.
func validHistory(x, tx, T float64) bool {
	return x >= 0 && tx >= 0 && tx <= T && !math.IsInf(T, 1) && !math.IsInf(x, 1)
}

func (m bgModel) LogLikelihood(x, tx, T float64) float64 {
	p := m.p
	if !p.valid() || !validHistory(x, tx, T) {
		return math.NaN()
	}
	k := m.k(x)
	base := lgamma(p.R+x) - lgamma(p.R) + p.R*math.Log(p.Alpha) - lbeta(p.A, p.B)
	alive := lbeta(p.A, p.B+k) - (p.R+x)*math.Log(p.Alpha+T)
	if k == 0 {
		return base + alive
	}
	dead := lbeta(p.A+1, p.B+k-1) - (p.R+x)*math.Log(p.Alpha+tx)
	return base + logAddExp(alive, dead)
}

// PAlive is the ratio of the "alive" term of the likelihood to the whole:
//
//	1 / (1 + a/(b+k−1) · ((α+T)/(α+tx))^(r+x)),  and 1 for BG/NBD with x = 0.
func (m bgModel) PAlive(x, tx, T float64) float64 {
	p := m.p
	if !p.valid() || !validHistory(x, tx, T) {
		return math.NaN()
	}
	k := m.k(x)
	if k == 0 {
		return 1
	}
	logOdds := math.Log(p.A) - math.Log(p.B+k-1) + (p.R+x)*math.Log1p((T-tx)/(p.Alpha+tx))
	return logistic(-logOdds)
}

// ExpectedPurchases: a BG/NBD customer is alive at 0, so E[X(t)] is
// bgExpected(r, α, a, b, t); an MBG/NBD customer is alive at 0 with
// probability E[1−p] = b/(a+b), and given that p ~ Beta(a, b+1).
func (m bgModel) ExpectedPurchases(t float64) float64 {
	p := m.p
	if !p.valid() || t < 0 || math.IsNaN(t) {
		return math.NaN()
	}
	if m.modified {
		return p.B / (p.A + p.B) * bgExpected(p.R, p.Alpha, p.A, p.B+1, t)
	}
	return bgExpected(p.R, p.Alpha, p.A, p.B, t)
}

// ConditionalExpectedPurchases is P(alive) times the expected purchases of an
// alive customer, whose posterior is λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+k);
// this equals FHL (2005) eq. 10 for BG/NBD and Batislam et al. (2007) for
// MBG/NBD.
func (m bgModel) ConditionalExpectedPurchases(t, x, tx, T float64) float64 {
	p := m.p
	if !p.valid() || !validHistory(x, tx, T) || t < 0 || math.IsNaN(t) {
		return math.NaN()
	}
	if t == 0 {
		return 0
	}
	return m.PAlive(x, tx, T) * bgExpected(p.R+x, p.Alpha+T, p.A, p.B+m.k(x), t)
}

// ProbPurchases implements FHL (2005) eq. 8 and its MBG/NBD analogue. With
// NB(j) = Γ(r+j)/(Γ(r) j!) (α/(α+t))^r (t/(α+t))^j the negative binomial
// probability of j purchases by t for a customer who never drops out,
//
//	P(X(t)=n) = B(a, b+k)/B(a,b) · NB(n)
//	          + [k > 0] B(a+1, b+k−1)/B(a,b) · (1 − Σ_{j<n} NB(j)),
//
// where k = n (BG/NBD) or n+1 (MBG/NBD): either still alive after n
// purchases and no (n+1)th by t, or dropped out right after the nth (or, for
// MBG/NBD with n = 0, at time 0).
func (m bgModel) ProbPurchases(n int, t float64) float64 {
	p := m.p
	if !p.valid() || n < 0 || t < 0 || math.IsNaN(t) {
		return math.NaN()
	}
	k := m.k(float64(n))
	if t == 0 {
		if n == 0 {
			return 1
		}
		return 0
	}
	lq := math.Log(p.Alpha / (p.Alpha + t)) // ln(1−z)
	lz := math.Log(t / (p.Alpha + t))       // ln z
	lnb := func(j float64) float64 {
		return lgamma(p.R+j) - lgamma(p.R) - lgamma(j+1) + p.R*lq + j*lz
	}
	lb := lbeta(p.A, p.B)
	prob := math.Exp(lbeta(p.A, p.B+k) - lb + lnb(float64(n)))
	if k > 0 {
		var cdf float64 // Σ_{j<n} NB(j), by the term ratio (r+j)/(j+1)·z
		term := math.Exp(p.R * lq)
		zz := math.Exp(lz)
		for j := 0; j < n; j++ {
			cdf += term
			term *= (p.R + float64(j)) / float64(j+1) * zz
		}
		tail := 1 - cdf
		if tail < 0 {
			tail = 0
		}
		prob += math.Exp(lbeta(p.A+1, p.B+k-1)-lb) * tail
	}
	return prob
}

// ProbNoPurchase is P(no purchase in (T, T+h] | x, tx, T). A customer who
// is no longer alive at T makes none; one who is alive has the posterior
// rate λ ~ Gamma(r+x, α+T) and, in both BG/NBD and MBG/NBD, can only drop
// out right after a purchase, so while alive the first purchase after T
// comes at rate λ and P(none in h | alive, λ) = e^(−λh). Averaging over the
// posterior gives
//
//	P(Y(h) = 0) = 1 − P(alive) + P(alive) · ((α+T)/(α+T+h))^(r+x),
//
// the n = 0 case of Fader, Hardie & Lee's P(X(T, T+h) = n | x, tx, T)
// (Fader & Hardie, note 013, "Deriving an expression for P(X(t, t+τ) = x)
// under the BG/NBD", conditioned on the history). Under BG/NBD one-time
// buyers have P(alive) = 1, yet the probability still falls with the
// posterior rate: a customer who bought once 2 days ago and one who bought
// once 200 days ago differ through T.
func (m bgModel) ProbNoPurchase(h, x, tx, T float64) float64 {
	p := m.p
	if !p.valid() || !validHistory(x, tx, T) || h < 0 || math.IsNaN(h) {
		return math.NaN()
	}
	if h == 0 {
		return 1 // an empty window holds no purchase
	}
	pa := m.PAlive(x, tx, T)
	quiet := math.Exp(-(p.R + x) * math.Log1p(h/(p.Alpha+T)))
	return 1 - pa + pa*quiet
}
