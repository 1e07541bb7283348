package clv

import (
	"math"
	"testing"
)

func TestCLV(t *testing.T) {
	m := NewBGNBD(cdnowParams)
	g := GammaGamma{P: 6.25, Q: 3.74, V: 15.44}
	c := Customer{X: 2, TX: 30.43, T: 38.86, M: 22.35} // CDNOW customer 1, weeks
	spend := g.ConditionalExpectedSpend(c.X, c.M)

	// Without discounting the monthly increments telescope to E[Y(H·μ)]·spend
	// (to 1e-9: the monthly curve stops its series at a relative 1e-10).
	mu := 30.0 / 7
	if got, want := CLV(m, spend, c, 12, 0, 7), m.ConditionalExpectedPurchases(12*mu, c.X, c.TX, c.T)*spend; relErr(got, want) > 1e-9 {
		t.Errorf("undiscounted CLV = %v, want %v", got, want)
	}
	// Direct evaluation of the definition for a 3-month horizon at 1%/month.
	var want float64
	for i := 1; i <= 3; i++ {
		inc := m.ConditionalExpectedPurchases(float64(i)*mu, c.X, c.TX, c.T) - m.ConditionalExpectedPurchases(float64(i-1)*mu, c.X, c.TX, c.T)
		want += inc * spend / math.Pow(1.01, float64(i))
	}
	if got := CLV(m, spend, c, 3, 0.01, 7); relErr(got, want) > 1e-9 {
		t.Errorf("CLV(3 months, 1%%) = %v, want %v", got, want)
	}

	// Positive, increasing with the horizon, decreasing with the discount rate.
	for _, model := range []PurchaseModel{m, NewMBGNBD(cdnowParams)} {
		for _, cust := range []Customer{c, {X: 0, TX: 0, T: 38.86}, {X: 26, TX: 216.0 / 7, T: 31}} {
			prev := 0.0
			for _, h := range []int{1, 3, 6, 12, 24, 60} {
				v := CLV(model, spend, cust, h, 0.01, 7)
				if !(v > prev) {
					t.Errorf("%s %+v: CLV(%d months) = %v not above %v", model.Name(), cust, h, v, prev)
				}
				prev = v
			}
			prev = math.Inf(1)
			for _, d := range []float64{0, 0.005, 0.01, 0.05, 0.2} {
				v := CLV(model, spend, cust, 24, d, 7)
				if !(v < prev && v > 0) {
					t.Errorf("%s %+v: CLV(discount %v) = %v not below %v", model.Name(), cust, d, v, prev)
				}
				prev = v
			}
		}
	}
	// The time unit only rescales: days with α in days gives the same value.
	daily := NewBGNBD(Params{R: cdnowParams.R, Alpha: cdnowParams.Alpha * 7, A: cdnowParams.A, B: cdnowParams.B})
	cd := Customer{X: c.X, TX: c.TX * 7, T: c.T * 7}
	if a, b := CLV(m, spend, c, 12, 0.01, 7), CLV(daily, spend, cd, 12, 0.01, 1); relErr(a, b) > 1e-9 {
		t.Errorf("weekly %v vs daily %v", a, b)
	}
	if CLV(m, spend, c, 0, 0.01, 7) != 0 || !math.IsNaN(CLV(m, spend, c, -1, 0.01, 7)) || !math.IsNaN(CLV(m, spend, c, 3, 0.01, 0)) {
		t.Error("edge cases: H = 0 gives 0, H < 0 or unitDays = 0 give NaN")
	}
}
