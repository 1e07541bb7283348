package clv

import (
	"context"
	"math"
	"path/filepath"
	"testing"
)

// loadDonations reads the donations calibration patterns (see
// testdata/donations/README.md): x, t_x, n_cal, custs, x_star_total.
func loadDonations(t *testing.T) ([]BGBBCustomer, [][]float64) {
	t.Helper()
	old := cdnowDir
	cdnowDir = filepath.Join("..", "..", "testdata", "donations")
	defer func() { cdnowDir = old }()
	rows := readCSV(t, "btyd_donations_rf_matrix_calibration.csv", 0, 1, 2, 3, 4)
	out := make([]BGBBCustomer, len(rows))
	for i, r := range rows {
		out[i] = BGBBCustomer{X: r[0], TX: r[1], N: r[2], W: r[3]}
	}
	return out, rows
}

// TestFitBGBBDonations: Fader, Hardie & Shang (2010) report α = 1.2035,
// β = 0.7497, γ = 0.6567, δ = 2.7834 for the 11,104 donors' 1996–2001
// pattern (also BTYD's and lifetimes' tests); the fitted model's expected
// repeat donations per year track the actual counts of the README's table,
// in the calibration years and in the holdout years 2002–2006.
func TestFitBGBBDonations(t *testing.T) {
	data, rows := loadDonations(t)
	m, res, err := FitBGBB(context.Background(), data, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := m.P
	t.Logf("BG/BB: %+v LL=%.4f converged=%v iterations=%d", p, res.LogLikelihood, res.Converged, res.Iterations)
	for i, c := range []struct{ got, want float64 }{{p.Alpha, 1.2035}, {p.Beta, 0.7497}, {p.Gamma, 0.6567}, {p.Delta, 2.7834}} {
		if relErr(c.got, c.want) > 1e-3 {
			t.Errorf("param %d = %.5f, want %.4f", i, c.got, c.want)
		}
	}
	// BTYD's bgbb.rf.matrix.LL at these parameters: −33,225.58.
	if math.Abs(res.LogLikelihood+33225.58) > 0.01 {
		t.Errorf("LL %.4f, want -33225.58", res.LogLikelihood)
	}
	if res.N != 11104 || !res.Converged {
		t.Errorf("N %d converged %v", res.N, res.Converged)
	}
	// Repeat donations per year, 1996..2006 (btyd_donations_annual_transactions.csv).
	actual := []float64{5652, 4674, 4019, 3552, 3555, 3163, 3110, 2938, 2703, 2573, 1936}
	for y := 1; y <= 11; y++ {
		pred := 11104 * (m.ExpectedPurchases(float64(y)) - m.ExpectedPurchases(float64(y-1)))
		// FHS 2010 (their tracking plot): the model follows the yearly
		// totals within ~5 % in the calibration years and under-predicts
		// the holdout years by up to ~7 % (a little more in the last).
		tol := 0.05
		if y > 6 {
			tol = 0.08
		}
		if y == 11 {
			tol = 0.3
		}
		if relErr(pred, actual[y-1]) > tol {
			t.Errorf("year %d: predicted %.0f repeat donations, actual %.0f", 1995+y, pred, actual[y-1])
		}
	}
	// Conditional expectations over the 5 holdout years add up to the
	// holdout total (13,260 donations) within 3 %.
	var cond, tot float64
	for i, c := range data {
		cond += c.W * m.ConditionalExpectedPurchases(5, c.X, c.TX, c.N)
		tot += rows[i][4]
	}
	if tot != 13260 || relErr(cond, tot) > 0.03 {
		t.Errorf("holdout: predicted %.1f, actual %.0f", cond, tot)
	}
	// Bad input is an error.
	if _, _, err := FitBGBB(context.Background(), []BGBBCustomer{{X: 3, TX: 2, N: 6}}, FitOptions{}); err == nil {
		t.Error("x > tx accepted")
	}
	if v := m.LogLikelihood(2, 1, 6); !math.IsNaN(v) {
		t.Errorf("impossible history: %v", v)
	}
}
