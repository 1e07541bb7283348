package api

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/kpi"
	"github.com/clvstream/clvstream/internal/query"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// A subscriber's view carries the subscription and acquisition objects,
// conforming to the OpenAPI schema; a customer without them has nulls.
func TestCustomerViewOfASubscriber(t *testing.T) {
	f := newFixture(t)
	sub := func(typ event.Type, when string, s event.Subscription) event.Event {
		s.ID = "sub-1"
		return event.Event{ID: "e-" + string(typ) + when, Type: typ, CustomerID: "carol", OccurredAt: at(when), Subscription: s}
	}
	f.commit(t,
		event.Event{ID: "e-acq", Type: event.CustomerAcquired, CustomerID: "carol", OccurredAt: at("2026-01-01T09:00:00Z"), Campaign: "spring",
			Acquisition: event.Acquisition{Channel: "paid_search", Cost: 3500, HasCost: true}, Currency: "USD"},
		sub(event.SubscriptionStarted, "2026-01-01T10:00:00Z", event.Subscription{Plan: "pro", Period: event.PeriodMonth, Price: 1990, HasPrice: true}),
		sub(event.SubscriptionRenewed, "2026-02-01T10:00:00Z", event.Subscription{}),
		sub(event.SubscriptionRenewed, "2026-03-03T20:00:00Z", event.Subscription{}),
		sub(event.SubscriptionRenewed, "2026-04-03T06:00:00Z", event.Subscription{}),
		sub(event.SubscriptionRenewed, "2026-05-03T16:00:00Z", event.Subscription{}),
		purchase("dave", "o-1", "2026-05-01T10:00:00Z", 1000),
	)
	if err := f.store.SetPartitions(context.Background(), f.parts); err != nil {
		t.Fatal(err)
	}
	srv, err := NewAPI("unused", prometheus.NewRegistry(), okReady{}, f.q, Auth{Enabled: true, Tokens: []string{testToken}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, srv)
	r := c.get("/v1/customers/carol", "/v1/customers/{id}")
	var v query.CustomerView
	if err := json.Unmarshal(r.body, &v); r.code != 200 || err != nil {
		t.Fatalf("%d %v %s", r.code, err, r.body)
	}
	s, a := v.Subscription, v.Acquisition
	if s == nil || a == nil {
		t.Fatalf("no subscription or acquisition: %s", r.body)
	}
	if s.Status != "active" || s.Plan != "pro" || s.Period != "month" || s.Renewals != 4 || s.MonthlyRecurringRevenue != "19.90" ||
		s.Revenue != "99.50" || s.RenewalProbability != nil || s.ResidualValue != "0.00" {
		t.Errorf("subscription %+v", *s)
	}
	if a.Channel != "paid_search" || a.Campaign == nil || *a.Campaign != "spring" || a.Referred || a.Cost == nil || *a.Cost != "35.00" {
		t.Errorf("acquisition %+v", *a)
	}
	if v.Segment.Name != "subscriber" || v.CLV.Historic != "99.50" {
		t.Errorf("segment %q, historic CLV %s: want subscriber and the subscription revenue", v.Segment.Name, v.CLV.Historic)
	}
	t.Logf("subscription %s", r.body[len(r.body)-400:])
	r = c.get("/v1/customers/dave", "/v1/customers/{id}")
	if m := r.json(t); m["subscription"] != nil || m["acquisition"] != nil {
		t.Errorf("non-subscriber: %v %v", m["subscription"], m["acquisition"])
	}

	// The KPI snapshot's subscription and acquisition parts conform too.
	var sts stateSlice
	for _, st := range f.states {
		sts = append(sts, st)
	}
	snap, err := kpi.Compute(context.Background(), sts, f.scorer, nil, f.now, kpi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.kpis.p.Store(&snap)
	r = c.get("/v1/kpis", "/v1/kpis")
	m := r.json(t)
	acq, _ := m["acquisition"].(map[string]any)
	subs, _ := m["subscriptions"].(map[string]any)
	if r.code != 200 || acq == nil || subs == nil || acq["acquired"] != 1.0 || subs["active"] != 1.0 {
		t.Errorf("KPIs %d: acquisition %v subscriptions %v", r.code, acq, subs)
	}
}

type stateSlice []*customer.State

func (s stateSlice) Each(_ context.Context, fn func(int, *customer.State) error) error {
	for _, st := range s {
		if err := fn(0, st); err != nil {
			return err
		}
	}
	return nil
}
