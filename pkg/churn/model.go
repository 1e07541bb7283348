package churn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Signals are the inputs of the churn model for one customer as of one
// instant.
type Signals struct {
	// PNoPurchase is the purchase model's probability that the customer
	// makes no purchase within the horizon (clv.PurchaseModel.ProbNoPurchase,
	// or Baseline.ProbNoPurchase before a fit).
	PNoPurchase float64
	// EmailSends, EmailOpens and EmailClicks are exponentially decayed
	// counts (recent emails weigh more).
	EmailSends, EmailOpens, EmailClicks float64
	// OpenTickets and Reopened count support tickets open now and reopen
	// transitions; MeanResolveHours is the mean time to resolution; CSAT
	// the mean satisfaction score 1..5 (0 when none was given).
	OpenTickets, Reopened  int
	MeanResolveHours, CSAT float64
	// NPSScored says whether the customer answered an NPS survey and NPS
	// is the latest score (0..10); CESScored and CES the same for the
	// Customer Effort Score (CES 2.0 scale, 1..7, low = high effort).
	NPSScored, CESScored bool
	NPS, CES             int
	// OptedOut says whether the customer opted out of a messaging channel
	// (e-mail, SMS or push).
	OptedOut bool
	// Frequency, RecencyDays and TenureDays are the purchase history
	// PNoPurchase was computed from: repeat purchase days, days since the
	// last and since the first purchase. The model corrects the purchase
	// model's probability with them where the data say it is off (see
	// historyValues).
	Frequency, RecencyDays, TenureDays float64
}

// History feature names, in the order of Model.History.
const (
	FeatureRate    = "purchase_rate"
	FeatureRecency = "recency"
	FeatureTenure  = "tenure"
)

var historyFeatures = []string{FeatureRate, FeatureRecency, FeatureTenure}

// historyValues are the purchase-history features for horizon h days,
// each dimensionless (measured against the horizon, the time scale of the
// question "no purchase in the next h days") so that a model fitted for
// one horizon transfers to another and the time unit does not matter:
//
//	purchase_rate  ln(1 + x·h/(T + 1)): the customer's own repeat purchases expected in h at their observed rate
//	recency        ln((recency + 1)/h)
//	tenure         ln((T + 1)/h)
//
// with x repeat purchase days, recency and T in days (1 day: the
// resolution of purchase days, so a purchase today stays finite).
func (s Signals) historyValues(h float64) [3]float64 {
	T := math.Max(s.TenureDays, 0) + 1
	return [3]float64{
		math.Log1p(math.Max(s.Frequency, 0) * h / T),
		math.Log((math.Max(s.RecencyDays, 0) + 1) / h),
		math.Log(T / h),
	}
}

// Feature names, in the order of Model.Weights.
const (
	FeaturePurchase   = "purchase_inactivity"
	FeatureEngagement = "email_engagement"
	FeatureOpen       = "open_tickets"
	FeatureReopened   = "reopened_tickets"
	FeatureResolve    = "slow_resolution"
	FeatureCSAT       = "csat"
	// FeatureDetractor is 1 when the latest NPS score is 0..6.
	FeatureDetractor = "nps_detractor"
	// FeatureHighEffort is 1 when the latest CES score is 1..3.
	FeatureHighEffort = "high_effort"
	// FeatureOptedOut is 1 when the customer opted out of a channel.
	FeatureOptedOut = "opted_out"
)

// signalFeatures are the engagement and friction features, in order.
var signalFeatures = [numSignals]string{FeatureEngagement, FeatureOpen, FeatureReopened, FeatureResolve, FeatureCSAT,
	FeatureDetractor, FeatureHighEffort, FeatureOptedOut}

// numSignals is the number of signal features.
const numSignals = 8

// minSends is the decayed number of sends below which the email
// engagement rate is not defined (fewer than one recent email).
const minSends = 1

