package model

import (
	"context"
	"time"

	"github.com/clvstream/clvstream/pkg/churn"
	"github.com/clvstream/clvstream/pkg/customer"
)

// ChurnSplit is the time split the churn model is fitted on. Its label
// windows all end at the fit's instant (as of): a cutoff is as of − L for
// each window length L of ChurnWindows, an example is a customer who had
// bought by a cutoff, with the summary (and signals) as of the cutoff and
// the label "no purchase between the cutoff and as of".
type ChurnSplit struct {
	// Fit are the summaries as of the earliest cutoff: the purchase model
	// that gives the examples' P(no purchase) is fitted on them, so it has
	// seen none of the label windows.
	Fit []Summary
	// Examples are the examples of every cutoff.
	Examples []ChurnExample
}

// ChurnExample is one example of a ChurnSplit.
type ChurnExample struct {
	Summary Summary
	// HorizonDays is the length of the label window.
	HorizonDays float64
	Churned     bool
	// Customer numbers the customer (from 1): one customer's examples stay
	// on one side of the churn model's holdout split.
	Customer int
}

// ChurnWindows returns the label windows of the churn time split for a
// history of the given length and the churn horizon H: with L = min(H,
// history/2) (at least half the history stays before the earliest cutoff
// for the features), the windows L/4, L/2, 3L/4 and L, nil when L is under
// a day. With a history of at least 2H (the service after its first
// months) the longest window is the horizon itself. Several windows give
// the horizon-scaled history features (churn.Signals) a range of horizons,
// so that a model fitted where L < H (a holdout whose calibration period
// is as long as its horizon) transfers to H, and four times the examples.
func ChurnWindows(history, horizon time.Duration) []time.Duration {
	l := min(horizon, history/2)
	if l < 24*time.Hour {
		return nil
	}
	return []time.Duration{l / 4, l / 2, 3 * l / 4, l}
}

// BuildChurnSplit builds the churn time split of states as of asOf (first:
// the earliest first purchase), checking ctx every 4,096 customers. An
// empty split means the history is too short.
func BuildChurnSplit(ctx context.Context, states []*customer.State, asOf, first time.Time, horizon time.Duration, unitDays, minorPerMajor float64, emailHalfLife time.Duration) (ChurnSplit, error) {
	var sp ChurnSplit
	windows := ChurnWindows(asOf.Sub(first), horizon)
	if len(windows) == 0 {
		return sp, nil
	}
	for i, st := range states {
		if i%4096 == 0 && ctx.Err() != nil {
			return ChurnSplit{}, ctx.Err()
		}
		end, ok := Summarize(st, asOf, unitDays, minorPerMajor)
		if !ok {
			continue
		}
		for k := len(windows) - 1; k >= 0; k-- {
			w := windows[k]
			cut, ok := SummarizeWith(st, asOf.Add(-w), unitDays, minorPerMajor, emailHalfLife)
			if !ok {
				continue
			}
			if k == len(windows)-1 {
				sp.Fit = append(sp.Fit, cut)
			}
			sp.Examples = append(sp.Examples, ChurnExample{Summary: cut, HorizonDays: w.Hours() / 24, Churned: end.X == cut.X, Customer: i + 1})
		}
	}
	return sp, nil
}

// ChurnSignals returns the summary's signals for the churn model with its
// purchase history (repeat purchase days, recency, tenure in days) and
// P(no purchase) pNone.
func (s Summary) ChurnSignals(pNone, unitDays float64) churn.Signals {
	sig := s.Signals
	sig.PNoPurchase = pNone
	sig.Frequency, sig.RecencyDays, sig.TenureDays = s.X, (s.T-s.TX)*unitDays, s.T*unitDays
	return sig
}
