// Package model fits, versions and serves the population models of
// clvstream: a purchase model (MBG/NBD by default, or BG/NBD) and the
// Gamma-Gamma spend model from package clv, plus the population cut-points
// that RFM scores and CLV percentiles are measured against.
//
// Fit turns customer summaries (frequency, recency, age and mean repeat
// spend in the model's time unit, and email/support signals, Summarize)
// into a Record. Below the configured minimum of customers, repeat buyers
// or history the Record is of kind "baseline" and says why: the service
// then keeps its baseline scores. Otherwise the purchase model is also
// fitted on the history minus a holdout window and asked to predict the
// holdout's repeat purchases (Record.Holdout; with model.purchase auto every
// candidate is — BG/NBD, MBG/NBD, Pareto/NBD, and BG/BB where the data are
// discrete — and the best one is kept, Record.Selection): a fit that did
// not converge, is degenerate (Record.Rejected), or whose holdout error is
// worse than the current model's by more than the configured margin, is not
// published. The record also says which spend model is in force and why
// (Record.Spend: Gamma-Gamma, or the shrunk population mean), and carries
// the churn model (Record.Churn, plain data from package churn) fitted on a
// time split (ChurnSplit, ChurnWindows): features as of cutoffs AsOf − L·k/4,
// k = 1..4, L = min(churn horizon, history/2), label "no purchase since".
// Every step is bounded and checks the context.
//
// The package is pure: no Redis, logger or metrics (package refit stores,
// fits on a schedule and serves the records in the service). Scoring a
// customer against a Record is closed-form (Scorer in package scoring), so
// tasks re-score on every event and pick up new versions gradually.
package model
