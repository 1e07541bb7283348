package model_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/backfill"
	"github.com/clvstream/clvstream/internal/batch"
	"github.com/clvstream/clvstream/internal/model"
)

func TestGate(t *testing.T) {
	fitted := func(conv bool, holdoutErr float64) *model.Record {
		return &model.Record{Kind: model.KindMBGNBD, Converged: conv, Holdout: &model.Holdout{Error: holdoutErr}}
	}
	baseline := &model.Record{Kind: model.KindBaseline}
	cases := []struct {
		name     string
		cur, rec *model.Record
		outcome  string
		publish  bool
	}{
		{"first baseline", nil, baseline, "baseline", true},
		{"baseline over baseline", baseline, baseline, "baseline", true},
		{"baseline never replaces a fit", fitted(true, 0.1), baseline, "baseline", false},
		{"first fit", baseline, fitted(true, 0.2), "published", true},
		{"not converged", nil, fitted(false, 0.1), "not_converged", false},
		{"holdout a bit worse", fitted(true, 0.10), fitted(true, 0.19), "published", true},
		{"holdout much worse", fitted(true, 0.10), fitted(true, 0.21), "holdout_worse", false},
	}
	for _, c := range cases {
		outcome, publish := model.Gate(c.cur, c.rec, 0.1)
		if outcome != c.outcome || publish != c.publish {
			t.Errorf("%s: %s %v, want %s %v", c.name, outcome, publish, c.outcome, c.publish)
		}
	}
}

