package subscription

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/clvstream/clvstream/pkg/clv"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// Config parameterises the subscription scores. Zero values mean the
// documented defaults.
type Config struct {
	// AnnualDiscount is the yearly discount rate of the residual value
	// (default 0.1); each period is discounted at (1+AnnualDiscount)^(period
	// in years) − 1, at least clv.MinDiscountRate.
	AnnualDiscount float64 `yaml:"annual_discount"`
	// Horizon is the window of the expected renewals figure (default
	// 26298h = 3 years).
	Horizon time.Duration `yaml:"horizon"`
	// MinSubscribers is the least number of subscriptions of one period a
	// renewal model is fitted on (default 30).
	MinSubscribers int `yaml:"min_subscribers"`
}

// WithDefaults returns c with zero fields replaced by defaults.
func (c Config) WithDefaults() Config {
	if c.AnnualDiscount == 0 {
		c.AnnualDiscount = 0.1
	}
	if c.Horizon == 0 {
		c.Horizon = time.Duration(3 * 365.25 * 24 * float64(time.Hour))
	}
	if c.MinSubscribers == 0 {
		c.MinSubscribers = 30
	}
	return c
}

// Validate reports the first bad field, naming it and the fix.
func (c Config) Validate(prefix string) error {
	switch {
	case !(c.AnnualDiscount > 0) || c.AnnualDiscount > 10:
		return fmt.Errorf("%sannual_discount: %v must be a yearly rate above 0 and at most 10, e.g. 0.1", prefix, c.AnnualDiscount)
	case c.Horizon < 24*time.Hour:
		return fmt.Errorf("%shorizon: %s must be at least 24h, e.g. 26298h (3 years)", prefix, c.Horizon)
	case c.MinSubscribers < 2:
		return fmt.Errorf("%smin_subscribers: %d must be at least 2, e.g. 30", prefix, c.MinSubscribers)
	}
	return nil
}

// PeriodFit is the renewal model of one contract period.
type PeriodFit struct {
	Alpha         float64 `json:"alpha"`
	Beta          float64 `json:"beta"`
	LogLikelihood float64 `json:"log_likelihood"`
	Converged     bool    `json:"converged"`
	// Subscriptions is the number of rows fitted, Cancelled how many of
	// them were cancellations.
	Subscriptions int `json:"subscriptions"`
	Cancelled     int `json:"cancelled"`
}

// SBG is the fit as a clv.SBG.
func (f PeriodFit) SBG() clv.SBG { return clv.SBG{Alpha: f.Alpha, Beta: f.Beta} }

// Model holds the renewal models per contract period; it is plain data,
// stored with the model record.
type Model struct {
	// Periods maps a period to its fit.
	Periods map[event.Period]PeriodFit `json:"periods,omitempty"`
	// Skipped says per period why no model was fitted.
	Skipped map[event.Period]string `json:"skipped,omitempty"`
}

// For returns the renewal model of period p.
func (m *Model) For(p event.Period) (clv.SBG, bool) {
	if m == nil {
		return clv.SBG{}, false
	}
	f, ok := m.Periods[p]
	return f.SBG(), ok
}

// Row is one subscription's renewal history as of an instant, for the fit.
type Row struct {
	Period event.Period
	clv.SBGRow
}

// Rows returns the rows of st's subscriptions as of asOf: cancelled,
// cancelling or lapsed ones as cancellations in period renewals+1, active
// ones censored after their renewals. Subscriptions not started by asOf or
// whose period is unknown are left out, as are erased customers.
func Rows(st *customer.State, asOf time.Time, out []Row) []Row {
	if st.Erased {
		return out
	}
	ms := asOf.UnixMilli()
	for i := range st.Subscriptions {
		v := &st.Subscriptions[i]
		if v.Period == "" {
			continue
		}
		n := v.Renewals()
		switch v.Status(ms) {
		case customer.SubActive:
			out = append(out, Row{Period: v.Period, SBGRow: clv.SBGRow{Periods: n}})
		case customer.SubCancelling, customer.SubCancelled:
			if v.HasActivity {
				out = append(out, Row{Period: v.Period, SBGRow: clv.SBGRow{Periods: n + 1, Churned: true}})
			}
		}
	}
	return out
}

