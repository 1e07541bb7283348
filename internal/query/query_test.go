package query_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/kpi"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/query"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

type models struct{ rec *model.Record }

func (m models) Current() *model.Record { return m.rec }

type kpis struct{ snap *kpi.Snapshot }

func (k kpis) Latest() *kpi.Snapshot { return k.snap }

func TestValidateID(t *testing.T) {
	for id, ok := range map[string]bool{
		"c-42": true, "shop/c 7": true, "é-ü": true, strings.Repeat("x", 128): true,
		"": false, strings.Repeat("x", 129): false, "a\x01b": false, "a\nb": false, "\x7f": false,
		"a\u0085b": false, "   ": false, "\xff\xfe": false,
	} {
		err := query.ValidateID(id)
		if (err == nil) != ok || (err != nil && !errors.Is(err, query.ErrInvalidID)) {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}

func deps(t *testing.T) query.Deps {
	t.Helper()
	rdb, prefix := testkit.Redis(t)
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	part, _ := stream.NewPartitioner("fnv1a")
	return query.Deps{
		Store: state.New(rdb, prefix, time.Minute), PartitionOf: func(id string, n int) int { return stream.PartitionOf(part, id, n) },
		Scorer: sc, Rules: segment.DefaultRuleSet(),
		Models: models{}, KPIs: kpis{}, Clock: func(context.Context) time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) },
		BaseCurrency: "JPY", MinorPerMajor: 1,
	}
}

func TestNewChecksItsDependencies(t *testing.T) {
	d := deps(t)
	if _, err := query.New(d); err != nil {
		t.Fatal(err)
	}
	bad := d
	bad.Clock = nil
	if _, err := query.New(bad); err == nil {
		t.Error("no clock accepted")
	}
	bad = d
	bad.Rules = segment.RuleSet{}
	if _, err := query.New(bad); err == nil {
		t.Error("empty rules accepted")
	}
}

