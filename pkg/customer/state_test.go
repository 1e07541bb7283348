package customer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func purchase(order string, day int, hour int, cents int64) event.Event {
	return event.Event{ID: "e-" + order, Type: event.Purchase, CustomerID: "c1", OrderID: order,
		OccurredAt: t0.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour), Amount: cents, Currency: "USD"}
}

func TestSameDayPurchasesMergeAndDuplicatesCountOnce(t *testing.T) {
	var s State
	for _, e := range []event.Event{
		purchase("o1", 0, 9, 1000),
		purchase("o2", 0, 17, 500), // same day: merges into day 0
		purchase("o1", 0, 9, 1000), // duplicate order id
		purchase("o3", 14, 12, 2000),
		purchase("o4", 28, 12, 4000),
	} {
		s.Apply(e, 0.25)
	}
	if len(s.Days) != 3 {
		t.Fatalf("purchase days = %d, want 3 (same-day merge)", len(s.Days))
	}
	f := s.Derive(t0.AddDate(0, 0, 35), 0)
	if f.Frequency != 2 || f.Gross != 7500 || f.FirstDayValue != 1500 {
		t.Fatalf("frequency=%d gross=%d firstDay=%d, want 2, 7500, 1500", f.Frequency, f.Gross, f.FirstDayValue)
	}
	if f.RepeatMean() != 3000 {
		t.Fatalf("repeat mean = %v, want 3000 (first day excluded)", f.RepeatMean())
	}
	if f.SpanDays != 28 || f.RecencyDays != 7 || f.TenureDays != 35 {
		t.Fatalf("span=%v recency=%v tenure=%v, want 28, 7, 35", f.SpanDays, f.RecencyDays, f.TenureDays)
	}
	if f.Margin != 1875 {
		t.Fatalf("margin = %d, want 1875 (25%% default of 7500)", f.Margin)
	}
	// As of day 20 the day-28 purchase does not exist yet.
	if g := s.Derive(t0.AddDate(0, 0, 20), 0); g.Frequency != 1 || g.Gross != 3500 {
		t.Fatalf("as of day 20: frequency=%d gross=%d, want 1, 3500", g.Frequency, g.Gross)
	}
}

func TestRefundsNetRevenueOnce(t *testing.T) {
	var s State
	s.Apply(purchase("o1", 0, 9, 10000), 0.3)
	r := event.Event{ID: "r1", Type: event.Refund, CustomerID: "c1", OrderID: "o1", RefundID: "r1", OccurredAt: t0.AddDate(0, 0, 2), Amount: 2500}
	if got := s.Apply(r, 0.3); got != Applied {
		t.Fatalf("refund outcome %v", got)
	}
	if got := s.Apply(r, 0.3); got != Duplicate {
		t.Fatalf("second refund outcome %v, want duplicate", got)
	}
	f := s.Derive(t0.AddDate(0, 0, 3), 0)
	if f.Net != 7500 || f.Gross != 10000 || f.Margin != 3000-750 {
		t.Fatalf("net=%d gross=%d margin=%d", f.Net, f.Gross, f.Margin)
	}
}

func TestTicketsAndEmails(t *testing.T) {
	var s State
	tk := func(typ event.Type, hour int, csat int) event.Event {
		return event.Event{ID: fmt.Sprint(typ, hour), Type: typ, CustomerID: "c1", TicketID: "t1", Priority: "high", CSAT: csat, OccurredAt: t0.Add(time.Duration(hour) * time.Hour)}
	}
	s.Apply(tk(event.TicketOpened, 0, 0), 0)
	s.Apply(tk(event.TicketResolved, 10, 2), 0)
	if s.Apply(tk(event.TicketResolved, 10, 2), 0) != Duplicate {
		t.Fatal("same transition applied twice")
	}
	s.Apply(tk(event.TicketReopened, 20, 0), 0)
	f := s.Derive(t0.Add(30*time.Hour), 0)
	if f.OpenTickets != 1 || f.Reopened != 1 || f.Resolved != 1 || f.MeanResolveHours != 10 || f.CSAT != 2 {
		t.Fatalf("tickets: %+v", f)
	}
	em := func(typ event.Type, hour int) event.Event {
		return event.Event{ID: fmt.Sprint(typ, hour), Type: typ, CustomerID: "c1", MessageID: "m1", OccurredAt: t0.Add(time.Duration(hour) * time.Hour)}
	}
	s.Apply(em(event.EmailSent, 0), 0)
	s.Apply(em(event.EmailOpened, 1), 0)
	if s.Apply(em(event.EmailOpened, 5), 0) != Duplicate {
		t.Fatal("second open of one message counted")
	}
	g := s.Derive(t0.Add(1*time.Hour), 24*time.Hour)
	if g.EmailSends > 1 || g.EmailSends < 0.97 || g.EmailOpens != 1 {
		t.Fatalf("email decay: sends=%v opens=%v", g.EmailSends, g.EmailOpens)
	}
	later := s.Derive(t0.Add(25*time.Hour), 24*time.Hour)
	if later.EmailOpens < 0.49 || later.EmailOpens > 0.51 {
		t.Fatalf("open one half-life later = %v, want 0.5", later.EmailOpens)
	}
}