// values returns the signal features of s; NaN marks one that is not
// observed for this customer (no recent email, no rated ticket), which the
// model replaces by its population mean so that it contributes nothing.
//
//	email_engagement  (opens + clicks) / sends of the decayed counters, ≤ 1
//	open_tickets      min(open tickets, 3)
//	reopened_tickets  min(reopen transitions, 3)
//	slow_resolution   ln(1 + mean hours to resolution / 24)
//	csat              3 − mean CSAT (satisfaction below neutral is positive)
//	nps_detractor     1 if the latest NPS score is 0..6, else 0
//	high_effort       1 if the latest CES score is 1..3, else 0
//	opted_out         1 if opted out of any messaging channel, else 0
func (s Signals) values() [numSignals]float64 {
	v := [numSignals]float64{math.NaN(), float64(min(s.OpenTickets, 3)), float64(min(s.Reopened, 3)), math.NaN(), math.NaN(),
		math.NaN(), math.NaN(), b2f(s.OptedOut)}
	if s.NPSScored {
		v[5] = b2f(s.NPS <= 6)
	}
	if s.CESScored {
		v[6] = b2f(s.CES <= 3)
	}
	if s.EmailSends >= minSends {
		v[0] = math.Min(1, (s.EmailOpens+s.EmailClicks)/s.EmailSends)
	}
	if s.MeanResolveHours > 0 {
		v[3] = math.Log1p(s.MeanResolveHours / 24)
	}
	if s.CSAT > 0 {
		v[4] = 3 - s.CSAT
	}
	return v
}

// Weight is one fitted signal weight: the change of the churn log-odds per
// unit of the feature, and the population mean the feature is measured
// from (a customer at the mean, or without the signal, gets 0).
type Weight struct {
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
	Mean   float64 `json:"mean"`
}

// Model is the churn model: a logistic regression of "no purchase within
// HorizonDays" on the purchase model's log-odds, the purchase-history
// features and the engagement and friction signals,
//
//	logit P(churn) = Intercept + Slope·logit(PNoPurchase) + Σ vₖ·(hₖ − meanₖ) + Σ wᵢ·(fᵢ − meanᵢ)
//
// fitted by Fit. It is plain data, stored with the model record. The zero
// value (Slope 0 is read as 1) is the identity: the churn probability is
// the purchase model's PNoPurchase.
type Model struct {
	// HorizonDays is the churn horizon H the model was fitted for.
	HorizonDays float64 `json:"horizon_days"`
	// Intercept and Slope recalibrate the purchase model's log-odds.
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
	// History are the weights of the purchase-history features (see
	// Signals.historyValues), absent when they did not improve the
	// holdout.
	History []Weight `json:"history,omitempty"`
	// Weights are the signal weights kept by the fit (signals that never
	// vary in the data, or that did not improve the holdout, are absent).
	Weights []Weight `json:"weights,omitempty"`
	// Examples and Churned count the training examples and their positives.
	Examples int `json:"examples,omitempty"`
	Churned  int `json:"churned,omitempty"`
	// Holdout is the evaluation on the held-out examples.
	Holdout *Holdout `json:"holdout,omitempty"`
	// Note says which variant was kept and why.
	Note string `json:"note,omitempty"`
}

// Holdout compares, on examples the fit did not see, the fitted churn
// probability with the uncalibrated purchase-model probability.
type Holdout struct {
	N int `json:"n"`
	// BaseRate is the observed churn rate; BaseBrier its Brier score
	// (predicting the base rate for everyone).
	BaseRate  float64 `json:"base_rate"`
	BaseBrier float64 `json:"base_brier"`
	// Purchase and Model are the figures of PNoPurchase and of the model.
	Purchase Scores `json:"purchase"`
	Model    Scores `json:"model"`
}

// Scores are the ranking and calibration figures of one predictor.
type Scores struct {
	AUC   float64 `json:"auc"`
	Brier float64 `json:"brier"`
	// LogLoss is the mean negative log-likelihood.
	LogLoss float64 `json:"log_loss"`
}

// Factor is one signal's contribution to a churn probability, in log-odds.
type Factor struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"`
}

// clampP keeps probabilities away from 0 and 1 so log-odds stay finite.
func clampP(p float64) float64 {
	if math.IsNaN(p) {
		return 0.5
	}
	return math.Min(math.Max(p, 1e-6), 1-1e-6)
}

func logit(p float64) float64 { p = clampP(p); return math.Log(p / (1 - p)) }

func logistic(u float64) float64 {
	if u >= 0 {
		return 1 / (1 + math.Exp(-u))
	}
	e := math.Exp(u)
	return e / (1 + e)
}

