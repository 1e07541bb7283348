package model

import (
	"math"
	"strconv"
	"time"

	"github.com/clvstream/clvstream/pkg/churn"
	"github.com/clvstream/clvstream/pkg/clv"
	"github.com/clvstream/clvstream/pkg/segment"
	"github.com/clvstream/clvstream/pkg/subscription"
)

// Model kinds.
const (
	// KindBaseline: not enough data for a fit; scores use the baseline
	// recency model and the classic CLV formula.
	KindBaseline = "baseline"
	// KindMBGNBD, KindBGNBD and KindParetoNBD are the fitted purchase
	// models.
	KindMBGNBD    = "mbgnbd"
	KindBGNBD     = "bgnbd"
	KindParetoNBD = "paretonbd"
	// KindBGBB is BG/BB, for discrete-time data only (clv.Discrete).
	KindBGBB = "bgbb"
)

// Params are the purchase model's parameters. For Pareto/NBD, A and B hold
// s and β (the Gamma distribution of the dropout rate); for BG/BB, R,
// Alpha, A and B hold α, β, γ and δ.
type Params struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// GammaGamma are the spend model's parameters.
type GammaGamma struct {
	P             float64 `json:"p"`
	Q             float64 `json:"q"`
	V             float64 `json:"v"`
	LogLikelihood float64 `json:"log_likelihood"`
}

// Holdout is the check of a fit on data it did not see: the model fitted
// on the history up to AsOf − Days predicts the repeat purchases of the last
// Days; Error is |predicted − actual| / actual.
type Holdout struct {
	Days      float64 `json:"days"`
	Predicted float64 `json:"predicted"`
	Actual    float64 `json:"actual"`
	Error     float64 `json:"error"`
}

// CutPoints are population quintile boundaries (4 per figure) for RFM
// scores: recency in days, frequency in repeat purchases, monetary (mean
// order value) in major units.
type CutPoints = segment.CutPoints

// Record is one published model version, stored in Redis and read by every
// task. Version increases with every publication.
type Record struct {
	Version  int64     `json:"version"`
	Kind     string    `json:"kind"`
	Reason   string    `json:"reason,omitempty"`
	FittedAt time.Time `json:"fitted_at"`
	// AsOf is the end of the data window; WindowStart its first purchase.
	AsOf        time.Time `json:"as_of"`
	WindowStart time.Time `json:"window_start"`
	// TimeUnitDays is the model's time unit (7: weeks).
	TimeUnitDays  float64     `json:"time_unit_days"`
	Params        Params      `json:"params"`
	LogLikelihood float64     `json:"log_likelihood"`
	Converged     bool        `json:"converged"`
	Iterations    int         `json:"iterations"`
	GammaGamma    *GammaGamma `json:"gamma_gamma,omitempty"`
	Customers     int         `json:"customers"`
	RepeatBuyers  int         `json:"repeat_buyers"`
	Holdout       *Holdout    `json:"holdout,omitempty"`
	RFM           CutPoints   `json:"rfm"`
	// CLVCuts are the 1st..99th percentiles of predicted CLV (major units)
	// in the population, for CLV percentiles.
	CLVCuts []float64 `json:"clv_cuts,omitempty"`
	// PopulationSpanDays and PopulationRepeats sum, over the customers
	// of the fit's data, the days between first and last purchase day and
	// the repeat purchase days: the population gap the baseline churn
	// model compares a customer with. They travel with the model (rather
	// than being a running aggregate) so a customer's scores are a
	// function of their own state, the clock and the model in force.
	PopulationSpanDays int64 `json:"population_span_days,omitempty"`
	PopulationRepeats  int64 `json:"population_repeats,omitempty"`
	// HorizonMonths and MonthlyDiscount define predicted CLV.
	HorizonMonths   int     `json:"horizon_months"`
	MonthlyDiscount float64 `json:"monthly_discount"`
	// Rejected says why a fitted purchase model must not be used (no
	// convergence, degenerate parameters); empty for a usable fit.
	Rejected string `json:"rejected,omitempty"`
	// Spend is the spend model in force and why.
	Spend SpendModel `json:"spend"`
	// Selection lists the candidates of model.purchase auto with their
	// holdout figures (nil when the model was configured).
	Selection *Selection `json:"selection,omitempty"`
	// Churn is the churn model (plain data; nil in records written before
	// it existed, read as the identity model).
	Churn *churn.Model `json:"churn,omitempty"`
	// Subscriptions are the renewal models per contract period (nil
	// without subscriptions, and in records written before them).
	Subscriptions *subscription.Model `json:"subscriptions,omitempty"`
}

