package batch

import (
	"bytes"
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/backfill"
	"github.com/clvstream/clvstream/pkg/segment"
)

const cdnowDir = "../../testdata/cdnow/"

func readFile(t *testing.T, name string) []Row {
	t.Helper()
	f, err := os.Open(cdnowDir + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := ReadSummaries(f, 7)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func rel(a, b float64) float64 { return math.Abs(a-b) / math.Abs(b) }

// The three input forms of the same CDNOW calibration data give the same
// maximum-likelihood BG/NBD fit (Fader, Hardie & Lee 2005: r 0.2426,
// alpha 4.4135, a 0.7929, b 2.4258, LL -9582.43).
func TestFitSummaryFormatsAndTransactionsAgree(t *testing.T) {
	btyd := readFile(t, "btyd_cdnow_cbs.csv")
	life := readFile(t, "cdnow_customers_summary_with_transactions.csv")
	tx, asOf, err := ReadTransactions(cdnowDir+"CDNOW_sample.txt", backfill.Options{CustomerCol: "2", DateCol: "3", AmountCol: "5", DateFormat: "20060102"},
		time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC), time.Time{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if asOf.Format("2006-01-02") != "1997-09-30" || len(btyd) != 2357 || len(life) != 2357 || len(tx) != 2357 {
		t.Fatalf("rows: btyd %d lifetimes %d transactions %d", len(btyd), len(life), len(tx))
	}
	want := map[string]float64{"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
	for name, rows := range map[string][]Row{"btyd": btyd, "lifetimes": life, "transactions": tx} {
		rec, err := Fit(context.Background(), rows, FitOptions{Kind: "bgnbd", UnitDays: 7})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{"r": rec.Params.R, "alpha": rec.Params.Alpha, "a": rec.Params.A, "b": rec.Params.B}
		for k, w := range want {
			if rel(got[k], w) > 1e-3 {
				t.Errorf("%s: %s = %.5f, want %.4f", name, k, got[k], w)
			}
		}
		if math.Abs(rec.LogLikelihood+9582.43) > 0.01 || !rec.Converged || rec.GammaGamma == nil {
			t.Errorf("%s: LL %.4f converged %v gg %v", name, rec.LogLikelihood, rec.Converged, rec.GammaGamma)
		}
	}
}

// Holdout report on CDNOW: actual repeat purchases in weeks 40-78 per
// calibration frequency are the published counts (the data set README:
// 1,411 customers with x = 0, ..., 1,882 holdout repeat purchases).
func TestHoldoutReport(t *testing.T) {
	bins, _, rec, err := Holdout(context.Background(), readFile(t, "btyd_cdnow_cbs.csv"), FitOptions{Kind: "bgnbd", UnitDays: 7}, 39, 7)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Kind != "bgnbd" || len(bins) != 8 {
		t.Fatalf("bins %d", len(bins))
	}
	wantCustomers := []int{1411, 439, 214, 100, 62, 38, 29, 64}
	var actual, predicted float64
	for i, b := range bins {
		if b.Customers != wantCustomers[i] {
			t.Errorf("bin %s: %d customers, want %d", b.Frequency, b.Customers, wantCustomers[i])
		}
		actual += b.Actual
		predicted += b.Predicted
	}
	if actual != 1882 {
		t.Fatalf("actual holdout purchases %v, want 1882", actual)
	}
	// The conditional expectations of BG/NBD under-predict CDNOW's holdout
	// by about 12% in total (1,653 vs 1,882).
	if predicted < 1600 || predicted > 1700 {
		t.Fatalf("predicted %v", predicted)
	}
	var buf bytes.Buffer
	WriteHoldout(&buf, bins)
	if !strings.Contains(buf.String(), "total") || !strings.Contains(buf.String(), "7+") {
		t.Fatalf("report:\n%s", buf.String())
	}
}

func TestScoreCSV(t *testing.T) {
	rows := readFile(t, "btyd_cdnow_cbs.csv")
	rec, err := Fit(context.Background(), rows, FitOptions{Kind: "mbgnbd", UnitDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	e, err := segment.Compile(segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Score(&buf, rows, rec, ScoreOptions{HorizonUnits: 52, Rules: e}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2358 || !strings.HasPrefix(lines[0], "customer_id,frequency,recency,T,monetary_value,p_alive,expected_purchases,predicted_clv,churn_risk,churn_level,segment") {
		t.Fatalf("%d lines, header %q", len(lines), lines[0])
	}
	// Customer 1 (x=2, t_x=30.43, T=38.86) is likely alive; customer 2
	// (x=1, t_x=1.71) long silent is not: lapsed (P(no purchase in 90 days)
	// ≥ 0.85) with a higher churn risk.
	risk := func(line string) float64 {
		f := strings.Split(line, ",")
		v, _ := strconv.ParseFloat(f[8], 64)
		return v
	}
	if !strings.HasPrefix(lines[2], "2,1,") || !strings.HasSuffix(lines[2], ",lapsed") || !(risk(lines[1]) < risk(lines[2])) {
		t.Fatalf("rows:\n%s\n%s", lines[1], lines[2])
	}
}

func TestReadSummariesErrors(t *testing.T) {
	if _, err := ReadSummaries(strings.NewReader("a,b\n1,2\n"), 7); err == nil || !strings.Contains(err.Error(), "need frequency") {
		t.Fatalf("missing columns: %v", err)
	}
	if _, err := ReadSummaries(strings.NewReader("frequency,recency,T\n1,x,3\n"), 7); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad number: %v", err)
	}
}

func TestReadSummariesValidation(t *testing.T) {
	cases := []struct{ in, want string }{
		{"customer_id,x,t_x,T_cal,m_x\n1,1,2,5,10\n2,1.5,2,5,10\n", "line 3: column x: 1.5 must be a whole number"},
		{"customer_id,x,t_x,T_cal,m_x\n1,-1,0,5,10\n", "line 2: column x"},
		{"customer_id,x,t_x,T_cal,m_x\n1,1,6,5,10\n", "line 2: column T_cal: 5 is below the recency 6"},
		{"customer_id,x,t_x,T_cal,m_x\n1,0,2,5,0\n", "line 2: column t_x: 2 must be 0 when x is 0"},
		{"customer_id,x,t_x,T_cal,m_x\n1,2,0,0,10\n", "line 2: column T_cal: 0 with 2 repeat purchases"},
		{"customer_id,x,t_x,T_cal,m_x\n1,1,2,5,NaN\n", "line 2: column m_x: NaN is not a finite number"},
		{"customer_id,x,t_x,T_cal,m_x\n1,1,2,5,-3\n", "line 2: column m_x: -3 must be ≥ 0"},
		{"customer_id,x,t_x,T_cal,m_x\n1,1,2,5,1e308\n", "line 2: column m_x: 1e+308 is above"},
		{"customer_id,x,t_x,T_cal,m_x\n7,1,2,5,3\n8,1,2,5,3\n\n7,0,0,4,0\n", "line 5: duplicate customer id (first on line 2)"},
		{"customer_id,x,t_x,T_cal,m_x,x_star\n1,1,2,5,3,0.5\n", "line 2: column x_star"},
	}
	for _, c := range cases {
		_, err := ReadSummaries(strings.NewReader(c.in), 7)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	f, err := ReadSummaryFile(strings.NewReader("frequency,recency,T\n1,2,5\n0,0,3\n"), 7)
	if err != nil || len(f.Rows) != 2 || len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "no monetary column") {
		t.Fatalf("missing monetary column: %+v %v", f, err)
	}
}

// Too little data is an error that names the setting, unless forced; a
// forced fit of a degenerate model says so.
func TestFitTooLittleData(t *testing.T) {
	rows := readFile(t, "btyd_cdnow_cbs.csv")[:10]
	_, err := Fit(context.Background(), rows, FitOptions{Kind: "bgnbd", UnitDays: 7})
	if err == nil || !strings.Contains(err.Error(), "model.min_customers") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("10 customers: %v", err)
	}
	_, err = Fit(context.Background(), rows, FitOptions{Kind: "bgnbd", UnitDays: 7, MinCustomers: 1, MinRepeatBuyers: 1})
	if err == nil || !strings.Contains(err.Error(), "fit refused") {
		t.Fatalf("10 customers, minimum 1: %v", err)
	}
	rec, err := Fit(context.Background(), rows, FitOptions{Kind: "bgnbd", UnitDays: 7, Force: true})
	if err != nil || rec.Rejected == "" {
		t.Fatalf("forced: %+v %v", rec, err)
	}
	if _, err := Fit(context.Background(), rows, FitOptions{Kind: "nbd", UnitDays: 7, Force: true}); err == nil || !strings.Contains(err.Error(), "mbgnbd, bgnbd, paretonbd, bgbb (discrete-time data) or auto") {
		t.Fatalf("unknown model: %v", err)
	}
}

// The churn probability on CDNOW, calibration weeks 1-39, holdout weeks
// 40-78: P(no purchase in the 39 holdout weeks) from the model fitted on
// the calibration period, against "no purchase in the holdout" (1,673 of
// 2,357 customers). Measured (README): AUC 0.757 (BG/NBD) and 0.760
// (MBG/NBD) against 0.772 for recency and 0.316 / 0.687 for 1 − P(alive);
// Brier 0.161 against 0.206 for the base rate. A summary file has no
// calendar, so there is no time split and the churn model is the identity
// (the purchase model's closed form alone): the targets (AUC ≥
// 0.78, every decile within 0.05) are met from the transactions, where the
// fitted churn model corrects it (TestChurnHoldoutCDNOW); this test pins
// the closed form, so a regression shows.
func TestHoldoutChurnOnCDNOW(t *testing.T) {
	rows := readFile(t, "btyd_cdnow_cbs.csv")
	for _, kind := range []string{"bgnbd", "mbgnbd"} {
		_, rep, _, err := Holdout(context.Background(), rows, FitOptions{Kind: kind, UnitDays: 7}, 39, 7)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Customers != 2357 || math.Abs(rep.BaseRate-1673.0/2357) > 1e-12 {
			t.Fatalf("%s: %+v", kind, rep)
		}
		churnP, dead, recency := rep.Predictors[0], rep.Predictors[1], rep.Predictors[2]
		var worst float64
		for _, d := range churnP.Deciles {
			worst = math.Max(worst, math.Abs(d.Predicted-d.Observed))
		}
		t.Logf("%s: churn AUC %.4f Brier %.4f (worst decile off by %.3f); 1-P(alive) AUC %.4f Brier %.4f; recency AUC %.4f; base Brier %.4f",
			kind, churnP.AUC, churnP.Brier, worst, dead.AUC, dead.Brier, recency.AUC, rep.BaseBrier)
		if !(churnP.AUC > 0.75) || !(churnP.AUC > dead.AUC) || !(churnP.Brier < rep.BaseBrier) || !(churnP.Brier < dead.Brier) {
			t.Errorf("%s: churn probability must rank above 0.75 and beat 1-P(alive) and the base rate", kind)
		}
		if worst > 0.14 {
			t.Errorf("%s: a decile is off by %.3f", kind, worst)
		}
	}
	// model.purchase auto fits BG/NBD, MBG/NBD and Pareto/NBD on the
	// calibration period, records each one's holdout figures and keeps the
	// lowest holdout error: on CDNOW Pareto/NBD (predicted 1,665.5 of 1,882
	// holdout purchases, error 0.115; BG/NBD 1,653.4, 0.1215; MBG/NBD
	// 1,576.7, 0.162).
	_, _, rec, err := Holdout(context.Background(), rows, FitOptions{Kind: "auto", UnitDays: 7}, 39, 7)
	if err != nil {
		t.Fatal(err)
	}
	// (BG/BB is recorded as not a candidate: CDNOW's weeks are continuous)
	if rec.Selection == nil || len(rec.Selection.Candidates) != 4 || rec.Selection.Chosen != rec.Kind || rec.Kind != "paretonbd" ||
		rec.Selection.Candidates[0].Kind != "bgbb" || rec.Selection.Candidates[0].Holdout != nil {
		t.Fatalf("selection %+v", rec.Selection)
	}
	want := map[string]float64{"bgnbd": 1653.4, "mbgnbd": 1576.7, "paretonbd": 1665.5}
	for _, c := range rec.Selection.Candidates[1:] {
		if c.Holdout == nil || (c.Kind != rec.Kind && c.Holdout.Error < rec.Holdout.Error) {
			t.Fatalf("candidate %+v beats the chosen %s", c, rec.Kind)
		}
		h := c.Holdout
		if math.Abs(h.Predicted-want[c.Kind]) > 0.1 || h.Actual != 1882 || math.Abs(h.Error-math.Abs(h.Predicted-1882)/1882) > 1e-12 {
			t.Errorf("candidate %s: holdout %+v, want predicted %.1f of 1882", c.Kind, *h, want[c.Kind])
		}
	}
	if rec.Holdout == nil || rec.Holdout.Predicted != rec.Selection.Candidates[3].Holdout.Predicted {
		t.Errorf("record holdout %+v is not the chosen candidate's", rec.Holdout)
	}
}
