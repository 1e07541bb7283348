package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/clvstream/clvstream/pkg/churn"
	"github.com/clvstream/clvstream/pkg/clv"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/segment"
	"github.com/clvstream/clvstream/pkg/subscription"
)

// Config configures fitting. Zero values mean the defaults of WithDefaults.
type Config struct {
	// Kind is the purchase model (model.purchase): mbgnbd (default;
	// one-time buyers can churn), bgnbd, paretonbd, or auto: fit every
	// candidate on the calibration window and keep the one with the lowest
	// holdout error.
	Kind string `yaml:"purchase"`
	// TimeUnit is the model's time unit: week (default) or day.
	TimeUnit string `yaml:"time_unit"`
	// RefitInterval is how often the lock holder refits (default 6h).
	RefitInterval time.Duration `yaml:"refit_interval"`
	// MinCustomers, MinRepeatBuyers and MinHistory are the least data a fit
	// needs (defaults 200, 50 and 720h = 30 days); below, the baseline
	// scores stay.
	MinCustomers    int           `yaml:"min_customers"`
	MinRepeatBuyers int           `yaml:"min_repeat_buyers"`
	MinHistory      time.Duration `yaml:"min_history"`
	// MaxCustomers bounds the customers a service refit reads (default
	// 100,000): above it the fit uses a uniform sample of that size, so
	// its memory and time do not grow with the customer base (the
	// parameters of these population models are estimated to well under
	// their sampling error from 100,000 customers).
	MaxCustomers int `yaml:"max_customers"`
	// Holdout is the length of the holdout window (default: a third of
	// the history).
	Holdout time.Duration `yaml:"holdout"`
	// MaxHoldoutDegradation: a new fit whose holdout error exceeds the
	// current model's by more than this (absolute, e.g. 0.1 = 10 points) is
	// not published (default 0.1).
	MaxHoldoutDegradation float64 `yaml:"max_holdout_degradation"`
	// Penalizer is the L2 penalty of the fits (default 0: plain MLE).
	Penalizer float64 `yaml:"penalizer"`
	// HorizonMonths and MonthlyDiscount define predicted CLV (defaults 12
	// and 0.01).
	HorizonMonths   int     `yaml:"horizon_months"`
	MonthlyDiscount float64 `yaml:"monthly_discount"`
	// ChurnHorizon is the churn horizon H: the churn model is fitted to
	// predict "no purchase in the next H" (set from scoring.churn_horizon;
	// default 90 days).
	ChurnHorizon time.Duration `yaml:"-"`
	// EmailHalfLife is the half-life of the decayed email counters (set
	// from scoring.email_half_life; default 30 days).
	EmailHalfLife time.Duration `yaml:"-"`
	// MaxParamRatio bounds a usable fit: a parameter (α on lifetimes'
	// rescaled time axis, max T = 1) below 1/MaxParamRatio or above
	// MaxParamRatio is degenerate (default 1e4, see DegenerateReason).
	MaxParamRatio float64 `yaml:"-"`
	// Subscriptions configures the renewal models (set from
	// scoring.subscriptions).
	Subscriptions subscription.Config `yaml:"-"`
}

// KindAuto (model.purchase: auto) fits every purchase model on the
// calibration window and keeps the one with the lowest holdout error.
const KindAuto = "auto"

// WithDefaults returns c with zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.Kind == "" {
		c.Kind = KindMBGNBD
	}
	if c.TimeUnit == "" {
		c.TimeUnit = "week"
	}
	if c.RefitInterval == 0 {
		c.RefitInterval = 6 * time.Hour
	}
	if c.MaxCustomers == 0 {
		c.MaxCustomers = 100_000
	}
	if c.MinCustomers == 0 {
		c.MinCustomers = 200
	}
	if c.MinRepeatBuyers == 0 {
		c.MinRepeatBuyers = 50
	}
	if c.MinHistory == 0 {
		c.MinHistory = 30 * 24 * time.Hour
	}
	if c.MaxHoldoutDegradation == 0 {
		c.MaxHoldoutDegradation = 0.1
	}
	if c.HorizonMonths == 0 {
		c.HorizonMonths = 12
	}
	if c.MonthlyDiscount == 0 {
		c.MonthlyDiscount = 0.01
	}
	if c.ChurnHorizon == 0 {
		c.ChurnHorizon = 90 * 24 * time.Hour
	}
	if c.EmailHalfLife == 0 {
		c.EmailHalfLife = 30 * 24 * time.Hour
	}
	if c.MaxParamRatio == 0 {
		c.MaxParamRatio = 1e4
	}
	return c
}

