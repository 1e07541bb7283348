package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/churn"
)

// FitOptions select the model of a batch fit.
type FitOptions struct {
	Kind      string  // mbgnbd, bgnbd, paretonbd or auto
	UnitDays  float64 // 1 (days) or 7 (weeks)
	Penalizer float64
	AsOf      time.Time
	// MinCustomers and MinRepeatBuyers are the least data for a fit (0:
	// the model defaults, 200 and 50); Force fits whatever the data and
	// keeps a degenerate or unconverged fit.
	MinCustomers, MinRepeatBuyers int
	Force                         bool
	// ChurnHorizon is recorded with the churn model (0: 90 days).
	ChurnHorizon time.Duration
	// HoldoutUnits, for Kind auto: the length of the holdout window whose
	// counts the rows carry (x_star), in time units.
	HoldoutUnits float64
	// Churn is the churn model's time split (History.ChurnSplit; a summary
	// file has none: the churn model is then the identity).
	Churn model.ChurnSplit
}

// Fit fits the purchase and spend models to rows. Too little data
// (model.min_customers, model.min_repeat_buyers), a fit that did not
// converge and a degenerate fit are errors that say why, unless o.Force.
// With Kind auto the rows must carry holdout counts (x_star): the models are
// compared on them. It stops with ctx's error when ctx ends.
func Fit(ctx context.Context, rows []Row, o FitOptions) (model.Record, error) {
	if len(rows) == 0 {
		return model.Record{}, fmt.Errorf("no customers in the input")
	}
	in := model.Input{AsOf: o.AsOf, Full: make([]model.Summary, len(rows)), Churn: o.Churn}
	for i, r := range rows {
		in.Full[i] = r.Summary
	}
	unit := "week"
	if o.UnitDays == 1 {
		unit = "day"
	}
	if o.Kind == model.KindAuto {
		if !rows[0].HasHoldout || !(o.HoldoutUnits > 0) {
			return model.Record{}, errors.New("--model auto chooses by holdout error: it needs holdout counts (x_star column) and their window (clvstream holdout --model auto)")
		}
		in.Holdout = time.Duration(o.HoldoutUnits * o.UnitDays * float64(24*time.Hour))
		for _, r := range rows {
			in.Calibration = append(in.Calibration, r.Summary)
			in.HoldoutActual = append(in.HoldoutActual, r.HoldoutActual)
		}
	}
	cfg := model.Config{Kind: o.Kind, TimeUnit: unit, Penalizer: o.Penalizer,
		MinCustomers: o.MinCustomers, MinRepeatBuyers: o.MinRepeatBuyers, MinHistory: time.Nanosecond, ChurnHorizon: o.ChurnHorizon}
	// (a summary file has no calendar: AsOf is zero and history is not checked)
	if o.Force {
		cfg.MinCustomers, cfg.MinRepeatBuyers = 1, 1
	}
	rec, err := model.Fit(ctx, in, cfg)
	if err != nil {
		return rec, err
	}
	if !rec.Fitted() {
		return rec, fmt.Errorf("no fit: %s (set model.min_customers / model.min_repeat_buyers lower, or --force)", rec.Reason)
	}
	if rec.Rejected != "" && !o.Force {
		return rec, fmt.Errorf("fit refused: %s; --force keeps it anyway", rec.Rejected)
	}
	return rec, nil
}

// FitReport is the JSON form of a fit.
type FitReport struct {
	Model         string       `json:"model"`
	Params        model.Params `json:"params"`
	LogLikelihood float64      `json:"log_likelihood"`
	NCustomers    int          `json:"n_customers"`
	RepeatBuyers  int          `json:"n_repeat_buyers"`
	Converged     bool         `json:"converged"`
	Iterations    int          `json:"iterations"`
	TimeUnitDays  float64      `json:"time_unit_days"`
	GammaGamma    *GGReport    `json:"gamma_gamma,omitempty"`
	// Spend is the spend model in force and why; Rejected why the purchase
	// fit is not usable (kept with --force).
	Spend     model.SpendModel `json:"spend"`
	Rejected  string           `json:"rejected,omitempty"`
	Selection *model.Selection `json:"selection,omitempty"`
}

// GGReport is the Gamma-Gamma part of a FitReport.
type GGReport struct {
	P             float64 `json:"p"`
	Q             float64 `json:"q"`
	V             float64 `json:"v"`
	LogLikelihood float64 `json:"log_likelihood"`
}

// Report builds the report of a record.
func Report(rec model.Record) FitReport {
	r := FitReport{Model: rec.Kind, Params: rec.Params, LogLikelihood: rec.LogLikelihood, NCustomers: rec.Customers,
		RepeatBuyers: rec.RepeatBuyers, Converged: rec.Converged, Iterations: rec.Iterations, TimeUnitDays: rec.TimeUnitDays,
		Spend: rec.Spend, Rejected: rec.Rejected, Selection: rec.Selection}
	if g := rec.GammaGamma; g != nil {
		r.GammaGamma = &GGReport{P: g.P, Q: g.Q, V: g.V, LogLikelihood: g.LogLikelihood}
	}
	return r
}

