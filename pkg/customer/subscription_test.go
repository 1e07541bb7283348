package customer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

func subEvent(typ event.Type, id string, at time.Time, sub event.Subscription) event.Event {
	sub.ID = id
	return event.Event{ID: fmt.Sprint(typ, id, at.UnixMilli()), Type: typ, CustomerID: "c1", OccurredAt: at, Subscription: sub}
}

// randomSubEvents mixes subscription, acquisition and purchase events of
// one customer with colliding ids, times and terms.
func randomSubEvents(r *rand.Rand, n int) []event.Event {
	evs := make([]event.Event, 0, n)
	for i := 0; i < n; i++ {
		at := t0.Add(time.Duration(r.IntN(400)) * 24 * time.Hour).Add(time.Duration(r.IntN(3)) * time.Hour)
		id := fmt.Sprint("s", r.IntN(4))
		var e event.Event
		switch r.IntN(6) {
		case 0:
			e = subEvent(event.SubscriptionStarted, id, at, event.Subscription{Plan: []string{"basic", "pro"}[r.IntN(2)],
				Period: event.Periods[r.IntN(len(event.Periods))], Price: int64(100 * r.IntN(30)), HasPrice: true})
		case 1, 2:
			sub := event.Subscription{}
			if r.IntN(3) == 0 {
				sub.Price, sub.HasPrice = int64(100*r.IntN(30)), true
			}
			if r.IntN(4) == 0 {
				sub.Plan = "pro-plus"
			}
			e = subEvent(event.SubscriptionRenewed, id, at, sub)
		case 3:
			e = subEvent(event.SubscriptionCancelled, id, at, event.Subscription{})
		case 4:
			e = event.Event{ID: fmt.Sprint("a", i), Type: event.CustomerAcquired, CustomerID: "c1", OccurredAt: at, Campaign: []string{"", "spring"}[r.IntN(2)],
				Acquisition: event.Acquisition{Channel: []string{"paid_search", "referral"}[r.IntN(2)], Cost: int64(r.IntN(3) * 1000), HasCost: r.IntN(2) == 0}}
			if e.Acquisition.Channel == "referral" {
				e.Acquisition.ReferrerID = fmt.Sprint("c", 2+r.IntN(3))
			}
		default:
			e = event.Event{ID: fmt.Sprint("p", i), Type: event.Purchase, CustomerID: "c1", OccurredAt: at, OrderID: fmt.Sprint("o", r.IntN(n)), Amount: 500}
		}
		if i > 0 && r.IntN(6) == 0 {
			e = evs[r.IntN(len(evs))] // redelivery
		}
		evs = append(evs, e)
	}
	return evs
}

// TestSubscriptionOrderIndependentAndIdempotent: any permutation of the
// same subscription and acquisition events, with any duplicates, gives a
// byte-identical state; it round-trips through the codec; the sets stay
// bounded.
func TestSubscriptionOrderIndependentAndIdempotent(t *testing.T) {
	for seed := uint64(0); seed < 400; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		evs := randomSubEvents(r, 3+r.IntN(40))
		st := build(evs)
		want := stateJSON(t, st)
		if len(st.Subscriptions) > MaxSubscriptions {
			t.Fatalf("seed %d: %d subscriptions", seed, len(st.Subscriptions))
		}
		for k := 0; k < 4; k++ {
			perm := slices.Clone(evs)
			r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			perm = append(perm, perm[:r.IntN(len(perm))]...)
			if got := stateJSON(t, build(perm)); got != want {
				t.Fatalf("seed %d: permutation changed the state\n%+v\n%+v", seed, st.Subscriptions, build(perm).Subscriptions)
			}
		}
		for _, e := range evs {
			if o := st.Apply(e, 0.3); o != Duplicate && o != Applied {
				t.Fatalf("seed %d: re-applying %s: %v", seed, e.Type, o)
			} else if o == Applied && (e.Type != event.Purchase) {
				t.Fatalf("seed %d: re-applying %s changed the state", seed, e.Type)
			}
		}
	}
}