// Validate names the first invalid field (under "model").
func (c Config) Validate() error {
	if c.Kind != KindMBGNBD && c.Kind != KindBGNBD && c.Kind != KindParetoNBD && c.Kind != KindBGBB && c.Kind != KindAuto {
		return fmt.Errorf("model.purchase: %q must be mbgnbd, bgnbd, paretonbd, bgbb (discrete-time data) or auto", c.Kind)
	}
	if c.Penalizer < 0 || math.IsNaN(c.Penalizer) || math.IsInf(c.Penalizer, 0) {
		return fmt.Errorf("model.penalizer: %v must be a finite number ≥ 0, e.g. 0 or 0.01", c.Penalizer)
	}
	if c.MinCustomers < 0 || c.MinRepeatBuyers < 0 {
		return errors.New("model.min_customers and model.min_repeat_buyers must be ≥ 0 (0 means the default)")
	}
	if c.MaxCustomers < 0 || (c.MaxCustomers > 0 && c.MaxCustomers < max(c.MinCustomers, 1000)) {
		return fmt.Errorf("model.max_customers: %d must be at least 1000 and model.min_customers (0 means the default, 100000)", c.MaxCustomers)
	}
	if c.ChurnHorizon < 0 {
		return errors.New("scoring.churn_horizon must be positive, e.g. 2160h (90 days)")
	}
	if _, err := UnitDays(c.TimeUnit); err != nil {
		return fmt.Errorf("model.time_unit: %w", err)
	}
	if c.HorizonMonths < 1 {
		return fmt.Errorf("model.horizon_months: %d must be at least 1", c.HorizonMonths)
	}
	if c.MonthlyDiscount < 0 || c.MonthlyDiscount >= 1 {
		return fmt.Errorf("model.monthly_discount: %v must be in [0, 1), e.g. 0.01", c.MonthlyDiscount)
	}
	if c.Holdout < 0 || c.MinHistory < 0 || c.RefitInterval < 0 {
		return errors.New("model: durations must be positive (0 means the default)")
	}
	return nil
}

// UnitDays returns the length in days of a time unit name.
func UnitDays(unit string) (float64, error) {
	switch unit {
	case "day", "days":
		return 1, nil
	case "week", "weeks":
		return 7, nil
	}
	return 0, fmt.Errorf("%q must be day or week", unit)
}

// Summary is one customer's figures as of an instant, in the model's time
// unit (X, TX, T) and major currency units (M, AOV).
type Summary struct {
	ID string
	// X repeat purchase days, TX first-to-last purchase, T first purchase
	// to the instant.
	X, TX, T float64
	// M is the mean value of the repeat purchase days (0 when X is 0); AOV
	// the mean value of all purchase days; RecencyDays the days since the
	// last purchase; MarginRate net margin over net revenue.
	M, AOV, RecencyDays, MarginRate float64
	// FirstPurchase is when the customer first bought.
	FirstPurchase time.Time
	// Signals are the customer's email and support signals as of the
	// instant (PNoPurchase unset), for the churn model.
	Signals churn.Signals
}

// Customer returns the summary in package clv's form.
func (s Summary) Customer() clv.Customer {
	return clv.Customer{X: s.X, TX: s.TX, T: s.T, M: s.M}
}

// Summarize returns the summary of st as of asOf, false when the customer
// had not bought by then (or is erased). Email counters decay with the
// default half-life; SummarizeWith takes one.
func Summarize(st *customer.State, asOf time.Time, unitDays, minorPerMajor float64) (Summary, bool) {
	return SummarizeWith(st, asOf, unitDays, minorPerMajor, 0)
}

