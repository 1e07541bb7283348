package scoring

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

var day0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func buyer(days []int, cents int64) *customer.State {
	st := &customer.State{ID: "c"}
	for i, d := range days {
		st.Apply(event.Event{ID: fmt.Sprint(i), Type: event.Purchase, CustomerID: "c", OrderID: fmt.Sprint(i), OccurredAt: day0.AddDate(0, 0, d), Amount: cents}, 0.3)
	}
	return st
}

func newScorer(t *testing.T, c Config) *Scorer {
	t.Helper()
	s, err := New(c, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// follow scores st from day 0 on, jumping to each NextDue like the
// service's due-set does, and records every segment change.
func follow(s *Scorer, st *customer.State, until time.Time, rec *model.Record) []string {
	var path []string
	now := day0
	for now.Before(until) {
		r := s.Score(st, now, rec)
		if r.Segment != st.Segment {
			path = append(path, fmt.Sprintf("%s@%.1f", r.Segment, now.Sub(day0).Hours()/24))
			st.Segment, st.SegmentSince = r.Segment, now.UnixMilli()
		}
		now = r.NextDue
	}
	return path
}

// A one-time buyer under the baseline model moves new -> active (90 days
// of tenure) -> at-risk (churn 0.5 at two population gaps of 60 days) ->
// lapsed (churn 0.85: 2·√(0.85/0.15) gaps = 285.7 days), re-scored exactly
// when the rules say, within the hour.
func TestBaselineDriftAtPredictedTimes(t *testing.T) {
	s := newScorer(t, Config{})
	got := follow(s, buyer([]int{0}, 5000), day0.AddDate(1, 0, 0), nil)
	want := []string{"new@0.0", "active@90.0", "at-risk@120.0", "lapsed@285.7"}
	if len(got) != len(want) {
		t.Fatalf("path %v, want %v", got, want)
	}
	for i := range want {
		var gs, ws string
		var gd, wd float64
		fmt.Sscanf(replaceAt(got[i]), "%s %f", &gs, &gd)
		fmt.Sscanf(replaceAt(want[i]), "%s %f", &ws, &wd)
		if gs != ws || math.Abs(gd-wd) > 1.0/24+1e-9 {
			t.Fatalf("path %v, want %v (within an hour)", got, want)
		}
	}
}

func replaceAt(s string) string {
	for i := range s {
		if s[i] == '@' {
			return s[:i] + " " + s[i+1:]
		}
	}
	return s
}

// With a fitted MBG/NBD model the churn risk is 1 − P(alive), which falls
// with silence; a frequent buyer who stops is flagged sooner than a rare one.
func TestModelBasedScores(t *testing.T) {
	rec := &model.Record{Version: 3, Kind: model.KindMBGNBD, TimeUnitDays: 7,
		Params:        model.Params{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614},
		GammaGamma:    &model.GammaGamma{P: 6.25, Q: 3.74, V: 15.44},
		HorizonMonths: 12, MonthlyDiscount: 0.01}
	s := newScorer(t, Config{})
	frequent := buyer([]int{0, 7, 14, 21, 28, 35, 42, 49}, 3000)
	rare := buyer([]int{0, 120}, 3000)
	at := day0.AddDate(0, 0, 49+60)
	rf := s.Score(frequent, at, rec)
	rr := s.Score(rare, day0.AddDate(0, 0, 120+60), rec)
	if !(rf.PAlive < rr.PAlive) {
		t.Fatalf("P(alive) frequent-then-silent %.3f should be below rare %.3f", rf.PAlive, rr.PAlive)
	}
	if math.Abs(rf.ChurnRisk-(1-rf.PAlive)) > 1e-9 {
		t.Fatalf("without email/support signals churn risk %.4f must equal 1-P(alive) %.4f", rf.ChurnRisk, 1-rf.PAlive)
	}
	if rf.ModelVersion != "mbgnbd-v3" || rf.PredictedCLV <= 0 || rf.ExpectedPurchases <= 0 {
		t.Fatalf("model figures: %+v", rf)
	}
	if rf.AvgDaysBetweenOrders != 7 || !rf.NextOrderAt.Equal(day0.AddDate(0, 0, 56)) {
		t.Fatalf("gap %v next order %v", rf.AvgDaysBetweenOrders, rf.NextOrderAt)
	}
	// Overdue regular buyer: 10 days after a weekly rhythm -> replenishment due.
	if r := s.Score(frequent, day0.AddDate(0, 0, 59), rec); !r.ReplenishmentDue {
		t.Fatal("weekly buyer 10 days silent: replenishment should be due")
	}
	if r := s.Score(frequent, day0.AddDate(0, 0, 52), rec); r.ReplenishmentDue {
		t.Fatal("3 days after the last order nothing is due")
	}
}

func TestSupportFrictionRaisesRiskAndIsExplained(t *testing.T) {
	s := newScorer(t, Config{})
	st := buyer([]int{0, 30, 60}, 4000)
	now := day0.AddDate(0, 0, 70)
	calm := s.Score(st, now, nil)
	for i, typ := range []event.Type{event.TicketOpened, event.TicketResolved, event.TicketReopened} {
		st.Apply(event.Event{Type: typ, CustomerID: "c", TicketID: "t1", OccurredAt: day0.AddDate(0, 0, 61+i), CSAT: map[bool]int{true: 1}[typ == event.TicketResolved]}, 0)
	}
	angry := s.Score(st, now, nil)
	if angry.ChurnRisk <= calm.ChurnRisk {
		t.Fatalf("support friction did not raise risk: %.3f <= %.3f", angry.ChurnRisk, calm.ChurnRisk)
	}
	if angry.Factors[0].Name == "purchase_inactivity" || angry.Factors[0].Contribution <= 0 {
		t.Fatalf("top factor %+v: a support factor should lead", angry.Factors[0])
	}
}

func TestClassicCLVAndTierBeforeAModel(t *testing.T) {
	s := newScorer(t, Config{DefaultMargin: 0.3})
	days := make([]int, 10)
	for i := range days {
		days[i] = i * 36
	}
	st := buyer(days, 10000) // 10 orders of 100.00 over 324 days
	now := day0.AddDate(0, 0, 330)
	r := s.Score(st, now, nil)
	want := 10000 * (10 / 330.0 * 365.25) * 3 * 0.3
	if math.Abs(r.PredictedCLV-want) > 1e-6 {
		t.Fatalf("predicted CLV %.2f, want %.2f", r.PredictedCLV, want)
	}
	if r.HistoricCLV != 100000 || r.HistoricMargin != 30000 || r.Tier != "silver" || r.ModelVersion != "baseline" {
		t.Fatalf("historic %d margin %d tier %s model %s", r.HistoricCLV, r.HistoricMargin, r.Tier, r.ModelVersion)
	}
	if r.Segment != "high-value" {
		t.Fatalf("segment %s, want high-value (net 1,000)", r.Segment)
	}
}

func TestErasedCustomer(t *testing.T) {
	st := buyer([]int{0, 5}, 100)
	st.Apply(event.Event{Type: event.CustomerErased, CustomerID: "c", OccurredAt: day0.AddDate(0, 0, 9)}, 0)
	r := newScorer(t, Config{}).Score(st, day0.AddDate(0, 0, 10), nil)
	if r.Segment != "erased" || !r.NextDue.IsZero() || r.HistoricCLV != 0 {
		t.Fatalf("erased: %+v", r)
	}
}
