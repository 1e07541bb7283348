package kpi

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

func touch(st *customer.State, typ event.Type, ch, msg, campaign string, daysBefore float64) {
	at := asOf.Add(-time.Duration(daysBefore * float64(24*time.Hour)))
	st.Apply(event.Event{ID: st.ID + msg + string(typ), Type: typ, CustomerID: st.ID, Channel: ch, MessageID: msg, Campaign: campaign, OccurredAt: at}, 0)
}

// Per campaign: attributed orders (last touch, click before open, within
// the window), revenue after refunds, customers and their retention.
func TestCampaignKPIs(t *testing.T) {
	a := &customer.State{ID: "a"} // clicked spring 2 days before buying, bought again later
	touch(a, event.MessageSent, "sms", "m1", "spring", 52)
	touch(a, event.MessageClicked, "sms", "m1", "spring", 52)
	a.Apply(event.Event{ID: "a1", Type: event.Purchase, CustomerID: "a", OrderID: "a1", Amount: 5000, OccurredAt: asOf.AddDate(0, 0, -50)}, 0.3)
	a.Apply(event.Event{ID: "a1r", Type: event.Refund, CustomerID: "a", OrderID: "a1", Amount: 1000, OccurredAt: asOf.AddDate(0, 0, -49)}, 0.3)
	a.Apply(event.Event{ID: "a2", Type: event.Purchase, CustomerID: "a", OrderID: "a2", Amount: 3000, OccurredAt: asOf.AddDate(0, 0, -10)}, 0.3)
	b := &customer.State{ID: "b"} // opened spring, clicked summer: summer wins
	touch(b, event.MessageSent, "email", "m2", "spring", 3)
	touch(b, event.MessageOpened, "email", "m2", "spring", 1)
	touch(b, event.MessageSent, "sms", "m3", "summer", 3)
	touch(b, event.MessageClicked, "sms", "m3", "summer", 2)
	b.Apply(event.Event{ID: "b1", Type: event.Purchase, CustomerID: "b", OrderID: "b1", Amount: 10000, OccurredAt: asOf.Add(-time.Hour)}, 0.3)
	c := &customer.State{ID: "c"} // opened 10 days before buying: outside the 7-day window
	touch(c, event.MessageSent, "push", "m4", "spring", 12)
	touch(c, event.MessageOpened, "push", "m4", "spring", 12)
	c.Apply(event.Event{ID: "c1", Type: event.Purchase, CustomerID: "c", OrderID: "c1", Amount: 2000, OccurredAt: asOf.AddDate(0, 0, -2)}, 0.3)
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compute(context.Background(), states{a, b, c}, sc, nil, asOf, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.AttributionWindowDays != 7 || len(s.Campaigns) != 2 {
		t.Fatalf("campaigns %+v (window %v)", s.Campaigns, s.AttributionWindowDays)
	}
	summer, spring := s.Campaigns[0], s.Campaigns[1]
	if summer.Campaign != "summer" || summer.Orders != 1 || summer.OrdersByClick != 1 || summer.Revenue != 100 || summer.Customers != 1 || summer.Repeaters != 0 {
		t.Errorf("summer %+v", summer)
	}
	if spring.Campaign != "spring" || spring.Orders != 1 || math.Abs(spring.Revenue-40) > 1e-9 || spring.GrossRevenue != 50 ||
		spring.Customers != 1 || spring.RetentionRate != 1 || spring.RepeatRate != 1 {
		t.Errorf("spring %+v, want one order of 50.00 less a 10.00 refund, a retained repeater", spring)
	}
}
