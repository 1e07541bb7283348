package model

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

type stateList []*customer.State

func (l stateList) Each(_ context.Context, fn func(int, *customer.State) error) error {
	for _, st := range l {
		if err := fn(0, st); err != nil {
			return err
		}
	}
	return nil
}

// TestFitRenewalModels: Collect takes the renewal histories of every
// state, buyers or not, and Fit publishes the renewal model with the
// record, even a baseline one (a pure subscription business has no
// purchases); the record round-trips through JSON.
func TestFitRenewalModels(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	year := event.PeriodYear.Duration()
	var sts stateList
	// Survivors of the regular cohort of Fader & Hardie (2007), years 0..4.
	alive := []int{1000, 631, 468, 382, 326}
	for i := 0; i < alive[0]; i++ {
		id := fmt.Sprint("c", i)
		st := &customer.State{ID: id}
		ap := func(typ event.Type, at time.Time) {
			st.Apply(event.Event{ID: fmt.Sprint(id, typ, at.Unix()), Type: typ, CustomerID: id, OccurredAt: at,
				Subscription: event.Subscription{ID: "s", Plan: "regular", Period: event.PeriodYear, Price: 10000, HasPrice: true}}, 0.3)
		}
		ap(event.SubscriptionStarted, t0)
		for y := 1; y < len(alive); y++ {
			if i >= alive[y] {
				ap(event.SubscriptionCancelled, t0.Add(time.Duration(y-1)*year+30*24*time.Hour))
				break
			}
			ap(event.SubscriptionRenewed, t0.Add(time.Duration(y)*year))
		}
		sts = append(sts, st)
	}
	asOf := t0.Add(4*year + 60*24*time.Hour)
	in, err := Collect(context.Background(), sts, asOf, Config{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Renewals) != 1000 || len(in.Full) != 0 {
		t.Fatalf("%d renewal rows, %d buyers", len(in.Renewals), len(in.Full))
	}
	rec, err := Fit(context.Background(), in, Config{})
	if err != nil {
		t.Fatal(err)
	}
	f, ok := rec.Subscriptions.Periods[event.PeriodYear]
	if rec.Kind != KindBaseline || !ok {
		t.Fatalf("record %s, subscriptions %+v", rec.Kind, rec.Subscriptions)
	}
	t.Logf("yearly renewal model on 4 years of the regular cohort: %+v", f)
	if f.Alpha < 0.5 || f.Alpha > 1 || f.Beta < 0.8 || f.Beta > 1.6 || f.Subscriptions != 1000 || f.Cancelled != 674 {
		t.Errorf("fit %+v, want near α 0.70, β 1.18 on 1000 subscriptions with 674 cancellations", f)
	}
	b, _ := json.Marshal(rec)
	var back Record
	if err := json.Unmarshal(b, &back); err != nil || back.Subscriptions.Periods[event.PeriodYear] != f {
		t.Errorf("JSON round trip: %v %+v", err, back.Subscriptions)
	}
}
