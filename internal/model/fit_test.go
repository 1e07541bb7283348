package model_test

import (
	"context"
	"math"
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