func TestErasureIsTerminal(t *testing.T) {
	var s State
	s.ID = "c1"
	s.Apply(purchase("o1", 0, 9, 1000), 0.3)
	s.Apply(event.Event{ID: "x", Type: event.CustomerErased, CustomerID: "c1", OccurredAt: t0.AddDate(0, 0, 1)}, 0.3)
	if !s.Erased || len(s.Days) != 0 || len(s.Orders) != 0 {
		t.Fatalf("erasure kept data: %+v", s)
	}
	if s.Apply(purchase("o2", 3, 9, 1000), 0.3) != Ignored {
		t.Fatal("event after erasure applied")
	}
}

// randomEvents returns n events of one customer with deliberately colliding
// ids and times, so duplicates, same-day merges and simultaneous ticket
// transitions all occur.
func randomEvents(r *rand.Rand, n int) []event.Event { return randomEventsOf(r, n, false) }

// randomEventsOf is randomEvents, with amounts near the int64 limit when
// huge is set.
func randomEventsOf(r *rand.Rand, n int, huge bool) []event.Event {
	evs := make([]event.Event, 0, n)
	for i := 0; i < n; i++ {
		at := t0.Add(time.Duration(r.IntN(60*24)) * time.Hour)
		e := event.Event{ID: fmt.Sprintf("e%d", i), CustomerID: "c1", OccurredAt: at}
		switch r.IntN(7) {
		case 6:
			// Surveys: sends and competing responses to a few survey ids,
			// at a few instants so that equal times occur.
			e.Type, e.SurveyID = []event.Type{event.SurveySent, event.SurveyResponded}[r.IntN(2)], fmt.Sprintf("s%d", r.IntN(4))
			e.OccurredAt = t0.Add(time.Duration(r.IntN(4)) * time.Hour)
			e.SurveyKind = []string{event.SurveyNPS, event.SurveyCSAT, event.SurveyCES}[r.IntN(3)]
			if e.Type == event.SurveyResponded {
				lo, hi, _ := event.ScoreRange(e.SurveyKind)
				e.Score, e.CommentLength = lo+r.IntN(hi-lo+1), r.IntN(3)*40
			}
		case 0, 1:
			e.Type, e.OrderID, e.Amount = event.Purchase, fmt.Sprintf("o%d", r.IntN(n)), int64(100+r.IntN(10000))
			if r.IntN(3) == 0 {
				e.Margin, e.HasMargin = e.Amount/2, true
			}
		case 2:
			// Refunds of known and unknown orders (ids beyond the purchases'
			// range never arrive), before or after their order, some larger
			// than any order (over-refunds), a few without a refund id.
			e.Type, e.OrderID, e.RefundID, e.Amount = event.Refund, fmt.Sprintf("o%d", r.IntN(n+3)), fmt.Sprintf("r%d", r.IntN(n)), int64(100+r.IntN(1000))
			switch r.IntN(6) {
			case 0:
				e.Amount = int64(5000 + r.IntN(20000))
			case 1:
				e.RefundID = ""
			}
			if r.IntN(3) == 0 {
				e.Margin, e.HasMargin = e.Amount/3, true
			}
		case 3:
			types := []event.Type{event.TicketOpened, event.TicketUpdated, event.TicketResolved, event.TicketReopened}
			e.Type, e.TicketID = types[r.IntN(4)], fmt.Sprintf("t%d", r.IntN(4))
			e.OccurredAt = t0.Add(time.Duration(r.IntN(5)) * time.Hour)
			if e.Type == event.TicketResolved {
				e.CSAT = 1 + r.IntN(5)
			}
		default:
			types := []event.Type{event.EmailSent, event.EmailOpened, event.EmailClicked}
			e.Type, e.MessageID = types[r.IntN(3)], fmt.Sprintf("m%d", r.IntN(n/2+1))
			if r.IntN(2) == 0 {
				// The generic message events on every channel, with the
				// same ids as e-mails (a message is id and channel), and
				// opt-outs and opt-ins at a few instants.
				types := []event.Type{event.MessageSent, event.MessageDelivered, event.MessageOpened, event.MessageClicked, event.MessageOptedOut, event.MessageOptedIn}
				e.Type, e.Channel = types[r.IntN(6)], event.Channels[r.IntN(3)]
				if !event.ChannelHas(e.Channel, e.Type) {
					e.Type = event.MessageDelivered
				}
				if e.Type == event.MessageOptedOut || e.Type == event.MessageOptedIn {
					e.MessageID, e.OccurredAt = "", t0.Add(time.Duration(r.IntN(3))*time.Hour)
				}
			}
			if r.IntN(3) == 0 { // campaigns, disagreeing now and then
				e.Campaign = fmt.Sprintf("camp-%d", r.IntN(3))
			}
		}
		// Amounts at the int64 limit: sums must saturate, never wrap, and
		// stay order independent.
		if huge && (e.Type == event.Purchase || e.Type == event.Refund) && r.IntN(2) == 0 {
			e.Amount = []int64{math.MaxInt64, 9e18, math.MaxInt64 - 1}[r.IntN(3)]
			if e.HasMargin {
				e.Margin = e.Amount / 2
			}
		}
		// Same-content repeats of an earlier event (redelivery).
		if i > 0 && r.IntN(5) == 0 {
			e = evs[r.IntN(len(evs))]
		}
		evs = append(evs, e)
	}
	return evs
}

