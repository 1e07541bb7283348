package kpi

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

func acquired(st *customer.State, daysBefore int, channel, campaign, referrer string, cost int64) *customer.State {
	st.Apply(event.Event{ID: st.ID + "-acq", Type: event.CustomerAcquired, CustomerID: st.ID, OccurredAt: asOf.AddDate(0, 0, -daysBefore),
		Campaign: campaign, Acquisition: event.Acquisition{Channel: channel, ReferrerID: referrer, Cost: cost, HasCost: cost > 0}}, 0.3)
	return st
}

// The acquisition KPIs by hand: two paid-search customers with costs 20
// and 40 (CAC 30), one referred organic customer, one without an
// acquisition event; margins are 30 % of 50.00 per purchase day.
func TestAcquisitionKPIs(t *testing.T) {
	pop := states{
		acquired(buyer("a", 300, 200, 100), 300, "paid_search", "spring", "", 2000), // margin 45.00, 300 days
		acquired(buyer("b", 20), 20, "paid_search", "spring", "", 4000),             // margin 15.00, 20 days (1 month minimum)
		acquired(buyer("c", 10), 10, "referral", "", "a", 0),                        // referred in the period
		buyer("d", 50),
	}
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compute(context.Background(), pop, sc, nil, asOf, Config{})
	if err != nil {
		t.Fatal(err)
	}
	k := s.Acquisition
	if k == nil || k.Acquired != 3 || k.Referred != 1 || k.NewAcquired != 2 || k.ReferralRate != 0.5 || math.Abs(k.ReferralRateAllTime-1.0/3) > 1e-12 {
		t.Fatalf("acquisition %+v", k)
	}
	if len(k.Channels) != 2 || k.Channels[0].Name != "paid_search" || len(k.Campaigns) != 1 || k.Campaigns[0].Customers != 2 {
		t.Fatalf("groups %+v %+v", k.Channels, k.Campaigns)
	}
	ps := k.Channels[0]
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	monthsA := 300 / 30.436875
	wantPayback := 30 / ((45/monthsA + 15/1.0) / 2)
	if ps.Customers != 2 || ps.CustomersWithCost != 2 || !near(ps.CAC, 30) || !near(ps.HistoricCLV, 30) || !near(ps.HistoricCLVToCAC, 1) ||
		!near(ps.PaybackMonths, wantPayback) || ps.PredictedCLVToCAC <= ps.HistoricCLVToCAC || ps.PredictedPaybackMonths <= 0 {
		t.Errorf("paid_search %+v (want payback %.3f months)", ps, wantPayback)
	}
	ref := k.Channels[1]
	if ref.Name != "referral" || ref.CAC != 0 || ref.PaybackMonths != 0 || len(ref.Cohorts) != 1 || ref.Cohorts[0].Size != 1 {
		t.Errorf("referral %+v", ref)
	}
	if k.ReferredCLV.Customers != 1 || !near(k.ReferredCLV.HistoricCLV, 15) || k.NonReferredCLV.Customers != 2 || !near(k.NonReferredCLV.HistoricCLV, 30) {
		t.Errorf("referred %+v non-referred %+v", k.ReferredCLV, k.NonReferredCLV)
	}
	if s.Subscriptions != nil {
		t.Errorf("subscription KPIs without subscribers: %+v", s.Subscriptions)
	}
}

// Subscription KPIs: two active (19.90 a month, and a yearly plan of
// 120.00 = 10.00 a month), one cancelling, one cancelled in the period;
// of the two subscribers at the start of the period (b active, d
// cancelling) one has ended.
func TestSubscriptionKPIs(t *testing.T) {
	sub := func(id string, period event.Period, price int64, startDays, cancelDays int) *customer.State {
		st := &customer.State{ID: id}
		ap := func(typ event.Type, days int, s event.Subscription) {
			s.ID = "s"
			st.Apply(event.Event{ID: fmt.Sprint(id, typ, days), Type: typ, CustomerID: id, OccurredAt: asOf.AddDate(0, 0, -days), Subscription: s}, 0.3)
		}
		ap(event.SubscriptionStarted, startDays, event.Subscription{Plan: "p", Period: period, Price: price, HasPrice: true})
		if cancelDays > 0 {
			ap(event.SubscriptionCancelled, cancelDays, event.Subscription{})
		}
		return st
	}
	pop := states{
		sub("a", event.PeriodMonth, 1990, 10, 0),
		sub("b", event.PeriodYear, 12000, 100, 0),
		sub("c", event.PeriodMonth, 1990, 15, 5),  // cancelling until its month ends
		sub("d", event.PeriodMonth, 1990, 50, 40), // cancelling at the period start, ended 20 days ago
	}
	sc, _ := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	s, err := Compute(context.Background(), pop, sc, nil, asOf, Config{})
	if err != nil {
		t.Fatal(err)
	}
	k := s.Subscriptions
	if k == nil || k.Active != 2 || k.Cancelling != 1 || k.Cancelled != 1 || math.Abs(k.MonthlyRecurringRevenue-(19.90+120*30.436875/365.2425)) > 1e-9 ||
		k.SubscribersAtStart != 2 || k.ChurnRate != 0.5 || k.Modelled != 0 {
		t.Errorf("subscriptions %+v", k)
	}
	if s.Segments["subscriber"] != 2 || s.Segments["cancelling"] != 1 || s.Segments["cancelled"] != 1 {
		t.Errorf("segments %v", s.Segments)
	}
}
