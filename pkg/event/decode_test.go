package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// testNow is the service clock of the test decoder.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func testDecoder(t testing.TB) *event.Decoder {
	t.Helper()
	return mustDecoder(t, event.Config{
		Rates: map[string]string{"EUR": "1.08", "JPY": "0.0067", "KWD": "3.25", "GBP": "1.27"},
		Now:   func() time.Time { return testNow },
	})
}

func hdr(kv ...string) []event.Header {
	var hs []event.Header
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, event.Header{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return hs
}

// rec builds a plain JSON record from the common fields of a purchase plus
// overrides; a nil override value deletes the field.
func rec(overrides map[string]any) string {
	m := map[string]any{
		"event_id":    "e-1",
		"type":        "purchase",
		"customer_id": "c-1",
		"occurred_at": "2025-03-01T12:00:00Z",
		"order_id":    "o-1",
		"amount":      "12.34",
		"currency":    "USD",
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// ticketRec is rec for a ticket event of type typ.
func ticketRec(typ string, overrides map[string]any) string {
	o := map[string]any{"type": typ, "order_id": nil, "amount": nil, "currency": nil, "ticket_id": "t-1"}
	for k, v := range overrides {
		o[k] = v
	}
	return rec(o)
}

var march1 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type decodeCase struct {
	name    string
	value   string
	headers []event.Header
	// success
	want *event.Event
	// failure
	reason event.Reason
	field  string
	msg    string // substring of Msg
}

// runDecodeCases decodes every case with d, whose clock is testNow and whose
// allowed clock skew is skew.
func runDecodeCases(t *testing.T, d *event.Decoder, skew time.Duration, cases []decodeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := d.Decode([]byte(tc.value), tc.headers)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Decode(%s) error: %v", tc.value, err)
				}
				checkEvent(t, ev, testNow.Add(skew))
				if tc.want != nil && !reflect.DeepEqual(ev, *tc.want) {
					t.Errorf("Decode(%s) =\n%+v\nwant\n%+v", tc.value, ev, *tc.want)
				}
				return
			}
			var e *event.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode(%s) = %+v, %v (%T); want *event.Error %s", tc.value, ev, err, err, tc.reason)
			}
			if e.Reason != tc.reason || e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("Decode(%s) error = %q (reason %s, field %q); want reason %s, field %q, msg containing %q",
					tc.value, e, e.Reason, e.Field, tc.reason, tc.field, tc.msg)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Errorf("Decode returned a non-zero Event with an error: %+v", ev)
			}
		})
	}
}

// checkEvent asserts the invariants every decoded Event satisfies.
func checkEvent(t testing.TB, ev event.Event, latest time.Time) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("invalid event %+v: %s", ev, fmt.Sprintf(format, args...))
	}
	known := false
	for _, ty := range append(slices.Clone(event.Types), event.InternalTypes...) {
		known = known || ev.Type == ty
	}
	if !known {
		fail("unknown type")
	}
	if ev.ID == "" || ev.CustomerID == "" || len(ev.ID) > event.MaxIDBytes || len(ev.CustomerID) > event.MaxIDBytes {
		fail("bad id")
	}
	if ev.OccurredAt.IsZero() || ev.OccurredAt.Location() != time.UTC || ev.OccurredAt.After(latest) {
		fail("bad occurred_at")
	}
	switch ev.Type {
	case event.Purchase, event.Refund:
		if ev.OrderID == "" || ev.Currency == "" || ev.Amount < 0 || (ev.Type == event.Refund && (ev.Amount == 0 || ev.RefundID == "")) {
			fail("bad money event")
		}
		if ev.HasMargin && (ev.Margin < 0 || ev.Margin > ev.Amount) {
			fail("margin out of range")
		}
		if !ev.HasMargin && ev.Margin != 0 {
			fail("margin without HasMargin")
		}
	case event.TicketOpened, event.TicketUpdated, event.TicketResolved, event.TicketReopened:
		if ev.TicketID == "" || ev.Priority == "" || ev.CSAT < 0 || ev.CSAT > 5 || (ev.CSAT != 0 && ev.Type != event.TicketResolved) {
			fail("bad ticket event")
		}
	case event.EmailSent, event.EmailOpened, event.EmailClicked:
		if ev.MessageID == "" {
			fail("bad email event")
		}
	case event.SubscriptionStarted, event.SubscriptionRenewed, event.SubscriptionCancelled:
		sub := ev.Subscription
		if sub.ID == "" || sub.Price < 0 || (sub.HasPrice != (ev.Currency != "")) || (!sub.HasPrice && sub.Price != 0) ||
			(sub.Period != "" && sub.Period.Duration() == 0) ||
			(ev.Type == event.SubscriptionStarted && (sub.Plan == "" || sub.Period == "" || !sub.HasPrice)) ||
			(ev.Type == event.SubscriptionCancelled && (sub.Plan != "" || sub.Period != "" || sub.HasPrice)) {
			fail("bad subscription event")
		}
	case event.CustomerAcquired:
		a := ev.Acquisition
		if a.Channel == "" || a.Cost < 0 || a.HasCost != (ev.Currency != "") || (!a.HasCost && a.Cost != 0) || a.ReferrerID == ev.CustomerID {
			fail("bad acquisition event")
		}
	}
	priced := ev.Subscription.HasPrice || ev.Acquisition.HasCost
	if ev.Type != event.Purchase && ev.Type != event.Refund && (ev.Amount != 0 || (ev.Currency != "" && !priced) || ev.OrderID != "") {
		fail("money fields on a non-money event")
	}
	if (ev.Subscription != event.Subscription{}) && !strings.HasPrefix(string(ev.Type), "subscription_") ||
		(ev.Acquisition != event.Acquisition{}) && ev.Type != event.CustomerAcquired {
		fail("subscription or acquisition fields on another type")
	}
}