// WriteReport writes the report as JSON or as text.
func WriteReport(w io.Writer, r FitReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "model           %s (time unit %g days)\n", r.Model, r.TimeUnitDays)
	fmt.Fprintf(w, "customers       %d (%d repeat buyers)\n", r.NCustomers, r.RepeatBuyers)
	an, bn := "a", "b"
	if r.Model == model.KindParetoNBD {
		an, bn = "s", "beta"
	}
	fmt.Fprintf(w, "params          r=%.6f alpha=%.6f %s=%.6f %s=%.6f\n", r.Params.R, r.Params.Alpha, an, r.Params.A, bn, r.Params.B)
	fmt.Fprintf(w, "log-likelihood  %.4f (converged %v after %d iterations)\n", r.LogLikelihood, r.Converged, r.Iterations)
	if g := r.GammaGamma; g != nil {
		fmt.Fprintf(w, "gamma-gamma     p=%.6f q=%.6f v=%.6f log-likelihood %.4f\n", g.P, g.Q, g.V, g.LogLikelihood)
	} else {
		fmt.Fprintf(w, "spend model     fallback (population mean %.4f shrunk towards each customer's mean): %s\n", r.Spend.PopulationMean, r.Spend.Reason)
	}
	if r.Selection != nil {
		for _, c := range r.Selection.Candidates {
			if c.Holdout != nil {
				fmt.Fprintf(w, "candidate       %-9s holdout predicted %.1f actual %.0f error %.4f\n", c.Kind, c.Holdout.Predicted, c.Holdout.Actual, c.Holdout.Error)
			} else {
				fmt.Fprintf(w, "candidate       %-9s %s\n", c.Kind, c.Error)
			}
		}
		fmt.Fprintf(w, "chosen          %s (lowest holdout error)\n", r.Selection.Chosen)
	}
	if r.Rejected != "" {
		fmt.Fprintf(w, "WARNING         %s (kept because of --force)\n", r.Rejected)
	}
	return nil
}

// FromStates collects the summaries of the live state as of asOf and the
// churn model's time split for churnHorizon (0: 90 days).
func FromStates(ctx context.Context, src model.StateSource, asOf time.Time, unitDays, minorPerMajor float64, churnHorizon time.Duration) ([]Row, model.ChurnSplit, error) {
	unit := "week"
	if unitDays == 1 {
		unit = "day"
	}
	in, err := model.Collect(ctx, src, asOf, model.Config{TimeUnit: unit, Holdout: time.Nanosecond, ChurnHorizon: churnHorizon}, minorPerMajor)
	// (the batch fit does not use the holdout split Collect also builds)
	if err != nil {
		return nil, model.ChurnSplit{}, err
	}
	rows := make([]Row, len(in.Full))
	for i, s := range in.Full {
		rows[i] = Row{Summary: s}
	}
	return rows, in.Churn, nil
}

// HoldoutBin is one line of the holdout report: the customers with a
// calibration frequency (the last bin collects MaxBin and above).
type HoldoutBin struct {
	Frequency string
	Customers int
	Predicted float64
	Actual    float64
}

// ChurnReport is the churn part of the holdout report: for "no purchase
// in the holdout window", the churn probability (P(no purchase in the
// window) of the purchase model fitted on the calibration period), 1 −
// P(alive) and the recency T − t_x (a ranking only), each with its ROC AUC,
// Brier score (not for recency) and reliability table by decile.
type ChurnReport struct {
	Customers int
	// BaseRate is the share of customers without a holdout purchase;
	// BaseBrier the Brier score of predicting it for everyone.
	BaseRate, BaseBrier float64
	Predictors          []Predictor
}

// Predictor is one churn predictor's figures on the holdout.
type Predictor struct {
	Name  string
	AUC   float64
	Brier float64 // NaN for a score that is not a probability
	// Deciles is the reliability table (nil for a score that is not a
	// probability).
	Deciles []churn.Bin
}

