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