// SummarizeWith is Summarize with the email half-life of the signals.
func SummarizeWith(st *customer.State, asOf time.Time, unitDays, minorPerMajor float64, emailHalfLife time.Duration) (Summary, bool) {
	if st.Erased {
		return Summary{}, false
	}
	f := st.Derive(asOf, emailHalfLife)
	if f.PurchaseDays == 0 {
		return Summary{}, false
	}
	s := Summary{
		ID: st.ID, X: float64(f.Frequency), TX: f.SpanDays / unitDays, T: f.TenureDays / unitDays,
		M: f.RepeatMean() / minorPerMajor, AOV: f.AOV() / minorPerMajor, RecencyDays: f.RecencyDays,
		FirstPurchase: f.FirstPurchase,
		Signals: churn.Signals{EmailSends: f.EmailSends, EmailOpens: f.EmailOpens, EmailClicks: f.EmailClicks,
			OpenTickets: f.OpenTickets, Reopened: f.Reopened, MeanResolveHours: f.MeanResolveHours, CSAT: f.CSAT,
			NPSScored: f.Surveys.Has[0], NPS: f.Surveys.Latest[0], CESScored: f.Surveys.Has[2], CES: f.Surveys.Latest[2],
			OptedOut: f.OptedOut},
	}
	if f.Net > 0 {
		s.MarginRate = math.Max(0, float64(f.Margin)/float64(f.Net))
	}
	return s, true
}

// Input is what a fit needs: the summaries as of AsOf, and, for the
// holdout check, the summaries as of AsOf − Holdout of the customers who had
// bought by then with their repeat purchases in the holdout window.
type Input struct {
	AsOf        time.Time
	Full        []Summary
	Calibration []Summary
	// HoldoutActual[i] is the number of repeat purchase days of
	// Calibration[i] in the holdout window.
	HoldoutActual []float64
	Holdout       time.Duration
	// Churn is the time split the churn model is fitted on (empty: no
	// split, the churn model stays the identity).
	Churn ChurnSplit
	// Renewals are the subscriptions' renewal histories as of AsOf, for
	// the renewal models (package subscription).
	Renewals []subscription.Row
}

// Fit fits the models to in and returns the record to publish (Version 0:
// the store assigns it). A record of kind baseline says why no model was
// fitted. A fitted record whose purchase fit did not converge or is
// degenerate carries the reason in Rejected (Gate refuses it; the CLI
// refuses it unless forced). An error means the fit failed or ctx ended:
// every step is bounded and checks ctx.
func Fit(ctx context.Context, in Input, c Config) (Record, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Record{}, err
	}
	unitDays, err := UnitDays(c.TimeUnit)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Kind: KindBaseline, FittedAt: time.Now().UTC(), AsOf: in.AsOf, TimeUnitDays: unitDays,
		Customers: len(in.Full), HorizonMonths: c.HorizonMonths, MonthlyDiscount: c.MonthlyDiscount}
	// The renewal models do not depend on the purchase data: a pure
	// subscription business gets them with a baseline record.
	if rec.Subscriptions, err = subscription.Fit(ctx, in.Renewals, c.Subscriptions); err != nil {
		return rec, err
	}
	if len(in.Full) == 0 {
		rec.Reason = "no customers with purchases yet"
		return rec, nil
	}
	first := in.Full[0].FirstPurchase
	var span float64
	for _, s := range in.Full {
		if s.X > 0 {
			rec.RepeatBuyers++
			rec.PopulationRepeats += int64(s.X)
			span += s.TX * unitDays
		}
		if s.FirstPurchase.Before(first) {
			first = s.FirstPurchase
		}
	}
	rec.PopulationSpanDays = int64(math.Round(span))
	rec.WindowStart = first
	rec.RFM = cutPoints(in.Full)
	history := in.AsOf.Sub(first)
	switch {
	case rec.Customers < c.MinCustomers:
		rec.Reason = fmt.Sprintf("%d customers, fewer than model.min_customers (%d)", rec.Customers, c.MinCustomers)
	case rec.RepeatBuyers < c.MinRepeatBuyers:
		rec.Reason = fmt.Sprintf("%d repeat buyers, fewer than model.min_repeat_buyers (%d)", rec.RepeatBuyers, c.MinRepeatBuyers)
	case !in.AsOf.IsZero() && history < c.MinHistory: // summary files have no calendar
		rec.Reason = fmt.Sprintf("%s of history, less than model.min_history (%s)", history.Round(time.Hour), c.MinHistory)
	case rec.RepeatBuyers == 0:
		rec.Reason = "no repeat buyers: a purchase model cannot be identified"
	}
	if rec.Reason != "" {
		return rec, nil
	}
	opts := clv.FitOptions{Penalizer: c.Penalizer}
	kind := c.Kind
	var hold *Holdout
	if kind == KindAuto {
		if len(in.Calibration) == 0 {
			return rec, errors.New("model.purchase auto needs a holdout window to choose by")
		}
		rec.Selection = &Selection{}
		best := math.Inf(1)
		names := clv.PurchaseModelNames
		// BG/BB models one transaction opportunity per time unit: it is a
		// candidate only where every history is discrete (clv.Discrete).
		if clv.Discrete(summariesToCustomers(in.Full)) && clv.Discrete(summariesToCustomers(in.Calibration)) {
			names = append(names[:len(names):len(names)], clv.NameBGBB)
		} else {
			rec.Selection.Candidates = append(rec.Selection.Candidates, Candidate{Kind: clv.NameBGBB,
				Error: "not a candidate: the histories are not discrete-time (whole numbers x ≤ t_x ≤ T of time units)"})
		}
		for _, name := range names {
			h, err := holdout(ctx, name, in, opts, unitDays)
			if err != nil {
				if ctx.Err() != nil {
					return rec, err
				}
				rec.Selection.Candidates = append(rec.Selection.Candidates, Candidate{Kind: name, Error: err.Error()})
				continue
			}
			rec.Selection.Candidates = append(rec.Selection.Candidates, Candidate{Kind: name, Holdout: h})
			if h.Error < best {
				best, kind, hold = h.Error, name, h
			}
		}
		if kind == KindAuto {
			return rec, errors.New("model.purchase auto: no candidate could be fitted on the calibration window")
		}
		rec.Selection.Chosen = kind
	}
	pm, res, err := fitPurchase(ctx, kind, summariesToCustomers(in.Full), opts)
	if err != nil {
		return rec, fmt.Errorf("fit %s: %w", kind, err)
	}
	p := pm.Params()
	rec.Kind, rec.Params = kind, Params{R: p.R, Alpha: p.Alpha, A: p.A, B: p.B}
	rec.LogLikelihood, rec.Converged, rec.Iterations = res.LogLikelihood, res.Converged, res.Iterations
	rec.Rejected = DegenerateReason(rec, maxAge(in.Full), c.MaxParamRatio)
	if err := fitSpend(ctx, &rec, in.Full, opts); err != nil {
		return rec, err
	}
	if hold == nil && len(in.Calibration) > 0 {
		if hold, err = holdout(ctx, kind, in, opts, unitDays); err != nil && ctx.Err() != nil {
			return rec, err
		}
	}
	rec.Holdout = hold
	if err := fitChurn(ctx, &rec, kind, in, c, opts, unitDays); err != nil {
		return rec, err
	}
	if rec.Rejected != "" {
		return rec, nil // not publishable: skip the CLV cut points
	}
	if rec.CLVCuts, err = clvCuts(ctx, &rec, in.Full); err != nil {
		return rec, err
	}
	return rec, nil
}

