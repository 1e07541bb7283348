package kpi

import (
	"context"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/segment"
)

// The repeat-purchase curve counts, for each n, the customers whose n-th
// purchase day is at least the window old, and of those the ones whose
// (n+1)-th came within the window; younger n-th purchases are censored.
func TestRepeatCurve(t *testing.T) {
	a, b := buyer("a", 300, 250, 200), buyer("b", 300, 100)
	a.Acquisition.Set, a.Acquisition.Channel = true, "paid_search"
	b.Acquisition.Set, b.Acquisition.Channel = true, "referral"
	pop := states{
		a,                   // 1→2 in 50 d, 2→3 in 50 d, 3rd 200 d ago: no 4th
		b,                   // 1→2 after 200 d: not within 90; 2nd 100 d ago, no 3rd
		buyer("c", 300),     // one purchase, no repeat
		buyer("d", 60),      // first purchase 60 d ago: censored at n = 1
		buyer("e", 120, 40), // 1→2 in 80 d; the 2nd 40 d ago: censored at n = 2
	}
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compute(context.Background(), pop, sc, nil, asOf, Config{RepeatWindow: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rc := s.RepeatCurve
	if rc.WindowDays != 90 || len(rc.Population) != RepeatMax {
		t.Fatalf("curve %+v", rc)
	}
	for _, want := range []RepeatStep{
		{N: 1, Customers: 4, Repeated: 2, Share: 0.5}, // a, b, c, e (d censored); a and e repeated
		{N: 2, Customers: 2, Repeated: 1, Share: 0.5}, // a, b (e censored); a repeated
		{N: 3, Customers: 1, Repeated: 0, Share: 0},   // a
		{N: 4},
	} {
		if got := rc.Population[want.N-1]; got != want {
			t.Errorf("n=%d: %+v, want %+v", want.N, got, want)
		}
	}
	total := 0
	for _, steps := range rc.ByCohort {
		total += steps[0].Customers
	}
	if total != 4 {
		t.Errorf("cohorts count %d customers at n=1, want 4", total)
	}
	// Per acquisition channel: a (paid_search) repeated at n = 1 and 2,
	// b (referral) did not; customers without an acquisition are in none.
	if got := rc.ByChannel["paid_search"][:2]; got[0] != (RepeatStep{N: 1, Customers: 1, Repeated: 1, Share: 1}) || got[1] != (RepeatStep{N: 2, Customers: 1, Repeated: 1, Share: 1}) {
		t.Errorf("paid_search: %+v", got)
	}
	if got := rc.ByChannel["referral"][0]; got != (RepeatStep{N: 1, Customers: 1}) || len(rc.ByChannel) != 2 {
		t.Errorf("referral: %+v; channels %d, want 2", got, len(rc.ByChannel))
	}
}
