package scoring

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/churn"
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

// A one-time buyer under the baseline model moves new -> at-risk -> lapsed
// as P(no purchase in the next 90 days) = risk + (1 − risk)·e^(−90/60)
// reaches 0.5 and then 0.85 (risk the recency curve with the population
// gap of 60 days: risk = q at recency 2·60·√(q/(1−q))), re-scored when the
// rules say: at-risk at 89.3 days, lapsed at 245.3, within the hour.
func TestBaselineDriftAtPredictedTimes(t *testing.T) {
	s := newScorer(t, Config{})
	got := follow(s, buyer([]int{0}, 5000), day0.AddDate(1, 0, 0), nil)
	at := func(p float64) float64 {
		e := math.Exp(-90.0 / 60)
		q := (p - e) / (1 - e)
		return 120 * math.Sqrt(q/(1-q))
	}
	want := []string{"new@0.0", fmt.Sprintf("at-risk@%.2f", at(0.5)), fmt.Sprintf("lapsed@%.2f", at(0.85))}
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

// With a fitted MBG/NBD model and no churn weights the churn risk is the
// model's P(no purchase in the next 90 days); a frequent buyer who stops is
// flagged sooner than a rare one.
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
	want := rec.PurchaseModel().ProbNoPurchase(90.0/7, 7, 7, 109.0/7)
	if math.Abs(rf.ChurnRisk-want) > 1e-9 || rf.ChurnRisk < 1-rf.PAlive {
		t.Fatalf("without churn weights the risk %.4f must equal P(no purchase in 90 days) %.4f (≥ 1-P(alive) %.4f)", rf.ChurnRisk, want, 1-rf.PAlive)
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

// Support friction raises the risk by the weight the churn model fitted
// for it, and the factor explains it.
func TestSupportFrictionRaisesRiskAndIsExplained(t *testing.T) {
	rec := &model.Record{Version: 3, Kind: model.KindMBGNBD, TimeUnitDays: 7,
		Params: model.Params{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614}, HorizonMonths: 12, MonthlyDiscount: 0.01,
		Churn: &churn.Model{HorizonDays: 90, Slope: 1, Weights: []churn.Weight{{Name: churn.FeatureOpen, Weight: 0.8}, {Name: churn.FeatureCSAT, Weight: 0.5, Mean: -1}}}}
	s := newScorer(t, Config{})
	st := buyer([]int{0, 30, 60}, 4000)
	now := day0.AddDate(0, 0, 70)
	calm := s.Score(st, now, rec)
	for i, typ := range []event.Type{event.TicketOpened, event.TicketResolved, event.TicketReopened} {
		st.Apply(event.Event{Type: typ, CustomerID: "c", TicketID: "t1", OccurredAt: day0.AddDate(0, 0, 61+i), CSAT: map[bool]int{true: 1}[typ == event.TicketResolved]}, 0)
	}
	angry := s.Score(st, now, rec)
	if angry.ChurnRisk <= calm.ChurnRisk {
		t.Fatalf("support friction did not raise risk: %.3f <= %.3f", angry.ChurnRisk, calm.ChurnRisk)
	}
	// CSAT 1: 0.5·((3−1) − (−1)) = 1.5 leads open tickets 0.8.
	if angry.Factors[0].Name != churn.FeatureCSAT || math.Abs(angry.Factors[0].Contribution-1.5) > 1e-12 {
		t.Fatalf("top factor %+v: the CSAT factor should lead", angry.Factors)
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

// A re-score is scheduled for what it can change: with the default rules
// (no churn_level field) a one-time buyer's first due time is the
// at-risk change at churn 0.5, not the medium level it passes on the way;
// with a rule on churn_level the level's bound is a due time too.
func TestDueOnlyWhereTheRulesCanChange(t *testing.T) {
	st := buyer([]int{0}, 5000)
	first := func(s *Scorer) float64 {
		r := s.Score(st, day0, nil)
		return r.NextDue.Sub(day0).Hours() / 24
	}
	e := math.Exp(-90.0 / 60)
	at := func(p float64) float64 { q := (p - e) / (1 - e); return 120 * math.Sqrt(q/(1-q)) }
	if d := first(newScorer(t, Config{Churn: churn.Levels{Medium: 0.3, High: 0.8}})); math.Abs(d-at(0.5)) > 1.0/24+1e-9 {
		t.Errorf("default rules: first due after %.2f days, want the at-risk change at %.2f", d, at(0.5))
	}
	rs, err := segment.ParseRuleSet([]byte("rules:\n  - name: watch\n    when: churn_level == medium\n  - name: other\n    when: \"true\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Churn: churn.Levels{Medium: 0.3, High: 0.8}}, rs)
	if err != nil {
		t.Fatal(err)
	}
	if d := first(s); math.Abs(d-at(0.3)) > 1.0/24+1e-9 {
		t.Errorf("rules on churn_level: first due after %.2f days, want the medium bound at %.2f", d, at(0.3))
	}
}

// A rule on recency_days or tenure_days changes a silent customer's
// segment at a known instant: the due time is just after the threshold is
// passed (here tenure 30 days from the first purchase day, and recency 45
// days from the last), not an hour-wide guess.
func TestDueAtRecencyAndTenureThresholds(t *testing.T) {
	rs, err := segment.ParseRuleSet([]byte("rules:\n  - name: young\n    when: tenure_days < 30\n  - name: recent\n    when: recency_days <= 45\n  - name: other\n    when: \"true\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{}, rs)
	if err != nil {
		t.Fatal(err)
	}
	st := buyer([]int{0, 10}, 5000)
	got := follow(s, st, day0.AddDate(0, 3, 0), nil)
	want := []string{"young@0.0", "recent@30.0", "other@55.0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("path %v, want %v", got, want)
	}
	for _, c := range []struct {
		segment  string
		from, at int
	}{{"young", 0, 12}, {"recent", 30, 31}} {
		st.Segment, st.SegmentSince = c.segment, day0.AddDate(0, 0, c.from).UnixMilli()
		r := s.Score(st, day0.AddDate(0, 0, c.at), nil)
		want := day0.AddDate(0, 0, 30).Add(time.Millisecond)
		if c.segment == "recent" {
			want = day0.AddDate(0, 0, 55).Add(time.Millisecond)
		}
		if !r.NextDue.Equal(want) {
			t.Errorf("in %s on day %d: due %s, want %s", c.segment, c.at, r.NextDue, want)
		}
	}
}

// A customer the rules call settled (no probes) really keeps the segment:
// probed every twelve hours up to the horizon, the decision never changes,
// under the baseline and under a model; and settled customers exist (the
// lapsed ones).
func TestSettledCustomersKeepTheirSegment(t *testing.T) {
	s := newScorer(t, Config{})
	sts, nows := benchStates(200)
	settled := 0
	for _, rec := range []*model.Record{nil, benchRecord()} {
		for k, st := range sts {
			for _, later := range []int{0, 200, 400, 700} {
				now := nows[k].AddDate(0, 0, later)
				m := s.inForce(rec)
				var cur Result
				var in segment.Customer
				s.decide(st, now, &m, &cur, &in)
				if !s.engine.Settled(&in, cur.Segment, len(st.Subscriptions) == 0 && m.churn.RisesWhenSilent(signalsOf(&cur.Features, 0))) {
					continue
				}
				settled++
				limit := now.Add(s.cfg.MaxRescoreInterval)
				if d := s.nextDue(st, cur, &in, &m, time.Time{}); d.After(limit) || d.Before(now) {
					t.Fatalf("settled customer due %s, outside (%s, %s]", d, now, limit)
				}
				for at := now.Add(12 * time.Hour); at.Before(limit); at = at.Add(12 * time.Hour) {
					var pr Result
					var probe segment.Customer
					s.evaluate(st, at, &m, &cur, &pr, &probe)
					if got := s.engine.Which(&probe, cur.Segment); got != cur.Segment {
						t.Fatalf("customer %d settled in %s on %s is %s on %s", k, cur.Segment, now, got, at)
					}
				}
			}
		}
	}
	if settled < 50 {
		t.Errorf("only %d settled scorings", settled)
	}
	t.Logf("%d settled scorings", settled)
}

// Where the decision can change only at known breakpoints (the default
// rules read constant fields, recency, tenure and a rising churn), the due
// time found by visiting the breakpoints is the first change an hourly
// scan of the whole horizon sees, to within the hour, and the decision
// has changed there.
func TestMonotoneDueIsTheFirstChange(t *testing.T) {
	s := newScorer(t, Config{})
	if !s.monotone {
		t.Fatal("the default rules should be monotone")
	}
	sts, nows := benchStates(60)
	checked := 0
	for _, rec := range []*model.Record{nil, benchRecord()} {
		for k, st := range sts {
			for _, later := range []int{0, 90} {
				now := nows[k].AddDate(0, 0, later)
				m := s.inForce(rec)
				var cur Result
				var in segment.Customer
				hold := s.decide(st, now, &m, &cur, &in)
				if !hold.IsZero() || len(st.Subscriptions) > 0 || !m.churn.RisesWhenSilent(signalsOf(&cur.Features, 0)) || s.engine.Settled(&in, cur.Segment, true) {
					continue
				}
				checked++
				due := s.nextDue(st, cur, &in, &m, hold)
				limit := s.knownDue(st, cur, &m, hold) // the horizon: known instants included
				changedAt := func(at time.Time) bool {
					var pr Result
					var probe segment.Customer
					s.evaluate(st, at, &m, &cur, &pr, &probe)
					return s.engine.Which(&probe, cur.Segment) != cur.Segment
				}
				first := limit
				for at := now.Add(time.Hour); at.Before(limit); at = at.Add(time.Hour) {
					if changedAt(at) {
						first = at
						break
					}
				}
				if due.After(first.Add(time.Hour)) || !due.After(first.Add(-time.Hour)) {
					t.Fatalf("customer %d in %s on %s: due %s, the hourly scan first changes at %s", k, cur.Segment, now, due, first)
				}
				if due.Before(limit) && !changedAt(due) {
					t.Fatalf("customer %d in %s on %s: due %s but nothing changes there", k, cur.Segment, now, due)
				}
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d scorings took the monotone search", checked)
	}
	t.Logf("%d scorings checked against an hourly scan", checked)
}

// tierAgeOut's day arithmetic: a UTC day plus 365 calendar days is the
// day 365 days later, leap years included.
func TestDayStartPlusAYear(t *testing.T) {
	for d := int64(-800); d < 30000; d += 7 {
		if got, want := dayStart(d+365), dayStart(d).AddDate(0, 0, 365); !got.Equal(want) {
			t.Fatalf("day %d: %s, want %s", d, got, want)
		}
	}
}

// elapsed equals time.Time.Sub, including the zero time narrow compares
// with.
func TestElapsedIsSub(t *testing.T) {
	for _, c := range [][2]time.Time{
		{time.UnixMilli(1_700_000_000_123).UTC(), time.UnixMilli(1_600_000_000_000).UTC()},
		{time.UnixMilli(1_600_000_000_000).UTC(), time.UnixMilli(1_700_000_000_123).UTC()},
		{time.UnixMilli(1_700_000_000_000).UTC(), {}},
		{time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, 0).UTC()},
	} {
		if got, want := elapsed(c[0], c[1]), c[0].Sub(c[1]); got != want {
			t.Errorf("elapsed(%s, %s) = %v, Sub %v", c[0], c[1], got, want)
		}
	}
}
