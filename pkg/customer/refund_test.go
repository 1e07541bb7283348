package customer

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

func refund(id, order string, day int, cents int64) event.Event {
	return event.Event{ID: "ev-" + id, Type: event.Refund, CustomerID: "c1", OrderID: order, RefundID: id,
		OccurredAt: t0.AddDate(0, 0, day).Add(20 * time.Hour), Amount: cents, Currency: "USD"}
}

func net(s *State) (netV, margin int64) {
	f := s.Derive(t0.AddDate(1, 0, 0), 0)
	return f.Net, f.Margin
}

func TestRefundCountsAgainstItsOrderOnly(t *testing.T) {
	var s State
	s.Apply(purchase("o1", 0, 9, 10000), 0.3)
	s.Apply(purchase("o2", 1, 9, 5000), 0.3)
	if r := s.ApplyEvent(refund("r1", "o1", 2, 2500), 0.3); r.Outcome != Applied || r.Refund != RefundCounted {
		t.Fatalf("refund of a known order: %+v, want applied/counted", r)
	}
	if n, m := net(&s); n != 12500 || m != 4500-750 {
		t.Fatalf("net %d margin %d, want 12500, 3750", n, m)
	}
	// An over-refund of o2 takes o2 to zero and no further: o1 is untouched.
	if r := s.ApplyEvent(refund("r2", "o2", 2, 100000), 0.3); r.Refund != RefundCapped {
		t.Fatalf("over-refund: %+v, want capped", r)
	}
	if n, m := net(&s); n != 7500 || m != 3000-750 {
		t.Fatalf("after over-refund: net %d margin %d, want 7500 (o1 minus r1), 2250", n, m)
	}
	// A further refund of the capped order changes nothing.
	s.Apply(refund("r3", "o2", 3, 1), 0.3)
	if n, _ := net(&s); n != 7500 {
		t.Fatalf("net %d after refunding a fully refunded order, want 7500", n)
	}
	if f := s.Derive(t0.AddDate(1, 0, 0), 0); f.Refunded != 2500+5000 || f.Gross != 15000 {
		t.Fatalf("refunded %d gross %d, want 7500, 15000", f.Refunded, f.Gross)
	}
}

func TestRefundBeforeItsOrderIsPendingThenCounted(t *testing.T) {
	var s State
	if r := s.ApplyEvent(refund("r1", "o1", 0, 2500), 0.3); r.Outcome != Applied || r.Refund != RefundPending {
		t.Fatalf("refund of an unknown order: %+v, want applied/pending", r)
	}
	if s.PendingRefunds() != 1 {
		t.Fatalf("pending = %d, want 1", s.PendingRefunds())
	}
	if n, _ := net(&s); n != 0 {
		t.Fatalf("net %d with no purchase, want 0 (a pending refund never goes negative)", n)
	}
	r := s.ApplyEvent(purchase("o1", 0, 9, 10000), 0.3)
	if r.Outcome != Applied || r.Released != 1 || r.Refund != RefundCounted {
		t.Fatalf("purchase releasing a pending refund: %+v", r)
	}
	if s.PendingRefunds() != 0 {
		t.Fatalf("pending = %d after the order arrived, want 0", s.PendingRefunds())
	}
	// Same state as the other arrival order.
	var o State
	o.Apply(purchase("o1", 0, 9, 10000), 0.3)
	o.Apply(refund("r1", "o1", 0, 2500), 0.3)
	if stateJSON(t, s) != stateJSON(t, o) {
		t.Fatal("refund-then-order differs from order-then-refund")
	}
	if n, _ := net(&s); n != 7500 {
		t.Fatalf("net %d, want 7500", n)
	}
}

func TestRefundOfAnotherCustomersOrderNeverCounts(t *testing.T) {
	// Issue 8: a refund of 100,000 against another customer's order of 50
	// drove this customer's net revenue negative.
	var s State
	s.Apply(purchase("mine", 0, 9, 5000), 0.3)
	if r := s.ApplyEvent(refund("r1", "someone-elses", 1, 10000000), 0.3); r.Refund != RefundPending {
		t.Fatalf("refund of a foreign order: %+v, want pending", r)
	}
	if n, m := net(&s); n != 5000 || m != 1500 {
		t.Fatalf("net %d margin %d, want 5000, 1500 (the foreign refund is pending, not counted)", n, m)
	}
}

