package customer

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

func credit(referred uint64, at time.Time) event.Event {
	return event.Event{ID: event.ReferralCreditID(referred, HashID("f")), Type: event.ReferralCredited, CustomerID: "f",
		OccurredAt: at, Referred: referred}
}

// randomCredits draws n credits from a pool of hashes larger than
// MaxReferrals (so the bound evicts), a few times per hash (a referred
// customer with two customer_acquired events naming the same referrer).
func randomCredits(r *rand.Rand, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		h := uint64(1 + r.IntN(160))
		evs[i] = credit(h*0x9e3779b97f4a7c15, t0.Add(time.Duration(r.IntN(2000))*time.Minute))
	}
	return evs
}

// wantReferrals is the referral set as a function of the set of credits:
// per hash the latest time, the MaxReferrals most recent by (time, hash).
func wantReferrals(evs []event.Event) []Referral {
	latest := map[uint64]int64{}
	for _, e := range evs {
		latest[e.Referred] = max(latest[e.Referred], e.OccurredAt.UnixMilli())
	}
	var out []Referral
	for h, at := range latest {
		out = append(out, Referral{Referred: h, At: at})
	}
	slices.SortFunc(out, cmpReferral)
	if len(out) > MaxReferrals {
		out = out[len(out)-MaxReferrals:]
	}
	return out
}

// TestReferralsOrderIndependentAndIdempotent: any permutation of the same
// credits, with any duplicates (redeliveries, replays), gives a
// byte-identical state, which is the function of the set of credits
// (wantReferrals) and round-trips through the codec; re-applying a credit
// is a duplicate.
func TestReferralsOrderIndependentAndIdempotent(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 18))
		evs := randomCredits(r, 1+r.IntN(300))
		st := build(evs)
		if want := wantReferrals(evs); !slices.Equal(st.Referrals, want) {
			t.Fatalf("seed %d: %d referrals, want %d (the function of the set of credits)", seed, len(st.Referrals), len(want))
		}
		want := stateJSON(t, st)
		for k := 0; k < 4; k++ {
			perm := slices.Clone(evs)
			r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			perm = append(perm, perm[:r.IntN(len(perm))]...)
			if got := stateJSON(t, build(perm)); got != want {
				t.Fatalf("seed %d: a permutation with duplicates changed the state", seed)
			}
		}
		for _, e := range evs {
			if o := st.Apply(e, 0.3); o != Duplicate {
				t.Fatalf("seed %d: re-applying a credit: %v, want duplicate", seed, o)
			}
		}
		if st.ReferralCount() > MaxReferrals {
			t.Fatalf("seed %d: %d referrals", seed, st.ReferralCount())
		}
	}
}

// TestReferralsCountAndErasure: distinct referred customers count once
// each; an erased referrer ignores credits; a credit creates the state of
// an unknown referrer and is its latest fact.
func TestReferralsCountAndErasure(t *testing.T) {
	s := State{ID: "f"}
	if o := s.Apply(credit(HashID("r1"), t0), 0.3); o != Applied {
		t.Fatalf("first credit: %v", o)
	}
	s.Apply(credit(HashID("r1"), t0), 0.3)
	s.Apply(credit(HashID("r2"), t0.Add(time.Hour)), 0.3)
	if s.ReferralCount() != 2 || s.LatestAt() != t0.Add(time.Hour).UnixMilli() {
		t.Fatalf("count %d, latest %d", s.ReferralCount(), s.LatestAt())
	}
	if o := s.Apply(event.Event{ID: "x", Type: event.ReferralCredited, CustomerID: "f", OccurredAt: t0}, 0.3); o != Invalid {
		t.Errorf("credit without a hash: %v, want invalid", o)
	}
	s.Apply(event.Event{ID: "e", Type: event.CustomerErased, CustomerID: "f", OccurredAt: t0.Add(2 * time.Hour)}, 0.3)
	if s.ReferralCount() != 0 {
		t.Fatalf("erasure kept %d referrals", s.ReferralCount())
	}
	if o := s.Apply(credit(HashID("r3"), t0.Add(3*time.Hour)), 0.3); o != Ignored || s.ReferralCount() != 0 {
		t.Fatalf("credit of an erased referrer: %v, %d referrals", o, s.ReferralCount())
	}
}

// TestReferralsCodec: the section round-trips, a state without referrals
// encodes as before (no section), malformed bytes are ErrMalformed, and the
// size per kept referral is reported (docs/state.md).
func TestReferralsCodec(t *testing.T) {
	plain := State{ID: "cust-000123"}
	b0, _ := plain.MarshalBinary()
	s := plain
	// Credits at whole seconds, a few hours to days apart, as
	// customer_acquired times are.
	r := rand.New(rand.NewPCG(1, 2))
	at := t0
	for i := 0; i < MaxReferrals; i++ {
		at = at.Add(time.Duration(1+r.IntN(72*3600)) * time.Second)
		s.Apply(credit(HashID("ref-"+string(rune('a'+i%26))+string(rune('a'+i/26))), at), 0.3)
	}
	if s.ReferralCount() != MaxReferrals {
		t.Fatalf("%d referrals", s.ReferralCount())
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	one := plain
	one.Apply(credit(HashID("r1"), t0), 0.3)
	b1, _ := one.MarshalBinary()
	per := float64(len(b)-len(b0)) / MaxReferrals
	t.Logf("empty state %d B; + 1 referral %d B; + %d referrals %d B (%.1f B per referral)", len(b0), len(b1)-len(b0), MaxReferrals, len(b)-len(b0), per)
	if per > 12 {
		t.Errorf("%.1f B per referral, budget 12", per)
	}
	var back State
	if err := back.UnmarshalBinary(b); err != nil || !equalState(s, back) {
		t.Fatalf("round trip: %v", err)
	}
	for i := 1; i < len(b); i++ {
		var x State
		if err := x.UnmarshalBinary(b[:i]); err == nil {
			if _, err := x.MarshalBinary(); err != nil {
				t.Fatalf("truncated at %d: decodes but does not encode: %v", i, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
		c := slices.Clone(b)
		c[i] ^= 0x5a
		if err := x.UnmarshalBinary(c); err == nil {
			if _, err := x.MarshalBinary(); err != nil {
				t.Fatalf("byte %d changed: decodes but does not encode: %v", i, err)
			}
		}
	}
	// Invariants the codec refuses to write.
	bad := one
	bad.Referrals = append(slices.Clone(one.Referrals), one.Referrals[0])
	if _, err := bad.MarshalBinary(); err == nil {
		t.Error("a hash kept twice encodes")
	}
	bad.Referrals = []Referral{{Referred: 0, At: 1}}
	if _, err := bad.MarshalBinary(); err == nil {
		t.Error("hash 0 encodes")
	}
}
