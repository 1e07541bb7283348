package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/clvstream/clvstream/internal/model"
)

// FitOptions select the model of a batch fit.
type FitOptions struct {
	Kind      string  // mbgnbd or bgnbd
	UnitDays  float64 // 1 (days) or 7 (weeks)
	Penalizer float64
	AsOf      time.Time
}

// Fit fits the purchase and spend models to rows, with no minimum data and
// no holdout check (a batch fit reports; the service's fitter gates).
func Fit(rows []Row, o FitOptions) (model.Record, error) {
	if len(rows) == 0 {
		return model.Record{}, fmt.Errorf("no customers in the input")
	}
	in := model.Input{AsOf: o.AsOf, Full: make([]model.Summary, len(rows))}
	for i, r := range rows {
		in.Full[i] = r.Summary
	}
	unit := "week"
	if o.UnitDays == 1 {
		unit = "day"
	}
	rec, err := model.Fit(in, model.Config{Kind: o.Kind, TimeUnit: unit, Penalizer: o.Penalizer,
		MinCustomers: 1, MinRepeatBuyers: 1, MinHistory: time.Nanosecond})
	// (a summary file has no calendar: AsOf is zero and history is not checked)
	if err != nil {
		return rec, err
	}
	if !rec.Fitted() {
		return rec, fmt.Errorf("no fit: %s", rec.Reason)
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
		RepeatBuyers: rec.RepeatBuyers, Converged: rec.Converged, Iterations: rec.Iterations, TimeUnitDays: rec.TimeUnitDays}
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
	fmt.Fprintf(w, "params          r=%.6f alpha=%.6f a=%.6f b=%.6f\n", r.Params.R, r.Params.Alpha, r.Params.A, r.Params.B)
	fmt.Fprintf(w, "log-likelihood  %.4f (converged %v after %d iterations)\n", r.LogLikelihood, r.Converged, r.Iterations)
	if g := r.GammaGamma; g != nil {
		fmt.Fprintf(w, "gamma-gamma     p=%.6f q=%.6f v=%.6f log-likelihood %.4f\n", g.P, g.Q, g.V, g.LogLikelihood)
	}
	return nil
}

// FromStates collects the summaries of the live state as of asOf.
func FromStates(ctx context.Context, src model.StateSource, asOf time.Time, unitDays, minorPerMajor float64) ([]Row, error) {
	unit := "week"
	if unitDays == 1 {
		unit = "day"
	}
	in, err := model.Collect(ctx, src, asOf, model.Config{TimeUnit: unit, Holdout: time.Nanosecond}, minorPerMajor)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, len(in.Full))
	for i, s := range in.Full {
		rows[i] = Row{Summary: s}
	}
	return rows, nil
}

// HoldoutBin is one line of the holdout report: the customers with a
// calibration frequency (the last bin collects MaxBin and above).
type HoldoutBin struct {
	Frequency string
	Customers int
	Predicted float64
	Actual    float64
}

// Holdout fits the calibration rows and compares, per calibration
// frequency, the predicted repeat purchases over holdoutUnits time units
// with the actual ones.
func Holdout(rows []Row, o FitOptions, holdoutUnits float64, maxBin int) ([]HoldoutBin, model.Record, error) {
	for _, r := range rows {
		if !r.HasHoldout {
			return nil, model.Record{}, fmt.Errorf("customer %s has no holdout count (x_star column, or --holdout-end)", r.ID)
		}
	}
	rec, err := Fit(rows, o)
	if err != nil {
		return nil, rec, err
	}
	pm := rec.PurchaseModel()
	bins := map[int]*HoldoutBin{}
	for _, r := range rows {
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
	return out, rec, nil
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
