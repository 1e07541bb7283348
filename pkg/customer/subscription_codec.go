package customer

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/clvstream/clvstream/pkg/event"
)

// flagSections (header flag): tagged sections follow the emails. A state
// without subscriptions or acquisition does not set it and is encoded
// byte for byte as before the sections existed; a state written before
// them never has it, so it still decodes (docs/state.md, "Sections").
const flagSections = 1 << 3

// Section tags, written in increasing order. Each section is the tag, the
// payload length (uvarint) and the payload.
const (
	secSubscriptions = 1
	secAcquisition   = 2
)

// Flags of a subscription and of the acquisition.
const (
	subStart    = 1 << 0
	subActivity = 1 << 1 // First, Active − First follow
	subCancel   = 1 << 2 // Cancelled follows
	subPlan     = 1 << 3 // Plan, PlanAt − First follow
	subPeriod   = 1 << 4 // period code, PeriodAt − First follow
	subPrice    = 1 << 5 // Price, PriceAt − First follow

	acqReferrer = 1 << 0
	acqCost     = 1 << 1
)

// hasSections reports whether s needs flagSections.
func (s *State) hasSections() bool { return len(s.Subscriptions) > 0 || s.Acquisition.Set }

// appendSections appends the tagged sections of s. Each payload is written
// in place and its length inserted before it, so a reused buffer is not
// reallocated.
func (s *State) appendSections(b []byte) []byte {
	if len(s.Subscriptions) > 0 {
		b, start := beginSection(b, secSubscriptions)
		b = binary.AppendUvarint(b, uint64(len(s.Subscriptions)))
		for i := range s.Subscriptions {
			b = appendSubscription(b, &s.Subscriptions[i])
		}
		return s.appendAcquisition(endSection(b, start))
	}
	return s.appendAcquisition(b)
}

func (s *State) appendAcquisition(b []byte) []byte {
	a := &s.Acquisition
	if !a.Set {
		return b
	}
	b, start := beginSection(b, secAcquisition)
	b = binary.AppendVarint(b, a.At)
	b = appendString(b, a.Channel)
	b = appendString(b, a.Campaign)
	f := byte(0)
	if a.Referrer != 0 {
		f |= acqReferrer
	}
	if a.HasCost {
		f |= acqCost
	}
	b = append(b, f)
	if a.Referrer != 0 {
		b = binary.LittleEndian.AppendUint64(b, a.Referrer)
	}
	if a.HasCost {
		b = binary.AppendUvarint(b, uint64(a.Cost))
	}
	return endSection(b, start)
}

// beginSection appends the tag and returns where the payload starts.
func beginSection(b []byte, tag uint64) ([]byte, int) {
	b = binary.AppendUvarint(b, tag)
	return b, len(b)
}

// endSection inserts the length of the payload b[start:] before it.
func endSection(b []byte, start int) []byte {
	var lb [binary.MaxVarintLen64]byte
	l := binary.PutUvarint(lb[:], uint64(len(b)-start))
	b = append(b, lb[:l]...)
	copy(b[start+l:], b[start:len(b)-l])
	copy(b[start:], lb[:l])
	return b
}

func appendSubscription(b []byte, v *Subscription) []byte {
	f := byte(0)
	for bit, on := range [...]bool{v.HasStart, v.HasActivity, v.HasCancel, v.Plan != "", v.Period != "", v.HasPrice} {
		if on {
			f |= 1 << bit
		}
	}
	b = binary.LittleEndian.AppendUint64(b, v.ID)
	b = append(b, f)
	if v.HasActivity {
		b = binary.AppendVarint(b, v.First)
		b = binary.AppendUvarint(b, uint64(v.Active-v.First))
	}
	if v.HasCancel {
		b = binary.AppendVarint(b, v.Cancelled)
	}
	if v.Plan != "" {
		b = appendString(b, v.Plan)
		b = appendDelta(b, v.PlanAt, v.First)
	}
	if v.Period != "" {
		b = append(b, byte(slices.Index(event.Periods, v.Period)))
		b = appendDelta(b, v.PeriodAt, v.First)
	}
	if v.HasPrice {
		b = binary.AppendUvarint(b, uint64(v.Price))
		b = appendDelta(b, v.PriceAt, v.First)
	}
	return b
}

