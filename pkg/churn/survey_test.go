package churn

import (
	"context"
	"math/rand/v2"
	"testing"
)

// The survey and opt-out signals are fitted like the others: on data where
// detractors, high-effort and opted-out customers churn more than their purchase history says,
// the fit keeps both with a positive weight, and a customer without a
// survey gets no contribution from them.
func TestFitSurveySignals(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var ex []Example
	for i := 0; i < 4000; i++ {
		p := 0.1 + 0.8*r.Float64()
		s := Signals{PNoPurchase: p}
		u := logit(p)
		if r.IntN(10) < 6 {
			s.NPSScored, s.NPS = true, r.IntN(11)
			if s.NPS <= 6 {
				u += 1.2
			}
		}
		if r.IntN(10) == 0 {
			s.OptedOut = true
			u += 1.0
		}
		if r.IntN(10) < 4 {
			s.CESScored, s.CES = true, 1+r.IntN(7)
			if s.CES <= 3 {
				u += 0.9
			}
		}
		ex = append(ex, Example{Signals: s, Churned: r.Float64() < logistic(u)})
	}
	m, err := Fit(context.Background(), ex, FitOptions{HorizonDays: 90})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, w := range m.Weights {
		got[w.Name] = w.Weight
	}
	for _, name := range []string{FeatureDetractor, FeatureHighEffort, FeatureOptedOut} {
		if got[name] <= 0.3 {
			t.Errorf("weight of %s = %v, want clearly positive (weights %+v, note %q)", name, got[name], m.Weights, m.Note)
		}
	}
	if m.Holdout == nil || m.Holdout.Model.LogLoss >= m.Holdout.Purchase.LogLoss {
		t.Errorf("holdout %+v: the survey signals must beat the purchase model alone", m.Holdout)
	}
	_, factors := m.Risk(Signals{PNoPurchase: 0.5})
	for _, f := range factors {
		if f.Name == FeatureDetractor || f.Name == FeatureHighEffort {
			t.Errorf("factor %s for a customer without surveys", f.Name)
		}
	}
	_, factors = m.Risk(Signals{PNoPurchase: 0.5, NPSScored: true, NPS: 2})
	found := false
	for _, f := range factors {
		found = found || (f.Name == FeatureDetractor && f.Contribution > 0)
	}
	if !found {
		t.Errorf("a detractor has no positive nps_detractor factor: %+v", factors)
	}
}
