package customer

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

func camp(e event.Event, c string) event.Event { e.Campaign = c; return e }

// Last touch: a purchase is attributed to the campaign of the latest click
// within the window before it, else of the latest open; the campaign of a
// message is the smallest its events name; the outcome does not depend on
// the arrival order.
func TestAttributionLastTouch(t *testing.T) {
	h, d := time.Hour, 24*time.Hour
	evs := []event.Event{
		camp(msg("s1", event.MessageSent, "email", "m1", t0), "spring"),
		msg("o1", event.MessageOpened, "email", "m1", t0.Add(h)), // the open names no campaign: the send's counts
		camp(msg("s2", event.MessageSent, "sms", "m2", t0.Add(2*h)), "flash"),
		camp(msg("c2", event.MessageClicked, "sms", "m2", t0.Add(3*h)), "flash"),
		camp(msg("s3", event.MessageSent, "push", "m3", t0.Add(4*h)), "app"),
		camp(msg("o3", event.MessageOpened, "push", "m3", t0.Add(5*h)), "app"),
		// Purchases: after the click and a later open (click wins), then
		// 8 days after the last touch (outside the window), then one with
		// only the e-mail open before it.
		{ID: "p1", Type: event.Purchase, CustomerID: "c1", OrderID: "o-1", OccurredAt: t0.Add(6 * h), Amount: 5000},
		{ID: "p2", Type: event.Purchase, CustomerID: "c1", OrderID: "o-2", OccurredAt: t0.Add(5*h + 8*d), Amount: 7000},
		{ID: "p3", Type: event.Purchase, CustomerID: "c1", OrderID: "o-3", OccurredAt: t0.Add(90 * time.Minute), Amount: 1000},
		{ID: "r1", Type: event.Refund, CustomerID: "c1", OrderID: "o-1", OccurredAt: t0.Add(7 * h), Amount: 2000},
	}
	var want string
	for seed := uint64(0); seed < 20; seed++ {
		perm := append([]event.Event(nil), evs...)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var s State
		for _, e := range perm {
			s.Apply(e, 0.3)
		}
		got := fmt.Sprintf("%+v", s.Attributions(t0.Add(30*d), 0))
		if seed == 0 {
			want = got
			a := s.Attributions(t0.Add(30*d), 7*d)
			if len(a) != 2 {
				t.Fatalf("attributions %+v, want 2", a)
			}
			if a[0].Campaign != "spring" || a[0].ByClick || a[0].Amount != 1000 {
				t.Errorf("first order %+v, want spring by open", a[0])
			}
			if a[1].Campaign != "flash" || !a[1].ByClick || a[1].Net != 3000 || a[1].TouchAt != t0.Add(3*h).UnixMilli() {
				t.Errorf("second order %+v, want flash by click, net 3000 after the refund", a[1])
			}
			// A wider window reaches the 8-day-late purchase too.
			if a := s.Attributions(t0.Add(30*d), 9*d); len(a) != 3 || a[2].Campaign != "flash" {
				t.Errorf("9-day window: %+v", a)
			}
			stateJSON(t, s)
		} else if got != want {
			t.Fatalf("seed %d: order changed the attributions\n%s\n%s", seed, got, want)
		}
	}
	// Conflicting campaigns of one message: the smallest name, in any order.
	for _, order := range [][]string{{"b", "a"}, {"a", "b"}} {
		var s State
		s.Apply(camp(msg("x", event.MessageSent, "sms", "m", t0), order[0]), 0)
		if s.Apply(camp(msg("y", event.MessageClicked, "sms", "m", t0.Add(h)), order[1]), 0) != Applied {
			t.Fatal("click not applied")
		}
		if s.Emails[0].Campaign != "a" {
			t.Errorf("campaign %q, want a", s.Emails[0].Campaign)
		}
	}
	// A redelivered send that adds a campaign is applied, a plain one is a duplicate.
	var s State
	s.Apply(msg("x", event.MessageSent, "sms", "m", t0), 0)
	if s.Apply(msg("x", event.MessageSent, "sms", "m", t0), 0) != Duplicate || s.Apply(camp(msg("x", event.MessageSent, "sms", "m", t0), "late"), 0) != Applied {
		t.Error("campaign naming by a duplicate send")
	}
}

func TestCodecSizeWithCampaigns(t *testing.T) {
	sts, _ := mixCorpus(5000, 1)
	var before, after, weekly []int
	for i := range sts {
		s := &sts[i]
		b, _ := s.MarshalBinary()
		before = append(before, len(b))
		for j := range s.Emails {
			s.Emails[j].Campaign = "weekly" // what the clvbench mix's email events carry
		}
		b, _ = s.MarshalBinary()
		weekly = append(weekly, len(b))
		for j := range s.Emails {
			s.Emails[j].Campaign = fmt.Sprint("newsletter-", j%2) // two campaigns over all messages
		}
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back State
		if err := back.UnmarshalBinary(b); err != nil || !equalState(*s, back) {
			t.Fatalf("state %d: campaign round trip: %v", i, err)
		}
		after = append(after, len(b))
	}
	t.Logf("benchmark mix, %d customers: mean %.0f B; every message in campaign \"weekly\" (the clvbench mix) %.0f B (+%.0f B); in one of two campaigns %.0f B (+%.0f B)",
		len(sts), mean(before), mean(weekly), mean(weekly)-mean(before), mean(after), mean(after)-mean(before))
}
