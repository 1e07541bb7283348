package clv

import (
	"context"
	"math"
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