// Holdout fits the calibration rows and compares, per calibration
// frequency, the predicted repeat purchases over holdoutUnits time units
// with the actual ones, and reports how well the churn probability ranks
// and is calibrated on "no purchase in the holdout window".
func Holdout(ctx context.Context, rows []Row, o FitOptions, holdoutUnits float64, maxBin int) ([]HoldoutBin, ChurnReport, model.Record, error) {
	for _, r := range rows {
		if !r.HasHoldout {
			return nil, ChurnReport{}, model.Record{}, fmt.Errorf("line %d: no holdout count (x_star column, or --holdout-end)", r.Line)
		}
	}
	o.HoldoutUnits = holdoutUnits
	o.ChurnHorizon = time.Duration(holdoutUnits * o.UnitDays * float64(24*time.Hour))
	rec, err := Fit(ctx, rows, o)
	if err != nil {
		return nil, ChurnReport{}, rec, err
	}
	pm := rec.PurchaseModel()
	cm := rec.ChurnModel()
	bins := map[int]*HoldoutBin{}
	n := len(rows)
	pChurn, pDead, recency := make([]float64, n), make([]float64, n), make([]float64, n)
	churned := make([]bool, n)
	var pos float64
	for i, r := range rows {
		k := int(math.Min(r.X, float64(maxBin)))
		b := bins[k]
		if b == nil {
			label := fmt.Sprint(k)
			if k == maxBin {
				label = fmt.Sprintf("%d+", k)
			}
			b = &HoldoutBin{Frequency: label}
			bins[k] = b
		}
		b.Customers++
		b.Predicted += pm.ConditionalExpectedPurchases(holdoutUnits, r.X, r.TX, r.T)
		b.Actual += r.HoldoutActual
		pChurn[i], _ = cm.Risk(r.ChurnSignals(pm.ProbNoPurchase(holdoutUnits, r.X, r.TX, r.T), o.UnitDays))
		pDead[i] = 1 - pm.PAlive(r.X, r.TX, r.T)
		recency[i] = r.T - r.TX
		churned[i] = r.HoldoutActual == 0
		if churned[i] {
			pos++
		}
	}
	keys := make([]int, 0, len(bins))
	for k := range bins {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([]HoldoutBin, 0, len(keys))
	for _, k := range keys {
		out = append(out, *bins[k])
	}
	rep := ChurnReport{Customers: n, BaseRate: pos / float64(n)}
	rep.BaseBrier = rep.BaseRate * (1 - rep.BaseRate)
	for _, p := range []struct {
		name string
		v    []float64
		prob bool
	}{{"churn probability", pChurn, true}, {"1 - P(alive)", pDead, true}, {"recency T - t_x", recency, false}} {
		pr := Predictor{Name: p.name, AUC: churn.AUC(p.v, churned), Brier: math.NaN()}
		if p.prob {
			pr.Brier = churn.Score(p.v, churned).Brier
			pr.Deciles = churn.Reliability(p.v, churned, 10)
		}
		rep.Predictors = append(rep.Predictors, pr)
	}
	return out, rep, rec, nil
}

// WriteHoldout prints the holdout table with totals.
func WriteHoldout(w io.Writer, bins []HoldoutBin) {
	fmt.Fprintf(w, "%-10s %10s %14s %12s %14s %12s\n", "frequency", "customers", "predicted", "actual", "pred/customer", "act/customer")
	var n int
	var p, a float64
	for _, b := range bins {
		fmt.Fprintf(w, "%-10s %10d %14.2f %12.0f %14.3f %12.3f\n", b.Frequency, b.Customers, b.Predicted, b.Actual, b.Predicted/float64(b.Customers), b.Actual/float64(b.Customers))
		n += b.Customers
		p += b.Predicted
		a += b.Actual
	}
	fmt.Fprintf(w, "%-10s %10d %14.2f %12.0f %14.3f %12.3f\n", "total", n, p, a, p/float64(n), a/float64(n))
}

// WriteChurn prints the churn report: AUC and Brier per predictor, then
// the reliability tables side by side.
func WriteChurn(w io.Writer, r ChurnReport) {
	fmt.Fprintf(w, "churn = no purchase in the holdout window: %d of %d customers (base rate %.4f, Brier of the base rate %.4f)\n\n",
		int(math.Round(r.BaseRate*float64(r.Customers))), r.Customers, r.BaseRate, r.BaseBrier)
	fmt.Fprintf(w, "%-20s %8s %8s\n", "predictor", "ROC AUC", "Brier")
	for _, p := range r.Predictors {
		b := "-"
		if !math.IsNaN(p.Brier) {
			b = fmt.Sprintf("%.4f", p.Brier)
		}
		fmt.Fprintf(w, "%-20s %8.4f %8s\n", p.Name, p.AUC, b)
	}
	fmt.Fprintf(w, "\nreliability by decile of the prediction (mean predicted / observed churn rate)\n%-7s", "decile")
	var probs []Predictor
	for _, p := range r.Predictors {
		if p.Deciles != nil {
			probs = append(probs, p)
			fmt.Fprintf(w, " %24s", p.Name)
		}
	}
	fmt.Fprintln(w)
	for d := 0; d < 10; d++ {
		fmt.Fprintf(w, "%-7d", d+1)
		for _, p := range probs {
			if d < len(p.Deciles) {
				b := p.Deciles[d]
				fmt.Fprintf(w, " %11.3f / %10.3f", b.Predicted, b.Observed)
			}
		}
		fmt.Fprintln(w)
	}
}
