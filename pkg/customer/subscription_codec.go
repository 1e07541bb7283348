package customer

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/clvstream/clvstream/pkg/event"
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

// appendSubscriptions writes the subscriptions section body: the count,
// then per subscription its id, flags and times (absolute Unix ms for the
// first activity and the cancellation, the others relative to the first).
func (s *State) appendSubscriptions(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s.Subscriptions)))
	for i := range s.Subscriptions {
		b = appendSubscription(b, &s.Subscriptions[i])
	}
	return b
}

// appendAcquisition writes the acquisition section body.
func (s *State) appendAcquisition(b []byte) []byte {
	a := &s.Acquisition
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

func (s *State) readSubscriptions(r *reader) {
	n := r.count("subscriptions", MaxSubscriptions, 9)
	if n == 0 && r.err == nil {
		r.fail("empty subscription section")
	}
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

func (s *State) readAcquisition(r *reader) {
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

// checkSubscriptions checks the subscription and acquisition facts of a
// state no Apply could produce.
func (s *State) checkSubscriptions() error {
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
