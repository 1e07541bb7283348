// Package scoring turns a customer's state into scores and a segment as of
// an instant, and computes when that customer must next be re-scored.
//
// Score is a pure function of (state, instant, model in force): historic
// CLV from the state, the classic CLV formula (package clv), the baseline
// churn risk (package churn) against the population's mean inter-purchase
// gap carried by the model record, the loyalty tier and the segment
// (package segment). NextDue is the earliest future instant at which any of
// these can change with no new event: the recency at which churn risk
// crosses a level or segment threshold, the tenure at which "new" or
// "loyal" starts or ends, the day a purchase leaves the trailing-12-month
// window, the edges of the replenishment window; probed geometrically up
// to MaxRescoreInterval (see nextDue).
package scoring