// Fit fits one renewal model per period on rows. A period below
// c.MinSubscribers rows or whose fit fails (no cancellation yet, everyone
// cancelled in the first period) is skipped with the reason. It returns
// nil when there are no rows at all, and an error only when ctx ends.
func Fit(ctx context.Context, rows []Row, c Config) (*Model, error) {
	c = c.WithDefaults()
	if len(rows) == 0 {
		return nil, nil
	}
	by := map[event.Period][]clv.SBGRow{}
	for _, r := range rows {
		by[r.Period] = append(by[r.Period], r.SBGRow)
	}
	m := &Model{}
	for _, p := range event.Periods {
		rs := by[p]
		if len(rs) == 0 {
			continue
		}
		if len(rs) < c.MinSubscribers {
			m.skip(p, fmt.Sprintf("%d subscriptions, fewer than model.min_subscribers (%d)", len(rs), c.MinSubscribers))
			continue
		}
		sbg, res, err := clv.FitSBG(ctx, rs, clv.FitOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("fit %s renewals: %w", p, ctx.Err())
			}
			m.skip(p, err.Error())
			continue
		}
		if !res.Converged {
			m.skip(p, fmt.Sprintf("the sBG fit did not converge in %d iterations", res.Iterations))
			continue
		}
		cancelled := 0
		for _, r := range rs {
			if r.Churned {
				cancelled++
			}
		}
		if m.Periods == nil {
			m.Periods = map[event.Period]PeriodFit{}
		}
		m.Periods[p] = PeriodFit{Alpha: sbg.Alpha, Beta: sbg.Beta, LogLikelihood: res.LogLikelihood, Converged: true,
			Subscriptions: len(rs), Cancelled: cancelled}
	}
	return m, nil
}

func (m *Model) skip(p event.Period, why string) {
	if m.Skipped == nil {
		m.Skipped = map[event.Period]string{}
	}
	m.Skipped[p] = why
}

// Score is the subscription scoring of one customer.
type Score struct {
	customer.SubscriptionFeatures
	// Plan, Period and Renewals describe the primary subscription (empty
	// without one); PaidThrough is the end of its paid period.
	Plan        string
	Period      event.Period
	Renewals    int
	PaidThrough time.Time
	// Modelled is set when a renewal model for the primary subscription's
	// period is in force; otherwise RenewalProbability, ChurnProbability
	// and ExpectedRenewals are NaN for an active subscriber.
	Modelled bool
	// RenewalProbability is the probability that the primary subscription
	// renews at the end of its current period; ChurnProbability that it is
	// cancelled within the churn horizon (1 when cancelling or
	// cancelled); ExpectedRenewals the expected renewals within
	// Config.Horizon.
	RenewalProbability, ChurnProbability, ExpectedRenewals float64
	// ResidualValue is Σ price · DERL over the active subscriptions with a
	// model, in minor units (revenue, not margin).
	ResidualValue float64
}

// Evaluate scores st's subscriptions as of now with the renewal models m
// (nil: none fitted yet) and the churn horizon.
func Evaluate(st *customer.State, now time.Time, m *Model, horizon time.Duration, c Config) Score {
	return evaluate(st, now, m, horizon, c, true)
}

// EvaluateStatus is Evaluate without the residual value and the expected
// renewals (left 0 and NaN), the slow-moving figures a due-time probe does
// not look at.
func EvaluateStatus(st *customer.State, now time.Time, m *Model, horizon time.Duration, c Config) Score {
	return evaluate(st, now, m, horizon, c, false)
}

