package model

import (
	"context"
	"fmt"
	"time"

	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/subscription"
)

// Sampler yields a uniform sample of at most max stored customer states
// (every state when there are no more); Collect uses it when the source
// has it, to read at most Config.MaxCustomers.
type Sampler interface {
	Sample(ctx context.Context, max int, fn func(p int, st *customer.State) error) (population int, err error)
}

// StateSource yields every stored customer state.
type StateSource interface {
	Each(ctx context.Context, fn func(p int, st *customer.State) error) error
}

// Collect reads every state (at most c.MaxCustomers of them, a uniform
// sample, when src is a Sampler) and builds the fit input as of asOf, with a
// holdout window of the configured length (a third of the history when 0)
// and the churn time split of ChurnWindows.
func Collect(ctx context.Context, src StateSource, asOf time.Time, c Config, minorPerMajor float64) (Input, error) {
	c = c.WithDefaults()
	unitDays, err := UnitDays(c.TimeUnit)
	if err != nil {
		return Input{}, err
	}
	in := Input{AsOf: asOf}
	var states []*customer.State
	first := asOf
	each := src.Each
	if sp, ok := src.(Sampler); ok {
		each = func(ctx context.Context, fn func(int, *customer.State) error) error {
			_, err := sp.Sample(ctx, c.MaxCustomers, fn)
			return err
		}
	}
	err = each(ctx, func(_ int, st *customer.State) error {
		in.Renewals = subscription.Rows(st, asOf, in.Renewals)
		s, ok := SummarizeWith(st, asOf, unitDays, minorPerMajor, c.EmailHalfLife)
		if !ok {
			return nil
		}
		in.Full = append(in.Full, s)
		if s.FirstPurchase.Before(first) {
			first = s.FirstPurchase
		}
		states = append(states, st)
		return nil
	})
	if err != nil {
		return Input{}, fmt.Errorf("read states: %w", err)
	}
	in.Holdout = c.Holdout
	if in.Holdout == 0 {
		in.Holdout = asOf.Sub(first) / 3
	}
	calEnd := asOf.Add(-in.Holdout)
	for i, st := range states {
		if i%4096 == 0 && ctx.Err() != nil {
			return Input{}, ctx.Err()
		}
		if cal, ok := Summarize(st, calEnd, unitDays, minorPerMajor); ok {
			in.Calibration = append(in.Calibration, cal)
			in.HoldoutActual = append(in.HoldoutActual, in.Full[i].X-cal.X)
		}
	}
	in.Churn, err = BuildChurnSplit(ctx, states, asOf, first, c.ChurnHorizon, unitDays, minorPerMajor, c.EmailHalfLife)
	return in, err
}

// Gate decides whether a new fit replaces the model in force cur (nil when
// none): a fitted model that converged, is not degenerate (Rejected empty)
// and whose holdout error is not worse than cur's by more than
// maxDegradation is published; a baseline record is published only while
// no fitted model is in force. It returns the outcome label (published,
// baseline, not_converged, degenerate, holdout_worse).
func Gate(cur, rec *Record, maxDegradation float64) (outcome string, publish bool) {
	switch {
	case !rec.Fitted():
		return "baseline", !cur.Fitted()
	case !rec.Converged:
		return "not_converged", false
	case rec.Rejected != "":
		return "degenerate", false
	case cur.Fitted() && cur.Holdout != nil && rec.Holdout != nil && rec.Holdout.Error > cur.Holdout.Error+maxDegradation:
		return "holdout_worse", false
	}
	return "published", true
}
