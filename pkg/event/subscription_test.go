package event_test

import (
	"errors"
	"testing"

	"github.com/clvstream/clvstream/pkg/event"
)

// subRec is rec for a subscription or acquisition event of type typ,
// without the purchase fields.
func subRec(typ string, overrides map[string]any) string {
	m := map[string]any{"type": typ, "order_id": nil, "amount": nil, "currency": nil}
	switch typ {
	case "subscription_started":
		m["subscription_id"], m["plan"], m["period"], m["price"], m["currency"] = "s-1", "pro", "month", "19.90", "USD"
	case "subscription_renewed", "subscription_cancelled":
		m["subscription_id"] = "s-1"
	case "customer_acquired":
		m["channel"] = "paid_search"
	}
	for k, v := range overrides {
		m[k] = v
	}
	return rec(m)
}

// TestDecodeSubscriptionAndAcquisition: the fields of the new types decode
// with the money rules of purchases, and every bad form is a dead letter
// with the field named.
func TestDecodeSubscriptionAndAcquisition(t *testing.T) {
	base := func(ty event.Type) event.Event {
		return event.Event{ID: "e-1", Type: ty, CustomerID: "c-1", OccurredAt: march1}
	}
	started := base(event.SubscriptionStarted)
	started.Currency = "USD"
	started.Subscription = event.Subscription{ID: "s-1", Plan: "pro", Period: event.PeriodMonth, Price: 1990, HasPrice: true}
	startedEUR := started
	startedEUR.Currency, startedEUR.Subscription.Price = "EUR", 1080
	renewed := base(event.SubscriptionRenewed)
	renewed.Subscription = event.Subscription{ID: "s-1"}
	renewedPrice := renewed
	renewedPrice.Currency, renewedPrice.Subscription.Plan, renewedPrice.Subscription.Price, renewedPrice.Subscription.HasPrice = "USD", "pro-plus", 0, true
	cancelled := base(event.SubscriptionCancelled)
	cancelled.Subscription = event.Subscription{ID: "s-1"}
	acq := base(event.CustomerAcquired)
	acq.Acquisition = event.Acquisition{Channel: "paid_search"}
	acqFull := acq
	acqFull.Campaign, acqFull.Currency = "spring", "JPY"
	acqFull.Acquisition = event.Acquisition{Channel: "referral", ReferrerID: "c-0", Cost: 3350, HasCost: true}

	cases := []decodeCase{
		{name: "started", value: subRec("subscription_started", nil), want: &started},
		{name: "started EUR minor", value: subRec("subscription_started", map[string]any{"price": nil, "price_minor": 1000, "currency": "EUR"}), want: &startedEUR},
		{name: "renewed bare", value: subRec("subscription_renewed", nil), want: &renewed},
		{name: "renewed with free plan", value: subRec("subscription_renewed", map[string]any{"plan": "pro-plus", "price_minor": 0, "currency": "USD"}), want: &renewedPrice},
		{name: "cancelled", value: subRec("subscription_cancelled", nil), want: &cancelled},
		{name: "acquired", value: subRec("customer_acquired", nil), want: &acq},
		{name: "acquired by referral with cost", value: subRec("customer_acquired", map[string]any{"channel": "referral", "referrer_id": "c-0",
			"campaign": "spring", "acquisition_cost": "5000", "currency": "JPY"}), want: &acqFull},

		{name: "no subscription_id", value: subRec("subscription_renewed", map[string]any{"subscription_id": nil}), reason: event.ReasonMissingField, field: "subscription_id"},
		{name: "numeric subscription_id", value: subRec("subscription_renewed", map[string]any{"subscription_id": 7}), reason: event.ReasonInvalidField, field: "subscription_id", msg: "must be a string"},
		{name: "started without plan", value: subRec("subscription_started", map[string]any{"plan": nil}), reason: event.ReasonMissingField, field: "plan"},
		{name: "started without period", value: subRec("subscription_started", map[string]any{"period": nil}), reason: event.ReasonMissingField, field: "period"},
		{name: "started without price", value: subRec("subscription_started", map[string]any{"price": nil}), reason: event.ReasonMissingField, field: "price"},
		{name: "bad period", value: subRec("subscription_started", map[string]any{"period": "Monthly"}), reason: event.ReasonInvalidField, field: "period", msg: `"month"`},
		{name: "price float", value: subRec("subscription_started", map[string]any{"price": 19.9}), reason: event.ReasonInvalidField, field: "price", msg: "not a JSON number"},
		{name: "price too precise", value: subRec("subscription_started", map[string]any{"price": "19.999"}), reason: event.ReasonInvalidField, field: "price"},
		{name: "price negative", value: subRec("subscription_started", map[string]any{"price": nil, "price_minor": -1}), reason: event.ReasonInvalidField, field: "price_minor", msg: "negative"},
		{name: "price_minor string", value: subRec("subscription_started", map[string]any{"price": nil, "price_minor": "5"}), reason: event.ReasonInvalidField, field: "price_minor"},
		{name: "both price forms", value: subRec("subscription_started", map[string]any{"price_minor": 5}), reason: event.ReasonInvalidField, field: "price", msg: "not both"},
		{name: "price without currency", value: subRec("subscription_started", map[string]any{"currency": nil}), reason: event.ReasonMissingField, field: "currency"},
		{name: "price unknown currency", value: subRec("subscription_started", map[string]any{"currency": "CHF"}), reason: event.ReasonUnknownCurrency, field: "currency"},
		{name: "price above max", value: subRec("subscription_started", map[string]any{"price": "99999999999.00"}), reason: event.ReasonInvalidField, field: "price", msg: "above the maximum"},
		{name: "price on cancel", value: subRec("subscription_cancelled", map[string]any{"price": "1.00", "currency": "USD"}), reason: event.ReasonInvalidField, field: "price", msg: "not allowed"},
		{name: "plan with control", value: subRec("subscription_started", map[string]any{"plan": "a\x01"}), reason: event.ReasonInvalidField, field: "plan"},
		{name: "no channel", value: subRec("customer_acquired", map[string]any{"channel": nil}), reason: event.ReasonMissingField, field: "channel"},
		{name: "channel 65 bytes", value: subRec("customer_acquired", map[string]any{"channel": string(make([]byte, 65))}), reason: event.ReasonInvalidField, field: "channel"},
		{name: "self referral", value: subRec("customer_acquired", map[string]any{"referrer_id": "c-1"}), reason: event.ReasonInvalidField, field: "referrer_id", msg: "refer themselves"},
		{name: "cost float", value: subRec("customer_acquired", map[string]any{"acquisition_cost": 3.5, "currency": "USD"}), reason: event.ReasonInvalidField, field: "acquisition_cost"},
		{name: "cost minor negative", value: subRec("customer_acquired", map[string]any{"acquisition_cost_minor": -3, "currency": "USD"}), reason: event.ReasonInvalidField, field: "acquisition_cost_minor"},
	}
	runDecodeCases(t, testDecoder(t), event.DefaultMaxClockSkew, cases)
}

