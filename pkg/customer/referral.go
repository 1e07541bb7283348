package customer

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// This file holds the referrals a customer made (docs/state.md,
// "Referrals"; docs/design/referrals.md): the referral_credited events that
// the partition of each referred customer sends, through the internal
// referrals topic, to the referrer's partition.

// MaxReferrals is the number of most recent referred customers kept per
// referrer; the referrals rule field counts at most this many.
const MaxReferrals = 100

// Referral is one customer this customer referred: the hash of the referred
// customer's id and the latest credit time (the occurred_at of their
// customer_acquired event, Unix ms).
type Referral struct {
	Referred uint64
	At       int64
}

// cmpReferral orders referrals by (time, hash).
func cmpReferral(a, b Referral) int {
	if c := cmpInt(a.At, b.At); c != 0 {
		return c
	}
	return cmpUint(a.Referred, b.Referred)
}

// addReferral applies a referral_credited of the customer hashing to h at
// at; false when the state is unchanged.
//
// The set is each referred hash once with its latest credit time, the
// MaxReferrals most recent by (time, hash). Keeping the latest time (not
// the earliest) is what makes the bounded set a function of the set of
// credits whatever their order: a hash evicted with time t can only come
// back with a later time, which is then its true latest time; with the
// earliest time, an evicted hash could come back later than it should.
func (s *State) addReferral(h uint64, at int64) bool {
	v := Referral{Referred: h, At: at}
	if i := slices.IndexFunc(s.Referrals, func(r Referral) bool { return r.Referred == h }); i >= 0 {
		if s.Referrals[i].At >= at {
			return false // a duplicate (a redelivery, a replay)
		}
		s.Referrals = slices.Delete(s.Referrals, i, i+1)
	}
	j, _ := slices.BinarySearchFunc(s.Referrals, v, cmpReferral)
	if j == 0 && len(s.Referrals) >= MaxReferrals {
		return false // older than every kept referral of a full set
	}
	s.Referrals = slices.Insert(s.Referrals, j, v)
	trim(&s.Referrals, MaxReferrals)
	return true
}

// ReferralCount is the number of kept referrals (at most MaxReferrals): the
// referrals segment-rule field.
func (s *State) ReferralCount() int { return len(s.Referrals) }

// appendReferrals writes the referrals section body: the time unit (the
// gcd of the times, so second-precision times cost a third of the bytes),
// the earliest time in units, the count, then per referral the time delta
// from the previous one in units and the hash.
func (s *State) appendReferrals(b []byte) []byte {
	var g uint64
	for i := range s.Referrals {
		g = gcdTime(g, s.Referrals[i].At)
	}
	if g == 0 || g > 1<<62 {
		g = 1
	}
	unit := int64(g)
	base := s.Referrals[0].At / unit
	b = binary.AppendUvarint(b, g)
	b = binary.AppendVarint(b, base)
	b = binary.AppendUvarint(b, uint64(len(s.Referrals)))
	prev := base
	for i := range s.Referrals {
		k := s.Referrals[i].At / unit
		b = binary.AppendUvarint(b, uint64(k-prev))
		prev = k
		b = binary.LittleEndian.AppendUint64(b, s.Referrals[i].Referred)
	}
	return b
}

func (s *State) readReferrals(r *reader) {
	unit := r.uvarint("referral time unit")
	if r.err == nil && (unit == 0 || unit > 1<<62) {
		r.fail("referral time unit %d ms out of range", unit)
	}
	base := r.varint("referral time base")
	n := r.count("referrals", MaxReferrals, 9)
	if n == 0 && r.err == nil {
		r.fail("empty referral section")
	}
	s.Referrals = slices.Grow(s.Referrals[:0], n)
	prev := base
	for i := 0; i < n && r.err == nil; i++ {
		k := int64(uint64(prev) + r.uvarint("referral time"))
		prev = k
		v := Referral{At: r.scale(k, unit), Referred: r.u64("referred hash")}
		s.Referrals = append(s.Referrals, v)
	}
}

// checkReferrals verifies the referral invariants addReferral maintains.
func (s *State) checkReferrals() error {
	if len(s.Referrals) > MaxReferrals {
		return fmt.Errorf("%d referrals, more than MaxReferrals (%d)", len(s.Referrals), MaxReferrals)
	}
	if len(s.Referrals) == 0 {
		return nil // the usual case: no map to make
	}
	seen := make(map[uint64]bool, len(s.Referrals))
	for i, v := range s.Referrals {
		if v.Referred == 0 {
			return fmt.Errorf("referral %d: referred hash 0", i)
		}
		if seen[v.Referred] {
			return fmt.Errorf("referral %d: referred hash kept twice", i)
		}
		seen[v.Referred] = true
		if i > 0 && cmpReferral(s.Referrals[i-1], v) >= 0 {
			return fmt.Errorf("referrals not sorted by (time, hash) at index %d", i)
		}
	}
	return nil
}
