package event

import (
	"bytes"
	"time"
)

// The subscription and acquisition event types.
const (
	// SubscriptionStarted starts a subscription (a contract renewed per
	// period). Carries subscription_id, plan, period and price.
	SubscriptionStarted Type = "subscription_started"
	// SubscriptionRenewed is a renewal at the end of a period (the payment
	// for the next one). Carries subscription_id; plan, period and price
	// when they changed.
	SubscriptionRenewed Type = "subscription_renewed"
	// SubscriptionCancelled cancels a subscription: it is not renewed at
	// the end of the paid period. Carries subscription_id.
	SubscriptionCancelled Type = "subscription_cancelled"
	// CustomerAcquired records how a customer was acquired: channel,
	// optional campaign, referrer and acquisition cost.
	CustomerAcquired Type = "customer_acquired"
)

// isSubscription reports whether t is one of the subscription_* types.
func (t Type) isSubscription() bool {
	return t == SubscriptionStarted || t == SubscriptionRenewed || t == SubscriptionCancelled
}

// Limits of the subscription and acquisition fields.
const (
	// MaxPlanBytes is the maximum length of a subscription plan name.
	MaxPlanBytes = 64
	// MaxChannelBytes is the maximum length of an acquisition channel.
	MaxChannelBytes = 64
)

// Period is the length of a subscription's contract period.
type Period string

// The contract periods.
const (
	PeriodDay     Period = "day"
	PeriodWeek    Period = "week"
	PeriodMonth   Period = "month"
	PeriodQuarter Period = "quarter"
	PeriodYear    Period = "year"
)

// Periods lists the periods in a stable order.
var Periods = []Period{PeriodDay, PeriodWeek, PeriodMonth, PeriodQuarter, PeriodYear}

// Duration is the nominal length of the period: 1, 7, 30.436875 (a mean
// Gregorian month), 91.310625 or 365.2425 days; 0 for an unknown period.
func (p Period) Duration() time.Duration {
	const day = 24 * time.Hour
	switch p {
	case PeriodDay:
		return day
	case PeriodWeek:
		return 7 * day
	case PeriodMonth:
		return time.Duration(30.436875 * float64(day))
	case PeriodQuarter:
		return time.Duration(91.310625 * float64(day))
	case PeriodYear:
		return time.Duration(365.2425 * float64(day))
	}
	return 0
}

// Subscription holds the fields of a subscription_* event. Price is in
// base-currency minor units per period, only meaningful when HasPrice.
type Subscription struct {
	ID       string // subscription_id
	Plan     string // plan, "" when not given
	Period   Period // period, "" when not given
	Price    int64
	HasPrice bool
}

// Acquisition holds the fields of a customer_acquired event. Cost is the
// acquisition cost in base-currency minor units, only meaningful when
// HasCost.
type Acquisition struct {
	Channel    string // channel
	ReferrerID string // referrer_id: the referring customer, "" when none
	Cost       int64
	HasCost    bool
}

// stringMember returns a string member's bytes, or an invalid_field error
// naming it when it has another JSON kind. Absent and null give nil.
func stringMember(w *wire, m member) ([]byte, *Error) {
	v := w.v[m]
	if !v.given() {
		return nil, nil
	}
	if v.kind != jString {
		return nil, Errorf(ReasonInvalidField, memberNames[m], "must be a string, got %s", v.kind.article())
	}
	return v.b, nil
}

// subscription validates and fills the subscription_* fields: a required
// subscription_id; plan, period and price required on
// subscription_started, optional on subscription_renewed, not allowed on
// subscription_cancelled.
func (d *Decoder) subscription(w *wire, ev *Event, _ []byte) *Error {
	t := ev.Type
	id, err := stringMember(w, mSubscriptionID)
	if err != nil {
		return err
	}
	if err := requireID(id, "subscription_id", "the subscription's id", t); err != nil {
		return err
	}
	sub := Subscription{ID: string(id)}
	if t == SubscriptionCancelled {
		for _, m := range [...]member{mPlan, mPeriod, mPrice, mPriceMinor} {
			if w.v[m].given() {
				return Errorf(ReasonInvalidField, memberNames[m], "not allowed on %s (a cancellation changes no plan or price; send it on the renewal)", t)
			}
		}
		ev.Subscription = sub
		return nil
	}
	plan, err := stringMember(w, mPlan)
	if err != nil {
		return err
	}
	switch {
	case len(plan) > 0:
		if err := checkText("plan", plan, MaxPlanBytes); err != nil {
			return err
		}
		sub.Plan = string(plan)
	case t == SubscriptionStarted:
		return Errorf(ReasonMissingField, "plan", "required on %s: the plan's name (string, 1-%d bytes)", t, MaxPlanBytes)
	}
	period, err := stringMember(w, mPeriod)
	if err != nil {
		return err
	}
	switch {
	case len(period) > 0:
		p := Period(period)
		if p.Duration() == 0 {
			return Errorf(ReasonInvalidField, "period", `%q is not a period; use one of "day", "week", "month", "quarter", "year"`, clip(string(period)))
		}
		sub.Period = p
	case t == SubscriptionStarted:
		return Errorf(ReasonMissingField, "period", `required on %s: the contract period, one of "day", "week", "month", "quarter", "year"`, t)
	}
	price, has, err := d.moneyMember(w, mPrice, mPriceMinor, ev)
	if err != nil {
		return err
	}
	if !has && t == SubscriptionStarted {
		return Errorf(ReasonMissingField, "price", `required on %s: the price per period, as "price" (decimal string like "9.99") or "price_minor" (integer minor units like 999), with "currency"`, t)
	}
	sub.Price, sub.HasPrice = price, has
	ev.Subscription = sub
	return nil
}