// RisesWhenSilent reports whether the churn probability of s can only
// grow while the customer stays silent (time passes, no event). Under every
// purchase model clvstream uses, the probability of no purchase in the
// horizon grows with the time since the last purchase (P(alive) falls,
// and so does the posterior purchase rate; the baseline's risk grows with
// recency), so it holds when every other term that time moves moves the
// same way: a non-negative slope on that probability, a non-positive
// weight on the purchase rate (frequency over a growing tenure falls),
// non-negative weights on recency and tenure, and no e-mail engagement
// term with a positive contribution (the term leaves the sum when the
// decayed sends fall below one). The other signals do not move without an
// event.
func (m Model) RisesWhenSilent(s Signals) bool {
	if m.slope() < 0 {
		return false
	}
	for _, w := range m.History {
		switch historyIndex(w.Name) {
		case 0:
			if w.Weight > 0 {
				return false
			}
		case 1, 2:
			if w.Weight < 0 {
				return false
			}
		}
	}
	v := s.values()
	for _, w := range m.Weights {
		if featureIndex(w.Name) == 0 && !math.IsNaN(v[0]) && w.Weight*(v[0]-w.Mean) > 0 {
			return false
		}
	}
	return true
}

func (m Model) slope() float64 {
	if m.Slope == 0 {
		return 1
	}
	return m.Slope
}

// Risk returns the churn probability of s and the factors that explain it,
// largest upward contribution first. The factors' contributions add up to
// the log-odds: purchase_inactivity carries the recalibrated purchase
// model's log-odds (of a customer whose history features and signals are
// at the population mean), and each history feature (purchase_rate,
// recency, tenure) and signal its weight times its distance from the
// mean.
func (m Model) Risk(s Signals) (float64, []Factor) {
	return m.riskAt(s, m.HorizonDays)
}

// riskAt is Risk for horizon h days (the history features depend on it).
func (m Model) riskAt(s Signals, h float64) (float64, []Factor) {
	factors := make([]Factor, 0, 1+len(m.History)+len(m.Weights))
	logOdds := m.terms(s, h, func(f Factor) { factors = append(factors, f) })
	slices.SortStableFunc(factors, func(a, b Factor) int { return cmp.Compare(b.Contribution, a.Contribution) })
	return m.probability(s, logOdds), factors
}

// Probability is Risk's probability without the factors (no allocation),
// for callers that only compare it with thresholds.
func (m Model) Probability(s Signals) float64 {
	return m.probability(s, m.terms(s, m.HorizonDays, func(Factor) {}))
}

func (m Model) probability(s Signals, logOdds float64) float64 {
	p := logistic(logOdds)
	if math.IsNaN(p) {
		p = clampP(s.PNoPurchase)
	}
	return p
}

