package scoring

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/subscription"
)

func subscribe(st *customer.State, typ event.Type, at time.Time, sub event.Subscription) {
	sub.ID = "s1"
	st.Apply(event.Event{ID: fmt.Sprint(typ, at.Unix()), Type: typ, CustomerID: st.ID, OccurredAt: at, Subscription: sub}, 0.3)
}

// A monthly subscriber without purchases is a subscriber while the renewal
// model says a cancellation within the churn horizon is unlikely; after a
// cancellation the customer is cancelling until the paid period ends, then
// cancelled; each change is found at its instant through the due times.
func TestSubscriberLifecycleSegments(t *testing.T) {
	month := event.PeriodMonth.Duration()
	rec := &model.Record{Kind: model.KindBaseline, Subscriptions: &subscription.Model{Periods: map[event.Period]subscription.PeriodFit{
		event.PeriodMonth: {Alpha: 0.7041, Beta: 6, Converged: true}}}}
	s := newScorer(t, Config{})
	st := &customer.State{ID: "c"}
	subscribe(st, event.SubscriptionStarted, day0, event.Subscription{Plan: "pro", Period: event.PeriodMonth, Price: 2000, HasPrice: true})
	for k := 1; k <= 5; k++ {
		subscribe(st, event.SubscriptionRenewed, day0.Add(time.Duration(k)*month), event.Subscription{})
	}
	cancelAt := day0.Add(5*month + 10*24*time.Hour)
	subscribe(st, event.SubscriptionCancelled, cancelAt, event.Subscription{})

	r := s.Score(st, day0.Add(5*month+24*time.Hour), rec)
	sbg := rec.Subscriptions.Periods[event.PeriodMonth].SBG()
	wantChurn := 1 - sbg.Survival(7)/sbg.Survival(5) // renewal dates at months 6 and 7 within 90 days
	if r.Segment != "subscriber" || r.Subscription == nil || math.Abs(r.ChurnRisk-wantChurn) > 1e-12 || r.Factors[0].Name != FactorCancellation {
		t.Fatalf("active: segment %s churn %v (want %v) %+v", r.Segment, r.ChurnRisk, wantChurn, r.Subscription)
	}
	if r.PredictedCLV <= 0 || r.HistoricCLV != 6*2000 {
		t.Errorf("CLV %v historic %d: want the residual value and 6 paid months", r.PredictedCLV, r.HistoricCLV)
	}
	t.Logf("active subscriber after 5 renewals: churn in 90 days %.3f, renewal %.3f, predicted CLV %.0f, historic %d",
		r.ChurnRisk, r.Subscription.RenewalProbability, r.PredictedCLV, r.HistoricCLV)

	path := follow(s, st, day0.Add(8*month), rec)
	got := strings.Join(path, " ")
	end := day0.Add(6*month).Sub(day0).Hours() / 24
	want := fmt.Sprintf("subscriber@0.0 cancelling@%.1f cancelled@%.1f", cancelAt.Sub(day0).Hours()/24, math.Ceil(end*10)/10)
	if !strings.HasPrefix(got, "subscriber@0.0 cancelling@") || !strings.Contains(got, " cancelled@") {
		t.Fatalf("path %q, want %q", got, want)
	}
	t.Logf("segments: %s (paid period ends on day %.2f)", got, end)
	// The changes happen at the cancellation (an event; here a re-score)
	// and at the end of the paid period, within a millisecond.
	var cancelled float64
	fmt.Sscanf(path[len(path)-1], "cancelled@%g", &cancelled)
	if math.Abs(cancelled-end) > 0.1 {
		t.Errorf("cancelled on day %.2f, paid period ends on %.2f", cancelled, end)
	}
}

// Without a renewal model an active subscriber keeps the purchase-based
// churn (0 without purchases) and is a subscriber; a cancelled subscriber
// who buys one-off is scored by the purchase model, not as cancelled.
func TestSubscriberWithoutModelAndCancelledBuyer(t *testing.T) {
	s := newScorer(t, Config{})
	st := &customer.State{ID: "c"}
	subscribe(st, event.SubscriptionStarted, day0, event.Subscription{Plan: "pro", Period: event.PeriodYear, Price: 10000, HasPrice: true})
	r := s.Score(st, day0.AddDate(0, 1, 0), nil)
	if r.Segment != "subscriber" || r.ChurnRisk != 0 || !math.IsNaN(r.Subscription.RenewalProbability) {
		t.Errorf("unmodelled subscriber: %s %v %+v", r.Segment, r.ChurnRisk, r.Subscription)
	}
	subscribe(st, event.SubscriptionCancelled, day0.AddDate(0, 2, 0), event.Subscription{})
	r = s.Score(st, day0.AddDate(2, 0, 0), nil)
	if r.Segment != "cancelled" || r.ChurnRisk != 1 {
		t.Errorf("cancelled, no purchases: %s %v", r.Segment, r.ChurnRisk)
	}
	st.Apply(event.Event{ID: "p", Type: event.Purchase, CustomerID: "c", OrderID: "o", OccurredAt: day0.AddDate(1, 11, 0), Amount: 5000}, 0.3)
	r = s.Score(st, day0.AddDate(2, 0, 0), nil)
	if r.Segment == "cancelled" || r.ChurnRisk == 1 || len(r.Factors) > 0 && r.Factors[0].Name == FactorCancellation {
		t.Errorf("cancelled subscriber who buys: %s %v %+v", r.Segment, r.ChurnRisk, r.Factors)
	}
	// A customer without subscriptions is scored as before.
	plain := buyer([]int{0, 30}, 5000)
	if r := s.Score(plain, day0.AddDate(0, 2, 0), nil); r.Subscription != nil {
		t.Errorf("non-subscriber has subscription scores: %+v", r.Subscription)
	}
}
