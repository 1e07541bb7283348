package scoring

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

var day0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func buyer(days []int, cents int64) *customer.State {
	st := &customer.State{ID: "c"}
	for i, d := range days {
		st.Apply(event.Event{ID: fmt.Sprint(i), Type: event.Purchase, CustomerID: "c", OrderID: fmt.Sprint(i), OccurredAt: day0.AddDate(0, 0, d), Amount: cents}, 0.3)
	}
	return st
}

// A one-time buyer moves new -> active -> at-risk -> lapsed purely with time,
// and NextDue names the instant of each move.
func TestOneTimeBuyerDriftAndDueTimes(t *testing.T) {
	s := New(Config{})
	st := buyer([]int{0}, 5000)
	steps := []struct {
		at      int // day scored
		segment string
		nextDue int // day of the next possible change
	}{
		{0, "new", 7},      // max re-score interval (7 days) caps the wait
		{85, "new", 90},    // new ends at 90 days of tenure
		{90, "active", 97}, // next: churn level medium at 0.3 -> recency 2*60*sqrt(3/7) = 78.6d (past), so the cap
		{120, "at-risk", 127},
		{240, "lapsed", 247},
	}
	for _, c := range steps {
		r := s.Score(st, day0.AddDate(0, 0, c.at), Population{})
		if r.Segment != c.segment {
			t.Errorf("day %d: segment %s, want %s (risk %.3f)", c.at, r.Segment, c.segment, r.ChurnRisk)
		}
		if want := day0.AddDate(0, 0, c.nextDue); !r.NextDue.Equal(want) {
			t.Errorf("day %d: next due %s, want %s", c.at, r.NextDue.Format(time.DateOnly), want.Format(time.DateOnly))
		}
	}
	// Between checks nothing may change: just before day 120 it is still active.
	if r := s.Score(st, day0.AddDate(0, 0, 120).Add(-time.Minute), Population{}); r.Segment != "active" {
		t.Errorf("just before 120 days: %s", r.Segment)
	}
}

func TestPopulationGapComesFromData(t *testing.T) {
	s := New(Config{})
	st := buyer([]int{0}, 5000)
	// 40 repeats over 400 days: the population rhythm is 10 days, so a
	// one-time buyer silent for 30 days is already at risk.
	r := s.Score(st, day0.AddDate(0, 0, 30), Population{SpanDays: 400, Repeats: 40})
	if r.ChurnRisk < 0.5 || r.Segment != "at-risk" {
		t.Fatalf("risk %.3f segment %s: want at-risk against a 10-day population gap", r.ChurnRisk, r.Segment)
	}
	// Too few repeats: the configured default (60 days) is used.
	r = s.Score(st, day0.AddDate(0, 0, 30), Population{SpanDays: 40, Repeats: 4})
	if r.ChurnRisk >= 0.5 {
		t.Fatalf("risk %.3f with too little population data", r.ChurnRisk)
	}
}

func TestClassicCLVTierAndHighValue(t *testing.T) {
	s := New(Config{DefaultMargin: 0.3})
	days := make([]int, 10)
	for i := range days {
		days[i] = i * 36
	}
	st := buyer(days, 10000) // 10 orders of 100.00 over 324 days
	now := day0.AddDate(0, 0, 330)
	r := s.Score(st, now, Population{})
	perYear := 10 / 330.0 * 365.25
	want := 10000 * perYear * 3 * 0.3
	if math.Abs(r.PredictedCLV-want) > 1e-6 {
		t.Fatalf("predicted CLV %.2f, want %.2f", r.PredictedCLV, want)
	}
	if r.HistoricCLV != 100000 || r.HistoricMargin != 30000 {
		t.Fatalf("historic %d margin %d", r.HistoricCLV, r.HistoricMargin)
	}
	if r.Tier != "silver" { // 1,000.00 in the trailing year: silver from 500
		t.Fatalf("tier %s, want silver", r.Tier)
	}
	if r.Segment != "high-value" {
		t.Fatalf("segment %s, want high-value (net 1,000 >= 500)", r.Segment)
	}
	// A year and a half later the spend left the 12-month window.
	if r := s.Score(st, now.AddDate(1, 6, 0), Population{}); r.Tier != "none" || r.Segment != "at-risk-high-value" && r.Segment != "lapsed" {
		t.Fatalf("later: tier %s segment %s", r.Tier, r.Segment)
	}
}

func TestErasedCustomer(t *testing.T) {
	st := buyer([]int{0, 5}, 100)
	st.Apply(event.Event{Type: event.CustomerErased, CustomerID: "c", OccurredAt: day0.AddDate(0, 0, 9)}, 0)
	r := New(Config{}).Score(st, day0.AddDate(0, 0, 10), Population{})
	if r.Segment != "erased" || !r.NextDue.IsZero() || r.HistoricCLV != 0 {
		t.Fatalf("erased: %+v", r)
	}
}
