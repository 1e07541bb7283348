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
//
// The combined model (Combined) is the published churn risk. It starts from
// the purchase model's probability that the customer is no longer active
// (1 − P(alive) of MBG/NBD once a model is fitted, the baseline above
// before) and adds, on the log-odds scale, the signals that the purchase
// history cannot see:
//
//	logit(risk) = logit(p_dead)
//	            + w_e·(b − engagement)            email: (opens+clicks)/sends of decayed counters vs baseline b
//	            + w_o·min(open tickets, 3)        support friction
//	            + w_r·min(reopened tickets, 3)
//	            + w_s·min(2, (resolve h − H)/H)   slow resolution beyond H hours
//	            + w_c·(3 − CSAT)                  satisfaction below (or above) neutral
//
// Each term is a Factor; the factors sorted by contribution explain the
// score (the top ones travel with segment changes). With no email or
// support activity the risk is exactly p_dead. Defaults and their reasons
// are in docs/churn.md.
package churn