// DegenerateReason says why a fitted purchase model must not be used, or
// returns "": it did not converge, or a parameter ran off to a boundary
// (below 1/maxRatio or above maxRatio, α measured on lifetimes' time axis
// where the oldest customer has age 1, so the bound does not depend on the
// time unit). Such fits happen on tiny or pathological data (a → 0, b → 0:
// nobody ever drops out; r → ∞: everyone buys at exactly the same rate) and
// give meaningless forecasts.
func DegenerateReason(r Record, maxT, maxRatio float64) string {
	if !r.Converged {
		return fmt.Sprintf("the %s fit did not converge in %d iterations", r.Kind, r.Iterations)
	}
	scale := 1.0
	if maxT > 0 {
		scale = 1 / maxT
	}
	names := []string{"r", "alpha", "a", "b"}
	vals := []float64{r.Params.R, r.Params.Alpha * scale, r.Params.A, r.Params.B}
	switch r.Kind {
	case KindParetoNBD: // a = s, b = β: β is a time scale like α
		names[2], names[3], vals[3] = "s", "beta", r.Params.B*scale
	case KindBGBB: // α, β, γ, δ: all dimensionless
		names, vals[1] = []string{"alpha", "beta", "gamma", "delta"}, r.Params.Alpha
	}
	for i, name := range names {
		v := struct {
			name string
			val  float64
		}{name, vals[i]}
		if !(v.val >= 1/maxRatio && v.val <= maxRatio) {
			return fmt.Sprintf("degenerate %s fit: %s = %.3g is outside [%g, %g] (too little or too uniform data)", r.Kind, v.name, v.val, 1/maxRatio, maxRatio)
		}
	}
	return ""
}

func maxAge(ss []Summary) float64 {
	var m float64
	for _, s := range ss {
		m = math.Max(m, s.T)
	}
	return m
}