func TestRefundMarginCappedAtOrderMargin(t *testing.T) {
	var s State
	p := purchase("o1", 0, 9, 10000)
	p.Margin, p.HasMargin = 1000, true
	s.Apply(p, 0.3)
	r := refund("r1", "o1", 1, 5000)
	r.Margin, r.HasMargin = 4000, true // more margin than the order had
	if res := s.ApplyEvent(r, 0.3); res.Refund != RefundCapped {
		t.Fatalf("margin over-refund: %+v, want capped", res)
	}
	if n, m := net(&s); n != 5000 || m != 0 {
		t.Fatalf("net %d margin %d, want 5000, 0", n, m)
	}
}

func TestRefundIdClaimedTwiceEarliestWins(t *testing.T) {
	a := refund("r1", "o1", 1, 1000)
	b := refund("r1", "o2", 2, 3000) // a later event claiming the same refund id
	b.ID = "ev-other"
	build2 := func(evs ...event.Event) State {
		var s State
		s.Apply(purchase("o1", 0, 9, 10000), 0.3)
		s.Apply(purchase("o2", 0, 10, 10000), 0.3)
		for _, e := range evs {
			s.Apply(e, 0.3)
		}
		return s
	}
	x, y := build2(a, b), build2(b, a)
	if stateJSON(t, x) != stateJSON(t, y) {
		t.Fatal("two claims of one refund id depend on arrival order")
	}
	if n, _ := net(&x); n != 19000 {
		t.Fatalf("net %d, want 19000 (the earlier claim against o1 counts)", n)
	}
}

func TestOrderReplacedKeepsItsRefunds(t *testing.T) {
	late := purchase("o1", 5, 9, 10000)
	early := purchase("o1", 1, 9, 8000)
	early.ID = "e-o1-early"
	r := refund("r1", "o1", 6, 9000)
	for _, order := range [][]event.Event{{late, r, early}, {early, r, late}, {r, late, early}, {r, early, late}} {
		var s State
		for _, e := range order {
			s.Apply(e, 0.3)
		}
		if n, _ := net(&s); n != 0 || len(s.Days) != 1 || s.Days[0].D != dayOf(early.OccurredAt.UnixMilli()) {
			t.Fatalf("net %d days %+v, want 0 (9000 refund capped at the earliest claim's 8000) on the early day", n, s.Days)
		}
	}
}

func TestPendingRefundsBounded(t *testing.T) {
	var s State
	for i := 0; i < MaxRefunds+50; i++ {
		s.Apply(refund(fmt.Sprintf("r%04d", i), fmt.Sprintf("o%04d", i), i, 100), 0.3)
	}
	if len(s.Refunds) != MaxRefunds || s.PendingRefunds() != MaxRefunds {
		t.Fatalf("refunds kept %d pending %d, want %d", len(s.Refunds), s.PendingRefunds(), MaxRefunds)
	}
	// The oldest 50 pending refunds were dropped: their orders arrive
	// without a refund. The kept ones are released.
	if r := s.ApplyEvent(purchase("o0000", 0, 9, 1000), 0.3); r.Released != 0 {
		t.Fatalf("dropped pending refund released: %+v", r)
	}
	if r := s.ApplyEvent(purchase("o0100", 100, 9, 1000), 0.3); r.Released != 1 {
		t.Fatalf("kept pending refund not released: %+v", r)
	}
}

func TestEvictedOrderKeepsItsCountedRefunds(t *testing.T) {
	var s State
	s.Apply(purchase("first", 0, 0, 1000), 0)
	s.Apply(refund("r-first", "first", 0, 400), 0)
	for i := 0; i < MaxOrders; i++ {
		s.Apply(purchase(fmt.Sprintf("o%05d", i), 1+i%300, 0, 100), 0)
	}
	if s.orderIndex(HashID("first")) >= 0 || len(s.Orders) != MaxOrders {
		t.Fatal("the oldest order was not evicted")
	}
	f := s.Derive(t0.AddDate(2, 0, 0), 0)
	if f.Gross != 1000+100*MaxOrders || f.Net != f.Gross-400 {
		t.Fatalf("gross %d net %d: the evicted order's refund must keep counting", f.Gross, f.Net)
	}
	// A refund of the evicted order arriving now stays pending (documented).
	if r := s.ApplyEvent(refund("r-late", "first", 0, 300), 0); r.Refund != RefundPending {
		t.Fatalf("refund of an evicted order: %+v, want pending", r)
	}
	if g := s.Derive(t0.AddDate(2, 0, 0), 0); g.Net != f.Net {
		t.Fatalf("net moved from %d to %d", f.Net, g.Net)
	}
}

