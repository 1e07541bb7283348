package clv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
)

// This file holds the shifted-beta-geometric (sBG) model of contract
// renewal: Fader & Hardie (2007), "How to Project Customer Retention",
// Journal of Interactive Marketing 21(1), 76–90, for the model, its
// likelihood and the survival and retention curves, and Fader & Hardie
// (2010), "Customer-Base Valuation in a Contractual Setting: The Perils of
// Ignoring Heterogeneity", Marketing Science 29(1), 85–93, eq. 6, for the
// discounted expected residual lifetime. The code is written from the
// formulas in the package documentation.

// SBG is a shifted-beta-geometric model: at the end of every contract
// period a subscriber renews with probability 1 − θ, independently from
// period to period, and θ ~ Beta(Alpha, Beta) across subscribers. The
// lifetime T (the period in which the subscriber cancels, 1, 2, …) of one
// subscriber is geometric; across subscribers it is shifted-beta-geometric.
type SBG struct {
	Alpha, Beta float64
}

func (m SBG) valid() bool {
	return m.Alpha > 0 && m.Beta > 0 && !math.IsInf(m.Alpha, 1) && !math.IsInf(m.Beta, 1)
}

// ProbChurnAt is P(T = t): the probability that a new subscriber cancels
// in period t (does not renew at its end), t ≥ 1:
//
//	P(T = t) = B(α+1, β+t−1) / B(α, β).
func (m SBG) ProbChurnAt(t int) float64 {
	if !m.valid() || t < 1 {
		return math.NaN()
	}
	return math.Exp(lbeta(m.Alpha+1, m.Beta+float64(t)-1) - lbeta(m.Alpha, m.Beta))
}

// Survival is S(t) = P(T > t): the share of a cohort still subscribed after
// t periods (t renewals), S(0) = 1:
//
//	S(t) = B(α, β+t) / B(α, β).
func (m SBG) Survival(t int) float64 {
	if !m.valid() || t < 0 {
		return math.NaN()
	}
	return math.Exp(lbeta(m.Alpha, m.Beta+float64(t)) - lbeta(m.Alpha, m.Beta))
}

// SurvivalCurve returns S(0), S(1), …, S(n).
func (m SBG) SurvivalCurve(n int) []float64 {
	if n < 0 {
		return nil
	}
	out := make([]float64, n+1)
	for t := range out {
		out[t] = m.Survival(t)
	}
	return out
}

// RetentionRate is r_t = S(t)/S(t−1), the share of the subscribers of
// period t who renew at its end, t ≥ 1. It rises with t (the subscribers
// with a high θ leave first):
//
//	r_t = (β+t−1) / (α+β+t−1).
func (m SBG) RetentionRate(t int) float64 {
	if !m.valid() || t < 1 {
		return math.NaN()
	}
	return (m.Beta + float64(t) - 1) / (m.Alpha + m.Beta + float64(t) - 1)
}

// RetentionCurve returns r_1, …, r_n.
func (m SBG) RetentionCurve(n int) []float64 {
	if n < 0 {
		return nil
	}
	out := make([]float64, n)
	for t := range out {
		out[t] = m.RetentionRate(t + 1)
	}
	return out
}

// RenewalProb is the probability that a subscriber who has renewed n times
// (T > n: now in period n+1) renews at the end of the current period:
// P(T > n+1 | T > n) = r_{n+1} = (β+n)/(α+β+n). Its complement is the
// subscriber's churn probability for the period.
func (m SBG) RenewalProb(n int) float64 {
	if n < 0 {
		return math.NaN()
	}
	return m.RetentionRate(n + 1)
}

// ExpectedRenewals is the expected number of further renewals of a
// subscriber who has renewed n times, E[T − n − 1 | T > n]. The posterior
// of θ after n renewals is Beta(α, β+n) and the remaining lifetime of a
// subscriber with churn probability θ is geometric with mean 1/θ, so
//
//	E[T − n − 1 | T > n] = E[1/θ | α, β+n] − 1 = (β+n)/(α−1)   for α > 1,
//
// and +Inf for α ≤ 1 (the mean lifetime is infinite: a share of
// subscribers with θ near 0 almost never leaves). ExpectedRenewalsWithin
// and DERL are finite for every α.
func (m SBG) ExpectedRenewals(n int) float64 {
	if !m.valid() || n < 0 {
		return math.NaN()
	}
	if m.Alpha <= 1 {
		return math.Inf(1)
	}
	return (m.Beta + float64(n)) / (m.Alpha - 1)
}

// ExpectedRenewalsWithin is the expected number of the next h renewals a
// subscriber who has renewed n times makes: Σ_{j=1..h} S(n+j)/S(n).
func (m SBG) ExpectedRenewalsWithin(n, h int) float64 {
	if !m.valid() || n < 0 || h < 0 {
		return math.NaN()
	}
	var s float64
	r := 1.0
	for j := 1; j <= h; j++ {
		r *= m.RetentionRate(n + j)
		s += r
	}
	return s
}