func evaluate(st *customer.State, now time.Time, m *Model, horizon time.Duration, c Config, value bool) Score {
	c = c.WithDefaults()
	sc := Score{SubscriptionFeatures: st.SubscriptionFeatures(now), RenewalProbability: math.NaN(), ChurnProbability: math.NaN(), ExpectedRenewals: math.NaN()}
	if sc.Primary < 0 {
		sc.ChurnProbability = 0
		return sc
	}
	ms := now.UnixMilli()
	for i := range st.Subscriptions {
		v := &st.Subscriptions[i]
		if !value || !v.HasPrice || v.Status(ms) != customer.SubActive {
			continue
		}
		if sbg, ok := m.For(v.Period); ok {
			if d := derl(sbg, v, c); !math.IsNaN(d) {
				sc.ResidualValue += float64(v.Price) * d
			}
		}
	}
	p := &st.Subscriptions[sc.Primary]
	sc.Plan, sc.Period, sc.Renewals = p.Plan, p.Period, p.Renewals()
	sc.PaidThrough = time.UnixMilli(p.PaidThrough()).UTC()
	sbg, ok := m.For(p.Period)
	sc.Modelled = ok
	if sc.Status != customer.SubActive {
		sc.RenewalProbability, sc.ChurnProbability, sc.ExpectedRenewals = 0, 1, 0
		return sc
	}
	if !ok {
		return sc
	}
	n := sc.Renewals
	sc.RenewalProbability = sbg.RenewalProb(n)
	// Renewal dates still to come within the horizon: the end of the paid
	// period and every period after it, counting one whose grace has not
	// ended yet as pending.
	k := renewalsWithin(p, ms, horizon.Milliseconds())
	sc.ChurnProbability = 1 - sbg.Survival(n+k)/sbg.Survival(n)
	if value {
		sc.ExpectedRenewals = sbg.ExpectedRenewalsWithin(n, int(c.Horizon.Milliseconds()/p.PeriodMs()))
	}
	return sc
}

// renewalsWithin counts the renewal dates b_j = PaidThrough + j·period
// (j ≥ 0) with b_j ≤ now + horizon whose grace has not ended by now.
func renewalsWithin(v *customer.Subscription, now, horizon int64) int {
	per := v.PeriodMs()
	k := 0
	for b := v.PaidThrough(); b <= now+horizon && k < 1<<20; b += per {
		if b+v.Edges()[1]-v.PaidThrough() > now {
			k++
		}
	}
	return k
}

// derl is the subscription's discounted expected residual lifetime at the
// per-period rate of c.AnnualDiscount.
func derl(m clv.SBG, v *customer.Subscription, c Config) float64 {
	years := float64(v.PeriodMs()) / float64(event.PeriodYear.Duration().Milliseconds())
	d := math.Max(math.Pow(1+c.AnnualDiscount, years)-1, clv.MinDiscountRate)
	return m.DERL(v.Renewals(), d)
}

// Edges returns the instants after now at which a subscription status of
// st can change without a new event (ends of paid periods and of their
// grace), sorted, for the scorer's due times.
func Edges(st *customer.State, now time.Time) []time.Time { return DueTimes(st, now, 0) }

// DueTimes is Edges plus, with a churn horizon h > 0, the first instant a
// renewal date not yet within the horizon enters it (the churn
// probability steps up then).
func DueTimes(st *customer.State, now time.Time, h time.Duration) []time.Time {
	ms := now.UnixMilli()
	var out []time.Time
	for i := range st.Subscriptions {
		v := &st.Subscriptions[i]
		if !v.HasActivity {
			continue
		}
		for _, e := range v.Edges() {
			if e > ms {
				out = append(out, time.UnixMilli(e).UTC())
			}
		}
		if h > 0 {
			per, hm := v.PeriodMs(), h.Milliseconds()
			b := v.PaidThrough()
			if b <= ms+hm {
				b += ((ms+hm-b)/per + 1) * per // the first renewal date beyond now + h
			}
			out = append(out, time.UnixMilli(b-hm).UTC())
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}