func TestIssue8MoneyOverflow(t *testing.T) {
	// Two purchases of 9·10^18 minor units gave net revenue -4.5·10^16.
	var s State
	a, b := purchase("o1", 0, 9, 9e18), purchase("o2", 0, 10, 9e18)
	s.Apply(a, 0.3)
	s.Apply(b, 0.3)
	f := s.Derive(t0.AddDate(0, 0, 1), 0)
	if f.Gross != math.MaxInt64 || f.Net != math.MaxInt64 || f.T12M != math.MaxInt64 || f.FirstDayValue != math.MaxInt64 || f.Margin != 5.4e18 {
		t.Fatalf("saturation: %+v", f)
	}
	if f.AOV() <= 0 || f.RepeatMean() < 0 {
		t.Fatalf("AOV %v repeat mean %v", f.AOV(), f.RepeatMean())
	}
	// Refund most of one order: the exact sum drops below the limit again.
	s.Apply(refund("r1", "o1", 0, 8.9e18), 0.3)
	if g := s.Derive(t0.AddDate(0, 0, 1), 0); g.Net != 9.1e18 || g.Gross != math.MaxInt64 {
		t.Fatalf("net %d gross %d, want 9.1e18 exactly, MaxInt64", g.Net, g.Gross)
	}
	// int64-max everywhere, with default margin rate 1.
	var m State
	for i := 0; i < 5; i++ {
		m.Apply(purchase(fmt.Sprintf("x%d", i), i, 9, math.MaxInt64), 1)
		m.Apply(refund(fmt.Sprintf("rx%d", i), fmt.Sprintf("x%d", i), i, math.MaxInt64), 1)
		m.Apply(refund(fmt.Sprintf("ry%d", i), fmt.Sprintf("x%d", i), i, math.MaxInt64), 1)
	}
	g := m.Derive(t0.AddDate(0, 0, 30), 0)
	if g.Gross != math.MaxInt64 || g.Net != 0 || g.Margin != 0 || g.Refunded != math.MaxInt64 {
		t.Fatalf("int64-max purchases fully refunded: %+v", g)
	}
	if got := stateJSON(t, m); got == "" {
		t.Fatal("no encoding")
	}
}

func TestInvalidMoneyChangesNothing(t *testing.T) {
	var s State
	for _, e := range []event.Event{
		purchase("o1", 0, 9, -5),
		func() event.Event { p := purchase("o2", 0, 9, 100); p.Margin, p.HasMargin = 101, true; return p }(),
		func() event.Event { p := purchase("o3", 0, 9, 100); p.Margin, p.HasMargin = -1, true; return p }(),
		refund("r1", "o1", 0, -1),
	} {
		if got := s.Apply(e, 0.3); got != Invalid {
			t.Fatalf("%+v: outcome %v, want invalid", e, got)
		}
	}
	if len(s.Orders)+len(s.Refunds)+len(s.Days) != 0 {
		t.Fatalf("invalid events changed the state: %+v", s)
	}
}

func TestTotalArithmetic(t *testing.T) {
	var x Total
	for i := 0; i < 4; i++ {
		x = x.Add(math.MaxInt64)
	}
	if x.Int64() != math.MaxInt64 || x.hi != 1 || x.lo != 1<<64-4 {
		t.Fatalf("4·MaxInt64 = %+v", x)
	}
	for i := 0; i < 3; i++ {
		x = x.Sub(math.MaxInt64)
	}
	if x.Int64() != math.MaxInt64 || x != TotalOf(math.MaxInt64) {
		t.Fatalf("exact undo: %+v", x)
	}
	if y := x.Sub(math.MaxInt64).Sub(1); !y.IsZero() {
		t.Fatalf("below zero: %+v, want 0", y)
	}
	if TotalOf(-3) != (Total{}) || TotalOf(5).Add(-2) != TotalOf(5) {
		t.Fatal("negative amounts must count as 0")
	}
}
