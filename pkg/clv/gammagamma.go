package clv

import "math"

// GammaGamma is the Gamma-Gamma model of spend per transaction (Colombo &
// Jiang 1999; Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013,
// "The Gamma-Gamma Model of Monetary Value"). The value of each of a
// customer's transactions is Gamma(shape P, rate ν) distributed; across
// customers ν is Gamma(shape Q, rate V). V is γ in Fader & Hardie's notation
// and v in lifetimes'. The model assumes spend is independent of the
// purchase process.
type GammaGamma struct {
	P, Q, V float64
}

// valid reports whether all parameters are finite and positive.
func (g GammaGamma) valid() bool {
	for _, v := range [...]float64{g.P, g.Q, g.V} {
		if !(v > 0) || math.IsInf(v, 1) {
			return false
		}
	}
	return true
}

// LogLikelihood returns the log density of a customer's mean spend m over
// x > 0 transactions:
//
//	ln [ Γ(px+q) / (Γ(px) Γ(q)) · γ^q · m^(px−1) · x^(px) / (γ + m x)^(px+q) ].
//
// It returns NaN for x ≤ 0, m ≤ 0 or invalid parameters.
func (g GammaGamma) LogLikelihood(x, m float64) float64 {
	if !g.valid() || !(x > 0) || !(m > 0) {
		return math.NaN()
	}
	px := g.P * x
	return lgamma(px+g.Q) - lgamma(px) - lgamma(g.Q) + g.Q*math.Log(g.V) +
		(px-1)*math.Log(m) + px*math.Log(x) - (px+g.Q)*math.Log(g.V+m*x)
}

// ConditionalExpectedSpend returns E[mean spend | x, m], the posterior mean
// of a customer's expected transaction value,
//
//	p (γ + m x) / (p x + q − 1),
//
// a weighted average of the population mean p γ/(q−1) and the customer's
// observed mean m with weight p x/(p x + q − 1) on m. For x = 0 (no repeat
// purchases) it is the population mean p γ/(q−1). When q ≤ 1 the population
// mean does not exist and the result is +Inf for x = 0 (and for any x with
// p x + q ≤ 1).
func (g GammaGamma) ConditionalExpectedSpend(x, m float64) float64 {
	if !g.valid() || x < 0 || math.IsNaN(x) {
		return math.NaN()
	}
	if x == 0 {
		if g.Q <= 1 {
			return math.Inf(1)
		}
		return g.P * g.V / (g.Q - 1)
	}
	if m < 0 || math.IsNaN(m) {
		return math.NaN()
	}
	den := g.P*x + g.Q - 1
	if den <= 0 {
		return math.Inf(1)
	}
	return g.P * (g.V + m*x) / den
}