// TestSubscriptionLifecycle: a monthly subscription counts renewals from
// its start and latest renewal, is cancelling from the cancellation to the
// end of the paid period, then cancelled; one without renewal lapses after
// the grace; a renewal after the cancellation reactivates it.
func TestSubscriptionLifecycle(t *testing.T) {
	month := event.PeriodMonth.Duration()
	s := State{ID: "c1"}
	start := t0
	s.Apply(subEvent(event.SubscriptionStarted, "s1", start, event.Subscription{Plan: "pro", Period: event.PeriodMonth, Price: 1990, HasPrice: true}), 0.3)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	check := func(now time.Time, status string, renewals int) {
		t.Helper()
		f := s.SubscriptionFeatures(now)
		if f.Status != status || (f.Primary >= 0 && s.Subscriptions[f.Primary].Renewals() != renewals) {
			t.Fatalf("as of %s: %+v renewals %d, want %s and %d renewals", now, f, s.Subscriptions[0].Renewals(), status, renewals)
		}
	}
	check(at(-time.Hour), SubNone, 0)
	check(at(10*24*time.Hour), SubActive, 0)
	// Renewals 1 and 3 arrive (2 is lost), a little late: 3 renewals.
	s.Apply(subEvent(event.SubscriptionRenewed, "s1", at(month+time.Hour), event.Subscription{}), 0.3)
	s.Apply(subEvent(event.SubscriptionRenewed, "s1", at(3*month+2*time.Hour), event.Subscription{Price: 2490, HasPrice: true}), 0.3)
	check(at(3*month+5*24*time.Hour), SubActive, 3)
	f := s.SubscriptionFeatures(at(3*month + 5*24*time.Hour))
	if f.MonthlyRevenue != 2490 || f.Revenue != 4*2490 {
		t.Errorf("MRR %v revenue %v, want 2490 and 4×2490", f.MonthlyRevenue, f.Revenue)
	}
	// No renewal: active through the paid period and the grace, then gone.
	check(at(4*month+2*time.Hour+RenewalGrace-time.Minute), SubActive, 3)
	check(at(4*month+2*time.Hour+RenewalGrace), SubCancelled, 3)
	// A cancellation in period 4: cancelling until its end.
	s.Apply(subEvent(event.SubscriptionCancelled, "s1", at(3*month+10*24*time.Hour), event.Subscription{}), 0.3)
	check(at(3*month+11*24*time.Hour), SubCancelling, 3)
	check(at(4*month+2*time.Hour), SubCancelled, 3)
	if e := s.Subscriptions[0].Edges(); e[0] != at(4*month+2*time.Hour).UnixMilli() {
		t.Errorf("edges %v", e)
	}
	// A renewal after the cancellation reactivates.
	s.Apply(subEvent(event.SubscriptionRenewed, "s1", at(5*month), event.Subscription{}), 0.3)
	check(at(5*month+time.Hour), SubActive, 5)
	// A second, cancelled subscription does not hide the active one.
	s.Apply(subEvent(event.SubscriptionCancelled, "s2", at(5*month), event.Subscription{}), 0.3)
	check(at(5*month+time.Hour), SubActive, 5)
	if got := s.LatestAt(); got != at(5*month).UnixMilli() {
		t.Errorf("LatestAt %d, want the latest subscription event", got)
	}
	// Erasure drops everything.
	s.Apply(event.Event{ID: "x", Type: event.CustomerErased, CustomerID: "c1", OccurredAt: at(6 * month)}, 0.3)
	if len(s.Subscriptions) != 0 || s.SubscriptionFeatures(at(7*month)).Status != SubNone {
		t.Errorf("erased state keeps subscriptions: %+v", s.Subscriptions)
	}
}

// TestAcquisitionEarliestWins: the earliest customer_acquired is the fact,
// whatever the order; a later one is a duplicate.
func TestAcquisitionEarliestWins(t *testing.T) {
	a := event.Event{ID: "a1", Type: event.CustomerAcquired, CustomerID: "c1", OccurredAt: t0, Campaign: "spring",
		Acquisition: event.Acquisition{Channel: "referral", ReferrerID: "c9", Cost: 500, HasCost: true}}
	b := a
	b.ID, b.OccurredAt, b.Acquisition = "a2", t0.Add(time.Hour), event.Acquisition{Channel: "paid_search"}
	for _, order := range [][]event.Event{{a, b}, {b, a}} {
		s := build(order)
		want := Acquisition{Set: true, At: t0.UnixMilli(), Channel: "referral", Campaign: "spring", Referrer: HashID("c9"), Cost: 500, HasCost: true}
		if s.Acquisition != want {
			t.Fatalf("acquisition %+v, want %+v", s.Acquisition, want)
		}
	}
	s := build([]event.Event{a})
	if s.Apply(b, 0.3) != Duplicate {
		t.Error("a later acquisition was applied")
	}
}