// The new types map from CloudEvents like the others: a namespaced type,
// id, time and subject as attributes, the fields in data (structured) or
// the value (binary).
func TestSubscriptionCloudEvents(t *testing.T) {
	d := testDecoder(t)
	structured := `{"specversion":"1.0","id":"ce-1","source":"/billing","type":"com.acme.billing.subscription_renewed","time":"2025-03-01T12:00:00Z",` +
		`"subject":"c-1","data":{"subscription_id":"s-1","price":"9.99","currency":"USD"}}`
	ev, err := d.Decode([]byte(structured), nil)
	if err != nil || ev.Type != event.SubscriptionRenewed || ev.CustomerID != "c-1" || ev.ID != "ce-1" ||
		ev.Subscription != (event.Subscription{ID: "s-1", Price: 999, HasPrice: true}) {
		t.Fatalf("structured: %+v, %v", ev, err)
	}
	headers := []event.Header{{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte("ce-2")},
		{Key: "ce_type", Value: []byte("com.acme.crm.customer_acquired")}, {Key: "ce_time", Value: []byte("2025-03-01T12:00:00Z")},
		{Key: "ce_subject", Value: []byte("c-2")}}
	ev, err = d.Decode([]byte(`{"channel":"referral","referrer_id":"c-1"}`), headers)
	if err != nil || ev.Type != event.CustomerAcquired || ev.CustomerID != "c-2" || ev.Acquisition != (event.Acquisition{Channel: "referral", ReferrerID: "c-1"}) {
		t.Fatalf("binary: %+v, %v", ev, err)
	}
	// A self-referral through the subject is still refused.
	_, err = d.Decode([]byte(`{"channel":"referral","referrer_id":"c-2"}`), headers)
	var e *event.Error
	if !errors.As(err, &e) || e.Field != "referrer_id" {
		t.Fatalf("self-referral via subject: %v", err)
	}
}
