package churn

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestIdentityModelIsThePurchaseModel(t *testing.T) {
	var m Model
	for _, p := range []float64{0.01, 0.3, 0.5, 0.9} {
		got, f := m.Risk(Signals{PNoPurchase: p, OpenTickets: 2, CSAT: 1})
		if math.Abs(got-p) > 1e-12 || len(f) != 1 || f[0].Name != FeaturePurchase {
			t.Fatalf("PNoPurchase %v: risk %v factors %v", p, got, f)
		}
	}
}

// simulateExamples draws customers whose true churn log-odds are
// 0.2 + 1.3·logit(p) + 1.5·(open tickets) − 2·(engagement − 0.3).
func simulateExamples(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 1))
	ex := make([]Example, n)
	for i := range ex {
		p := 0.05 + 0.9*rng.Float64()
		s := Signals{PNoPurchase: p}
		if rng.Float64() < 0.2 {
			s.OpenTickets = 1 + rng.IntN(2)
		}
		if rng.Float64() < 0.6 {
			s.EmailSends = 4
			s.EmailOpens = float64(rng.IntN(5))
		}
		u := 0.2 + 1.3*logit(p) + 1.5*float64(s.OpenTickets)
		if s.EmailSends > 0 {
			u -= 2 * (s.EmailOpens/s.EmailSends - 0.3)
		}
		ex[i] = Example{Signals: s, Churned: rng.Float64() < logistic(u)}
	}
	return ex
}

func TestFitRecoversWeights(t *testing.T) {
	ex := simulateExamples(40000, 3)
	m, err := Fit(context.Background(), ex, FitOptions{HorizonDays: 90})
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]float64{}
	for _, x := range m.Weights {
		w[x.Name] = x.Weight
	}
	if math.Abs(m.Slope-1.3) > 0.1 || math.Abs(w[FeatureOpen]-1.5) > 0.15 || math.Abs(w[FeatureEngagement]+2) > 0.3 {
		t.Fatalf("fit %+v", m)
	}
	if _, ok := w[FeatureCSAT]; ok {
		t.Fatalf("csat never observed but weighted: %+v", m.Weights)
	}
	h := m.Holdout
	if h == nil || !(h.Model.LogLoss < h.Purchase.LogLoss) || !(h.Model.AUC > h.Purchase.AUC) || !(h.Model.Brier < h.BaseBrier) {
		t.Fatalf("holdout %+v", h)
	}
	// The factors add up to the log-odds of the probability.
	s := Signals{PNoPurchase: 0.4, OpenTickets: 2, EmailSends: 5, EmailOpens: 1}
	p, f := m.Risk(s)
	var sum float64
	for _, x := range f {
		sum += x.Contribution
	}
	if math.Abs(logistic(sum)-p) > 1e-12 || f[0].Name != FeatureOpen {
		t.Fatalf("factors %+v do not explain %v", f, p)
	}
}