func build(evs []event.Event) State {
	s := State{ID: "c1"}
	for _, e := range evs {
		s.Apply(e, 0.3)
	}
	return s
}

// stateJSON returns the stored encoding of s (the name is historical: it
// was the JSON encoding), checking that it decodes back to s.
func stateJSON(t *testing.T, s State) string {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatalf("decode own encoding: %v", err)
	}
	if !equalState(s, back) {
		t.Fatalf("round trip changed the state\nwant %+v\ngot  %+v", s, back)
	}
	return string(b)
}

// checkMoney asserts the money invariants of a state at any instant: no
// figure negative, net and margin never above their gross, refunds counted
// at most once per order amount.
func checkMoney(t *testing.T, seed uint64, s State) {
	t.Helper()
	for _, now := range []time.Time{t0.AddDate(0, 0, 10), t0.AddDate(0, 0, 70), t0.AddDate(5, 0, 0)} {
		f := s.Derive(now, 0)
		if f.Gross < 0 || f.Net < 0 || f.Margin < 0 || f.T12M < 0 || f.FirstDayValue < 0 || f.Refunded < 0 {
			t.Fatalf("seed %d: negative money as of %s: %+v", seed, now, f)
		}
		if f.Net > f.Gross || f.T12M > f.Gross || f.FirstDayValue > f.Gross || f.Refunded > f.Gross {
			t.Fatalf("seed %d: a part exceeds gross as of %s: %+v", seed, now, f)
		}
		if f.Gross < math.MaxInt64 && f.Net+f.Refunded != f.Gross {
			t.Fatalf("seed %d: net %d + refunded %d != gross %d", seed, f.Net, f.Refunded, f.Gross)
		}
	}
}

// Property: any permutation of the same events gives the identical state.
func TestPropertyOrderIndependence(t *testing.T) {
	for seed := uint64(0); seed < 600; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		evs := randomEventsOf(r, 5+r.IntN(60), seed%2 == 1)
		st := build(evs)
		checkMoney(t, seed, st)
		want := stateJSON(t, st)
		for k := 0; k < 5; k++ {
			perm := append([]event.Event(nil), evs...)
			r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			if got := stateJSON(t, build(perm)); got != want {
				t.Fatalf("seed %d: permutation changed the state\nwant %s\ngot  %s", seed, want, got)
			}
		}
	}
}

// Property: delivering any events any number of extra times gives the
// identical state.
func TestPropertyDuplicationIdempotent(t *testing.T) {
	for seed := uint64(0); seed < 600; seed++ {
		r := rand.New(rand.NewPCG(seed, 2))
		evs := randomEventsOf(r, 5+r.IntN(60), seed%2 == 1)
		want := build(evs)
		dup := append([]event.Event(nil), evs...)
		for i := 0; i < len(evs); i++ {
			if r.IntN(2) == 0 {
				dup = append(dup, evs[r.IntN(len(evs))])
			}
		}
		r.Shuffle(len(dup), func(i, j int) { dup[i], dup[j] = dup[j], dup[i] })
		got := build(dup)
		if !reflect.DeepEqual(want.Days, got.Days) || stateJSON(t, got) != stateJSON(t, build(append(append([]event.Event{}, evs...), evs...))) {
			t.Fatalf("seed %d: duplicates changed the state", seed)
		}
	}
}

func TestBoundedSetsKeepMostRecent(t *testing.T) {
	var s State
	for i := 0; i < MaxOrders+50; i++ {
		s.Apply(purchase(fmt.Sprintf("o%05d", i), i%400, 0, 100), 0)
	}
	if len(s.Orders) != MaxOrders {
		t.Fatalf("orders kept = %d, want %d", len(s.Orders), MaxOrders)
	}
	if len(s.Days) != 400 {
		t.Fatalf("days = %d: amounts must survive id eviction", len(s.Days))
	}
}