func TestDecodePlain(t *testing.T) {
	long := strings.Repeat("x", 129)
	cases := []decodeCase{
		// Successes.
		{name: "purchase decimal with margin", value: rec(map[string]any{"amount": "59.90", "margin": "21.50"}),
			want: &event.Event{ID: "e-1", Type: event.Purchase, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1",
				Amount: 5990, Margin: 2150, HasMargin: true, Currency: "USD"}},
		{name: "purchase EUR minor units, offset converted to UTC",
			value: rec(map[string]any{"amount": nil, "amount_minor": 4500, "currency": "EUR", "occurred_at": "2025-03-01T13:00:00+01:00", "campaign": "spring"}),
			want: &event.Event{ID: "e-1", Type: event.Purchase, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1",
				Amount: 4860, Currency: "EUR", Campaign: "spring"}},
		{name: "purchase JPY converted", value: rec(map[string]any{"amount": "1980", "currency": "JPY"}),
			want: &event.Event{ID: "e-1", Type: event.Purchase, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1", Amount: 1327, Currency: "JPY"}},
		{name: "purchase KWD 3 decimals", value: rec(map[string]any{"amount": "1.234", "currency": "KWD", "margin_minor": 1000}),
			want: &event.Event{ID: "e-1", Type: event.Purchase, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1",
				Amount: 401, Margin: 325, HasMargin: true, Currency: "KWD"}},
		{name: "purchase of 0 allowed", value: rec(map[string]any{"amount": "0.00"}),
			want: &event.Event{ID: "e-1", Type: event.Purchase, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1", Currency: "USD"}},
		{name: "margin equal to amount", value: rec(map[string]any{"margin": "12.34"})},
		{name: "margin 0", value: rec(map[string]any{"margin_minor": 0})},
		{name: "nulls are absent", value: rec(map[string]any{"margin": json.RawMessage("null"), "amount_minor": json.RawMessage("null"), "csat": json.RawMessage("null")})},
		{name: "refund defaults refund_id to event_id", value: rec(map[string]any{"type": "refund", "amount": "5"}),
			want: &event.Event{ID: "e-1", Type: event.Refund, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1", RefundID: "e-1", Amount: 500, Currency: "USD"}},
		{name: "refund with refund_id", value: rec(map[string]any{"type": "refund", "refund_id": "r-9"}),
			want: &event.Event{ID: "e-1", Type: event.Refund, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1", RefundID: "r-9", Amount: 1234, Currency: "USD"}},
		{name: "ticket default priority", value: ticketRec("ticket_opened", nil),
			want: &event.Event{ID: "e-1", Type: event.TicketOpened, CustomerID: "c-1", OccurredAt: march1, TicketID: "t-1", Priority: "normal"}},
		{name: "ticket priority urgent", value: ticketRec("ticket_updated", map[string]any{"priority": "urgent"}),
			want: &event.Event{ID: "e-1", Type: event.TicketUpdated, CustomerID: "c-1", OccurredAt: march1, TicketID: "t-1", Priority: "urgent"}},
		{name: "csat 1", value: ticketRec("ticket_resolved", map[string]any{"csat": 1})},
		{name: "csat 5", value: ticketRec("ticket_resolved", map[string]any{"csat": 5}),
			want: &event.Event{ID: "e-1", Type: event.TicketResolved, CustomerID: "c-1", OccurredAt: march1, TicketID: "t-1", Priority: "normal", CSAT: 5}},
		{name: "ticket_resolved without csat", value: ticketRec("ticket_resolved", nil)},
		{name: "ticket_reopened", value: ticketRec("ticket_reopened", nil)},
		{name: "email opened", value: rec(map[string]any{"type": "email_opened", "order_id": nil, "message_id": "m-1", "campaign": "win-back"}),
			want: &event.Event{ID: "e-1", Type: event.EmailOpened, CustomerID: "c-1", OccurredAt: march1, MessageID: "m-1", Campaign: "win-back"}},
		{name: "customer erased ignores other fields", value: rec(map[string]any{"type": "customer_erased"}),
			want: &event.Event{ID: "e-1", Type: event.CustomerErased, CustomerID: "c-1", OccurredAt: march1}},
		{name: "unknown fields ignored, even CloudEvents names", value: rec(map[string]any{"x_extra": []int{1}, "id": 5, "time": false, "data": "x", "subject": 1})},
		{name: "fractional seconds", value: rec(map[string]any{"occurred_at": "2025-03-01T12:00:00.123456789Z"})},
		{name: "within clock skew", value: rec(map[string]any{"occurred_at": testNow.Add(4 * time.Minute).Format(time.RFC3339)})},
		{name: "exactly at clock skew", value: rec(map[string]any{"occurred_at": testNow.Add(5 * time.Minute).Format(time.RFC3339)})},
		{name: "unicode ids", value: rec(map[string]any{"customer_id": "kundé-😀 42"})},
		{name: "customer_id of 128 bytes", value: rec(map[string]any{"customer_id": long[:128]})},

		// oversize
		{name: "oversize wins over malformed", value: strings.Repeat("x", event.DefaultMaxBytes+1), reason: event.ReasonOversize, msg: "65537 bytes, at most 65536"},

		// malformed_json
		{name: "truncated", value: `{"event_id":"e-1"`, reason: event.ReasonMalformed, msg: "invalid JSON"},
		{name: "empty", value: ``, reason: event.ReasonMalformed, msg: "empty"},
		{name: "array", value: `[{}]`, reason: event.ReasonMalformed, msg: "must be a JSON object, got an array"},
		{name: "null", value: `null`, reason: event.ReasonMalformed, msg: "got null"},
		{name: "string", value: `"purchase"`, reason: event.ReasonMalformed, msg: "got a string"},
		{name: "number", value: `42`, reason: event.ReasonMalformed, msg: "got a number"},
		{name: "trailing garbage", value: rec(nil) + `x`, reason: event.ReasonMalformed, msg: "after top-level value"},
		{name: "two objects", value: rec(nil) + rec(nil), reason: event.ReasonMalformed, msg: "invalid JSON"},
		{name: "invalid UTF-8", value: "{\"event_id\":\"e-\xff\"}", reason: event.ReasonMalformed, msg: "not valid UTF-8"},

		// unknown_type
		{name: "unknown type", value: rec(map[string]any{"type": "purchased"}), reason: event.ReasonUnknownType, field: "type", msg: `"purchased" is not a known event type; expected one of purchase, refund`},
		{name: "type is case-sensitive", value: rec(map[string]any{"type": "Purchase"}), reason: event.ReasonUnknownType, field: "type"},
		{name: "namespaced type only in CloudEvents", value: rec(map[string]any{"type": "com.acme.purchase"}), reason: event.ReasonUnknownType, field: "type"},

		// missing_field
		{name: "no event_id", value: rec(map[string]any{"event_id": nil}), reason: event.ReasonMissingField, field: "event_id", msg: "required"},
		{name: "empty event_id", value: rec(map[string]any{"event_id": ""}), reason: event.ReasonMissingField, field: "event_id"},
		{name: "no type", value: rec(map[string]any{"type": nil}), reason: event.ReasonMissingField, field: "type", msg: "one of purchase"},
		{name: "no customer_id", value: rec(map[string]any{"customer_id": nil}), reason: event.ReasonMissingField, field: "customer_id"},
		{name: "no occurred_at", value: rec(map[string]any{"occurred_at": nil}), reason: event.ReasonMissingField, field: "occurred_at", msg: "RFC 3339"},
		{name: "no order_id", value: rec(map[string]any{"order_id": nil}), reason: event.ReasonMissingField, field: "order_id", msg: "required on purchase"},
		{name: "refund without order_id", value: rec(map[string]any{"type": "refund", "order_id": nil}), reason: event.ReasonMissingField, field: "order_id", msg: "required on refund"},
		{name: "no amount", value: rec(map[string]any{"amount": nil}), reason: event.ReasonMissingField, field: "amount", msg: "amount_minor"},
		{name: "empty amount string", value: rec(map[string]any{"amount": ""}), reason: event.ReasonMissingField, field: "amount"},
		{name: "no currency", value: rec(map[string]any{"currency": nil}), reason: event.ReasonMissingField, field: "currency", msg: "ISO 4217"},
		{name: "no ticket_id", value: ticketRec("ticket_opened", map[string]any{"ticket_id": nil}), reason: event.ReasonMissingField, field: "ticket_id", msg: "required on ticket_opened"},
		{name: "no message_id", value: rec(map[string]any{"type": "email_clicked"}), reason: event.ReasonMissingField, field: "message_id", msg: "required on email_clicked"},

		// invalid_field: common fields
		{name: "event_id is a number", value: rec(map[string]any{"event_id": 17}), reason: event.ReasonInvalidField, field: "event_id", msg: "must be a string, got a number"},
		{name: "type is a number", value: rec(map[string]any{"type": 1}), reason: event.ReasonInvalidField, field: "type", msg: "must be a string"},
		{name: "customer_id is a number", value: rec(map[string]any{"customer_id": 42}), reason: event.ReasonInvalidField, field: "customer_id", msg: "must be a string, got JSON number"},
		{name: "customer_id too long", value: rec(map[string]any{"customer_id": long}), reason: event.ReasonInvalidField, field: "customer_id", msg: "at most 128 bytes, got 129"},
		{name: "customer_id with newline", value: rec(map[string]any{"customer_id": "c\n1"}), reason: event.ReasonInvalidField, field: "customer_id", msg: "control characters, found U+000A"},
		{name: "customer_id with C1 control", value: rec(map[string]any{"customer_id": "c\u00851"}), reason: event.ReasonInvalidField, field: "customer_id", msg: "control characters"},
		{name: "blank customer_id", value: rec(map[string]any{"customer_id": "   "}), reason: event.ReasonInvalidField, field: "customer_id", msg: "blank"},
		{name: "occurred_at without offset", value: rec(map[string]any{"occurred_at": "2025-03-01T12:00:00"}), reason: event.ReasonInvalidField, field: "occurred_at", msg: "not an RFC 3339 timestamp with offset"},
		{name: "occurred_at with space", value: rec(map[string]any{"occurred_at": "2025-03-01 12:00:00Z"}), reason: event.ReasonInvalidField, field: "occurred_at"},
		{name: "occurred_at as unix seconds", value: rec(map[string]any{"occurred_at": 1740830400}), reason: event.ReasonInvalidField, field: "occurred_at", msg: "must be a string"},
		{name: "occurred_at date only", value: rec(map[string]any{"occurred_at": "2025-03-01"}), reason: event.ReasonInvalidField, field: "occurred_at"},
		{name: "occurred_at before 1970", value: rec(map[string]any{"occurred_at": "0001-01-01T00:00:00Z"}), reason: event.ReasonInvalidField, field: "occurred_at", msg: "before 1970"},
		{name: "campaign with tab", value: rec(map[string]any{"campaign": "a\tb"}), reason: event.ReasonInvalidField, field: "campaign"},
		{name: "campaign too long", value: rec(map[string]any{"campaign": strings.Repeat("c", 257)}), reason: event.ReasonInvalidField, field: "campaign", msg: "at most 256"},

		// invalid_field: money
		{name: "amount as JSON number", value: rec(map[string]any{"amount": 12.34}), reason: event.ReasonInvalidField, field: "amount", msg: `must be a decimal string like "12.34", not a JSON number`},
		{name: "amount as integer JSON number", value: rec(map[string]any{"amount": 12}), reason: event.ReasonInvalidField, field: "amount", msg: "amount_minor"},
		{name: "amount as object", value: rec(map[string]any{"amount": map[string]any{}}), reason: event.ReasonInvalidField, field: "amount", msg: "decimal string"},
		{name: "amount too precise for USD", value: rec(map[string]any{"amount": "12.345"}), reason: event.ReasonInvalidField, field: "amount", msg: `"12.345" is not a valid USD amount (2 decimal places): has 3 fraction digits`},
		{name: "amount with fraction for JPY", value: rec(map[string]any{"amount": "100.5", "currency": "JPY"}), reason: event.ReasonInvalidField, field: "amount", msg: "JPY"},
		{name: "amount exponent notation", value: rec(map[string]any{"amount": "1e3"}), reason: event.ReasonInvalidField, field: "amount", msg: "not a decimal number"},
		{name: "amount with space", value: rec(map[string]any{"amount": " 1"}), reason: event.ReasonInvalidField, field: "amount"},
		{name: "amount NaN", value: rec(map[string]any{"amount": "NaN"}), reason: event.ReasonInvalidField, field: "amount"},
		{name: "negative amount", value: rec(map[string]any{"amount": "-1"}), reason: event.ReasonInvalidField, field: "amount", msg: "must not be negative, got -1.00 USD"},
		{name: "negative amount_minor", value: rec(map[string]any{"amount": nil, "amount_minor": -5}), reason: event.ReasonInvalidField, field: "amount_minor", msg: "must not be negative"},
		{name: "amount and amount_minor", value: rec(map[string]any{"amount_minor": 1234}), reason: event.ReasonInvalidField, field: "amount", msg: "not both"},
		{name: "amount_minor fractional", value: rec(map[string]any{"amount": nil, "amount_minor": 12.5}), reason: event.ReasonInvalidField, field: "amount_minor", msg: "integer number of minor units"},
		{name: "amount_minor as string", value: rec(map[string]any{"amount": nil, "amount_minor": "1234"}), reason: event.ReasonInvalidField, field: "amount_minor", msg: "got JSON string"},
		{name: "amount_minor beyond int64", value: rec(map[string]any{"amount": nil, "amount_minor": json.RawMessage("9223372036854775808")}), reason: event.ReasonInvalidField, field: "amount_minor", msg: "fits in 64 bits"},
		{name: "refund of 0", value: rec(map[string]any{"type": "refund", "amount": "0"}), reason: event.ReasonInvalidField, field: "amount", msg: "greater than 0"},
		{name: "refund converting to 0", value: rec(map[string]any{"type": "refund", "amount": "0.001", "currency": "KWD"}), reason: event.ReasonInvalidField, field: "amount", msg: "too small"},
		{name: "conversion overflow", value: rec(map[string]any{"amount": nil, "amount_minor": int64(9e18), "currency": "EUR"}), reason: event.ReasonInvalidField, field: "amount_minor", msg: "overflow"},
		{name: "margin above amount", value: rec(map[string]any{"margin": "12.35"}), reason: event.ReasonInvalidField, field: "margin", msg: "between 0 and the amount (12.34 USD), got 12.35 USD"},
		{name: "negative margin", value: rec(map[string]any{"margin_minor": -1}), reason: event.ReasonInvalidField, field: "margin_minor", msg: "between 0"},
		{name: "margin as JSON number", value: rec(map[string]any{"margin": 1.5}), reason: event.ReasonInvalidField, field: "margin", msg: "margin_minor"},
		{name: "margin and margin_minor", value: rec(map[string]any{"margin": "1", "margin_minor": 100}), reason: event.ReasonInvalidField, field: "margin", msg: "not both"},
		{name: "margin on zero purchase", value: rec(map[string]any{"amount": "0", "margin": "0.01"}), reason: event.ReasonInvalidField, field: "margin"},
		{name: "lower-case currency", value: rec(map[string]any{"currency": "usd"}), reason: event.ReasonInvalidField, field: "currency", msg: "three upper-case letters"},
		{name: "currency symbol", value: rec(map[string]any{"currency": "$"}), reason: event.ReasonInvalidField, field: "currency"},

		// invalid_field: tickets
		{name: "bad priority", value: ticketRec("ticket_opened", map[string]any{"priority": "P1"}), reason: event.ReasonInvalidField, field: "priority", msg: `"low", "normal", "high", "urgent"`},
		{name: "csat 0", value: ticketRec("ticket_resolved", map[string]any{"csat": 0}), reason: event.ReasonInvalidField, field: "csat", msg: "from 1 to 5"},
		{name: "csat 6", value: ticketRec("ticket_resolved", map[string]any{"csat": 6}), reason: event.ReasonInvalidField, field: "csat", msg: "got 6"},
		{name: "csat -1", value: ticketRec("ticket_resolved", map[string]any{"csat": -1}), reason: event.ReasonInvalidField, field: "csat"},
		{name: "csat as string", value: ticketRec("ticket_resolved", map[string]any{"csat": "5"}), reason: event.ReasonInvalidField, field: "csat", msg: "integer from 1 to 5"},
		{name: "csat 4.5", value: ticketRec("ticket_resolved", map[string]any{"csat": 4.5}), reason: event.ReasonInvalidField, field: "csat"},
		{name: "csat on ticket_opened", value: ticketRec("ticket_opened", map[string]any{"csat": 5}), reason: event.ReasonInvalidField, field: "csat", msg: "only allowed on ticket_resolved"},
		{name: "csat on purchase", value: rec(map[string]any{"csat": 5}), reason: event.ReasonInvalidField, field: "csat"},
		{name: "ticket_id too long", value: ticketRec("ticket_opened", map[string]any{"ticket_id": long}), reason: event.ReasonInvalidField, field: "ticket_id"},

		// unknown_currency
		{name: "unknown currency code", value: rec(map[string]any{"currency": "XYZ"}), reason: event.ReasonUnknownCurrency, field: "currency", msg: "not a known ISO 4217"},
		{name: "currency without a rate", value: rec(map[string]any{"currency": "CHF"}), reason: event.ReasonUnknownCurrency, field: "currency", msg: "no exchange rate from CHF to the base currency USD"},

		// clock_skew
		{name: "too far in the future", value: rec(map[string]any{"occurred_at": testNow.Add(6 * time.Minute).Format(time.RFC3339)}), reason: event.ReasonClockSkew, field: "occurred_at", msg: "6m0s ahead of the service clock"},
		{name: "future via offset", value: rec(map[string]any{"occurred_at": "2025-06-01T23:00:00+10:00"}), reason: event.ReasonClockSkew, field: "occurred_at"}, // 13:00Z
	}
	runDecodeCases(t, testDecoder(t), event.DefaultMaxClockSkew, cases)
}

func TestDecodeCloudEventsStructured(t *testing.T) {
	ce := func(attrs map[string]any) string {
		m := map[string]any{
			"specversion": "1.0",
			"type":        "com.acme.purchase",
			"source":      "/shop",
			"id":          "ce-1",
			"time":        "2025-03-01T12:00:00Z",
			"subject":     "c-9",
			"data":        map[string]any{"order_id": "o-1", "amount": "10.00", "currency": "EUR"},
		}
		for k, v := range attrs {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	ctJSON := hdr("content-type", "application/cloudevents+json")
	purchase := &event.Event{ID: "ce-1", Type: event.Purchase, CustomerID: "c-9", OccurredAt: march1, OrderID: "o-1", Amount: 1080, Currency: "EUR"}
	cases := []decodeCase{
		{name: "content-type header", value: ce(nil), headers: ctJSON, want: purchase},
		{name: "content-type with charset, any case", value: ce(nil), headers: hdr("Content-Type", "Application/CloudEvents+JSON; charset=UTF-8"), want: purchase},
		{name: "detected by specversion", value: ce(nil), want: purchase},
		{name: "plain type name", value: ce(map[string]any{"type": "purchase"}), want: purchase},
		{name: "io.clvstream namespace", value: ce(map[string]any{"type": "io.clvstream.purchase"}), want: purchase},
		{name: "data customer_id wins over subject",
			value: ce(map[string]any{"data": map[string]any{"customer_id": "c-data", "order_id": "o-1", "amount": "10.00", "currency": "EUR"}}),
			want:  &event.Event{ID: "ce-1", Type: event.Purchase, CustomerID: "c-data", OccurredAt: march1, OrderID: "o-1", Amount: 1080, Currency: "EUR"}},
		{name: "data cannot override attributes",
			value: ce(map[string]any{"data": map[string]any{"event_id": 5, "type": "refund", "occurred_at": "garbage", "order_id": "o-1", "amount": "10.00", "currency": "EUR"}}),
			want:  purchase},
		{name: "top-level record fields and extensions ignored", value: ce(map[string]any{"csat": "x", "customer_id": 7, "amount": 1.5}), headers: ctJSON, want: purchase},
		{name: "erasure without data", value: ce(map[string]any{"type": "com.acme.customer_erased", "data": nil}),
			want: &event.Event{ID: "ce-1", Type: event.CustomerErased, CustomerID: "c-9", OccurredAt: march1}},
		{name: "null data", value: ce(map[string]any{"type": "customer_erased", "data": json.RawMessage("null")})},

		{name: "unknown namespaced type", value: ce(map[string]any{"type": "com.acme.purchased"}), reason: event.ReasonUnknownType, field: "type",
			msg: `CloudEvents type "com.acme.purchased": "purchased" is not a known event type`},
		{name: "type ending in a dot", value: ce(map[string]any{"type": "com.acme."}), reason: event.ReasonUnknownType, field: "type"},
		{name: "no type", value: ce(map[string]any{"type": nil}), reason: event.ReasonMissingField, field: "type", msg: `CloudEvents attribute "type"`},
		{name: "no id", value: ce(map[string]any{"id": nil}), reason: event.ReasonMissingField, field: "event_id", msg: `CloudEvents attribute "id"`},
		{name: "id is a number", value: ce(map[string]any{"id": 1}), reason: event.ReasonInvalidField, field: "event_id", msg: `CloudEvents attribute "id" must be a string`},
		{name: "no time", value: ce(map[string]any{"time": nil}), reason: event.ReasonMissingField, field: "occurred_at", msg: `CloudEvents attribute "time"`},
		{name: "bad time", value: ce(map[string]any{"time": "now"}), reason: event.ReasonInvalidField, field: "occurred_at"},
		{name: "future time", value: ce(map[string]any{"time": "2030-01-01T00:00:00Z"}), reason: event.ReasonClockSkew, field: "occurred_at"},
		{name: "no subject, no customer_id", value: ce(map[string]any{"subject": nil}), reason: event.ReasonMissingField, field: "customer_id", msg: `CloudEvents attribute "subject"`},
		{name: "wrong specversion", value: ce(map[string]any{"specversion": "0.3"}), reason: event.ReasonInvalidField, field: "specversion", msg: `only "1.0"`},
		{name: "specversion as number", value: ce(map[string]any{"specversion": 1.0}), reason: event.ReasonInvalidField, field: "specversion"},
		{name: "content-type without specversion", value: ce(map[string]any{"specversion": nil}), headers: ctJSON, reason: event.ReasonMissingField, field: "specversion"},
		{name: "data is a string", value: ce(map[string]any{"data": "order o-1"}), reason: event.ReasonInvalidField, field: "data", msg: "must be a JSON object"},
		{name: "datacontenttype json", value: ce(map[string]any{"datacontenttype": "application/json"}), want: purchase},
		{name: "datacontenttype not json", value: ce(map[string]any{"datacontenttype": "application/avro"}), reason: event.ReasonInvalidField, field: "datacontenttype", msg: "application/avro"},
		{name: "data_base64", value: ce(map[string]any{"data": nil, "data_base64": "e30="}), reason: event.ReasonInvalidField, field: "data_base64"},
		{name: "bad field inside data", value: ce(map[string]any{"data": map[string]any{"order_id": "o-1", "amount_minor": "10", "currency": "EUR"}}),
			reason: event.ReasonInvalidField, field: "amount_minor", msg: "in CloudEvents data"},
		{name: "missing field inside data", value: ce(map[string]any{"data": map[string]any{"amount": "10.00", "currency": "EUR"}}),
			reason: event.ReasonMissingField, field: "order_id"},
		{name: "content-type but not JSON", value: `specversion=1.0`, headers: ctJSON, reason: event.ReasonMalformed},
	}
	runDecodeCases(t, testDecoder(t), event.DefaultMaxClockSkew, cases)
}

func TestDecodeCloudEventsBinary(t *testing.T) {
	h := func(kv ...string) []event.Header {
		base := map[string]string{
			"ce_specversion": "1.0", "ce_type": "com.acme.ticket_resolved", "ce_id": "ce-7",
			"ce_time": "2025-03-01T12:00:00Z", "ce_subject": "c-3", "ce_source": "/support",
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "-" {
				delete(base, kv[i])
			} else {
				base[kv[i]] = kv[i+1]
			}
		}
		var hs []event.Header
		for _, k := range []string{"ce_specversion", "ce_type", "ce_id", "ce_time", "ce_subject", "ce_source"} {
			if v, ok := base[k]; ok {
				hs = append(hs, event.Header{Key: k, Value: []byte(v)})
			}
		}
		return hs
	}
	resolved := &event.Event{ID: "ce-7", Type: event.TicketResolved, CustomerID: "c-3", OccurredAt: march1, TicketID: "t-1", Priority: "high", CSAT: 3}
	cases := []decodeCase{
		{name: "binary", value: `{"ticket_id":"t-1","priority":"high","csat":3}`, headers: h(), want: resolved},
		{name: "ce- prefixed headers", value: `{"ticket_id":"t-1","priority":"high","csat":3}`,
			headers: hdr("ce-specversion", "1.0", "ce-type", "ticket_resolved", "ce-id", "ce-7", "ce-time", "2025-03-01T12:00:00Z", "ce-subject", "c-3"), want: resolved},
		{name: "header keys any case", value: `{"ticket_id":"t-1","priority":"high","csat":3}`,
			headers: hdr("CE_SPECVERSION", "1.0", "Ce_Type", "ticket_resolved", "ce_ID", "ce-7", "ce_time", "2025-03-01T12:00:00Z", "ce_subject", "c-3"), want: resolved},
		{name: "data customer_id wins over ce_subject", value: `{"customer_id":"c-data","ticket_id":"t-1","priority":"high","csat":3}`, headers: h(),
			want: &event.Event{ID: "ce-7", Type: event.TicketResolved, CustomerID: "c-data", OccurredAt: march1, TicketID: "t-1", Priority: "high", CSAT: 3}},
		{name: "data cannot override attributes", value: `{"event_id":"x","type":"purchase","occurred_at":"2030-01-01T00:00:00Z","ticket_id":"t-1","priority":"high","csat":3}`, headers: h(), want: resolved},
		{name: "content-type application/json is binary", value: `{"ticket_id":"t-1","priority":"high","csat":3}`, headers: append(h(), event.Header{Key: "content-type", Value: []byte("application/json")}), want: resolved},
		{name: "empty value for erasure", value: ``, headers: h("ce_type", "io.clvstream.customer_erased"),
			want: &event.Event{ID: "ce-7", Type: event.CustomerErased, CustomerID: "c-3", OccurredAt: march1}},

		{name: "missing ce_id", value: `{"ticket_id":"t-1"}`, headers: h("ce_id", "-"), reason: event.ReasonMissingField, field: "event_id", msg: "header ce_id"},
		{name: "missing ce_type", value: `{"ticket_id":"t-1"}`, headers: h("ce_type", "-"), reason: event.ReasonMissingField, field: "type", msg: "header ce_type"},
		{name: "missing ce_time", value: `{"ticket_id":"t-1"}`, headers: h("ce_time", "-"), reason: event.ReasonMissingField, field: "occurred_at", msg: "header ce_time"},
		{name: "missing ce_subject and customer_id", value: `{"ticket_id":"t-1"}`, headers: h("ce_subject", "-"), reason: event.ReasonMissingField, field: "customer_id", msg: "header ce_subject"},
		{name: "unknown ce_type", value: `{"ticket_id":"t-1"}`, headers: h("ce_type", "com.acme.ticket_closed"), reason: event.ReasonUnknownType, field: "type", msg: "ticket_closed"},
		{name: "wrong specversion", value: `{"ticket_id":"t-1"}`, headers: h("ce_specversion", "2.0"), reason: event.ReasonInvalidField, field: "specversion"},
		{name: "ce_time in the future", value: `{"ticket_id":"t-1"}`, headers: h("ce_time", "2025-06-01T12:10:00Z"), reason: event.ReasonClockSkew, field: "occurred_at"},
		{name: "invalid UTF-8 in header", value: `{"ticket_id":"t-1"}`, headers: h("ce_id", "ce-\xff"), reason: event.ReasonInvalidField, field: "event_id", msg: "UTF-8"},
		{name: "value not an object", value: `["t-1"]`, headers: h(), reason: event.ReasonMalformed, msg: "CloudEvents data"},
		{name: "value malformed", value: `{"ticket_id":`, headers: h(), reason: event.ReasonMalformed},
		{name: "csat out of range in data", value: `{"ticket_id":"t-1","csat":9}`, headers: h(), reason: event.ReasonInvalidField, field: "csat"},
	}
	runDecodeCases(t, testDecoder(t), event.DefaultMaxClockSkew, cases)
}

func TestDecodeLimits(t *testing.T) {
	d := mustDecoder(t, event.Config{MaxBytes: 300, MaxClockSkew: time.Hour, Now: func() time.Time { return testNow }})
	big := rec(map[string]any{"campaign": strings.Repeat("c", 200)})
	cases := []decodeCase{
		{name: "under the limit", value: rec(nil)},
		{name: "over a small limit", value: big, reason: event.ReasonOversize, msg: "at most 300 allowed"},
		{name: "oversize beats everything", value: strings.Repeat(" ", 301), reason: event.ReasonOversize},
		{name: "CloudEvents oversize", value: big, headers: hdr("ce_specversion", "1.0"), reason: event.ReasonOversize},
		{name: "skew of an hour allowed", value: rec(map[string]any{"occurred_at": testNow.Add(59 * time.Minute).Format(time.RFC3339)})},
		{name: "skew beyond an hour", value: rec(map[string]any{"occurred_at": testNow.Add(61 * time.Minute).Format(time.RFC3339)}), reason: event.ReasonClockSkew, field: "occurred_at", msg: "at most 1h0m0s"},
		{name: "old events are fine", value: rec(map[string]any{"occurred_at": "1997-01-01T00:00:00Z"})},
	}
	runDecodeCases(t, d, time.Hour, cases)

	// The clock is read on every Decode.
	now := testNow
	moving := mustDecoder(t, event.Config{Now: func() time.Time { return now }})
	future := []byte(rec(map[string]any{"occurred_at": "2025-06-01T13:00:00Z"}))
	if _, err := moving.Decode(future, nil); err == nil {
		t.Error("an hour ahead: want clock_skew")
	}
	now = now.Add(56 * time.Minute)
	if _, err := moving.Decode(future, nil); err != nil {
		t.Errorf("after the clock moved: %v", err)
	}
}

func TestDecodeRecordRoundTrip(t *testing.T) {
	d := testDecoder(t)
	minor := int64(2599)
	records := []struct {
		r    event.Record
		want event.Event
	}{
		{event.Record{EventID: "e-1", Type: event.Purchase, CustomerID: "c-1", OccurredAt: "2025-03-01T12:00:00Z", OrderID: "o-1", Amount: "10.00", Currency: "GBP", Margin: "2.50"},
			event.Event{ID: "e-1", Type: event.Purchase, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1", Amount: 1270, Margin: 318, HasMargin: true, Currency: "GBP"}}, // 317.5 -> 318 (even)
		{event.Record{EventID: "e-2", Type: event.Refund, CustomerID: "c-1", OccurredAt: "2025-03-01T12:00:00Z", OrderID: "o-1", AmountMinor: &minor, Currency: "USD"},
			event.Event{ID: "e-2", Type: event.Refund, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1", RefundID: "e-2", Amount: 2599, Currency: "USD"}},
		{event.Record{EventID: "e-3", Type: event.TicketResolved, CustomerID: "c-1", OccurredAt: "2025-03-01T12:00:00Z", TicketID: "t-1", CSAT: 2},
			event.Event{ID: "e-3", Type: event.TicketResolved, CustomerID: "c-1", OccurredAt: march1, TicketID: "t-1", Priority: "normal", CSAT: 2}},
		{event.Record{EventID: "e-4", Type: event.EmailSent, CustomerID: "c-1", OccurredAt: "2025-03-01T12:00:00Z", MessageID: "m-1", Campaign: "x"},
			event.Event{ID: "e-4", Type: event.EmailSent, CustomerID: "c-1", OccurredAt: march1, MessageID: "m-1", Campaign: "x"}},
	}
	for _, tt := range records {
		b, err := json.Marshal(tt.r)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := d.Decode(b, nil)
		if err != nil {
			t.Errorf("Decode(%s): %v", b, err)
			continue
		}
		if !reflect.DeepEqual(ev, tt.want) {
			t.Errorf("Decode(%s) =\n%+v\nwant\n%+v", b, ev, tt.want)
		}
	}
	// A zero Record marshals without the optional fields.
	b, _ := json.Marshal(event.Record{})
	if string(b) != `{"event_id":"","type":"","customer_id":"","occurred_at":""}` {
		t.Errorf("zero Record = %s", b)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *event.Error
		want string
	}{
		{event.Errorf(event.ReasonInvalidField, "amount", "must be a decimal string like %q", "12.34"), `invalid_field: amount: must be a decimal string like "12.34"`},
		{event.Errorf(event.ReasonMisrouted, "", "key %q hashes to partition %d, not %d", "c-1", 3, 5), `misrouted: key "c-1" hashes to partition 3, not 5`},
		{&event.Error{Reason: event.ReasonOversize, Msg: "too big"}, "oversize: too big"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	// Decode's error wraps nothing and is directly an *Error.
	_, err := testDecoder(t).Decode([]byte(`{`), nil)
	if _, ok := err.(*event.Error); !ok {
		t.Errorf("Decode error has type %T, want *event.Error", err)
	}
}

func TestTypesAndReasons(t *testing.T) {
	if len(event.Types) != 22 {
		t.Errorf("len(Types) = %d, want 22", len(event.Types))
	}
	if len(event.Reasons) != 8 {
		t.Errorf("len(Reasons) = %d, want 8", len(event.Reasons))
	}
	seen := map[string]bool{}
	for _, ty := range event.Types {
		if seen[string(ty)] {
			t.Errorf("duplicate type %s", ty)
		}
		seen[string(ty)] = true
	}
	for _, r := range event.Reasons {
		if seen[string(r)] {
			t.Errorf("duplicate reason %s", r)
		}
		seen[string(r)] = true
	}
	// Every type decodes (with the fields it needs), so Types and the
	// decoder agree.
	d := testDecoder(t)
	for _, ty := range event.Types {
		fields := map[string]any{"type": string(ty), "ticket_id": "t-1", "message_id": "m-1", "survey_id": "s-1", "kind": "nps", "channel": "email",
			"subscription_id": "s-1", "plan": "pro", "period": "month", "price": "9.99"}
		if ty == event.SurveyResponded {
			fields["score"] = 7
		}
		if ty == event.SubscriptionCancelled {
			fields["plan"], fields["period"], fields["price"] = nil, nil, nil
		}
		v := rec(fields)
		if ev, err := d.Decode([]byte(v), nil); err != nil || ev.Type != ty {
			t.Errorf("type %s: Decode = %+v, %v", ty, ev, err)
		}
	}
}

func TestDecodeConcurrent(t *testing.T) {
	d := testDecoder(t)
	values := [][]byte{
		[]byte(rec(map[string]any{"currency": "EUR"})),
		[]byte(rec(map[string]any{"amount": "1980", "currency": "JPY"})),
		[]byte(rec(map[string]any{"currency": "XYZ"})),
	}
	want := make([]string, len(values))
	for i, v := range values {
		ev, err := d.Decode(v, nil)
		want[i] = fmt.Sprint(ev, err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				v := values[i%len(values)]
				ev, err := d.Decode(v, nil)
				if got := fmt.Sprint(ev, err); got != want[i%len(values)] {
					t.Errorf("concurrent Decode = %s, want %s", got, want[i%len(values)])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestDecodeStrict(t *testing.T) {
	const base = `"event_id":"e-1","type":"purchase","customer_id":"c-1","occurred_at":"2025-03-01T12:00:00Z","order_id":"o-1","amount":"12.34","currency":"USD"`
	email := func(s string) string {
		return `{"event_id":"e-1","type":"email_sent","customer_id":"c-1","occurred_at":"2025-03-01T12:00:00Z","message_id":"m-1"` + s + `}`
	}
	ceHead := `"specversion":"1.0","id":"ce-1","type":"com.acme.purchase","time":"2025-03-01T12:00:00Z","subject":"c-9"`
	ceData := `"order_id":"o-1","amount":"10.00","currency":"EUR"`
	bin := hdr("ce_specversion", "1.0", "ce_id", "ce-7", "ce_type", "ticket_opened", "ce_time", "2025-03-01T12:00:00Z", "ce_subject", "c-3")
	cases := []decodeCase{
		// Duplicate member names.
		{name: "duplicate known field", value: `{` + base + `,"customer_id":"c-2"}`, reason: event.ReasonInvalidField, field: "customer_id", msg: "more than once"},
		{name: "duplicate with the same value", value: `{` + base + `,"amount":"12.34"}`, reason: event.ReasonInvalidField, field: "amount", msg: "more than once"},
		{name: "duplicate via an escaped name", value: `{` + base + `,"\u0063ustomer_id":"c-1"}`, reason: event.ReasonInvalidField, field: "customer_id"},
		{name: "duplicate unknown member", value: `{` + base + `,"x":1,"x":2}`, reason: event.ReasonMalformed, msg: `duplicate member name "x"`},
		{name: "duplicate inside a nested unknown object is not checked", value: `{` + base + `,"x":{"a":1,"a":2}}`},
		{name: "duplicate inside an unknown data member of a plain record", value: `{` + base + `,"data":{"a":1,"a":2}}`},
		{name: "duplicate CloudEvents attribute", value: `{` + ceHead + `,"id":"ce-2","data":{` + ceData + `}}`, reason: event.ReasonInvalidField, field: "event_id", msg: "more than once"},
		{name: "duplicate specversion", value: `{` + ceHead + `,"specversion":"1.0","data":{` + ceData + `}}`, reason: event.ReasonInvalidField, field: "specversion"},
		{name: "duplicate field in CloudEvents data", value: `{` + ceHead + `,"data":{` + ceData + `,"order_id":"o-2"}}`, reason: event.ReasonInvalidField, field: "order_id", msg: "more than once"},
		{name: "duplicate field in binary data", value: `{"ticket_id":"t-1","ticket_id":"t-2"}`, headers: bin, reason: event.ReasonInvalidField, field: "ticket_id"},
		{name: "duplicate beats a type error", value: `{` + base + `,"csat":"x","currency":"EUR"}`, reason: event.ReasonInvalidField, field: "currency", msg: "more than once"},
		{name: "syntax error beats a duplicate", value: `{` + base + `,"currency":"EUR",}`, reason: event.ReasonMalformed, msg: "invalid JSON"},
		// Names are matched exactly: encoding/json's case-insensitive
		// fallback would have read this as customer_id.
		{name: "case variant is an unknown member", value: `{` + base + `,"Customer_ID":"c-2"}`,
			want: &event.Event{ID: "e-1", Type: event.Purchase, CustomerID: "c-1", OccurredAt: march1, OrderID: "o-1", Amount: 1234, Currency: "USD"}},
		{name: "case variant does not count as the field", value: `{"Event_ID":"e-1","type":"email_sent","customer_id":"c-1","occurred_at":"2025-03-01T12:00:00Z","message_id":"m-1"}`,
			reason: event.ReasonMissingField, field: "event_id"},

		// Lone UTF-16 surrogates are rejected, not turned into U+FFFD.
		{name: "lone high surrogate in customer_id", value: `{"event_id":"e-1","type":"email_sent","customer_id":"c\ud800","occurred_at":"2025-03-01T12:00:00Z","message_id":"m-1"}`,
			reason: event.ReasonInvalidField, field: "customer_id", msg: `lone UTF-16 surrogate escape \ud800`},
		{name: "lone low surrogate in event_id", value: `{"event_id":"\uDC00","type":"email_sent","customer_id":"c-1","occurred_at":"2025-03-01T12:00:00Z","message_id":"m-1"}`,
			reason: event.ReasonInvalidField, field: "event_id", msg: `\udc00`},
		{name: "high surrogate followed by a non-surrogate escape", value: email(`,"campaign":"a\ud800\u0041"`), reason: event.ReasonInvalidField, field: "campaign", msg: "lone UTF-16 surrogate"},
		{name: "two high surrogates", value: email(`,"campaign":"\ud800\ud800"`), reason: event.ReasonInvalidField, field: "campaign"},
		{name: "lone surrogate in an unknown member", value: email(`,"note":{"x":["\udfff"]}`), reason: event.ReasonMalformed, msg: "lone UTF-16 surrogate"},
		{name: "lone surrogate in a member name", value: email(`,"\ud800":1`), reason: event.ReasonMalformed, msg: "lone UTF-16 surrogate"},
		{name: "lone surrogate in an unknown data member of a plain record", value: email(`,"data":{"a":"\ud800"}`), reason: event.ReasonMalformed, msg: "lone UTF-16 surrogate"},
		{name: "lone surrogate in a CloudEvents attribute", value: `{` + strings.Replace(ceHead, `"c-9"`, `"c-\ud800"`, 1) + `,"data":{` + ceData + `}}`,
			reason: event.ReasonInvalidField, field: "customer_id", msg: "lone UTF-16 surrogate"},
		{name: "lone surrogate in CloudEvents data", value: `{` + ceHead + `,"data":{"order_id":"o-\udbff",` + ceData[17:] + `}}`,
			reason: event.ReasonInvalidField, field: "order_id", msg: "lone UTF-16 surrogate"},
		{name: "lone surrogate in binary data", value: `{"ticket_id":"t-\ud800"}`, headers: bin, reason: event.ReasonInvalidField, field: "ticket_id"},
		{name: "surrogate pair is fine", value: email(`,"campaign":"smile \ud83d\ude00"`),
			want: &event.Event{ID: "e-1", Type: event.EmailSent, CustomerID: "c-1", OccurredAt: march1, MessageID: "m-1", Campaign: "smile 😀"}},
		{name: "escapes are decoded", value: email(`,"campaign":"a\/b \"c\" \u00e9"`),
			want: &event.Event{ID: "e-1", Type: event.EmailSent, CustomerID: "c-1", OccurredAt: march1, MessageID: "m-1", Campaign: `a/b "c" é`}},

		// Bytes that are not UTF-8, anywhere.
		{name: "invalid UTF-8 in campaign", value: email(`,"campaign":"c-` + "\xc3\x28" + `"`), reason: event.ReasonMalformed, msg: "not valid UTF-8"},
		{name: "invalid UTF-8 in a member name", value: email(`,"x` + "\xff" + `":1`), reason: event.ReasonMalformed, msg: "not valid UTF-8"},
		{name: "UTF-8 encoded surrogate", value: email(`,"campaign":"` + "\xed\xa0\x80" + `"`), reason: event.ReasonMalformed, msg: "not valid UTF-8"},
		{name: "overlong UTF-8", value: email(`,"campaign":"` + "\xc0\xaf" + `"`), reason: event.ReasonMalformed, msg: "not valid UTF-8"},
		{name: "invalid UTF-8 after a syntax error", value: `{"a":x"` + "\xff" + `"}`, reason: event.ReasonMalformed, msg: "not valid UTF-8"},
		{name: "invalid UTF-8 in binary data", value: `{"ticket_id":"t-` + "\xff" + `"}`, headers: bin, reason: event.ReasonMalformed, msg: "CloudEvents data (record value) is not valid UTF-8"},
	}
	runDecodeCases(t, testDecoder(t), event.DefaultMaxClockSkew, cases)
}

func TestDecodeMaxAmount(t *testing.T) {
	d := mustDecoder(t, event.Config{
		Rates:     map[string]string{"EUR": "1.08", "JPY": "0.0067"},
		Now:       func() time.Time { return testNow },
		MaxAmount: 10000, // 100.00 USD
	})
	if d.MaxAmount() != 10000 {
		t.Fatalf("MaxAmount() = %d", d.MaxAmount())
	}
	cases := []decodeCase{
		{name: "at the maximum", value: rec(map[string]any{"amount": "100.00"})},
		{name: "above the maximum", value: rec(map[string]any{"amount": "100.01"}), reason: event.ReasonInvalidField, field: "amount",
			msg: "100.01 USD is above the maximum of 100.00 USD per event"},
		{name: "minor units above the maximum", value: rec(map[string]any{"amount": nil, "amount_minor": 10001}), reason: event.ReasonInvalidField, field: "amount_minor", msg: "maximum of 100.00 USD"},
		{name: "refund above the maximum", value: rec(map[string]any{"type": "refund", "amount": "250"}), reason: event.ReasonInvalidField, field: "amount", msg: "above the maximum"},
		{name: "EUR within after conversion", value: rec(map[string]any{"amount": "92.59", "currency": "EUR"})}, // 99.9972 -> 100.00
		{name: "EUR above after conversion", value: rec(map[string]any{"amount": "92.60", "currency": "EUR"}), reason: event.ReasonInvalidField, field: "amount",
			msg: "92.60 EUR is 100.01 USD, above the maximum of 100.00 USD per event"},
		{name: "JPY far above", value: rec(map[string]any{"amount": "9000000", "currency": "JPY"}), reason: event.ReasonInvalidField, field: "amount", msg: "60300.00 USD"},
		{name: "the old overflow case is rejected per event", value: rec(map[string]any{"amount": nil, "amount_minor": int64(9e18)}), reason: event.ReasonInvalidField, field: "amount_minor", msg: "above the maximum"},
	}
	runDecodeCases(t, d, event.DefaultMaxClockSkew, cases)

	// The default leaves huge headroom: 10 billion USD per event.
	def := testDecoder(t)
	if def.MaxAmount() != event.DefaultMaxAmount || event.DefaultMaxAmount != 1_000_000_000_000 {
		t.Fatalf("default MaxAmount() = %d", def.MaxAmount())
	}
	runDecodeCases(t, def, event.DefaultMaxClockSkew, []decodeCase{
		{name: "default: 10 billion USD", value: rec(map[string]any{"amount": "10000000000.00"})},
		{name: "default: one cent more", value: rec(map[string]any{"amount": "10000000000.01"}), reason: event.ReasonInvalidField, field: "amount", msg: "maximum of 10000000000.00 USD"},
		{name: "default: int64 max", value: rec(map[string]any{"amount": nil, "amount_minor": int64(math.MaxInt64)}), reason: event.ReasonInvalidField, field: "amount_minor", msg: "above the maximum"},
	})
	// Sums of events at the maximum stay far from int64 overflow.
	if n := math.MaxInt64 / event.DefaultMaxAmount; n < 9_000_000 {
		t.Errorf("only %d events at the default maximum fit in an int64", n)
	}
}

// TestDecodeAllocs guards the allocation budget of the hot path: one
// allocation per event (the Event's strings), whatever the mode.
func TestDecodeAllocs(t *testing.T) {
	d := testDecoder(t)
	for _, mode := range []string{"plain", "structured", "binary"} {
		recs := benchMix(64, mode)
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			r := &recs[i%len(recs)]
			if _, err := d.Decode(r.value, r.headers); err != nil {
				t.Fatal(err)
			}
			i++
		})
		if allocs > 1 {
			t.Errorf("%s: %.1f allocations per event, want at most 1", mode, allocs)
		}
	}
}

// Nesting inside unknown members is checked without recursion, up to
// encoding/json's depth limit.
func TestDecodeDeepNesting(t *testing.T) {
	d := testDecoder(t)
	nested := func(n int) string {
		return `{"event_id":"e-1","type":"customer_erased","customer_id":"c-1","occurred_at":"2025-03-01T12:00:00Z","ext":` +
			strings.Repeat(`[{"a":`, n) + "1" + strings.Repeat("}]", n) + `}`
	}
	runDecodeCases(t, d, event.DefaultMaxClockSkew, []decodeCase{
		{name: "9,998 levels", value: nested(4999)},
		{name: "10,001 levels", value: nested(5000), reason: event.ReasonMalformed, msg: "exceeded max depth"},
		{name: "unclosed", value: `{"ext":` + strings.Repeat("[", 100), reason: event.ReasonMalformed, msg: "unexpected end of JSON input"},
		{name: "mismatched", value: `{"ext":[{"a":1]}`, reason: event.ReasonMalformed, msg: "after object key:value pair"},
	})
}