// TestSectionsCodec: sections round-trip, a state without them has no
// flag, and malformed sections are ErrMalformed, never a panic.
func TestSectionsCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	st := build(randomSubEvents(r, 40))
	if len(st.Subscriptions) == 0 || !st.Acquisition.Set {
		t.Fatal("test state has no sections")
	}
	b, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	plain := State{ID: "c1"}
	pb, _ := plain.MarshalBinary()
	if pb[1]&flagSections != 0 {
		t.Error("a state without subscriptions sets the sections flag")
	}
	// Every truncation and every single-byte change decodes to an error
	// or to a state that re-encodes.
	for i := 1; i < len(b); i++ {
		var s State
		if err := s.UnmarshalBinary(b[:i]); err == nil {
			if _, err := s.MarshalBinary(); err != nil {
				t.Fatalf("truncated at %d: decodes but does not encode: %v", i, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
		c := slices.Clone(b)
		c[i] ^= 0x5a
		if err := s.UnmarshalBinary(c); err == nil {
			if _, err := s.MarshalBinary(); err != nil {
				t.Fatalf("byte %d changed: decodes but does not encode: %v", i, err)
			}
		}
	}
	// An unknown section tag (a newer release) is refused, not skipped.
	bad := append(slices.Clone(b), 9, 0)
	var s State
	if err := s.UnmarshalBinary(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown section: %v", err)
	}
}

// TestSectionBytes reports the encoded size of typical subscription and
// acquisition facts (docs/state.md, README).
func TestSectionBytes(t *testing.T) {
	s := State{ID: "cust-000123"}
	b0, _ := s.MarshalBinary()
	s.Apply(event.Event{ID: "a", Type: event.CustomerAcquired, CustomerID: s.ID, OccurredAt: t0, Campaign: "spring-sale",
		Acquisition: event.Acquisition{Channel: "paid_search", Cost: 3500, HasCost: true}}, 0.3)
	b1, _ := s.MarshalBinary()
	s.Apply(subEvent(event.SubscriptionStarted, "sub-1", t0, event.Subscription{Plan: "pro", Period: event.PeriodMonth, Price: 1990, HasPrice: true}), 0.3)
	s.Apply(subEvent(event.SubscriptionRenewed, "sub-1", t0.Add(event.PeriodMonth.Duration()), event.Subscription{}), 0.3)
	b2, _ := s.MarshalBinary()
	s.Apply(subEvent(event.SubscriptionCancelled, "sub-1", t0.Add(40*24*time.Hour), event.Subscription{}), 0.3)
	b3, _ := s.MarshalBinary()
	t.Logf("empty state %d B; + acquisition (channel, campaign, cost) %d B; + one subscription (plan, period, price, renewed) %d B; + cancelled %d B",
		len(b0), len(b1)-len(b0), len(b2)-len(b1), len(b3)-len(b2))
	if len(b3)-len(b0) > 80 {
		t.Errorf("acquisition and one subscription take %d B, budget 80 B", len(b3)-len(b0))
	}
}

// TestSectionBytesOfTheMix reports the mean encoded state of the benchmark
// mix before and after every customer gets an acquisition (channel,
// campaign, cost; a referrer for one in five) and one in five a monthly
// subscription renewed a few times (a tenth of those cancelled).
func TestSectionBytesOfTheMix(t *testing.T) {
	sts := mixStates(5000, 5)
	r := rand.New(rand.NewPCG(5, 5))
	var before, after int
	for i := range sts {
		s := &sts[i]
		b, _ := s.MarshalBinary()
		before += len(b)
		acq := event.Acquisition{Channel: []string{"organic", "paid_search", "social", "referral"}[i%4]}
		if acq.Channel == "referral" {
			acq.ReferrerID = fmt.Sprint("cust-", r.IntN(100000))
		} else if acq.Channel != "organic" {
			acq.Cost, acq.HasCost = int64(1000+r.IntN(5000)), true
		}
		s.Apply(event.Event{ID: "a", Type: event.CustomerAcquired, CustomerID: s.ID, OccurredAt: t0, Campaign: "spring-sale", Acquisition: acq}, 0.3)
		if i%5 == 0 {
			sid := fmt.Sprint("sub-", i)
			s.Apply(subEvent(event.SubscriptionStarted, sid, t0, event.Subscription{Plan: "basic", Period: event.PeriodMonth, Price: 999, HasPrice: true}), 0.3)
			for k := 1; k <= 1+r.IntN(12); k++ {
				s.Apply(subEvent(event.SubscriptionRenewed, sid, t0.Add(time.Duration(k)*event.PeriodMonth.Duration()), event.Subscription{}), 0.3)
			}
			if r.IntN(10) == 0 {
				s.Apply(subEvent(event.SubscriptionCancelled, sid, t0.Add(400*24*time.Hour), event.Subscription{}), 0.3)
			}
		}
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		after += len(b)
	}
	n := float64(len(sts))
	t.Logf("benchmark mix, %d customers: mean %.1f B before, %.1f B with acquisition for all and a subscription for one in five (+%.1f B)",
		len(sts), float64(before)/n, float64(after)/n, float64(after-before)/n)
}