// terms calls fn with each factor of the customer's churn log-odds (the
// purchase model's, then the history features', then the signals' with a
// non-zero contribution) and returns their sum.
func (m Model) terms(s Signals, h float64, fn func(Factor)) float64 {
	base := m.Intercept + m.slope()*logit(s.PNoPurchase)
	fn(Factor{Name: FeaturePurchase, Value: s.PNoPurchase, Contribution: base})
	logOdds := base
	if len(m.History) > 0 && h > 0 {
		hv := s.historyValues(h)
		// The factor values are the quantities behind the features: the
		// purchases expected in h at the customer's own rate, the days since
		// the last and since the first purchase.
		shown := [3]float64{math.Expm1(hv[0]), math.Max(s.RecencyDays, 0), math.Max(s.TenureDays, 0)}
		for _, w := range m.History {
			if i := historyIndex(w.Name); i >= 0 {
				if c := w.Weight * (hv[i] - w.Mean); c != 0 {
					fn(Factor{Name: w.Name, Value: shown[i], Contribution: c})
					logOdds += c
				}
			}
		}
	}
	vals := s.values()
	for _, w := range m.Weights {
		i := featureIndex(w.Name)
		if i < 0 || math.IsNaN(vals[i]) {
			continue
		}
		if c := w.Weight * (vals[i] - w.Mean); c != 0 {
			fn(Factor{Name: w.Name, Value: vals[i], Contribution: c})
			logOdds += c
		}
	}
	return logOdds
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func historyIndex(name string) int {
	for i, n := range historyFeatures {
		if n == name {
			return i
		}
	}
	return -1
}

func featureIndex(name string) int {
	for i, n := range signalFeatures {
		if n == name {
			return i
		}
	}
	return -1
}

// Example is one training example: the signals as of a cutoff and whether
// the customer made no purchase in the following horizon.
type Example struct {
	Signals Signals
	Churned bool
	// HorizonDays is the length of the example's label window (0: the
	// FitOptions' horizon). A time split may stack several windows.
	HorizonDays float64
	// Group identifies the customer: examples of one customer (several
	// cutoffs) go to the same side of the holdout split. 0 for all: the
	// split is by example.
	Group int
}

func (e Example) horizon(def float64) float64 {
	if e.HorizonDays > 0 {
		return e.HorizonDays
	}
	return def
}

// FitOptions control Fit. The zero value is usable.
type FitOptions struct {
	// HorizonDays is recorded in the model.
	HorizonDays float64
	// HoldoutEvery is the number of cross-validation folds (default 5).
	HoldoutEvery int
	// MinExamples is the least number of training examples, and of each
	// class, for a fit (default 50).
	MinExamples int
}

// Fit fits the model to examples by penalised maximum likelihood (Newton's
// method, at most 100 iterations, checking ctx). Features are standardised
// and each history feature and signal weight gets a Gaussian N(0, 1)
// prior per standardised unit, the slope a N(1, 1) prior and the intercept
// none: a weakly informative ridge that keeps the fit finite when a
// feature separates the classes and shrinks weights the data do not
// support. Nothing is set by hand: with enough data the likelihood
// dominates.
//
// Up to four variants are compared: the purchase log-odds alone, with the
// history features, with the signals, and with both. Each is judged by
// HoldoutEvery-fold cross-validation by customer (group; by example when
// groups are 0): fitted without a fold's customers, it predicts theirs, so
// every customer is held out once. The variant with the lowest
// out-of-fold log-loss is refitted on all examples and returned, unless
// the purchase model's probability alone does better out of fold: then
// the identity model is returned (the gate on holdout). Features that do
// not vary in the data are left out. Holdout reports the kept variant's
// out-of-fold figures against the uncalibrated PNoPurchase.
func Fit(ctx context.Context, examples []Example, o FitOptions) (Model, error) {
	if o.HoldoutEvery <= 1 {
		o.HoldoutEvery = 5
	}
	if o.MinExamples <= 0 {
		o.MinExamples = 50
	}
	var pos int
	for _, e := range examples {
		if e.Churned {
			pos++
		}
	}
	if len(examples) < o.MinExamples || pos < o.MinExamples/5 || len(examples)-pos < o.MinExamples/5 {
		return Model{}, fmt.Errorf("churn: %d examples (%d churned): need at least %d, and %d of each outcome", len(examples), pos, o.MinExamples, o.MinExamples/5)
	}
	// Folds by customer (every example of one customer in one fold), or by
	// example when groups are 0.
	folds := o.HoldoutEvery
	fold := make([]int, len(examples))
	counts := make([]int, folds)
	for i, e := range examples {
		k := i
		if e.Group != 0 {
			k = e.Group
		}
		fold[i] = k % folds
		counts[fold[i]]++
	}
	for f, c := range counts {
		if c == 0 || len(examples)-c < o.MinExamples/2 {
			return Model{}, fmt.Errorf("churn: fold %d of the split by customer has %d of %d examples: too few customers", f, c, len(examples))
		}
	}
	hist := usableHistory(examples, o.HorizonDays)
	cols := usableFeatures(examples)
	type variant struct {
		hist []int
		cols []int
		note string
	}
	variants := []variant{{nil, nil, "purchase model recalibrated"}}
	if len(hist) > 0 {
		variants = append(variants, variant{hist, nil, "purchase model recalibrated with the purchase history"})
	}
	if len(cols) > 0 {
		variants = append(variants, variant{nil, cols, "purchase model recalibrated with the engagement and friction signals"})
		if len(hist) > 0 {
			variants = append(variants, variant{hist, cols, "purchase model recalibrated with the purchase history and the engagement and friction signals"})
		}
	}
	// Each variant's out-of-fold predictions: fitted on the other folds'
	// customers, predicted for the fold's.
	y := make([]bool, len(examples))
	raw := make([]float64, len(examples))
	for i, e := range examples {
		y[i], raw[i] = e.Churned, clampP(e.Signals.PNoPurchase)
	}
	bestV, bestLoss := -1, math.Inf(1)
	var bestPred []float64
	var losses []string
	for vi, v := range variants {
		pred := make([]float64, len(examples))
		var ferr error
		for f := 0; f < folds && ferr == nil; f++ {
			var train []Example
			for i, e := range examples {
				if fold[i] != f {
					train = append(train, e)
				}
			}
			m, err := fitLogistic(ctx, train, v.hist, v.cols, o.HorizonDays)
			if err != nil {
				ferr = err
				break
			}
			for i, e := range examples {
				if fold[i] == f {
					pred[i], _ = m.riskAt(e.Signals, e.horizon(o.HorizonDays))
				}
			}
		}
		if ferr != nil {
			if ctx.Err() != nil {
				return Model{}, ctx.Err()
			}
			losses = append(losses, fmt.Sprintf("variant %d: %v", vi, ferr))
			continue
		}
		l := Score(pred, y).LogLoss
		losses = append(losses, fmt.Sprintf("%.5f", l))
		if l < bestLoss {
			bestV, bestLoss, bestPred = vi, l, pred
		}
	}
	if bestV < 0 {
		return Model{}, fmt.Errorf("churn: no variant could be fitted (%s)", strings.Join(losses, "; "))
	}
	h := Holdout{N: len(examples), BaseRate: float64(pos) / float64(len(examples)), Purchase: Score(raw, y), Model: Score(bestPred, y)}
	h.BaseBrier = h.BaseRate * (1 - h.BaseRate)
	if h.Model.LogLoss > h.Purchase.LogLoss {
		// The purchase model alone predicts the held-out customers better:
		// keep it (the identity model) and say so.
		id := Model{HorizonDays: o.HorizonDays, Slope: 1, Examples: len(examples), Churned: pos,
			Note: fmt.Sprintf("kept the purchase model's probability: cross-validated log-loss %.5f, fitted %.5f", h.Purchase.LogLoss, h.Model.LogLoss)}
		h.Model = h.Purchase
		id.Holdout = &h
		return id, nil
	}
	v := variants[bestV]
	final, err := fitLogistic(ctx, examples, v.hist, v.cols, o.HorizonDays)
	if err != nil {
		return Model{}, err
	}
	note := fmt.Sprintf("%s (cross-validated log-loss of the variants: %s)", v.note, strings.Join(losses, ", "))
	final.HorizonDays, final.Examples, final.Churned, final.Holdout, final.Note = o.HorizonDays, len(examples), pos, &h, note
	return final, nil
}

// usableHistory returns the indices of the history features that vary in
// the examples (none when the examples carry no purchase history).
func usableHistory(ex []Example, def float64) []int {
	var out []int
	for i := range historyFeatures {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, e := range ex {
			h := e.horizon(def)
			if !(h > 0) {
				return nil
			}
			v := e.Signals.historyValues(h)[i]
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if hi-lo > 1e-9 {
			out = append(out, i)
		}
	}
	// A purchase history with no variation in tenure and recency is no
	// history (examples without one): leave all out.
	if len(out) == 1 && out[0] == 0 {
		return nil
	}
	return out
}

// usableFeatures returns the indices of the signal features observed for
// at least 1 % of the examples, and at least 10, with more than one value.
func usableFeatures(ex []Example) []int {
	var out []int
	for i := range signalFeatures {
		var n int
		first, varies := math.NaN(), false
		for _, e := range ex {
			v := e.Signals.values()[i]
			if math.IsNaN(v) {
				continue
			}
			n++
			if math.IsNaN(first) {
				first = v
			} else if v != first {
				varies = true
			}
		}
		if varies && n >= 10 && n*100 >= len(ex) {
			out = append(out, i)
		}
	}
	return out
}

// fitLogistic fits intercept, slope, the history features hist and the
// signal weights of cols by Newton's method on the penalised
// log-likelihood (see Fit). def is the horizon of examples without one.
func fitLogistic(ctx context.Context, ex []Example, hist, cols []int, def float64) (Model, error) {
	nh := len(hist)
	k := 2 + nh + len(cols)
	raw := func(e Example) []float64 {
		v := make([]float64, nh+len(cols))
		if nh > 0 {
			hv := e.Signals.historyValues(e.horizon(def))
			for j, c := range hist {
				v[j] = hv[c]
			}
		}
		sv := e.Signals.values()
		for j, c := range cols {
			v[nh+j] = sv[c]
		}
		return v
	}
	// Standardised design: column 0 intercept, 1 purchase log-odds (raw),
	// then the history features and the signals (a missing signal → its
	// mean → 0 after centring).
	means := make([]float64, nh+len(cols))
	sds := make([]float64, nh+len(cols))
	rows := make([][]float64, len(ex))
	for i, e := range ex {
		rows[i] = raw(e)
	}
	for j := range means {
		var s, s2, n float64
		for _, r := range rows {
			if v := r[j]; !math.IsNaN(v) {
				s += v
				s2 += v * v
				n++
			}
		}
		means[j] = s / n
		sds[j] = math.Sqrt(math.Max(s2/n-means[j]*means[j], 0))
		if !(sds[j] > 1e-12) {
			sds[j] = 1
		}
	}
	X := make([][]float64, len(ex))
	y := make([]float64, len(ex))
	for i, e := range ex {
		row := make([]float64, k)
		row[0] = 1
		row[1] = logit(e.Signals.PNoPurchase)
		for j, v := range rows[i] {
			if !math.IsNaN(v) {
				row[2+j] = (v - means[j]) / sds[j]
			}
		}
		X[i] = row
		if e.Churned {
			y[i] = 1
		}
	}
	// Prior: slope ~ N(1, 1), history and signal weights ~ N(0, 1) per
	// standardised unit; intercept flat.
	prior := make([]float64, k)
	center := make([]float64, k)
	prior[1], center[1] = 1, 1
	for j := 2; j < k; j++ {
		prior[j] = 1
	}
	beta := make([]float64, k)
	beta[1] = 1
	obj := func(b []float64) float64 {
		var ll float64
		for i, row := range X {
			u := dot(row, b)
			// log-likelihood of a Bernoulli with log-odds u.
			ll += y[i]*u - softplus(u)
		}
		for j := range b {
			ll -= 0.5 * prior[j] * (b[j] - center[j]) * (b[j] - center[j])
		}
		return ll
	}
	cur := obj(beta)
	converged := false
	for iter := 0; iter < 100; iter++ {
		if err := ctx.Err(); err != nil {
			return Model{}, fmt.Errorf("churn: fit stopped: %w", err)
		}
		g := make([]float64, k)
		H := make([][]float64, k)
		for j := range H {
			H[j] = make([]float64, k)
		}
		for i, row := range X {
			p := logistic(dot(row, beta))
			w := p * (1 - p)
			for a := 0; a < k; a++ {
				g[a] += (y[i] - p) * row[a]
				for b := 0; b <= a; b++ {
					H[a][b] += w * row[a] * row[b]
				}
			}
		}
		for a := 0; a < k; a++ {
			g[a] -= prior[a] * (beta[a] - center[a])
			H[a][a] += prior[a] + 1e-9
			for b := 0; b < a; b++ {
				H[b][a] = H[a][b]
			}
		}
		step, err := solve(H, g)
		if err != nil {
			return Model{}, fmt.Errorf("churn: %w", err)
		}
		// Damped Newton: halve until the objective does not fall.
		t := 1.0
		var next []float64
		var val float64
		for ls := 0; ls < 40; ls++ {
			next = make([]float64, k)
			for j := range next {
				next[j] = beta[j] + t*step[j]
			}
			if val = obj(next); val >= cur-1e-12*math.Abs(cur) {
				break
			}
			t /= 2
		}
		improve := val - cur
		beta, cur = next, val
		if math.Abs(improve) <= 1e-10*math.Max(1, math.Abs(cur)) {
			converged = true
			break
		}
	}
	if !converged {
		return Model{}, errors.New("churn: logistic regression did not converge in 100 Newton steps")
	}
	m := Model{Intercept: beta[0], Slope: beta[1]}
	for j, c := range hist {
		m.History = append(m.History, Weight{Name: historyFeatures[c], Weight: beta[2+j] / sds[j], Mean: means[j]})
	}
	for j, c := range cols {
		w := beta[2+nh+j] / sds[nh+j]
		m.Weights = append(m.Weights, Weight{Name: signalFeatures[c], Weight: w, Mean: means[nh+j]})
	}
	return m, nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// softplus is ln(1 + e^u) without overflow.
func softplus(u float64) float64 {
	if u > 0 {
		return u + math.Log1p(math.Exp(-u))
	}
	return math.Log1p(math.Exp(u))
}

// solve solves the symmetric positive definite system A x = b by Cholesky
// decomposition.
func solve(A [][]float64, b []float64) ([]float64, error) {
	n := len(b)
	L := make([][]float64, n)
	for i := range L {
		L[i] = make([]float64, n)
		for j := 0; j <= i; j++ {
			s := A[i][j]
			for k := 0; k < j; k++ {
				s -= L[i][k] * L[j][k]
			}
			if i == j {
				if !(s > 0) {
					return nil, errors.New("singular information matrix")
				}
				L[i][i] = math.Sqrt(s)
			} else {
				L[i][j] = s / L[j][j]
			}
		}
	}
	z := make([]float64, n)
	for i := 0; i < n; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= L[i][k] * z[k]
		}
		z[i] = s / L[i][i]
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := z[i]
		for k := i + 1; k < n; k++ {
			s -= L[k][i] * x[k]
		}
		x[i] = s / L[i][i]
	}
	return x, nil
}

// Evaluate scores m and the uncalibrated PNoPurchase on examples (each at
// its own horizon, m's for those without one).
func Evaluate(m Model, examples []Example) Holdout {
	return evaluate(m, examples, m.HorizonDays)
}

func evaluate(m Model, examples []Example, def float64) Holdout {
	h := Holdout{N: len(examples)}
	if len(examples) == 0 {
		return h
	}
	pm := make([]float64, len(examples))
	pp := make([]float64, len(examples))
	y := make([]bool, len(examples))
	var pos float64
	for i, e := range examples {
		pm[i], _ = m.riskAt(e.Signals, e.horizon(def))
		pp[i] = clampP(e.Signals.PNoPurchase)
		y[i] = e.Churned
		if e.Churned {
			pos++
		}
	}
	h.BaseRate = pos / float64(len(examples))
	h.BaseBrier = h.BaseRate * (1 - h.BaseRate)
	h.Purchase = Score(pp, y)
	h.Model = Score(pm, y)
	return h
}

// Score returns the AUC, Brier score and log-loss of probabilities p for
// outcomes y.
func Score(p []float64, y []bool) Scores {
	var s Scores
	if len(p) == 0 {
		return s
	}
	s.AUC = AUC(p, y)
	for i := range p {
		o := 0.0
		if y[i] {
			o = 1
		}
		s.Brier += (p[i] - o) * (p[i] - o)
		q := clampP(p[i])
		if y[i] {
			s.LogLoss -= math.Log(q)
		} else {
			s.LogLoss -= math.Log(1 - q)
		}
	}
	s.Brier /= float64(len(p))
	s.LogLoss /= float64(len(p))
	return s
}

// AUC is the area under the ROC curve of score for outcome y: the
// probability that a random positive scores above a random negative, ties
// counting one half (the Mann–Whitney statistic with mid-ranks). NaN when
// one class is empty.
func AUC(score []float64, y []bool) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var rankSum, npos float64
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && score[idx[j+1]] == score[idx[i]] {
			j++
		}
		mid := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			if y[idx[k]] {
				rankSum += mid
				npos++
			}
		}
		i = j + 1
	}
	nneg := float64(len(score)) - npos
	if npos == 0 || nneg == 0 {
		return math.NaN()
	}
	return (rankSum - npos*(npos+1)/2) / (npos * nneg)
}

// Bin is one line of a reliability table.
type Bin struct {
	// Customers in the bin, their mean predicted probability and the
	// observed rate of the outcome.
	N         int     `json:"n"`
	Predicted float64 `json:"predicted"`
	Observed  float64 `json:"observed"`
}

// Reliability sorts the customers by p and returns bins equal-count bins
// (deciles for 10) with the mean prediction and the observed rate in each.
func Reliability(p []float64, y []bool, bins int) []Bin {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	out := make([]Bin, 0, bins)
	n := len(p)
	for b := 0; b < bins; b++ {
		lo, hi := b*n/bins, (b+1)*n/bins
		if hi <= lo {
			continue
		}
		var sp, so float64
		for _, i := range idx[lo:hi] {
			sp += p[i]
			if y[i] {
				so++
			}
		}
		out = append(out, Bin{N: hi - lo, Predicted: sp / float64(hi-lo), Observed: so / float64(hi-lo)})
	}
	return out
}