// Spend models.
const (
	SpendGammaGamma = "gamma_gamma"
	SpendFallback   = "fallback"
)

// SpendModel says which spend model values purchases and why. With
// Model = fallback (the Gamma-Gamma fit failed: too few repeat buyers, no
// convergence, q ≤ 1) the expected value of a purchase is the population
// mean repeat spend shrunk towards the customer's own mean,
//
//	spend = (k·PopulationMean + x·m) / (k + x),
//
// with k = Shrinkage (1: the population mean counts as one purchase), and
// PopulationMean for customers without repeat purchases; if even that is
// unknown, the customer's mean purchase value (AOV). It is never 0 for a
// customer with purchases.
//
// Mean spends above clv.MaxSpend (a unit error upstream) are left out of
// the fit (Excluded counts them) and valued at clv.MaxSpend, so every
// figure stays finite.
type SpendModel struct {
	Model          string  `json:"model"`
	Reason         string  `json:"reason,omitempty"`
	PopulationMean float64 `json:"population_mean"`
	Shrinkage      float64 `json:"shrinkage,omitempty"`
	Excluded       int     `json:"excluded,omitempty"`
}

// Fallback is the fallback expected spend of s (see SpendModel).
func (m SpendModel) Fallback(s Summary) float64 {
	k := m.Shrinkage
	if !(k > 0) {
		k = 1
	}
	pop := m.PopulationMean
	if !(pop > 0) || pop > clv.MaxSpend {
		pop = math.Min(s.AOV, clv.MaxSpend)
	}
	if s.X > 0 && s.M > 0 {
		mean := math.Min(s.M, clv.MaxSpend)
		return (k*pop + s.X*mean) / (k + s.X)
	}
	if pop > 0 {
		return pop
	}
	return math.Min(s.AOV, clv.MaxSpend)
}

// Selection is the outcome of model.purchase auto.
type Selection struct {
	Chosen     string      `json:"chosen"`
	Candidates []Candidate `json:"candidates"`
}

// Candidate is one purchase model tried by auto: its holdout check, or
// why it could not be fitted.
type Candidate struct {
	Kind    string   `json:"kind"`
	Holdout *Holdout `json:"holdout,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// ChurnModel returns the churn model in force: the record's, or the
// identity (the purchase model's probability) when it has none.
func (r *Record) ChurnModel() churn.Model {
	if r == nil || r.Churn == nil {
		return churn.Model{}
	}
	return *r.Churn
}

// Fitted reports whether r carries a fitted purchase model.
func (r *Record) Fitted() bool {
	return r != nil && (r.Kind == KindMBGNBD || r.Kind == KindBGNBD || r.Kind == KindParetoNBD || r.Kind == KindBGBB)
}

// Label is the model version as published in segment changes: "baseline"
// or "<kind>-v<version>".
func (r *Record) Label() string {
	if !r.Fitted() {
		return KindBaseline
	}
	return r.Kind + "-v" + strconv.FormatInt(r.Version, 10)
}

// SubscriptionModel returns the renewal models of r (nil for a nil record
// or one without them).
func (r *Record) SubscriptionModel() *subscription.Model {
	if r == nil {
		return nil
	}
	return r.Subscriptions
}
