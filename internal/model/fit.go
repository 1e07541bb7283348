package model

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/clvstream/clvstream/pkg/clv"
	"github.com/clvstream/clvstream/pkg/customer"
)

// Config configures fitting. Zero values mean the defaults of WithDefaults.
type Config struct {
	// Kind is the purchase model: mbgnbd (default; one-time buyers can
	// churn) or bgnbd.
	Kind string `yaml:"kind"`
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
}

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
	return c
}

// Validate names the first invalid field (under "model").
func (c Config) Validate() error {
	if c.Kind != KindMBGNBD && c.Kind != KindBGNBD {
		return fmt.Errorf("model.kind: %q must be mbgnbd or bgnbd", c.Kind)
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
}

// Customer returns the summary in package clv's form.
func (s Summary) Customer() clv.Customer {
	return clv.Customer{X: s.X, TX: s.TX, T: s.T, M: s.M}
}

// Summarize returns the summary of st as of asOf, false when the customer
// had not bought by then (or is erased).
func Summarize(st *customer.State, asOf time.Time, unitDays, minorPerMajor float64) (Summary, bool) {
	if st.Erased {
		return Summary{}, false
	}
	f := st.Derive(asOf, 0)
	if f.PurchaseDays == 0 {
		return Summary{}, false
	}
	s := Summary{
		ID: st.ID, X: float64(f.Frequency), TX: f.SpanDays / unitDays, T: f.TenureDays / unitDays,
		M: f.RepeatMean() / minorPerMajor, AOV: f.AOV() / minorPerMajor, RecencyDays: f.RecencyDays,
		FirstPurchase: f.FirstPurchase,
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
}

// Fit fits the models to in and returns the record to publish (Version 0:
// the store assigns it). A record of kind baseline says why no model was
// fitted; an error means the fit failed (no convergence is not an error:
// Converged tells).
func Fit(in Input, c Config) (Record, error) {
	c = c.WithDefaults()
	unitDays, err := UnitDays(c.TimeUnit)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Kind: KindBaseline, FittedAt: time.Now().UTC(), AsOf: in.AsOf, TimeUnitDays: unitDays,
		Customers: len(in.Full), HorizonMonths: c.HorizonMonths, MonthlyDiscount: c.MonthlyDiscount}
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
	}
	if rec.Reason != "" {
		return rec, nil
	}
	opts := clv.FitOptions{Penalizer: c.Penalizer}
	pm, res, err := fitPurchase(c.Kind, summariesToCustomers(in.Full), opts)
	if err != nil {
		return rec, fmt.Errorf("fit %s: %w", c.Kind, err)
	}
	p := pm.Params()
	rec.Kind, rec.Params = c.Kind, Params{R: p.R, Alpha: p.Alpha, A: p.A, B: p.B}
	rec.LogLikelihood, rec.Converged, rec.Iterations = res.LogLikelihood, res.Converged, res.Iterations
	var repeat []clv.Customer
	for _, s := range in.Full {
		if s.X > 0 && s.M > 0 {
			repeat = append(repeat, s.Customer())
		}
	}
	if len(repeat) >= 2 {
		gg, ggRes, err := clv.FitGammaGamma(repeat, opts)
		if err == nil && ggRes.Converged {
			rec.GammaGamma = &GammaGamma{P: gg.P, Q: gg.Q, V: gg.V, LogLikelihood: ggRes.LogLikelihood}
		}
	}
	if len(in.Calibration) > 0 {
		rec.Holdout = holdout(c, in, opts, unitDays)
	}
	rec.CLVCuts = clvCuts(&rec, in.Full)
	return rec, nil
}

func summariesToCustomers(ss []Summary) []clv.Customer {
	out := make([]clv.Customer, len(ss))
	for i, s := range ss {
		out[i] = clv.Customer{X: s.X, TX: s.TX, T: s.T}
	}
	return clv.Group(out)
}

func fitPurchase(kind string, data []clv.Customer, o clv.FitOptions) (clv.PurchaseModel, clv.FitResult, error) {
	if kind == KindBGNBD {
		return clv.FitBGNBD(data, o)
	}
	return clv.FitMBGNBD(data, o)
}

// holdout fits the calibration data and compares the predicted repeat
// purchases of the holdout window with the actual ones.
func holdout(c Config, in Input, o clv.FitOptions, unitDays float64) *Holdout {
	pm, _, err := fitPurchase(c.Kind, summariesToCustomers(in.Calibration), o)
	if err != nil {
		return nil
	}
	h := &Holdout{Days: in.Holdout.Hours() / 24}
	t := h.Days / unitDays
	for i, s := range in.Calibration {
		h.Predicted += pm.ConditionalExpectedPurchases(t, s.X, s.TX, s.T)
		h.Actual += in.HoldoutActual[i]
	}
	if h.Actual > 0 {
		h.Error = math.Abs(h.Predicted-h.Actual) / h.Actual
	} else {
		h.Error = math.Abs(h.Predicted)
	}
	return h
}

// PurchaseModel returns the record's purchase model (nil for baseline).
func (r *Record) PurchaseModel() clv.PurchaseModel {
	p := clv.Params{R: r.Params.R, Alpha: r.Params.Alpha, A: r.Params.A, B: r.Params.B}
	switch r.Kind {
	case KindMBGNBD:
		return clv.NewMBGNBD(p)
	case KindBGNBD:
		return clv.NewBGNBD(p)
	}
	return nil
}

// ExpectedSpend is the Gamma-Gamma conditional expected value of a
// purchase; without a spend model, the customer's own mean (or AOV).
func (r *Record) ExpectedSpend(s Summary) float64 {
	if r.GammaGamma != nil {
		g := clv.GammaGamma{P: r.GammaGamma.P, Q: r.GammaGamma.Q, V: r.GammaGamma.V}
		return g.ConditionalExpectedSpend(s.X, s.M)
	}
	if s.M > 0 {
		return s.M
	}
	return s.AOV
}

// PredictedCLV is the discounted expected gross margin of the customer's
// purchases over the record's horizon (clv.CLV times the margin rate), in
// major units. pm is r.PurchaseModel(), passed to avoid rebuilding it.
func (r *Record) PredictedCLV(pm clv.PurchaseModel, s Summary, marginRate float64) float64 {
	v := clv.CLV(pm, r.ExpectedSpend(s), s.Customer(), r.HorizonMonths, r.MonthlyDiscount, r.TimeUnitDays)
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return v * marginRate
}

// CLVPercentile places a predicted CLV among the population's (0..100).
func (r *Record) CLVPercentile(v float64) float64 {
	if len(r.CLVCuts) == 0 {
		return 0
	}
	return float64(sort.SearchFloat64s(r.CLVCuts, v)) * 100 / float64(len(r.CLVCuts)+1)
}

// clvCuts computes the 1st..99th percentiles of predicted CLV over (a
// deterministic sample of at most 100,000 of) the customers.
func clvCuts(r *Record, ss []Summary) []float64 {
	pm := r.PurchaseModel()
	step := max(1, len(ss)/100000)
	vals := make([]float64, 0, len(ss)/step+1)
	for i := 0; i < len(ss); i += step {
		vals = append(vals, r.PredictedCLV(pm, ss[i], ss[i].MarginRate))
	}
	return quantiles(vals, 100)
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
	var c CutPoints
	copy(c.Recency[:], quantiles(rec, 5))
	copy(c.Frequency[:], quantiles(freq, 5))
	copy(c.Monetary[:], quantiles(mon, 5))
	return c
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
