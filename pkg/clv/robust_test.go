package clv

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestQuadratureIsBounded: with a or b → 0 (the degenerate fits of tiny
// data sets) the integration over the dropout probability used to need
// ~40/a or ~40/b panels and never returned; with the closed-form tails it
// is bounded and still agrees with the series where both apply.
func TestQuadratureIsBounded(t *testing.T) {
	start := time.Now()
	for _, c := range []struct{ s, beta, a, b, t float64 }{
		{0.4, 8, 1e-12, 1e-12, 40}, {0.4, 8, 1e-9, 3, 40}, {0.4, 8, 2, 1e-9, 40},
		{5e7, 1e9, 1e-8, 1e-8, 1e6}, {0.3, 1e-6, 1e-10, 0.5, 1e12},
	} {
		v := bgExpectedQuad(c.s, c.beta, c.a, c.b, c.t)
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Errorf("bgExpectedQuad%v = %v", c, v)
		}
		if e := bgExpected(c.s, c.beta, c.a, c.b, c.t); math.IsNaN(e) || math.IsInf(e, 0) {
			t.Errorf("bgExpected%v = %v", c, e)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("degenerate integrals took %v", d)
	}
	for _, c := range []struct{ s, beta, a, b, t float64 }{{0.3, 5, 0.02, 0.03, 39}, {0.3, 5, 0.05, 2, 39}, {2, 5, 3, 0.04, 10}} {
		if q, e := bgExpectedQuad(c.s, c.beta, c.a, c.b, c.t), bgExpected(c.s, c.beta, c.a, c.b, c.t); relErr(q, e) > 1e-8 {
			t.Errorf("%v: quadrature %.12g, series %.12g", c, q, e)
		}
	}
}

// TestFitsStopOnContext: a cancelled context stops every fit with its
// error, and a deadline during a large fit is honoured within a second.
func TestFitsStopOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := loadBTYD(t)
	for _, name := range PurchaseModelNames {
		if _, _, err := FitPurchaseModel(ctx, name, data, FitOptions{}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", name, err)
		}
	}
	if _, _, err := FitGammaGammaContext(ctx, data, FitOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Gamma-Gamma: %v", err)
	}
	big := simulate(300000, cdnowParams, 27, 39, true, false, 5)
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer dcancel()
	start := time.Now()
	_, _, err := FitPurchaseModel(dctx, NameMBGNBD, big, FitOptions{})
	// The fit checks the context before every likelihood evaluation, each
	// a few milliseconds here; the bound is loose for a loaded test machine.
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("fit returned %v after the start (deadline 30ms)", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v, want context.DeadlineExceeded", err)
	}
	if _, _, err := FitPurchaseModel(context.Background(), "nbd", data, FitOptions{}); err == nil || !strings.Contains(err.Error(), "valid: [bgnbd mbgnbd paretonbd]") {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := NewPurchaseModel("x", cdnowParams); err == nil {
		t.Error("NewPurchaseModel accepted an unknown name")
	}
}

// TestPenalizerMatchesLifetimes: lifetimes penalises on a time axis scaled
// to max T = 1 (utils._scale_time); BetaGeoFitter(penalizer_coef=0.01) on
// its CDNOW summary gives alpha = 4.43, where a penalty on the unscaled α
// pulls it to 1.53.
func TestPenalizerMatchesLifetimes(t *testing.T) {
	m, res, err := FitBGNBD(loadLifetimes(t), FitOptions{Penalizer: 0.01})
	if err != nil || !res.Converged {
		t.Fatal(err, res)
	}
	if p := m.Params(); math.Abs(p.Alpha-4.43) > 0.005 || p.A >= cdnowParams.A || p.B >= cdnowParams.B {
		t.Errorf("penalised BG/NBD %+v: want alpha 4.43 and a, b shrunk", p)
	}
	// The penalty does not depend on the time unit: days give α·7.
	days := loadLifetimes(t)
	for i := range days {
		days[i].TX *= 7
		days[i].T *= 7
	}
	md, _, _ := FitBGNBD(days, FitOptions{Penalizer: 0.01})
	if relErr(md.Params().Alpha, 7*m.Params().Alpha) > 1e-5 || relErr(md.Params().A, m.Params().A) > 1e-5 {
		t.Errorf("days %+v vs weeks %+v", md.Params(), m.Params())
	}
}

// TestGammaGammaRobust: the spend fit is scale-free, converges where the
// old absolute gradient test stalled, and refuses what it cannot model
// with a reason instead of producing infinite values.
func TestGammaGammaRobust(t *testing.T) {
	data := loadBTYD(t)
	g, res, err := FitGammaGamma(data, FitOptions{})
	if err != nil || !res.Converged {
		t.Fatal(err)
	}
	cents := append([]Customer(nil), data...)
	for i := range cents {
		cents[i].M *= 100
	}
	gc, rc, err := FitGammaGamma(cents, FitOptions{})
	if err != nil || !rc.Converged || relErr(gc.P, g.P) > 1e-5 || relErr(gc.Q, g.Q) > 1e-5 || relErr(gc.V, 100*g.V) > 1e-5 {
		t.Errorf("cents %+v %v vs dollars %+v", gc, err, g)
	}
	// CDNOW plus one heavy buyer, and 100,000 simulated customers: the
	// cases where the fit used to stall between 1e-9 and 1e-7.
	heavy := append(append([]Customer(nil), data...), Customer{X: 400, TX: 38, T: 39, M: 5000})
	if _, r, err := FitGammaGamma(heavy, FitOptions{}); err != nil || !r.Converged {
		t.Errorf("CDNOW + heavy buyer: %+v %v", r, err)
	}
	sim := simulate(100000, cdnowParams, 27, 39, false, false, 8)
	simulateSpend(sim, 9)
	if gs, r, err := FitGammaGamma(sim, FitOptions{}); err != nil || !r.Converged || math.Abs(gs.P-6.25) > 0.5 || math.Abs(gs.Q-3.74) > 0.5 {
		t.Errorf("100k simulated: %+v %+v %v", gs, r, err)
	}
	// Absurd monetary values are refused, naming the limit.
	huge := append(append([]Customer(nil), data...), Customer{X: 2, TX: 3, T: 5, M: 1e308})
	if _, _, err := FitGammaGamma(huge, FitOptions{}); err == nil || !strings.Contains(err.Error(), "MaxSpend") {
		t.Errorf("M = 1e308: %v", err)
	}
	// A penalty that drives q below 1 (infinite mean spend) is refused.
	if gp, _, err := FitGammaGamma(data, FitOptions{Penalizer: 0.01}); !errors.Is(err, ErrInfiniteMeanSpend) || gp.Q > 1 {
		t.Errorf("penalizer 0.01: %+v %v, want ErrInfiniteMeanSpend", gp, err)
	}
}

// TestProbNoPurchase checks the closed form against its definition by
// simulation-free identities: it is 1 − P(alive) for an infinitely long
// horizon, 1 for an empty one, falls with the horizon, and for BG/NBD
// one-time buyers (P(alive) = 1) still rises with their age.
func TestProbNoPurchase(t *testing.T) {
	for _, m := range []PurchaseModel{NewBGNBD(cdnowParams), NewMBGNBD(cdnowParams)} {
		for _, h := range [][3]float64{{0, 0, 30}, {2, 10, 30}, {10, 29, 30}} {
			x, tx, T := h[0], h[1], h[2]
			if got := m.ProbNoPurchase(1e60, x, tx, T); math.Abs(got-(1-m.PAlive(x, tx, T))) > 1e-3 {
				t.Errorf("%s %v: P(none in ∞) = %v, 1-P(alive) = %v", m.Name(), h, got, 1-m.PAlive(x, tx, T))
			}
			if m.ProbNoPurchase(0, x, tx, T) != 1 {
				t.Errorf("%s: empty horizon", m.Name())
			}
			if !(m.ProbNoPurchase(10, x, tx, T) > m.ProbNoPurchase(39, x, tx, T)) {
				t.Errorf("%s %v: must fall with the horizon", m.Name(), h)
			}
			// P(Y(h) = 0) = 1 − P(alive) + P(alive)·NB(0) with the posterior
			// rate: check through the expected purchases of a tiny horizon:
			// E[Y(dt)] ≈ P(alive)·(r+x)/(α+T)·dt ≈ 1 − P(Y(dt)=0).
			dt := 1e-6
			if e, p0 := m.ConditionalExpectedPurchases(dt, x, tx, T), m.ProbNoPurchase(dt, x, tx, T); relErr(1-p0, e) > 1e-4 {
				t.Errorf("%s %v: 1-P(none in dt) = %v, E[Y(dt)] = %v", m.Name(), h, 1-p0, e)
			}
		}
	}
	bg := NewBGNBD(cdnowParams)
	if !(bg.ProbNoPurchase(39, 0, 0, 38) > bg.ProbNoPurchase(39, 0, 0, 2)) {
		t.Error("BG/NBD one-time buyers: older ones must be more likely to stay silent")
	}
}