// fitSpend fits Gamma-Gamma on the repeat buyers and records which spend
// model is in force and why. Where the fit fails (too few repeat buyers,
// no convergence, q ≤ 1) the record's fallback is used: the population
// mean repeat spend shrunk towards the customer's own mean (see
// SpendModel). Only a cancelled context is an error.
func fitSpend(ctx context.Context, rec *Record, ss []Summary, opts clv.FitOptions) error {
	var repeat []clv.Customer
	var sum, n float64
	var excluded int
	for _, s := range ss {
		if s.X > 0 && s.M > clv.MaxSpend {
			excluded++ // a unit error upstream: not evidence about spend
			continue
		}
		if s.X > 0 && s.M > 0 {
			repeat = append(repeat, s.Customer())
			sum += s.M
			n++
		}
	}
	defer func() { rec.Spend.Excluded = excluded }()
	rec.Spend = SpendModel{Model: SpendFallback, Shrinkage: 1}
	if n > 0 {
		rec.Spend.PopulationMean = sum / n
	}
	if len(repeat) < 2 {
		rec.Spend.Reason = fmt.Sprintf("%d repeat buyers with spend: too few for Gamma-Gamma", len(repeat))
		return nil
	}
	gg, res, err := clv.FitGammaGammaContext(ctx, repeat, opts)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		rec.Spend.Reason = err.Error()
	case !res.Converged:
		rec.Spend.Reason = fmt.Sprintf("the Gamma-Gamma fit did not converge in %d iterations", res.Iterations)
	default:
		rec.GammaGamma = &GammaGamma{P: gg.P, Q: gg.Q, V: gg.V, LogLikelihood: res.LogLikelihood}
		rec.Spend = SpendModel{Model: SpendGammaGamma, PopulationMean: gg.P * gg.V / (gg.Q - 1)}
	}
	return nil
}

func summariesToCustomers(ss []Summary) []clv.Customer {
	out := make([]clv.Customer, len(ss))
	for i, s := range ss {
		out[i] = clv.Customer{X: s.X, TX: s.TX, T: s.T}
	}
	return out
}

func fitPurchase(ctx context.Context, kind string, data []clv.Customer, o clv.FitOptions) (clv.PurchaseModel, clv.FitResult, error) {
	return clv.FitPurchaseModel(ctx, kind, data, o)
}

// holdout fits the calibration data and compares the predicted repeat
// purchases of the holdout window with the actual ones.
func holdout(ctx context.Context, kind string, in Input, o clv.FitOptions, unitDays float64) (*Holdout, error) {
	pm, _, err := fitPurchase(ctx, kind, summariesToCustomers(in.Calibration), o)
	if err != nil {
		return nil, err
	}
	h := &Holdout{Days: in.Holdout.Hours() / 24}
	t := h.Days / unitDays
	// Histories repeat (day- or week-rounded times, discrete data): each
	// distinct one is computed once.
	seen := map[[3]float64]float64{}
	for i, s := range in.Calibration {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		k := [3]float64{s.X, s.TX, s.T}
		v, ok := seen[k]
		if !ok {
			v = pm.ConditionalExpectedPurchases(t, s.X, s.TX, s.T)
			if len(seen) < 1<<20 {
				seen[k] = v
			}
		}
		h.Predicted += v
		h.Actual += in.HoldoutActual[i]
	}
	if h.Actual > 0 {
		h.Error = math.Abs(h.Predicted-h.Actual) / h.Actual
	} else {
		h.Error = math.Abs(h.Predicted)
	}
	return h, nil
}

// fitChurn fits the churn model on the time split of in: the purchase
// model is refitted on the summaries as of the earliest cutoff (so it has
// not seen any label window), each example's P(no purchase in its window)
// and history and signals as of its cutoff are the features, and "no
// purchase between the cutoff and AsOf" the label. When there is no usable
// split the record keeps the identity churn model (the purchase model's
// probability) and says why in Churn.Note.
func fitChurn(ctx context.Context, rec *Record, kind string, in Input, c Config, o clv.FitOptions, unitDays float64) error {
	hDays := c.ChurnHorizon.Hours() / 24
	m := churn.Model{HorizonDays: hDays}
	defer func() { rec.Churn = &m }()
	if len(in.Churn.Examples) == 0 || len(in.Churn.Fit) == 0 {
		m.Note = "no time split: the history is shorter than two days or the input has no calendar"
		return nil
	}
	pm, res, err := fitPurchase(ctx, kind, summariesToCustomers(in.Churn.Fit), o)
	if err != nil || !res.Converged {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.Note = fmt.Sprintf("purchase model at the churn cutoff could not be fitted (converged %v, %v)", res.Converged, err)
		return nil
	}
	ex := make([]churn.Example, len(in.Churn.Examples))
	for i, e := range in.Churn.Examples {
		s := e.Summary
		sig := s.ChurnSignals(pm.ProbNoPurchase(e.HorizonDays/unitDays, s.X, s.TX, s.T), unitDays)
		ex[i] = churn.Example{Signals: sig, Churned: e.Churned, HorizonDays: e.HorizonDays, Group: e.Customer}
	}
	fitted, err := churn.Fit(ctx, ex, churn.FitOptions{HorizonDays: hDays})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.Note = "churn weights not fitted: " + err.Error()
	} else {
		m = fitted
	}
	return nil
}