// MinDiscountRate is the smallest per-period discount rate DERL accepts:
// the series then needs some 10⁵ terms (see DERL).
const MinDiscountRate = 1e-4

// DERL is the discounted expected residual lifetime of a subscriber who
// has renewed n times, evaluated just before the next renewal decision, at
// discount rate d per period (Fader & Hardie 2010, eq. 6, with their n−1
// renewals written n here):
//
//	DERL(d | n) = Σ_{j≥1} S(n+j)/S(n) · (1+d)^−(j−1)
//	            = (β+n)/(α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d)).
//
// It counts the expected future renewal payments, the next one (if made)
// undiscounted; times the price per period it is the subscriber's residual
// value. The series is summed term by term: the ratio of consecutive terms,
// (β+n+k)/(α+β+n+k)/(1+d), is below 1/(1+d), so the remainder after a term
// u is at most u/d and the sum stops when that bound is below 1e−10 of the
// sum (about 25/d terms). d below MinDiscountRate (or not finite)
// gives NaN.
func (m SBG) DERL(n int, d float64) float64 {
	if !m.valid() || n < 0 || !(d >= MinDiscountRate) || math.IsInf(d, 1) {
		return math.NaN()
	}
	z := 1 / (1 + d)
	b, c := m.Beta+float64(n), m.Alpha+m.Beta+float64(n)
	u := b / c // first term: S(n+1)/S(n)
	s := u
	for k := 1.0; u/d > 1e-10*s; k++ {
		u *= (b + k) / (c + k) * z
		s += u
	}
	return s
}

// SBGRow is one row of contract data: a subscriber observed for Periods
// contract periods who either cancelled in period Periods (Churned: did
// not renew at its end, Periods ≥ 1) or was still subscribed after it
// (right-censored, Periods renewals made). W is the number of identical
// subscribers the row stands for (0 means 1).
type SBGRow struct {
	Periods int
	Churned bool
	W       float64
}

// LogLikelihood is the log-likelihood of one row:
//
//	churned in period t:   ln P(T = t) = ln B(α+1, β+t−1) − ln B(α, β)
//	active after t:        ln S(t)     = ln B(α, β+t)     − ln B(α, β).
func (m SBG) LogLikelihood(r SBGRow) float64 {
	if !m.valid() || r.Periods < 0 || (r.Churned && r.Periods < 1) {
		return math.NaN()
	}
	t := float64(r.Periods)
	if r.Churned {
		return lbeta(m.Alpha+1, m.Beta+t-1) - lbeta(m.Alpha, m.Beta)
	}
	return lbeta(m.Alpha, m.Beta+t) - lbeta(m.Alpha, m.Beta)
}

// SBGRowsFromSurvival turns the survivor counts of one cohort, alive[t] =
// the number still subscribed after t periods (alive[0] the cohort size,
// non-increasing), into rows: alive[t−1] − alive[t] cancelled in period t,
// and the alive[n] survivors of the last observed period n are censored
// there.
func SBGRowsFromSurvival(alive []float64) ([]SBGRow, error) {
	if len(alive) < 2 {
		return nil, errors.New("clv: sBG survival counts: need the cohort size and at least one period")
	}
	for t, v := range alive {
		if !(v >= 0) || math.IsInf(v, 1) {
			return nil, fmt.Errorf("clv: sBG survival counts: period %d: %v must be finite and ≥ 0", t, v)
		}
		if t > 0 && v > alive[t-1] {
			return nil, fmt.Errorf("clv: sBG survival counts: period %d: %v survivors is more than the %v of period %d; counts must not increase", t, v, alive[t-1], t-1)
		}
	}
	var rows []SBGRow
	for t := 1; t < len(alive); t++ {
		if lost := alive[t-1] - alive[t]; lost > 0 {
			rows = append(rows, SBGRow{Periods: t, Churned: true, W: lost})
		}
	}
	if n := len(alive) - 1; alive[n] > 0 {
		rows = append(rows, SBGRow{Periods: n, W: alive[n]})
	}
	return rows, nil
}

// MaxSBGPeriods bounds the periods of a row (a daily contract for about
// 270 years); longer histories are rejected by FitSBG.
const MaxSBGPeriods = 100000

