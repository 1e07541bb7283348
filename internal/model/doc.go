// Package model fits, versions and serves the population models of
// clvstream: a purchase model (MBG/NBD by default, or BG/NBD) and the
// Gamma-Gamma spend model from package clv, plus the population cut-points
// that RFM scores and CLV percentiles are measured against.
//
// Fit turns customer summaries (frequency, recency, age and mean repeat
// spend in the model's time unit, Summarize) into a Record. Below the
// configured minimum of customers, repeat buyers or history the Record is of
// kind "baseline" and says why: the service then keeps its baseline scores.
// Otherwise the purchase model is also fitted on the history minus a holdout
// window and asked to predict the holdout's repeat purchases (Record.Holdout):
// a fit that did not converge, or whose holdout error is worse than the
// current model's by more than the configured margin, is not published.
//
// Store keeps the versions in Redis; Fitter is the loop that one instance at
// a time (a Redis lock with expiry) runs on a schedule and on request.
// Scoring a customer against a Record is closed-form (Scorer in package
// scoring), so tasks re-score on every event and pick up new versions
// gradually.
package model
