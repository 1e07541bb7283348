package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// A subscriber through the real pipeline: acquired, subscribed, renewed
// twice, cancelled; the segment goes prospect (acquired an hour before
// subscribing) > subscriber > cancelling (the cancellation event) >
// cancelled (scheduled, when event time passes the end of the paid period,
// with no event of the customer's own). A
// subscription record with a float price is dead-lettered and the stream
// goes on; the acquisition is in the state.
func TestSubscriberCancelsThroughThePipeline(t *testing.T) {
	e := newEnv(t, 2)
	day0 := time.Date(2021, 1, 4, 12, 0, 0, 0, time.UTC)
	month := event.PeriodMonth.Duration()
	sub := func(typ event.Type, at time.Time, f func(*event.Record)) event.Record {
		return rec(typ, "sub", at, func(r *event.Record) {
			r.SubscriptionID = "s-1"
			if f != nil {
				f(r)
			}
		})
	}
	clock := func(day int) event.Record {
		at := day0.AddDate(0, 0, day)
		return rec(event.Purchase, "clock", at, func(r *event.Record) { r.OrderID, r.Amount, r.Currency = at.Format("20060102"), "5.00", "USD" })
	}
	e.produceRecords(
		rec(event.CustomerAcquired, "sub", day0.Add(-time.Hour), func(r *event.Record) {
			r.Channel, r.Campaign, r.AcquisitionCost, r.Currency = "paid_search", "spring", "35.00", "USD"
		}),
		sub(event.SubscriptionStarted, day0, func(r *event.Record) {
			r.Plan, r.Period, r.Price, r.Currency = "pro", event.PeriodMonth, "19.90", "USD"
		}),
		clock(0),
	)
	bad := `{"event_id":"bad-1","type":"subscription_started","customer_id":"sub","occurred_at":"2021-01-05T12:00:00Z","subscription_id":"s-2","plan":"pro","period":"month","price":19.9,"currency":"USD"}`
	e.produce(e.topics.Purchases, kafka.Message{Key: []byte("sub"), Value: []byte(bad)})
	e.produceRecords(
		sub(event.SubscriptionRenewed, day0.Add(month+2*time.Hour), nil),
		sub(event.SubscriptionRenewed, day0.Add(2*month+5*time.Hour), nil),
		clock(65),
		sub(event.SubscriptionCancelled, day0.AddDate(0, 0, 70), nil),
		clock(72),
	)
	stop := e.start(e.config(), "svc")
	defer stop()
	e.waitApplied(60 * time.Second)
	if st := e.states()["sub"]; st == nil || st.Segment != "cancelling" {
		t.Fatalf("after the cancellation: %+v", st)
	}
	// Event time passes the end of the paid period (day 0 + 3 months).
	e.produceRecords(clock(95))
	e.waitApplied(60 * time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for e.states()["sub"].Segment != "cancelled" {
		if time.Now().After(deadline) {
			t.Fatalf("segment %q, want cancelled after the paid period", e.states()["sub"].Segment)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()

	states := e.states()
	st := states["sub"]
	if len(st.Subscriptions) != 1 || st.Subscriptions[0].Renewals() != 2 || !st.Acquisition.Set || st.Acquisition.Channel != "paid_search" || st.Acquisition.Cost != 3500 {
		t.Errorf("state: subscriptions %+v acquisition %+v", st.Subscriptions, st.Acquisition)
	}
	if f := st.SubscriptionFeatures(day0.AddDate(0, 0, 96)); f.Status != customer.SubCancelled {
		t.Errorf("status %+v", f)
	}
	per := e.checkChangeLog(states)
	var path []string
	for _, c := range per["sub"] {
		path = append(path, c.Segment+"/"+string(c.Cause))
	}
	// The acquisition an hour before the start makes the customer a
	// prospect; the minimum dwell (24h) holds that until a scheduled
	// re-score.
	if got := strings.Join(path, " > "); got != "prospect/event > subscriber/scheduled > cancelling/event > cancelled/scheduled" {
		t.Errorf("segment path %s", got)
	}
	dead := e.deadLetters()
	if len(dead) != 1 || header(dead[0], stream.HeaderErrorClass) != string(event.ReasonInvalidField) ||
		!strings.Contains(header(dead[0], stream.HeaderErrorMessage), "price") {
		t.Errorf("dead letters %d: %v", len(dead), dead)
	}
}
