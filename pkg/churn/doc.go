// Package churn scores the risk that a customer has stopped buying.
//
// The baseline model (Baseline) compares the customer's recency with the gap
// they would be expected to leave between purchases. The expected gap blends
// the customer's own mean inter-purchase gap with the population's, weighting
// the customer's by their number of repeat purchases (a credibility or
// shrinkage estimate):
//
//	g = (x·own + k·population) / (x + k)
//
// where x is the repeat-purchase count and k the prior weight. The risk is a
// Hill function of the ratio r = recency / g:
//
//	risk = r^s / (r^s + h^s)
//
// which is 0 right after a purchase, h·g days after the last purchase it is
// one half, and it tends to 1 as the silence grows. With the defaults (s = 2,
// h = 2) the risk is 0.2 at one expected gap, 0.5 at two and 0.8 at four. The
// risk grows with time alone, so a silent customer drifts to at-risk with no
// new event; RecencyAt inverts the curve to schedule that re-scoring.
package churn
