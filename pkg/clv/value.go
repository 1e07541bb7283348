package clv

import "math"

// DaysPerMonth is the month length CLV uses to turn months into model time
// units, as lifetimes' customer_lifetime_value does.
const DaysPerMonth = 30

// CLV returns the discounted value of a customer's purchases over the next
// horizonMonths months:
//
//	CLV = Σ_{i=1..H} (E[Y(i·μ)] − E[Y((i−1)·μ)]) · spend / (1+d)^i
//
// where E[Y(t)] = m.ConditionalExpectedPurchases(t, c.X, c.TX, c.T) is the
// expected number of purchases in the t time units after the end of the
// customer's calibration period, μ = DaysPerMonth/unitDays is the number of
// model time units in a month (30/7 for weekly data), d = monthlyDiscount
// and spend the expected value of one purchase (typically
// GammaGamma.ConditionalExpectedSpend, times a margin for profit). Purchases
// expected in month i are discounted by i whole months. This is the
// definition of lifetimes' customer_lifetime_value (which for weekly data
// uses 4.345 weeks per month instead of 30/7).
//
// It returns NaN for horizonMonths < 0, monthlyDiscount ≤ −1 or
// unitDays ≤ 0, and 0 for horizonMonths = 0.
func CLV(m PurchaseModel, spend float64, c Customer, horizonMonths int, monthlyDiscount, unitDays float64) float64 {
	if horizonMonths < 0 || !(monthlyDiscount > -1) || !(unitDays > 0) || math.IsInf(unitDays, 1) {
		return math.NaN()
	}
	mu := DaysPerMonth / unitDays
	var value, prev float64
	if bm, ok := m.(bgModel); ok && horizonMonths > 0 && horizonMonths <= 64 && !math.IsInf(mu, 0) {
		var ts, cur [64]float64
		for i := range horizonMonths {
			ts[i] = float64(i+1) * mu
		}
		bm.conditionalExpectedCurve(ts[:horizonMonths], c.X, c.TX, c.T, cur[:horizonMonths])
		disc := 1.0 // (1 + monthlyDiscount)^i
		for i := 1; i <= horizonMonths; i++ {
			disc *= 1 + monthlyDiscount
			value += (cur[i-1] - prev) * spend / disc
			prev = cur[i-1]
		}
		return value
	}
	disc := 1.0
	for i := 1; i <= horizonMonths; i++ {
		cur := m.ConditionalExpectedPurchases(float64(i)*mu, c.X, c.TX, c.T)
		disc *= 1 + monthlyDiscount
		value += (cur - prev) * spend / disc
		prev = cur
	}
	return value
}