// Fitting the CDNOW history as of 1998-06-30 with a holdout of the last 39
// weeks: the holdout check runs the calibration fit (the published
// weeks 1-39 setting) and compares with the actual 1,882 repeat purchases.
func TestFitWithHoldoutOnCDNOW(t *testing.T) {
	end := time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)
	cal := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	rows, _, err := batch.ReadTransactions("../../testdata/cdnow/CDNOW_sample.txt",
		backfill.Options{CustomerCol: "2", DateCol: "3", AmountCol: "5", DateFormat: "20060102"}, cal, end, 7)
	if err != nil {
		t.Fatal(err)
	}
	in := model.Input{AsOf: end, Holdout: end.Sub(cal)}
	fullRows, _, err := batch.ReadTransactions("../../testdata/cdnow/CDNOW_sample.txt",
		backfill.Options{CustomerCol: "2", DateCol: "3", AmountCol: "5", DateFormat: "20060102"}, end, time.Time{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range fullRows {
		in.Full = append(in.Full, r.Summary)
	}
	for _, r := range rows {
		in.Calibration = append(in.Calibration, r.Summary)
		in.HoldoutActual = append(in.HoldoutActual, r.HoldoutActual)
	}
	rec, err := model.Fit(context.Background(), in, model.Config{Kind: model.KindBGNBD})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Fitted() || !rec.Converged || rec.Customers != 2357 || rec.GammaGamma == nil {
		t.Fatalf("record %+v", rec)
	}
	h := rec.Holdout
	if h == nil || h.Actual != 1882 || math.Abs(h.Predicted-1653.4) > 1 || math.Abs(h.Error-(1882-1653.4)/1882) > 1e-3 {
		t.Fatalf("holdout %+v: want actual 1882, predicted ~1653.4 (BG/NBD on weeks 1-39)", h)
	}
	if len(rec.CLVCuts) != 99 || rec.CLVCuts[98] <= rec.CLVCuts[0] {
		t.Fatalf("CLV cut points %v", rec.CLVCuts)
	}
	if p := rec.CLVPercentile(rec.CLVCuts[49]); p < 49 || p > 51 {
		t.Fatalf("percentile of the median cut = %v", p)
	}
	// Below the minimum data the record is a baseline that says why.
	small, err := model.Fit(context.Background(), model.Input{AsOf: end, Full: in.Full[:50]}, model.Config{})
	if err != nil || small.Fitted() || small.Reason == "" {
		t.Fatalf("small fit: %+v %v", small, err)
	}
}

func cdnowSummaries(t *testing.T) []model.Summary {
	t.Helper()
	f, err := os.Open("../../testdata/cdnow/btyd_cdnow_cbs.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := batch.ReadSummaries(f, 7)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]model.Summary, len(rows))
	for i, r := range rows {
		out[i] = r.Summary
	}
	return out
}

// No NaN or Inf reaches a score: monetary 1e308 (a unit error upstream),
// a penalty that drives Gamma-Gamma to q < 1, and a heavy buyer all give
// finite, positive predicted CLVs with the spend model and its reason in
// the record.
func TestNoInfiniteValues(t *testing.T) {
	base := cdnowSummaries(t)
	cases := []struct {
		name      string
		extra     []model.Summary
		penalizer float64
		spend     string
	}{
		{"monetary 1e308", []model.Summary{{ID: "x", X: 3, TX: 20, T: 30, M: 1e308, AOV: 1e308, MarginRate: 1}}, 0, model.SpendGammaGamma},
		{"penalizer 0.01", nil, 0.01, model.SpendFallback},
		{"heavy buyer", []model.Summary{{ID: "h", X: 400, TX: 38, T: 39, M: 5000, AOV: 5000, MarginRate: 1}}, 0, model.SpendGammaGamma},
	}
	for _, c := range cases {
		ss := append(append([]model.Summary(nil), base...), c.extra...)
		for i := range ss {
			ss[i].MarginRate = 1
		}
		rec, err := model.Fit(context.Background(), model.Input{Full: ss}, model.Config{Kind: model.KindMBGNBD, Penalizer: c.penalizer})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rec.Spend.Model != c.spend || (c.spend == model.SpendFallback && rec.Spend.Reason == "") {
			t.Errorf("%s: spend model %+v, want %s with a reason", c.name, rec.Spend, c.spend)
		}
		pm := rec.PurchaseModel()
		for _, s := range ss {
			v := rec.PredictedCLV(pm, s, 1)
			if math.IsNaN(v) || math.IsInf(v, 0) || !(v > 0) {
				t.Fatalf("%s: customer x=%v m=%v: predicted CLV %v", c.name, s.X, s.M, v)
			}
		}
		for _, v := range rec.CLVCuts {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: CLV cut %v", c.name, v)
			}
		}
	}
}

// A fit on too little or degenerate data is rejected with the reason, and
// every fit returns promptly (the first 10 CDNOW customers used to hang in
// the CLV cut points), and stops when its context ends.
func TestDegenerateFitsAreRejectedAndTerminate(t *testing.T) {
	base := cdnowSummaries(t)
	for _, n := range []int{10, 20, 50, 100} {
		for _, kind := range []string{model.KindBGNBD, model.KindMBGNBD} {
			start := time.Now()
			rec, err := model.Fit(context.Background(), model.Input{Full: base[:n]}, model.Config{Kind: kind, MinCustomers: 1, MinRepeatBuyers: 1})
			if err != nil {
				t.Fatalf("%d %s: %v", n, kind, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%d %s: fit took %v", n, kind, d)
			}
			outcome, publish := model.Gate(nil, &rec, 0.1)
			if kind == model.KindBGNBD && (publish || rec.Rejected == "") {
				t.Errorf("%d %s: %+v published (%s): BG/NBD lands on a, b → 0 here", n, kind, rec.Params, outcome)
			}
			if rec.Rejected != "" && publish {
				t.Errorf("%d %s: rejected record published", n, kind)
			}
		}
	}
	// Below the default minimum the record is a baseline that says why.
	if rec, _ := model.Fit(context.Background(), model.Input{Full: base[:10]}, model.Config{}); rec.Fitted() || !strings.Contains(rec.Reason, "model.min_customers") {
		t.Errorf("10 customers with defaults: %+v", rec)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := model.Fit(ctx, model.Input{Full: base}, model.Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fit: %v", err)
	}
	if _, err := model.Fit(context.Background(), model.Input{Full: base}, model.Config{Kind: "nbd"}); err == nil || !strings.Contains(err.Error(), "model.purchase") {
		t.Errorf("unknown model: %v", err)
	}
}

// The churn model is fitted on the time split of a transactions history
// (features as of AsOf − 90 days, label: no purchase in the 90 days after),
// gated on its held-out examples, and its levels split the population.
func TestChurnModelOnTimeSplit(t *testing.T) {
	end := time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)
	rows, _, err := batch.ReadTransactions("../../testdata/cdnow/CDNOW_sample.txt",
		backfill.Options{CustomerCol: "2", DateCol: "3", AmountCol: "5", DateFormat: "20060102"}, end, end, 7)
	if err != nil {
		t.Fatal(err)
	}
	h, err := batch.ReadHistory("../../testdata/cdnow/CDNOW_sample.txt",
		backfill.Options{CustomerCol: "2", DateCol: "3", AmountCol: "5", DateFormat: "20060102"})
	if err != nil {
		t.Fatal(err)
	}
	in := model.Input{AsOf: end}
	if in.Churn, err = h.ChurnSplit(context.Background(), end, 90*24*time.Hour, 7); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		in.Full = append(in.Full, r.Summary)
	}
	rec, err := model.Fit(context.Background(), in, model.Config{Kind: model.KindMBGNBD})
	if err != nil {
		t.Fatal(err)
	}
	cm := rec.Churn
	if cm == nil || cm.Holdout == nil || cm.HorizonDays != 90 || cm.Examples != 4*2357 {
		t.Fatalf("churn model %+v", cm)
	}
	ho := cm.Holdout
	t.Logf("churn model %+v holdout %+v", *cm, *ho)
	if !(ho.Model.Brier < ho.BaseBrier) || !(ho.Model.AUC > 0.7) || !(ho.Model.LogLoss <= ho.Purchase.LogLoss+1e-9) {
		t.Errorf("holdout %+v: the fitted churn model must beat the base rate and not lose to the raw purchase model", ho)
	}
}

// model.purchase auto on discrete-time data (the donations: one
// opportunity a year, calibration 1996–2001, holdout 2002–2006) has BG/BB
// among its candidates, records every candidate's holdout figures and
// keeps the lowest holdout error; on continuous data BG/BB is recorded as
// not a candidate.
func TestAutoChoosesByHoldoutWithBGBBOnDiscreteData(t *testing.T) {
	var in model.Input
	data, _ := readDonations(t)
	var actual float64
	for _, r := range data {
		for i := 0; i < int(r[3]); i++ {
			s := model.Summary{X: r[0], TX: r[1], T: r[2]}
			in.Full = append(in.Full, s)
			in.Calibration = append(in.Calibration, s)
			// (each customer of a pattern carries the pattern's mean: the
			// holdout error compares totals)
			in.HoldoutActual = append(in.HoldoutActual, r[4]/r[3])
		}
		actual += r[4]
	}
	in.Holdout = 5 * 7 * 24 * time.Hour // five opportunities of one time unit
	rec, err := model.Fit(context.Background(), in, model.Config{Kind: model.KindAuto})
	if err != nil {
		t.Fatal(err)
	}
	sel := rec.Selection
	if sel == nil || len(sel.Candidates) != 4 || sel.Chosen != rec.Kind {
		t.Fatalf("selection %+v", sel)
	}
	best, bestKind := math.Inf(1), ""
	for _, c := range sel.Candidates {
		if c.Holdout == nil {
			t.Fatalf("candidate %s failed: %s", c.Kind, c.Error)
		}
		t.Logf("%-9s predicted %.1f actual %.0f error %.4f", c.Kind, c.Holdout.Predicted, c.Holdout.Actual, c.Holdout.Error)
		if math.Abs(c.Holdout.Actual-actual) > 1e-6 {
			t.Errorf("%s: actual %v, want %v", c.Kind, c.Holdout.Actual, actual)
		}
		if c.Holdout.Error < best {
			best, bestKind = c.Holdout.Error, c.Kind
		}
	}
	if rec.Kind != bestKind || rec.Holdout == nil || rec.Holdout.Error != best {
		t.Fatalf("chose %s (holdout %+v), lowest error is %s (%.4f)", rec.Kind, rec.Holdout, bestKind, best)
	}
	if rec.Kind == model.KindBGBB && (math.Abs(rec.Params.R-1.2035) > 2e-3 || math.Abs(rec.Params.B-2.7834) > 5e-3) {
		t.Errorf("BG/BB params %+v, want α 1.2035 … δ 2.7834", rec.Params)
	}
	// The same histories made continuous (a quarter unit later) are no
	// BG/BB data.
	for i := range in.Full {
		in.Full[i].T += 0.25
		in.Calibration[i].T += 0.25
	}
	rec, err = model.Fit(context.Background(), in, model.Config{Kind: model.KindAuto})
	if err != nil {
		t.Fatal(err)
	}
	if c := rec.Selection.Candidates[0]; c.Kind != model.KindBGBB || c.Holdout != nil || !strings.Contains(c.Error, "not discrete") {
		t.Errorf("continuous data: BG/BB candidate %+v", c)
	}
}

func readDonations(t *testing.T) ([][5]float64, error) {
	t.Helper()
	b, err := os.ReadFile("../../testdata/donations/btyd_donations_rf_matrix_calibration.csv")
	if err != nil {
		t.Fatal(err)
	}
	var out [][5]float64
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		var r [5]float64
		for j, f := range strings.Split(strings.TrimSpace(line), ",") {
			if _, err := fmt.Sscan(f, &r[j]); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}
