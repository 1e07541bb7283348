// Package churn scores the risk that a customer has stopped buying.
//
// The churn risk is a probability with one meaning everywhere: the
// probability that the customer makes no purchase in the next H days (the
// churn horizon). It is computed in two steps.
//
// First, the purchase history gives p_none = P(no purchase in H). After a
// fit it comes from the purchase model (clv.PurchaseModel.ProbNoPurchase,
// closed form for BG/NBD and MBG/NBD). Before a fit the Baseline gives it:
// the expected gap g between purchases blends the customer's own mean gap
// with the population's, weighting the customer's by their number of
// repeat purchases (a credibility or shrinkage estimate),
//
//	g = (x·own + k·population) / (x + k),
//
// the lapse risk is a Hill function of the recency in gaps r = recency/g,
// risk = r^s / (r^s + h^s), and an active customer buys about once per
// gap, so p_none = risk + (1 − risk)·e^(−H/g). It grows with time alone, so
// a silent customer drifts to at-risk with no new event.
//
// Second, a Model recalibrates p_none, corrects it with purchase-history
// features measured against the horizon (the customer's own purchase rate
// over h, recency/h, tenure/h: dimensionless, so a fit for one horizon
// transfers to another) and adds the signals the purchase history cannot
// see (email engagement, support friction) on the log-odds scale,
//
//	logit(risk) = intercept + slope·logit(p_none) + Σ vₖ·(hₖ − meanₖ) + Σ wᵢ·(fᵢ − meanᵢ),
//
// with every weight fitted by Fit: a ridge-penalised logistic regression
// on a time split (features as of cutoffs, label "no purchase in the
// following window"; several window lengths may be stacked), gated on the
// held-out customers (the variant — p_none alone, with the history, with
// the history and the signals — with the lowest held-out log-loss is kept,
// and the recalibration only if it beats the raw p_none). The zero Model is
// the identity, risk = p_none. Each term is a Factor (purchase_inactivity, each
// history feature, each signal); the factors sorted by contribution
// explain the score and add up to its log-odds. AUC, Score and Reliability measure a churn
// probability against outcomes. Levels map the calibrated probability to
// low, medium and high (defaults 0.5 and 0.8). See docs/churn.md.
package churn