// FitSBG fits the sBG model by maximum likelihood: BFGS on (ln α, ln β)
// with the analytic gradient (digamma functions) from deterministic
// starting points, bounded by o.MaxIter iterations per start, checking ctx
// before every likelihood evaluation. Rows with the same (Periods,
// Churned) are merged first, so the work is proportional to the number of
// distinct periods. The result's LogLikelihood is the total over all
// subscribers; a cohort with no cancellation at all has no finite MLE and
// is an error, as is one where everyone cancelled in the first period.
func FitSBG(ctx context.Context, rows []SBGRow, o FitOptions) (SBG, FitResult, error) {
	o = o.withDefaults()
	type key struct {
		t int
		c bool
	}
	merged := map[key]float64{}
	var n, churned, laterChurn, censoredAfter0 float64
	for i, r := range rows {
		w := r.W
		if w == 0 {
			w = 1
		}
		switch {
		case math.IsNaN(w) || w < 0 || math.IsInf(w, 1):
			return SBG{}, FitResult{}, fmt.Errorf("clv: sBG row %d: weight %v must be finite and ≥ 0", i, r.W)
		case r.Periods < 0 || r.Periods > MaxSBGPeriods:
			return SBG{}, FitResult{}, fmt.Errorf("clv: sBG row %d: periods %d must be between 0 and %d", i, r.Periods, MaxSBGPeriods)
		case r.Churned && r.Periods < 1:
			return SBG{}, FitResult{}, fmt.Errorf("clv: sBG row %d: a cancellation happens in period 1 or later, got periods 0", i)
		}
		if !r.Churned && r.Periods == 0 {
			continue // observed for no period: no information
		}
		merged[key{r.Periods, r.Churned}] += w
		n += w
		if r.Churned {
			churned += w
			if r.Periods > 1 {
				laterChurn += w
			}
		} else {
			censoredAfter0 += w
		}
	}
	out := FitResult{N: int(math.Round(n))}
	if n == 0 {
		return SBG{}, out, errors.New("clv: sBG: no subscribers observed for at least one period")
	}
	if churned == 0 {
		return SBG{}, out, errors.New("clv: sBG: no cancellation in the data; the renewal model cannot be fitted (wait for cancellations, or more periods)")
	}
	if laterChurn == 0 && censoredAfter0 == 0 {
		return SBG{}, out, errors.New("clv: sBG: every subscriber cancelled in the first period; the renewal model cannot be fitted")
	}
	keys := make([]key, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].t != keys[j].t {
			return keys[i].t < keys[j].t
		}
		return !keys[i].c && keys[j].c
	})
	ts := make([]float64, len(keys))
	cs := make([]bool, len(keys))
	ws := make([]float64, len(keys))
	for i, k := range keys {
		ts[i], cs[i], ws[i] = float64(k.t), k.c, merged[k]/n
	}
	var ctxErr error
	obj := func(v, grad []float64) float64 {
		if ctxErr = ctx.Err(); ctxErr != nil {
			return math.NaN()
		}
		a, b := math.Exp(v[0]), math.Exp(v[1])
		if !(a > 0) || !(b > 0) || math.IsInf(a, 1) || math.IsInf(b, 1) {
			return math.Inf(1)
		}
		lab := lbeta(a, b)
		dab := digamma(a + b)
		da, db := digamma(a), digamma(b)
		var ll, ga, gb float64
		for i, t := range ts {
			w := ws[i]
			if cs[i] {
				ll += w * (lbeta(a+1, b+t-1) - lab)
				s := digamma(a + b + t)
				ga += w * (digamma(a+1) - s - da + dab)
				gb += w * (digamma(b+t-1) - s - db + dab)
			} else {
				ll += w * (lbeta(a, b+t) - lab)
				s := digamma(a + b + t)
				ga += w * (dab - s)
				gb += w * (digamma(b+t) - s - db + dab)
			}
		}
		f := -ll
		grad[0], grad[1] = -ga*a, -gb*b
		if o.Penalizer > 0 {
			f += o.Penalizer * (a*a + b*b)
			grad[0] += 2 * o.Penalizer * a * a
			grad[1] += 2 * o.Penalizer * b * b
		}
		return f
	}
	starts := [][2]float64{{1, 1}, {0.5, 2}, {2, 0.5}, {0.2, 0.2}, {5, 5}}
	best := optResult{f: math.Inf(1)}
	for s := 0; s < o.Starts; s++ {
		st := starts[s%len(starts)]
		res, err := bfgs(ctx, obj, []float64{math.Log(st[0]), math.Log(st[1])}, nil, o.MaxIter, o.Tol)
		if err == nil {
			err = ctxErr
		}
		if err != nil {
			return SBG{}, out, fmt.Errorf("clv: sBG fit stopped: %w", err)
		}
		if res.f < best.f {
			best = res
		}
	}
	if best.x == nil || !isFinite(best.f) {
		return SBG{}, out, errors.New("clv: sBG likelihood is not finite at any starting point")
	}
	m := SBG{Alpha: math.Exp(best.x[0]), Beta: math.Exp(best.x[1])}
	var ll float64
	for i, t := range ts {
		ll += ws[i] * m.LogLikelihood(SBGRow{Periods: int(t), Churned: cs[i]})
	}
	out.LogLikelihood = ll * n
	out.Converged, out.Iterations = best.converged, best.iters
	return m, out, nil
}