// decodeSections reads the tagged sections.
func (s *State) decodeSections(r *reader) {
	last := uint64(0)
	for r.err == nil && len(r.b) > 0 {
		tag := r.uvarint("section tag")
		n := r.uvarint("section length")
		if r.err != nil {
			return
		}
		if tag <= last {
			r.fail("section %d after section %d (sections are in increasing order)", tag, last)
			return
		}
		last = tag
		if n > uint64(len(r.b)) {
			r.fail("section %d: length %d but %d bytes remain", tag, n, len(r.b))
			return
		}
		sub := reader{b: r.b[:n]}
		r.b = r.b[n:]
		switch tag {
		case secSubscriptions:
			s.decodeSubscriptions(&sub)
		case secAcquisition:
			s.decodeAcquisition(&sub)
		default:
			sub.fail("unknown section %d (written by a newer release?)", tag)
		}
		if sub.err == nil && len(sub.b) != 0 {
			sub.fail("section %d: %d trailing bytes", tag, len(sub.b))
		}
		if sub.err != nil {
			r.err = sub.err
			return
		}
	}
	if r.err == nil && last == 0 {
		r.fail("sections flag without a section")
	}
}

func (s *State) decodeSubscriptions(r *reader) {
	n := r.count("subscriptions", MaxSubscriptions, 9)
	s.Subscriptions = slices.Grow(s.Subscriptions[:0], n)
	for i := 0; i < n && r.err == nil; i++ {
		v := Subscription{ID: r.u64("subscription id")}
		f := r.byte("subscription flags")
		if f&^(subStart|subActivity|subCancel|subPlan|subPeriod|subPrice) != 0 {
			r.fail("subscription %d: unknown flags %#x", i, f)
		}
		v.HasStart, v.HasActivity, v.HasCancel = f&subStart != 0, f&subActivity != 0, f&subCancel != 0
		if v.HasActivity {
			v.First = r.varint("subscription first")
			v.Active = int64(uint64(v.First) + r.uvarint("subscription active"))
		}
		if v.HasCancel {
			v.Cancelled = r.varint("subscription cancelled")
		}
		if f&subPlan != 0 {
			v.Plan = r.str("plan", "")
			v.PlanAt = int64(uint64(r.varint("plan time")) + uint64(v.First))
			if v.Plan == "" {
				r.fail("subscription %d: empty plan", i)
			}
		}
		if f&subPeriod != 0 {
			c := r.byte("period")
			if int(c) >= len(event.Periods) {
				r.fail("subscription %d: period code %d", i, c)
			} else {
				v.Period = event.Periods[c]
			}
			v.PeriodAt = int64(uint64(r.varint("period time")) + uint64(v.First))
		}
		if f&subPrice != 0 {
			v.Price, v.HasPrice = r.amount("price"), true
			v.PriceAt = int64(uint64(r.varint("price time")) + uint64(v.First))
		}
		s.Subscriptions = append(s.Subscriptions, v)
	}
}

func (s *State) decodeAcquisition(r *reader) {
	a := Acquisition{Set: true, At: r.varint("acquisition time")}
	a.Channel = r.str("channel", "")
	a.Campaign = r.str("campaign", "")
	f := r.byte("acquisition flags")
	if f&^(acqReferrer|acqCost) != 0 {
		r.fail("acquisition: unknown flags %#x", f)
	}
	if f&acqReferrer != 0 {
		if a.Referrer = r.u64("referrer"); a.Referrer == 0 && r.err == nil {
			r.fail("acquisition: referrer hash 0")
		}
	}
	if f&acqCost != 0 {
		a.Cost, a.HasCost = r.amount("acquisition cost"), true
	}
	if r.err == nil && a.Channel == "" {
		r.fail("acquisition without a channel")
	}
	s.Acquisition = a
}

// checkSections checks the subscription and acquisition facts of a state
// no Apply could produce.
func (s *State) checkSections() error {
	if len(s.Subscriptions) > MaxSubscriptions {
		return fmt.Errorf("%d subscriptions, more than MaxSubscriptions (%d)", len(s.Subscriptions), MaxSubscriptions)
	}
	for i := range s.Subscriptions {
		v := &s.Subscriptions[i]
		switch {
		case !v.HasActivity && !v.HasCancel:
			return fmt.Errorf("subscription %d has no fact", i)
		case v.HasActivity && v.Active < v.First:
			return fmt.Errorf("subscription %d: latest activity before the first", i)
		case v.HasStart && !v.HasActivity:
			return fmt.Errorf("subscription %d: a start without activity", i)
		case v.Price < 0:
			return fmt.Errorf("subscription %d: negative price", i)
		case v.Period != "" && v.Period.Duration() == 0:
			return fmt.Errorf("subscription %d: unknown period %q", i, v.Period)
		}
		if i > 0 {
			p := &s.Subscriptions[i-1]
			if pk, k := p.key(), v.key(); pk > k || (pk == k && p.ID >= v.ID) {
				return fmt.Errorf("subscriptions not sorted by (latest time, id) at index %d", i)
			}
		}
	}
	if a := &s.Acquisition; a.Set && (a.Channel == "" || a.Cost < 0) {
		return fmt.Errorf("acquisition without a channel or with a negative cost")
	}
	return nil
}
