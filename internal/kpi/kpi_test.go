package kpi

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

type states []*customer.State

func (s states) Each(_ context.Context, fn func(int, *customer.State) error) error {
	for _, st := range s {
		if err := fn(0, st); err != nil {
			return err
		}
	}
	return nil
}

var asOf = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

func buyer(id string, daysBefore ...int) *customer.State {
	st := &customer.State{ID: id}
	for i, d := range daysBefore {
		st.Apply(event.Event{ID: fmt.Sprint(id, i), Type: event.Purchase, CustomerID: id, OrderID: fmt.Sprint(i),
			OccurredAt: asOf.AddDate(0, 0, -d), Amount: 5000}, 0.3)
	}
	return st
}

// Retention over the last 30 days with a 365-day activity window:
// a, b active at start and end; c active at start, lapsed by the end
// (last purchase 380 days ago... no: 350 days before the start, so active
// at start, 380 at end); d new in the period; e a prospect; f erased.
func TestRetentionAndAverages(t *testing.T) {
	erased := buyer("f", 100)
	erased.Apply(event.Event{Type: event.CustomerErased, CustomerID: "f", OccurredAt: asOf.AddDate(0, 0, -1)}, 0)
	prospect := &customer.State{ID: "e"}
	prospect.Apply(event.Event{Type: event.EmailSent, CustomerID: "e", MessageID: "m", OccurredAt: asOf.AddDate(0, 0, -3)}, 0)
	pop := states{buyer("a", 400, 100, 10), buyer("b", 200, 5), buyer("c", 380), buyer("d", 10), prospect, erased}
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compute(context.Background(), pop, sc, nil, asOf, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Customers != 4 || s.Prospects != 1 || s.Erased != 1 {
		t.Fatalf("customers %d prospects %d erased %d", s.Customers, s.Prospects, s.Erased)
	}
	// Active at start (30 days ago): a (last 100 before start... a bought 100 days ago, i.e. 70 before start), b (170 before start), c (350 before start) = 3.
	// Active at end: a, b, d (c's last purchase is 380 days ago) = 3; new: d.
	if s.ActiveAtStart != 3 || s.ActiveAtEnd != 3 || s.NewCustomers != 1 {
		t.Fatalf("start %d end %d new %d", s.ActiveAtStart, s.ActiveAtEnd, s.NewCustomers)
	}
	if math.Abs(s.RetentionRate-2.0/3) > 1e-12 || math.Abs(s.ChurnRate-1.0/3) > 1e-12 {
		t.Fatalf("retention %v churn %v", s.RetentionRate, s.ChurnRate)
	}
	// 7 purchase days of 50.00 over 4 customers; 2 of them repeat.
	if s.AverageOrder != 50 || s.PurchaseFreq != 7.0/4 || s.RepeatRate != 0.5 {
		t.Fatalf("aov %v freq %v repeat %v", s.AverageOrder, s.PurchaseFreq, s.RepeatRate)
	}
	if s.Segments["prospect"] != 1 || s.Tiers["none"]+s.Tiers["bronze"] != 4 {
		t.Fatalf("segments %v tiers %v", s.Segments, s.Tiers)
	}
	last := s.CLV[len(s.CLV)-1]
	if last.Count != 4 {
		t.Fatalf("CLV distribution %v", s.CLV)
	}
}

func TestCohortRetention(t *testing.T) {
	// Cohort 2025-04: x buys in April, May and June; y only in April.
	d := func(id string, dates ...time.Time) *customer.State {
		st := &customer.State{ID: id}
		for i, at := range dates {
			st.Apply(event.Event{Type: event.Purchase, CustomerID: id, OrderID: fmt.Sprint(i), OccurredAt: at, Amount: 100}, 0)
		}
		return st
	}
	apr := time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC)
	pop := states{d("x", apr, apr.AddDate(0, 1, 0), apr.AddDate(0, 2, 0)), d("y", apr)}
	sc, _ := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	s, err := Compute(context.Background(), pop, sc, nil, asOf, Config{Cohorts: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Cohorts) != 1 || s.Cohorts[0].Month != "2025-04" || s.Cohorts[0].Size != 2 {
		t.Fatalf("cohorts %+v", s.Cohorts)
	}
	want := []float64{1, 0.5, 0.5}
	for k, w := range want {
		if s.Cohorts[0].Retention[k] != w {
			t.Fatalf("retention %v, want %v", s.Cohorts[0].Retention, want)
		}
	}
}

// every keeps one state in k and reports the whole population, as a
// sampling store does.
type every struct {
	pop states
	k   int
}

func (e every) Sample(_ context.Context, max int, fn func(int, *customer.State) error) (int, error) {
	for i, st := range e.pop {
		if i%e.k == 0 {
			if err := fn(0, st); err != nil {
				return 0, err
			}
		}
	}
	return len(e.pop), nil
}

// A snapshot of a sample scales its counts to the population and keeps
// the sample's rates: close to the snapshot of everyone.
func TestSampledSnapshotEstimatesThePopulation(t *testing.T) {
	var pop states
	for i := 0; i < 4000; i++ {
		switch i % 4 {
		case 0:
			pop = append(pop, buyer(fmt.Sprint("a", i), 400, 100, 10))
		case 1:
			pop = append(pop, buyer(fmt.Sprint("b", i), 200))
		case 2:
			pop = append(pop, buyer(fmt.Sprint("c", i), 380))
		default:
			pop = append(pop, buyer(fmt.Sprint("d", i), 10+i%15))
		}
	}
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	full, err := Compute(context.Background(), pop, sc, nil, asOf, Config{})
	if err != nil {
		t.Fatal(err)
	}
	est, err := ComputeSample(context.Background(), every{pop, 5}, sc, nil, asOf, Config{SampleSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if full.Sampled != 0 || est.Sampled != 800 {
		t.Fatalf("sampled %d / %d, want 0 and 800", full.Sampled, est.Sampled)
	}
	near := func(name string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s: sample %v, everyone %v", name, got, want)
		}
	}
	near("customers", float64(est.Customers), float64(full.Customers), 0)
	near("active at end", float64(est.ActiveAtEnd), float64(full.ActiveAtEnd), 0.05*float64(full.ActiveAtEnd))
	near("retention", est.RetentionRate, full.RetentionRate, 0.02)
	near("average order", est.AverageOrder, full.AverageOrder, 1e-9)
	for seg, n := range full.Segments {
		near("segment "+seg, float64(est.Segments[seg]), float64(n), 0.05*float64(full.Customers))
	}
}
