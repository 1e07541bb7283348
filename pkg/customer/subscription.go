package customer

import (
	"math"
	"slices"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// This file holds the subscription and acquisition facts of a customer
// (docs/state.md, "Subscriptions" and "Acquisition"). Like the rest of the
// state they are order-independent sufficient statistics: per subscription
// the earliest start, the latest start or renewal, the latest cancellation
// and the latest value of each term (plan, period, price), each a max or min
// over the events, so any permutation of the same events gives the same
// state and a repeated event changes nothing.

// MaxSubscriptions is the number of most recent subscriptions kept per
// customer.
const MaxSubscriptions = 16

// RenewalGrace is how long after the end of a paid period a subscription
// without a renewal or cancellation still counts as active (a late renewal
// event, a payment retry). At most one period.
const RenewalGrace = 3 * 24 * time.Hour

// Subscription statuses (SubscriptionStatus, the subscription segment-rule
// field).
const (
	// SubNone: no subscription known.
	SubNone = "none"
	// SubActive: a subscription is running (its paid period, or the grace
	// after it, has not ended) and is not cancelled.
	SubActive = "active"
	// SubCancelling: cancelled, but the paid period has not ended yet.
	SubCancelling = "cancelling"
	// SubCancelled: every subscription has ended, cancelled or not renewed
	// within RenewalGrace after its paid period.
	SubCancelled = "cancelled"
)

// Subscription is one subscription of the customer (hash of its id).
// Times are Unix ms; a zero time is "not seen" only together with the flag
// that says so.
type Subscription struct {
	ID uint64
	// HasStart: a subscription_started was applied; First is then the
	// earliest start, else the earliest renewal. Active is the latest start
	// or renewal. HasActivity is false while only a cancellation is known.
	HasStart, HasActivity bool
	First, Active         int64
	// Cancelled is the latest cancellation (HasCancel).
	HasCancel bool
	Cancelled int64
	// The terms, each the value of the latest event carrying it (ties: the
	// larger value), with that event's time.
	Plan           string
	PlanAt         int64
	Period         event.Period
	PeriodAt       int64
	HasPrice       bool
	Price, PriceAt int64
}

// Acquisition is how the customer was acquired: the earliest
// customer_acquired event (ties broken by channel, campaign, referrer,
// cost). Referrer is the hash of the referring customer's id (0: none);
// Cost the acquisition cost in minor units (HasCost).
type Acquisition struct {
	Set      bool
	At       int64
	Channel  string
	Campaign string
	Referrer uint64
	HasCost  bool
	Cost     int64
}

// PeriodOf is the period's length in ms; a subscription whose period is
// not known yet (only renewals or a cancellation seen) counts in months.
func periodMs(p event.Period) int64 {
	d := p.Duration()
	if d == 0 {
		d = event.PeriodMonth.Duration()
	}
	return d.Milliseconds()
}

// PeriodMs is the length of the subscription's period in ms (a month while
// the period is unknown).
func (v *Subscription) PeriodMs() int64 { return periodMs(v.Period) }

// Renewals is the number of renewals made: the whole periods from the first
// start to the latest start or renewal, rounded, so a missing or repeated
// renewal event does not change it (plus one when no start is known, the
// earliest renewal being itself one).
func (v *Subscription) Renewals() int {
	if !v.HasActivity {
		return 0
	}
	n := int(math.Round(float64(v.Active-v.First) / float64(v.PeriodMs())))
	if !v.HasStart {
		n++
	}
	return n
}

// PaidThrough is the end of the paid period (Unix ms): the latest start or
// renewal plus one period.
func (v *Subscription) PaidThrough() int64 { return v.Active + v.PeriodMs() }

// grace is RenewalGrace, at most one period, in ms.
func (v *Subscription) grace() int64 { return min(RenewalGrace.Milliseconds(), v.PeriodMs()) }

// Status is the subscription's status as of now (Unix ms): SubNone before
// its first start or renewal, then SubActive, SubCancelling or
// SubCancelled. A cancellation counts when it is not older than the latest
// start or renewal (a later renewal reactivates).
func (v *Subscription) Status(now int64) string {
	if !v.HasActivity {
		if v.HasCancel && v.Cancelled <= now {
			return SubCancelled
		}
		return SubNone
	}
	if v.First > now {
		return SubNone
	}
	end := v.PaidThrough()
	if v.HasCancel && v.Cancelled >= v.Active && v.Cancelled <= now {
		if now < end {
			return SubCancelling
		}
		return SubCancelled
	}
	if now < end+v.grace() {
		return SubActive
	}
	return SubCancelled
}

// Edges returns the instants after which the status can change without a
// new event: the end of the paid period and the end of the grace after it.
func (v *Subscription) Edges() [2]int64 {
	end := v.PaidThrough()
	return [2]int64{end, end + v.grace()}
}

// key orders subscriptions: the latest known time.
func (v *Subscription) key() int64 {
	k := v.Active
	if v.HasCancel && (!v.HasActivity || v.Cancelled > k) {
		k = v.Cancelled
	}
	return k
}

// later reports whether (at, value) replaces the kept term (keptAt,
// kept): a later time, or the same time and a larger value.
func later[T int64 | string | event.Period](has bool, keptAt int64, kept T, at int64, value T) bool {
	return !has || at > keptAt || (at == keptAt && value > kept)
}

// addSubscription applies a subscription_* event; false when it added no
// fact.
func (s *State) addSubscription(e event.Event, at int64) bool {
	id := HashID(e.Subscription.ID)
	i := slices.IndexFunc(s.Subscriptions, func(v Subscription) bool { return v.ID == id })
	if i < 0 {
		s.Subscriptions = append(s.Subscriptions, Subscription{ID: id})
		i = len(s.Subscriptions) - 1
	}
	v := s.Subscriptions[i]
	old := v
	switch e.Type {
	case event.SubscriptionStarted, event.SubscriptionRenewed:
		// First is the earliest start, or while no start is known the
		// earliest renewal; Active the latest of both. Both are a min or
		// max over the events, whatever their order.
		start := e.Type == event.SubscriptionStarted
		switch {
		case start && !v.HasStart:
			v.First, v.HasStart = at, true
		case !v.HasActivity, (start || !v.HasStart) && at < v.First:
			v.First = at
		}
		if !v.HasActivity || at > v.Active {
			v.Active = at
		}
		v.HasActivity = true
		sub := e.Subscription
		if sub.Plan != "" && later(v.Plan != "", v.PlanAt, v.Plan, at, sub.Plan) {
			v.Plan, v.PlanAt = sub.Plan, at
		}
		if sub.Period != "" && later(v.Period != "", v.PeriodAt, v.Period, at, sub.Period) {
			v.Period, v.PeriodAt = sub.Period, at
		}
		if sub.HasPrice && later(v.HasPrice, v.PriceAt, v.Price, at, sub.Price) {
			v.Price, v.PriceAt, v.HasPrice = sub.Price, at, true
		}
	case event.SubscriptionCancelled:
		if !v.HasCancel || at > v.Cancelled {
			v.Cancelled, v.HasCancel = at, true
		}
	}
	if v == old {
		if old == (Subscription{ID: id}) {
			s.Subscriptions = append(s.Subscriptions[:i], s.Subscriptions[i+1:]...)
		}
		return false
	}
	s.Subscriptions[i] = v
	s.sortSubscriptions()
	trim(&s.Subscriptions, MaxSubscriptions)
	return true
}

// sortSubscriptions sorts by (latest known time, id).
func (s *State) sortSubscriptions() {
	slices.SortFunc(s.Subscriptions, func(a, b Subscription) int {
		if c := cmpInt(a.key(), b.key()); c != 0 {
			return c
		}
		return cmpUint(a.ID, b.ID)
	})
}

// before reports whether the acquisition v wins over the kept one x: the
// earliest, then by channel, campaign, referrer and cost.
func (v *Acquisition) before(x *Acquisition) bool {
	switch {
	case !x.Set:
		return true
	case v.At != x.At:
		return v.At < x.At
	case v.Channel != x.Channel:
		return v.Channel < x.Channel
	case v.Campaign != x.Campaign:
		return v.Campaign < x.Campaign
	case v.Referrer != x.Referrer:
		return v.Referrer < x.Referrer
	case v.HasCost != x.HasCost:
		return v.HasCost
	}
	return v.Cost < x.Cost
}

// addAcquisition applies a customer_acquired event; false when the kept
// acquisition wins.
func (s *State) addAcquisition(e event.Event, at int64) bool {
	a := e.Acquisition
	v := Acquisition{Set: true, At: at, Channel: a.Channel, Campaign: e.Campaign, HasCost: a.HasCost, Cost: a.Cost}
	if !v.HasCost {
		v.Cost = 0
	}
	if a.ReferrerID != "" {
		v.Referrer = HashID(a.ReferrerID)
	}
	if !v.before(&s.Acquisition) {
		return false
	}
	s.Acquisition = v
	return true
}

// SubscriptionFeatures are the subscription figures of a customer as of an
// instant.
type SubscriptionFeatures struct {
	// Status is SubNone, SubActive, SubCancelling or SubCancelled: active
	// if any subscription is, else cancelling if any is, else cancelled if
	// any subscription is known.
	Status string
	// Active counts the active and cancelling subscriptions.
	Active int
	// Primary is the index in State.Subscriptions of the subscription that
	// decides renewal and churn: among the active ones (else the
	// cancelling ones, else all) the one with the latest start or renewal,
	// then the highest id; -1 without subscriptions.
	Primary int
	// MonthlyRevenue is the price of the active (not cancelling)
	// subscriptions per mean month, in minor units (MRR).
	MonthlyRevenue float64
	// Revenue is the subscription revenue to date: per subscription its
	// latest price times the periods paid (renewals + 1), minor units.
	Revenue float64
}

// Subscriptions derives the subscription figures as of now.
func (s *State) SubscriptionFeatures(now time.Time) SubscriptionFeatures {
	f := SubscriptionFeatures{Status: SubNone, Primary: -1}
	ms := now.UnixMilli()
	rank := func(st string) int {
		switch st {
		case SubActive:
			return 3
		case SubCancelling:
			return 2
		case SubCancelled:
			return 1
		}
		return 0
	}
	best := 0
	for i := range s.Subscriptions {
		v := &s.Subscriptions[i]
		st := v.Status(ms)
		r := rank(st)
		if r == 0 {
			continue
		}
		if r >= 2 {
			f.Active++
		}
		if r == 3 && v.HasPrice {
			f.MonthlyRevenue += float64(v.Price) * float64(event.PeriodMonth.Duration().Milliseconds()) / float64(v.PeriodMs())
		}
		if v.HasPrice && v.HasActivity && v.First <= ms {
			f.Revenue += float64(v.Price) * float64(v.Renewals()+1)
		}
		if r > best || (r == best && f.Primary >= 0 && subAfter(v, &s.Subscriptions[f.Primary])) {
			best, f.Primary = r, i
		}
	}
	switch best {
	case 3:
		f.Status = SubActive
	case 2:
		f.Status = SubCancelling
	case 1:
		f.Status = SubCancelled
	}
	return f
}

func subAfter(a, b *Subscription) bool {
	if a.Active != b.Active {
		return a.Active > b.Active
	}
	return a.ID > b.ID
}