// put commits states into their partitions as the pipeline would.
func put(t *testing.T, d query.Deps, n int, states ...*customer.State) {
	t.Helper()
	ctx := context.Background()
	for _, st := range states {
		p := d.PartitionOf(st.ID, n)
		if _, err := d.Store.Claim(ctx, p, 1, "t"); err != nil {
			t.Fatal(err)
		}
		if err := d.Store.Commit(ctx, p, state.Batch{Gen: 1, States: []*customer.State{st}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Store.SetPartitions(ctx, n); err != nil {
		t.Fatal(err)
	}
}

func TestCustomerStates(t *testing.T) {
	d := deps(t)
	q, err := query.New(d)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := q.Customer(ctx, "a"); !errors.Is(err, query.ErrNotReady) {
		t.Fatalf("no partition count: %v", err)
	}
	clock := d.Clock(ctx)
	// A purchase dated after the clock (a clock behind the data): the
	// customer is scored as of their latest fact, as the pipeline does.
	future := &customer.State{ID: "future", Version: 1}
	future.Apply(event.Event{ID: "e1", Type: event.Purchase, CustomerID: "future", OccurredAt: clock.Add(72 * time.Hour), OrderID: "o1", Amount: 1500}, 0.3)
	// A stored segment the rules no longer decide: pending.
	stale := &customer.State{ID: "stale", Version: 3, Segment: "loyal", SegmentSince: clock.Add(-30 * 24 * time.Hour).UnixMilli()}
	stale.Apply(event.Event{ID: "e2", Type: event.Purchase, CustomerID: "stale", OccurredAt: clock.Add(-24 * time.Hour), OrderID: "o2", Amount: 700}, 0.3)
	erased := &customer.State{ID: "gone", Version: 2}
	erased.Apply(event.Event{ID: "e3", Type: event.CustomerErased, CustomerID: "gone", OccurredAt: clock.Add(-time.Hour)}, 0.3)
	put(t, d, 3, future, stale, erased)

	v, err := q.Customer(ctx, "future")
	if err != nil || v == nil {
		t.Fatalf("future: %v %v", v, err)
	}
	if want := time.UnixMilli(future.LatestAt()).UTC(); !v.ScoredAt.Equal(want) {
		t.Errorf("scored_at %v, want the latest fact %v", v.ScoredAt, want)
	}
	if v.CLV.Historic != "1500" || v.CLV.Currency != "JPY" || v.Purchases.PurchaseDays != 1 || v.Segment.Since != nil || v.Segment.Name != "new" {
		t.Errorf("future: %+v", v)
	}
	v, err = q.Customer(ctx, "stale")
	if err != nil || v == nil {
		t.Fatalf("stale: %v %v", v, err)
	}
	if v.Segment.Name != "loyal" || v.Segment.Pending == nil || *v.Segment.Pending != "new" || v.Segment.Reason.Rule != "new" {
		t.Errorf("stale segment: %+v", v.Segment)
	}
	if v, err := q.Customer(ctx, "gone"); !errors.Is(err, query.ErrErased) || v != nil {
		t.Errorf("erased: %v %v", v, err)
	}
	if v, err := q.Customer(ctx, "nobody"); err != nil || v != nil {
		t.Errorf("unknown: %v %v", v, err)
	}
	if _, err := q.Customer(ctx, "a\x00"); !errors.Is(err, query.ErrInvalidID) {
		t.Errorf("bad id: %v", err)
	}
}

func TestPopulationViews(t *testing.T) {
	d := deps(t)
	q, _ := query.New(d)
	ctx := context.Background()
	if v, err := q.Model(ctx); v != nil || err != nil {
		t.Errorf("model before any: %v %v", v, err)
	}
	if _, err := q.KPIs(ctx); !errors.Is(err, query.ErrNotReady) {
		t.Errorf("kpis before a snapshot: %v", err)
	}
	if _, err := q.Cohorts(ctx); !errors.Is(err, query.ErrNotReady) {
		t.Errorf("cohorts before a snapshot: %v", err)
	}
	s, err := q.Segments(ctx)
	if err != nil || len(s.Segments) != 12 || s.Segments[11].Name != "active" || s.Segments[11].Order != 12 || s.ComputedAt != nil || s.Segments[0].Customers != nil {
		t.Errorf("segments before a snapshot: %+v %v", s, err)
	}

	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	d.Models = models{&model.Record{Version: 4, Kind: model.KindBaseline, Reason: "only 12 customers"}}
	d.KPIs = kpis{&kpi.Snapshot{ComputedAt: now, AsOf: now, Customers: 5, Erased: 2,
		Segments: map[string]int{"active": 3, "new": 2, "retired-segment": 1},
		Cohorts:  []kpi.Cohort{{Month: "2026-05", Size: 2, Retention: []float64{1, 0.5}}}}}
	q, _ = query.New(d)
	m, err := q.Model(ctx)
	if err != nil || m.Label != "baseline" || m.Version != 4 || m.Reason == "" {
		t.Errorf("model: %+v %v", m, err)
	}
	k, err := q.KPIs(ctx)
	if err != nil || k.Customers != 5 || k.Currency != "JPY" || k.Tiers == nil || k.ChurnLevels == nil {
		t.Errorf("kpis: %+v %v", k, err)
	}
	c, err := q.Cohorts(ctx)
	if err != nil || len(c.Cohorts) != 1 || c.Cohorts[0].Retention[1] != 0.5 {
		t.Errorf("cohorts: %+v %v", c, err)
	}
	s, err = q.Segments(ctx)
	if err != nil || len(s.Segments) != 13 || *s.ErasedCustomers != 2 || !s.ComputedAt.Equal(now) {
		t.Fatalf("segments: %+v %v", s, err)
	}
	counts := map[string]int{}
	for _, x := range s.Segments {
		counts[x.Name] = *x.Customers
	}
	if counts["active"] != 3 || counts["new"] != 2 || counts["loyal"] != 0 || counts["retired-segment"] != 1 || s.Segments[12].Order != 0 {
		t.Errorf("segment counts: %v", counts)
	}
}