// PurchaseModel returns the record's purchase model (nil for baseline or
// an unknown kind).
func (r *Record) PurchaseModel() clv.PurchaseModel {
	if !r.Fitted() {
		return nil
	}
	m, err := clv.NewPurchaseModel(r.Kind, clv.Params{R: r.Params.R, Alpha: r.Params.Alpha, A: r.Params.A, B: r.Params.B})
	if err != nil {
		return nil
	}
	return m
}

// ExpectedSpend is the expected value of the customer's future purchases
// (major units) under the spend model in force: the Gamma-Gamma
// conditional expectation, or, without one, the fallback of SpendModel.
// It is finite and, for a customer with purchases, positive.
func (r *Record) ExpectedSpend(s Summary) float64 {
	if g := r.GammaGamma; g != nil && g.Q > 1 {
		v := clv.GammaGamma{P: g.P, Q: g.Q, V: g.V}.ConditionalExpectedSpend(s.X, math.Min(s.M, clv.MaxSpend))
		if v > 0 && !math.IsInf(v, 0) {
			return v
		}
	}
	return r.Spend.Fallback(s)
}

// PredictedCLV is the discounted expected gross margin of the customer's
// purchases over the record's horizon (clv.CLV times the margin rate), in
// major units. pm is r.PurchaseModel(), passed to avoid rebuilding it. It
// is always finite and ≥ 0.
func (r *Record) PredictedCLV(pm clv.PurchaseModel, s Summary, marginRate float64) float64 {
	if pm == nil {
		return 0
	}
	v := clv.CLV(pm, r.ExpectedSpend(s), s.Customer(), r.HorizonMonths, r.MonthlyDiscount, r.TimeUnitDays) * marginRate
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

// CLVPercentile places a predicted CLV among the population's (0..100).
func (r *Record) CLVPercentile(v float64) float64 {
	if len(r.CLVCuts) == 0 {
		return 0
	}
	return float64(sort.SearchFloat64s(r.CLVCuts, v)) * 100 / float64(len(r.CLVCuts)+1)
}

// clvCuts computes the 1st..99th percentiles of predicted CLV over (a
// deterministic sample of at most 100,000 of) the customers, checking ctx
// every 1,000 customers.
func clvCuts(ctx context.Context, r *Record, ss []Summary) ([]float64, error) {
	pm := r.PurchaseModel()
	if pm == nil {
		return nil, nil
	}
	step := max(1, len(ss)/100000)
	vals := make([]float64, 0, len(ss)/step+1)
	for i := 0; i < len(ss); i += step {
		if i%1000 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		vals = append(vals, r.PredictedCLV(pm, ss[i], ss[i].MarginRate))
	}
	return quantiles(vals, 100), nil
}

// cutPoints returns the RFM quintile boundaries: recency in days,
// frequency in repeat purchases, monetary as AOV.
func cutPoints(ss []Summary) CutPoints {
	rec := make([]float64, len(ss))
	freq := make([]float64, len(ss))
	mon := make([]float64, len(ss))
	for i, s := range ss {
		rec[i], freq[i], mon[i] = s.RecencyDays, s.X, s.AOV
	}
	return segment.QuintileCutPoints(rec, freq, mon)
}

// quantiles returns the q-1 inner q-quantiles of vals (nearest rank).
func quantiles(vals []float64, q int) []float64 {
	if len(vals) == 0 {
		return nil
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	out := make([]float64, q-1)
	for k := 1; k < q; k++ {
		i := int(math.Ceil(float64(k)*float64(len(s))/float64(q))) - 1
		out[k-1] = s[max(0, min(i, len(s)-1))]
	}
	return out
}
