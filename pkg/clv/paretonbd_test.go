package clv

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestFitParetoNBDCDNOW: r = 0.5534, α = 10.5802, s = 0.6061, β = 11.6562
// on CDNOW (BTYD's pnbd.EstimateParameters and the pymc-marketing tests;
// LL −9594.98 in Fader, Hardie & Lee's note on implementing Pareto/NBD in
// Excel).
func TestFitParetoNBDCDNOW(t *testing.T) {
	m, res, err := FitParetoNBD(context.Background(), loadBTYD(t), FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := m.P
	t.Logf("Pareto/NBD: %+v LL=%.4f converged=%v iterations=%d", p, res.LogLikelihood, res.Converged, res.Iterations)
	// The likelihood is flat along β (the published figures come from
	// optimisers with looser stopping rules): parameters within 2e-3, the
	// log-likelihood to the published two decimals, and our optimum at
	// least as likely as the published point.
	for i, c := range []struct{ got, want float64 }{{p.R, 0.5534}, {p.Alpha, 10.5802}, {p.S, 0.6061}, {p.Beta, 11.6562}} {
		if relErr(c.got, c.want) > 2e-3 {
			t.Errorf("param %d = %.5f, want %.4f", i, c.got, c.want)
		}
	}
	if math.Abs(res.LogLikelihood+9594.98) > 0.005 {
		t.Errorf("LL %.4f, want -9594.98", res.LogLikelihood)
	}
	pub := ParetoNBD{P: ParetoNBDParams{R: 0.5534, Alpha: 10.5802, S: 0.6061, Beta: 11.6562}}
	var llPub float64
	for _, c := range loadBTYD(t) {
		llPub += pub.LogLikelihood(c.X, c.TX, c.T)
	}
	if llPub > res.LogLikelihood+1e-6 {
		t.Errorf("published point LL %.6f above our optimum %.6f", llPub, res.LogLikelihood)
	}
	if !res.Converged || res.N != 2357 {
		t.Errorf("converged %v N %d", res.Converged, res.N)
	}
	// The likelihood of a customer with tx = T has no dead branch: it is
	// the alive term alone.
	x, T := 3.0, 20.0
	alive := lgamma(p.R+x) - lgamma(p.R) + p.R*math.Log(p.Alpha) + p.S*math.Log(p.Beta) - (p.R+x)*math.Log(p.Alpha+T) - p.S*math.Log(p.Beta+T)
	if got := m.LogLikelihood(x, T, T); math.Abs(got-alive) > 1e-12 {
		t.Errorf("LL(tx = T) = %v, want %v", got, alive)
	}
}

var cdnowPareto = ParetoNBD{P: ParetoNBDParams{R: 0.5534, Alpha: 10.5802, S: 0.6061, Beta: 11.6562}}

// simulatePareto draws a customer of age T from the Pareto/NBD process
// (λ ~ Gamma(r, α), lifetime ~ Exp(μ), μ ~ Gamma(s, β)) and returns the
// history to T, the purchases in (T, T+h] and whether the customer is
// alive at T.
func simulatePareto(rng *rand.Rand, p ParetoNBDParams, T, h float64) (x, tx, future float64, alive bool) {
	lambda := gammaVariate(rng, p.R) / p.Alpha
	death := rng.ExpFloat64() / (gammaVariate(rng, p.S) / p.Beta)
	var t float64
	for {
		t += rng.ExpFloat64() / lambda
		if t > death || t > T+h {
			return x, tx, future, death > T
		}
		if t <= T {
			x++
			tx = t
		} else {
			future++
		}
	}
}

// The Pareto/NBD scoring expressions against a simulated population drawn
// from the CDNOW estimates: P(alive), E[Y(h) | history] and P(no purchase
// in h | history) average, per calibration frequency, to the simulated
// shares and counts; P(X(t) = n) sums to 1 and its mean is E[X(t)].
func TestParetoNBDScoringAgainstSimulation(t *testing.T) {
	m := cdnowPareto
	rng := rand.New(rand.NewPCG(7, 11))
	const n, h = 200000, 39.0
	type acc struct{ n, pa, alive, ey, y, p0, none float64 }
	bins := map[int]*acc{}
	for i := 0; i < n; i++ {
		T := 27 + 12*rng.Float64()
		x, tx, fut, alive := simulatePareto(rng, m.P, T, h)
		k := int(math.Min(x, 3))
		b := bins[k]
		if b == nil {
			b = &acc{}
			bins[k] = b
		}
		b.n++
		b.pa += m.PAlive(x, tx, T)
		if alive {
			b.alive++
		}
		b.ey += m.ConditionalExpectedPurchases(h, x, tx, T)
		b.y += fut
		b.p0 += m.ProbNoPurchase(h, x, tx, T)
		if fut == 0 {
			b.none++
		}
	}
	for k := 0; k <= 3; k++ {
		b := bins[k]
		t.Logf("x=%d (n %.0f): P(alive) %.4f / %.4f, E[Y] %.4f / %.4f, P(none) %.4f / %.4f", k, b.n,
			b.pa/b.n, b.alive/b.n, b.ey/b.n, b.y/b.n, b.p0/b.n, b.none/b.n)
		se := 3 / math.Sqrt(b.n)
		if math.Abs(b.pa-b.alive)/b.n > se || math.Abs(b.p0-b.none)/b.n > se || relErr(b.ey, b.y) > 0.05 {
			t.Errorf("x=%d: model and simulation disagree", k)
		}
	}
	for _, tt := range []float64{1, 39, 78} {
		var sum, mean float64
		for k := 0; k < 400; k++ {
			p := m.ProbPurchases(k, tt)
			sum += p
			mean += float64(k) * p
		}
		if math.Abs(sum-1) > 1e-6 || relErr(mean, m.ExpectedPurchases(tt)) > 1e-4 {
			t.Errorf("t=%v: Σ P(X(t)=n) = %.8f, mean %.6f, E[X(t)] %.6f", tt, sum, mean, m.ExpectedPurchases(tt))
		}
	}
	// Limits: alive for sure right after the only purchase, P(none in 0) = 1;
	// P(none in h) falls with h but stays above 1 − P(alive) (an alive
	// Pareto/NBD customer can also die before the next purchase).
	if m.PAlive(0, 0, 0) != 1 || m.ProbNoPurchase(0, 2, 10, 30) != 1 {
		t.Errorf("limits: %v %v", m.PAlive(0, 0, 0), m.ProbNoPurchase(0, 2, 10, 30))
	}
	prev := 1.0
	for _, hh := range []float64{1, 10, 100, 1e4, 1e8} {
		p := m.ProbNoPurchase(hh, 2, 10, 30)
		if !(p <= prev) || !(p > 1-m.PAlive(2, 10, 30)) {
			t.Errorf("P(none in %v) = %v (previous %v, 1 − P(alive) %v)", hh, p, prev, 1-m.PAlive(2, 10, 30))
		}
		prev = p
	}
}

// The likelihood-ratio identity P(Y(h)=0 | x, tx, T) = L(x, tx, T+h) /
// L(x, tx, T) that Pareto/NBD's ProbNoPurchase uses gives BG/NBD's and
// MBG/NBD's closed forms too.
func TestProbNoPurchaseIsALikelihoodRatio(t *testing.T) {
	for _, m := range []PurchaseModel{NewBGNBD(cdnowParams), NewMBGNBD(cdnowParams)} {
		for _, c := range [][4]float64{{0, 0, 30, 10}, {2, 10, 30, 39}, {7, 29, 31, 5}} {
			x, tx, T, h := c[0], c[1], c[2], c[3]
			got := math.Exp(m.LogLikelihood(x, tx, T+h) - m.LogLikelihood(x, tx, T))
			if want := m.ProbNoPurchase(h, x, tx, T); math.Abs(got-want) > 1e-9 {
				t.Errorf("%s %v: likelihood ratio %v, closed form %v", m.Name(), c, got, want)
			}
		}
	}
}

// The two ways of computing the dropout branch of the likelihood, the ₂F₁
// series and the quadrature of its integral, agree where both apply.
func TestParetoDeadBranchSeriesAndQuadrature(t *testing.T) {
	for _, p := range []ParetoNBDParams{cdnowPareto.P, {R: 0.3, Alpha: 40, S: 1.2, Beta: 5}, {R: 2, Alpha: 3, S: 0.4, Beta: 30},
		{R: 0.5, Alpha: 0.01, S: 3, Beta: 0.5}, {R: 5, Alpha: 200, S: 0.05, Beta: 0.2}} {
		for _, c := range [][3]float64{{0, 0, 30}, {1, 5, 30}, {4, 20, 39}, {12, 1, 80}, {30, 70, 78}, {100, 0.5, 300}} {
			s, q := paretoDeadSeries(p, c[0], c[1], c[2]), paretoDeadQuad(p, c[0], c[1], c[2])
			if math.Abs(s-q) > 1e-9*math.Max(1, math.Abs(s)) {
				t.Errorf("%+v %v: series %.14f quadrature %.14f", p, c, s, q)
			}
		}
	}
}