// acquisition validates and fills the customer_acquired fields: a required
// channel, an optional referrer_id (another customer) and an optional
// acquisition cost.
func (d *Decoder) acquisition(w *wire, ev *Event, customer []byte) *Error {
	ch, err := stringMember(w, mChannel)
	if err != nil {
		return err
	}
	if len(ch) == 0 {
		return Errorf(ReasonMissingField, "channel", `required on %s: the acquisition channel, like "paid_search" or "referral" (string, 1-%d bytes)`, ev.Type, MaxChannelBytes)
	}
	if err := checkText("channel", ch, MaxChannelBytes); err != nil {
		return err
	}
	acq := Acquisition{Channel: string(ch)}
	ref, err := stringMember(w, mReferrerID)
	if err != nil {
		return err
	}
	if len(ref) > 0 {
		if err := checkText("referrer_id", ref, MaxIDBytes); err != nil {
			return err
		}
		if bytes.Equal(ref, customer) {
			return Errorf(ReasonInvalidField, "referrer_id", "is the customer's own id; a customer cannot refer themselves (omit referrer_id)")
		}
		acq.ReferrerID = string(ref)
	}
	cost, has, err := d.moneyMember(w, mAcquisitionCost, mAcquisitionCostMinor, ev)
	if err != nil {
		return err
	}
	acq.Cost, acq.HasCost = cost, has
	ev.Acquisition = acq
	return nil
}

// moneyMember reads an optional money value given as the decimal string
// member dec or the integer minor-unit member minor, with the record's
// currency, under the same rules as a purchase amount (see the package
// doc): never a JSON number for the decimal form, not both forms, a known
// currency with a rate, not negative, at most the per-event maximum after
// conversion. It returns the value in base-currency minor units and sets
// ev.Currency.
func (d *Decoder) moneyMember(w *wire, dec, minor member, ev *Event) (int64, bool, *Error) {
	name := memberNames[dec]
	dv, mv := w.v[dec], w.v[minor]
	if mv.given() {
		if mv.kind != jNumber {
			return 0, false, Errorf(ReasonInvalidField, memberNames[minor], "must be an integer number of minor units (like 999 for 9.99 USD), got %s", mv.kind.article())
		}
		if _, ok := parseInt(mv.b); !ok {
			return 0, false, Errorf(ReasonInvalidField, memberNames[minor], "must be an integer number of minor units (like 999 for 9.99 USD) that fits in 64 bits, got %s", clip(string(mv.b)))
		}
	}
	has, err := checkMoneyPresence(dv, mv, name)
	if err != nil || !has {
		return 0, false, err
	}
	cur := w.v[mCurrency].b
	if len(cur) == 0 {
		return 0, false, Errorf(ReasonMissingField, "currency", `required with %s: an ISO 4217 code like "USD"`, name)
	}
	if !isCurrencyCode(cur) {
		return 0, false, Errorf(ReasonInvalidField, "currency", `%q is not an ISO 4217 code: use three upper-case letters like "USD"`, clip(string(cur)))
	}
	conv, ok := d.conv[string(cur)]
	if !ok {
		if _, known := currencyExponents[string(cur)]; !known {
			return 0, false, Errorf(ReasonUnknownCurrency, "currency", "%q is not a known ISO 4217 currency code", cur)
		}
		return 0, false, Errorf(ReasonUnknownCurrency, "currency", "no exchange rate from %s to the base currency %s is configured", cur, d.base)
	}
	field := moneyField(name, mv)
	v, err := moneyValue(dv, mv, name, conv.code, conv.exp)
	if err != nil {
		return 0, false, err
	}
	if v < 0 {
		return 0, false, Errorf(ReasonInvalidField, field, "must not be negative, got %s %s", FormatMinor(v, conv.exp), conv.code)
	}
	base, cerr := d.convert(v, &conv)
	if cerr != nil {
		cerr.Field = field
		return 0, false, cerr
	}
	if err := d.checkMax(field, v, base, &conv); err != nil {
		return 0, false, err
	}
	ev.Currency = conv.code
	return base, true, nil
}