func TestFitDropsUselessSignals(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	ex := make([]Example, 5000)
	for i := range ex {
		p := 0.1 + 0.8*rng.Float64()
		ex[i] = Example{Signals: Signals{PNoPurchase: p, OpenTickets: rng.IntN(2)}, Churned: rng.Float64() < p}
	}
	m, err := Fit(context.Background(), ex, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range m.Weights {
		if math.Abs(w.Weight) > 0.2 {
			t.Fatalf("noise signal got weight %+v (note %s)", w, m.Note)
		}
	}
	if math.Abs(m.Slope-1) > 0.15 || math.Abs(m.Intercept) > 0.15 {
		t.Fatalf("calibrated input recalibrated to %+v", m)
	}
}

func TestFitErrors(t *testing.T) {
	if _, err := Fit(context.Background(), simulateExamples(20, 1), FitOptions{}); err == nil {
		t.Fatal("20 examples: want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, simulateExamples(1000, 1), FitOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestAUCAndReliability(t *testing.T) {
	// Positives at 0.9 and 0.4, negatives at 0.4 and 0.1: pairs (0.9,0.4)
	// (0.9,0.1) (0.4,0.1) won, (0.4,0.4) tied: (3 + 0.5)/4.
	if got := AUC([]float64{0.9, 0.4, 0.4, 0.1}, []bool{true, true, false, false}); got != 0.875 {
		t.Fatalf("AUC = %v", got)
	}
	p := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}
	y := []bool{false, false, false, true, false, true, true, true, true, true}
	bins := Reliability(p, y, 5)
	if len(bins) != 5 || bins[0].N != 2 || math.Abs(bins[0].Predicted-0.15) > 1e-12 || bins[1].Observed != 0.5 || bins[4].Observed != 1 {
		t.Fatalf("bins %+v", bins)
	}
	s := Score([]float64{1, 0}, []bool{true, false})
	if s.Brier != 0 || s.AUC != 1 {
		t.Fatalf("perfect scores %+v", s)
	}
}

// Probability is exactly Risk's probability.
func TestProbabilityIsRisksProbability(t *testing.T) {
	m := Model{HorizonDays: 90, Intercept: 0.2, Slope: 1.3,
		History: []Weight{{Name: FeatureRecency, Weight: 0.4, Mean: 0.1}},
		Weights: []Weight{{Name: FeatureOpen, Weight: 0.8}, {Name: FeatureCSAT, Weight: 0.5, Mean: -1}}}
	for _, s := range []Signals{
		{PNoPurchase: 0.3, OpenTickets: 2, CSAT: 2, RecencyDays: 40, TenureDays: 300, Frequency: 3},
		{PNoPurchase: 0.97, EmailSends: 5, EmailOpens: 1},
		{PNoPurchase: 0},
	} {
		if p, _ := m.Risk(s); m.Probability(s) != p {
			t.Errorf("%+v: Probability %v, Risk %v", s, m.Probability(s), p)
		}
	}
}

// The churn probability rises while a customer is silent under the
// identity model and under weights that all push the same way; a negative
// recency weight, a positive purchase-rate weight or an e-mail engagement
// term that would leave the sum with a positive contribution break it.
func TestRisesWhenSilent(t *testing.T) {
	engaged := Signals{EmailSends: 5, EmailOpens: 4}
	for _, c := range []struct {
		name string
		m    Model
		s    Signals
		want bool
	}{
		{"identity", Model{}, engaged, true},
		{"constant signals", Model{Weights: []Weight{{Name: FeatureOpen, Weight: 0.8}, {Name: FeatureCSAT, Weight: -0.5}}}, engaged, true},
		{"recency and tenure up, rate down", Model{History: []Weight{{Name: FeatureRecency, Weight: 0.3}, {Name: FeatureTenure, Weight: 0.1}, {Name: FeatureRate, Weight: -0.4}}}, engaged, true},
		{"negative recency weight", Model{History: []Weight{{Name: FeatureRecency, Weight: -0.3}}}, engaged, false},
		{"positive rate weight", Model{History: []Weight{{Name: FeatureRate, Weight: 0.2}}}, engaged, false},
		{"negative slope", Model{Slope: -1}, engaged, false},
		{"engagement term that raises churn now", Model{Weights: []Weight{{Name: FeatureEngagement, Weight: 1, Mean: 0.2}}}, engaged, false},
		{"engagement term that lowers churn now", Model{Weights: []Weight{{Name: FeatureEngagement, Weight: -1, Mean: 0.2}}}, engaged, true},
		{"no engagement term to lose", Model{Weights: []Weight{{Name: FeatureEngagement, Weight: 1, Mean: 0.2}}}, Signals{}, true},
	} {
		if got := c.m.RisesWhenSilent(c.s); got != c.want {
			t.Errorf("%s: RisesWhenSilent = %v, want %v", c.name, got, c.want)
		}
	}
}
