package customer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/clvstream/clvstream/pkg/event"
)

// EncodingVersion is the first byte of a state in the binary encoding (see
// docs/state.md, "Customer state encoding"). A stored value starting with
// '{' is the JSON format of earlier releases (version 0), which
// UnmarshalBinary still reads.
const EncodingVersion = 1

// ErrMalformed is wrapped by every error of UnmarshalBinary about the bytes
// themselves (truncated, unknown version, impossible values), as opposed to
// a state that could not exist.
var ErrMalformed = errors.New("malformed customer state")

// Flags of the encoding's header.
const (
	flagErased      = 1 << 0 // ErasedAt follows
	flagDaysDerived = 1 << 1 // Days is the aggregate of Orders and is not stored
	flagCarried     = 1 << 2 // Refunded and RefundMg follow
)

// Flags of an order, a refund, a transition and an email.
const (
	orderRefunded  = 1 << 0 // Refunded and RefundedMargin follow
	refundMigrated = 1 << 0 // no order hash follows

	trCSAT      = 1 << 5 // a zigzag CSAT follows
	prioLiteral = 7      // priority code: a length-prefixed string follows

	emailSent    = 1 << 0
	emailOpened  = 1 << 1
	emailClicked = 1 << 2
	// emailDelivered: a delivery time follows the other times; bits 4-5
	// hold the channel (0 e-mail, so earlier encodings are e-mail).
	emailDelivered    = 1 << 3
	emailChannelShift = 4
)

// MarshalBinary encodes s in the binary encoding (EncodingVersion). It
// fails only for a state no Apply could produce (an unsorted or oversized
// set, an unknown transition type), so what it writes UnmarshalBinary reads.
func (s *State) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, s.sizeHint()))
}

// sizeHint is an upper estimate of the encoded size, to allocate once.
func (s *State) sizeHint() int {
	n := 64 + len(s.ID) + len(s.Segment) + len(s.Tier) + 36*len(s.Orders) + 46*len(s.Refunds) + 24*len(s.Emails) + 40*len(s.Surveys) + 120*len(s.Subscriptions) + 16*len(s.Referrals)
	for i := range s.Tickets {
		n += 10 + 8*len(s.Tickets[i].Transitions)
	}
	return n
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender);
// with a reused buffer it does not allocate.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	if err := s.check(); err != nil {
		return b, fmt.Errorf("encode state: %w", err)
	}
	unit := s.timeUnit()
	base := s.timeBase(unit)
	var flags uint64
	if s.Erased || s.ErasedAt != 0 {
		flags |= flagErased
	}
	derived := s.daysDerived()
	if derived {
		flags |= flagDaysDerived
	}
	if !s.Refunded.IsZero() || !s.RefundMg.IsZero() {
		flags |= flagCarried
	}
	if s.hasSections() {
		flags |= flagSections
	}
	b = append(b, EncodingVersion)
	b = binary.AppendUvarint(b, flags)
	b = appendString(b, s.ID)
	b = binary.AppendUvarint(b, s.Version)
	b = binary.AppendUvarint(b, unit)
	b = binary.AppendVarint(b, base)
	baseMs := base * int64(unit)
	if flags&flagErased != 0 {
		b = binary.AppendUvarint(b, boolBit(s.Erased))
		b = appendDelta(b, s.ErasedAt, baseMs)
	}
	b = appendString(b, s.Segment)
	b = appendDelta(b, s.SegmentSince, baseMs)
	b = appendString(b, s.Tier)
	b = binary.AppendVarint(b, s.ScoredNet)
	b = binary.AppendVarint(b, s.ModelVersion)
	if flags&flagCarried != 0 {
		b = appendTotal(b, s.Refunded)
		b = appendTotal(b, s.RefundMg)
	}

	if !derived {
		b = binary.AppendUvarint(b, uint64(len(s.Days)))
		prev := int64(0)
		for i, d := range s.Days {
			if i == 0 {
				b = binary.AppendVarint(b, d.D)
			} else {
				b = binary.AppendUvarint(b, uint64(d.D-prev))
			}
			prev = d.D
			b = binary.AppendUvarint(b, uint64(d.N))
			b = appendTotal(b, d.Amount)
			b = appendTotal(b, d.Margin)
		}
	}

	b = binary.AppendUvarint(b, uint64(len(s.Orders)))
	prev := base
	for i := range s.Orders {
		o := &s.Orders[i]
		f := byte(0)
		if !o.Refunded.IsZero() || !o.RefundedMargin.IsZero() {
			f |= orderRefunded
		}
		t := o.At / int64(unit)
		b = append(b, f)
		b = binary.AppendUvarint(b, uint64(t-prev))
		prev = t
		b = binary.LittleEndian.AppendUint64(b, o.ID)
		b = binary.AppendUvarint(b, uint64(o.Amount))
		b = binary.AppendUvarint(b, uint64(o.Margin))
		if f&orderRefunded != 0 {
			b = appendTotal(b, o.Refunded)
			b = appendTotal(b, o.RefundedMargin)
		}
	}

	b = binary.AppendUvarint(b, uint64(len(s.Refunds)))
	prev = base
	for i := range s.Refunds {
		r := &s.Refunds[i]
		f := byte(0)
		if r.Migrated {
			f |= refundMigrated
		}
		t := r.At / int64(unit)
		b = append(b, f)
		b = binary.AppendUvarint(b, uint64(t-prev))
		prev = t
		b = binary.LittleEndian.AppendUint64(b, r.ID)
		if !r.Migrated {
			b = binary.LittleEndian.AppendUint64(b, r.Order)
		}
		b = binary.AppendUvarint(b, uint64(r.Amount))
		b = binary.AppendUvarint(b, uint64(r.Margin))
	}

	b = binary.AppendUvarint(b, uint64(len(s.Tickets)))
	prev = base
	for i := range s.Tickets {
		t := &s.Tickets[i]
		b = binary.LittleEndian.AppendUint64(b, t.ID)
		b = binary.AppendUvarint(b, uint64(len(t.Transitions)))
		// A ticket's first transition is relative to the previous ticket's
		// first (tickets are sorted by it), later ones to their predecessor.
		last := prev
		for j, tr := range t.Transitions {
			at := tr.At / int64(unit)
			b = appendTransition(b, tr, at-last)
			last = at
			if j == 0 {
				prev = at
			}
		}
	}

	b = binary.AppendUvarint(b, uint64(len(s.Emails)))
	prev = base
	for i := range s.Emails {
		m := &s.Emails[i]
		k := m.key() / int64(unit)
		b = binary.AppendUvarint(b, uint64(k-prev))
		prev = k
		b = binary.LittleEndian.AppendUint64(b, m.ID)
		f := byte(0)
		if m.Sent != 0 {
			f |= emailSent
		}
		if m.Opened != 0 {
			f |= emailOpened
		}
		if m.Clicked != 0 {
			f |= emailClicked
		}
		if m.Delivered != 0 {
			f |= emailDelivered
		}
		f |= byte(m.Channel) << emailChannelShift
		b = append(b, f)
		for _, t := range [4]int64{m.Sent, m.Opened, m.Clicked, m.Delivered} {
			if t != 0 {
				b = binary.AppendUvarint(b, uint64(t/int64(unit)-k))
			}
		}
	}
	if flags&flagSections != 0 {
		b = s.appendSections(b)
	}
	return b, nil
}

// appendTransition appends one transition whose time is delta units after
// its predecessor's.
func appendTransition(b []byte, tr Transition, delta int64) []byte {
	b = binary.AppendUvarint(b, uint64(delta))
	p := priorityCode(tr.Priority)
	code := byte(typeCode(tr.Type)) | p<<2
	if tr.CSAT != 0 {
		code |= trCSAT
	}
	b = append(b, code)
	if tr.CSAT != 0 {
		b = binary.AppendVarint(b, int64(tr.CSAT))
	}
	if p == prioLiteral {
		b = appendString(b, tr.Priority)
	}
	return b
}

func boolBit(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendDelta appends t - base as a zigzag varint, with wrapping arithmetic
// so any pair of int64 round-trips.
func appendDelta(b []byte, t, base int64) []byte {
	return binary.AppendVarint(b, int64(uint64(t)-uint64(base)))
}

func appendTotal(b []byte, t Total) []byte {
	b = binary.AppendUvarint(b, t.hi)
	return binary.AppendUvarint(b, t.lo)
}

var transitionTypes = [4]event.Type{event.TicketOpened, event.TicketUpdated, event.TicketReopened, event.TicketResolved}

// typeCode is the rank of a ticket transition type (also its sort order);
// check has already refused unknown types.
func typeCode(t event.Type) int {
	switch t {
	case event.TicketOpened:
		return 0
	case event.TicketUpdated:
		return 1
	case event.TicketReopened:
		return 2
	case event.TicketResolved:
		return 3
	}
	return -1
}

var priorities = [...]string{"", "low", "normal", "high", "urgent"}

func priorityCode(p string) byte {
	for i, x := range priorities {
		if p == x {
			return byte(i)
		}
	}
	return prioLiteral
}

// timeUnit is the largest number of milliseconds dividing every time kept in
// the sets (1 for millisecond data, 1000 for whole seconds, ...).
func (s *State) timeUnit() uint64 {
	var g uint64
	add := func(t int64) {
		if t == 0 || g == 1 {
			return
		}
		u := uint64(t)
		if t < 0 {
			u = -u
		}
		if g != 0 && u%g == 0 {
			return // the usual case once the unit is known
		}
		for u != 0 {
			g, u = u, g%u
		}
	}
	for i := range s.Orders {
		add(s.Orders[i].At)
	}
	for i := range s.Refunds {
		add(s.Refunds[i].At)
	}
	for i := range s.Tickets {
		for _, tr := range s.Tickets[i].Transitions {
			add(tr.At)
		}
	}
	for i := range s.Emails {
		m := &s.Emails[i]
		add(m.Sent)
		add(m.Delivered)
		add(m.Opened)
		add(m.Clicked)
	}
	if g == 0 || g > 1<<62 {
		return 1
	}
	return g
}

// timeBase is the earliest first time of the sets, in units: the origin of
// their delta encoding.
func (s *State) timeBase(unit uint64) int64 {
	var base int64
	found := false
	up := func(t int64) {
		t /= int64(unit)
		if !found || t < base {
			base, found = t, true
		}
	}
	if len(s.Orders) > 0 {
		up(s.Orders[0].At)
	}
	if len(s.Refunds) > 0 {
		up(s.Refunds[0].At)
	}
	if len(s.Tickets) > 0 {
		up(s.Tickets[0].Transitions[0].At)
	}
	if len(s.Emails) > 0 {
		up(s.Emails[0].key())
	}
	return base
}

// daysDerived reports whether Days is exactly the aggregate of Orders (no
// order was evicted), so the encoding may leave it out.
func (s *State) daysDerived() bool {
	j := -1
	var d Day
	for i := range s.Orders {
		o := &s.Orders[i]
		day := dayOf(o.At)
		if j < 0 || day != d.D {
			if j >= 0 && d != s.Days[j] {
				return false
			}
			j++
			if j >= len(s.Days) {
				return false
			}
			d = Day{D: day}
		}
		d.N++
		d.Amount, d.Margin = d.Amount.Add(o.Amount), d.Margin.Add(o.Margin)
	}
	if j >= 0 && d != s.Days[j] {
		return false
	}
	return j+1 == len(s.Days)
}

// deriveDays rebuilds Days from Orders (the flagDaysDerived case).
func (s *State) deriveDays() {
	s.Days = slices.Grow(s.Days[:0], len(s.Orders))
	for i := range s.Orders {
		o := &s.Orders[i]
		day := dayOf(o.At)
		if n := len(s.Days); n == 0 || s.Days[n-1].D != day {
			s.Days = append(s.Days, Day{D: day})
		}
		d := &s.Days[len(s.Days)-1]
		d.N++
		d.Amount, d.Margin = d.Amount.Add(o.Amount), d.Margin.Add(o.Margin)
	}
}

// check verifies the invariants Apply maintains and the other code relies
// on: bounded, sorted sets, tickets with transitions of known types, money
// within range. It runs on every encode and decode.
func (s *State) check() error {
	switch {
	case len(s.Orders) > MaxOrders:
		return fmt.Errorf("%d orders, more than MaxOrders (%d)", len(s.Orders), MaxOrders)
	case len(s.Refunds) > MaxRefunds:
		return fmt.Errorf("%d refunds, more than MaxRefunds (%d)", len(s.Refunds), MaxRefunds)
	case len(s.Tickets) > MaxTickets:
		return fmt.Errorf("%d tickets, more than MaxTickets (%d)", len(s.Tickets), MaxTickets)
	case len(s.Emails) > int(numChannels)*MaxEmails:
		return fmt.Errorf("%d messages, more than MaxEmails (%d) per channel", len(s.Emails), MaxEmails)
	}
	var perChannel [numChannels + 1]int
	for i := range s.Emails {
		if c := s.Emails[i].Channel; c < numChannels {
			perChannel[c]++
		} else {
			return fmt.Errorf("message %d: channel %d", i, c)
		}
	}
	for c, n := range perChannel[:numChannels] {
		if n > MaxEmails {
			return fmt.Errorf("%d %s messages, more than MaxEmails (%d)", n, Channel(c), MaxEmails)
		}
	}
	if err := s.checkSubscriptions(); err != nil {
		return err
	}
	if err := s.checkReferrals(); err != nil {
		return err
	}
	for i := range s.Days {
		if s.Days[i].N < 1 {
			return fmt.Errorf("day %d has %d orders, want at least 1", s.Days[i].D, s.Days[i].N)
		}
		if i > 0 && s.Days[i].D <= s.Days[i-1].D {
			return fmt.Errorf("days not strictly increasing at index %d", i)
		}
	}
	for i := range s.Orders {
		o := &s.Orders[i]
		if o.Amount < 0 || o.Margin < 0 || o.Margin > o.Amount {
			return fmt.Errorf("order %d: amount %d, margin %d: want 0 <= margin <= amount", i, o.Amount, o.Margin)
		}
		if i > 0 && !lessOrder(&s.Orders[i-1], o) {
			return fmt.Errorf("orders not sorted by (time, id) at index %d", i)
		}
	}
	for i := range s.Refunds {
		r := &s.Refunds[i]
		if r.Amount < 0 || r.Margin < 0 || r.Margin > r.Amount {
			return fmt.Errorf("refund %d: amount %d, margin %d: want 0 <= margin <= amount", i, r.Amount, r.Margin)
		}
		if i > 0 && !lessRefund(&s.Refunds[i-1], r) {
			return fmt.Errorf("refunds not sorted by (time, id) at index %d", i)
		}
	}
	for i := range s.Tickets {
		t := &s.Tickets[i]
		if len(t.Transitions) == 0 {
			return fmt.Errorf("ticket %d has no transition", i)
		}
		for j, tr := range t.Transitions {
			if typeCode(tr.Type) < 0 {
				return fmt.Errorf("ticket %d: transition type %q is not a ticket transition", i, tr.Type)
			}
			if j > 0 && !lessTransition(t.Transitions[j-1], tr) {
				return fmt.Errorf("ticket %d: transitions not sorted at index %d", i, j)
			}
		}
		if i > 0 {
			p := &s.Tickets[i-1]
			pa, ta := p.Transitions[0].At, t.Transitions[0].At
			if pa > ta || (pa == ta && p.ID >= t.ID) {
				return fmt.Errorf("tickets not sorted by (first time, id) at index %d", i)
			}
		}
	}
	for i := range s.Emails {
		if len(s.Emails[i].Campaign) > maxCampaignBytes {
			return fmt.Errorf("message %d: campaign of %d bytes", i, len(s.Emails[i].Campaign))
		}
	}
	for i := 1; i < len(s.Emails); i++ {
		p, m := &s.Emails[i-1], &s.Emails[i]
		pk, mk := p.key(), m.key()
		if pk > mk || (pk == mk && (p.ID > m.ID || (p.ID == m.ID && p.Channel >= m.Channel))) {
			return fmt.Errorf("emails not sorted by (first time, id, channel) at index %d", i)
		}
	}
	return s.checkSurveys()
}

// UnmarshalBinary decodes a state written by MarshalBinary, or the JSON
// format of earlier releases (first byte '{'), into s. It reuses the
// memory of s's slices (each ticket's transitions included), so decoding
// into a recycled State allocates little; whatever still refers to that
// memory sees it overwritten. It does not retain data (strings are copied),
// so data may be a zero-copy view of a Redis reply. Bytes that are not a valid state give an error wrapping
// ErrMalformed and leave s empty; no input makes it panic or allocate more
// than a small multiple of len(data).
func (s *State) UnmarshalBinary(data []byte) error {
	var err error
	switch {
	case len(data) == 0:
		err = fmt.Errorf("%w: empty value", ErrMalformed)
	case data[0] == '{':
		err = s.unmarshalJSONv0(data)
	case data[0] == EncodingVersion:
		err = s.decode(data[1:])
	default:
		err = fmt.Errorf("%w: unknown encoding version %d (this release reads 1 and JSON)", ErrMalformed, data[0])
	}
	if err != nil {
		s.Reset()
		return err
	}
	return nil
}

// Reset empties s, keeping its slices' capacity, so that decoding into it
// again reuses them.
func (s *State) Reset() {
	*s = State{Days: s.Days[:0], Orders: s.Orders[:0], Refunds: s.Refunds[:0], Tickets: s.Tickets[:0], Emails: s.Emails[:0], Surveys: s.Surveys[:0], Subscriptions: s.Subscriptions[:0], Referrals: s.Referrals[:0]}
}

// reader reads the encoding; its first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
	}
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("%s: truncated or overlong varint", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("%s: truncated or overlong varint", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail("%s: truncated", what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u64(what string) uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.fail("%s: truncated", what)
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// count reads a set length, refusing more than max or than the remaining
// bytes could hold at minSize bytes per element: a length prefix never
// makes the decoder allocate more than the input justifies.
func (r *reader) count(what string, max, minSize int) int {
	n := r.uvarint(what)
	if r.err != nil {
		return 0
	}
	if n > uint64(max) || n*uint64(minSize) > uint64(len(r.b)) {
		r.fail("%s: %d elements (at most %d, and %d bytes remain)", what, n, max, len(r.b))
		return 0
	}
	return int(n)
}

// str reads a length-prefixed string; old is returned without allocating
// when the bytes are equal to it (segment and tier names repeat).
func (r *reader) str(what, old string) string {
	n := r.uvarint(what)
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.fail("%s: length %d but %d bytes remain", what, n, len(r.b))
		return ""
	}
	v := r.b[:n]
	r.b = r.b[n:]
	if string(v) == old {
		return old
	}
	return string(v)
}

func (r *reader) total(what string) Total {
	hi := r.uvarint(what)
	lo := r.uvarint(what)
	return Total{hi: hi, lo: lo}
}

func (r *reader) amount(what string) int64 {
	v := r.uvarint(what)
	if v > 1<<63-1 {
		r.fail("%s: %d exceeds the int64 range", what, v)
		return 0
	}
	return int64(v)
}

// scale multiplies a time in units back to milliseconds, refusing overflow.
func (r *reader) scale(t int64, unit uint64) int64 {
	neg := t < 0
	m := uint64(t)
	if neg {
		m = -m
	}
	hi, lo := bits.Mul64(m, unit)
	if hi != 0 || lo > 1<<63 || (!neg && lo == 1<<63) {
		r.fail("time %d units of %d ms overflows", t, unit)
		return 0
	}
	if neg {
		return int64(-lo)
	}
	return int64(lo)
}

// decode reads the body of a version-1 encoding.
func (s *State) decode(b []byte) error {
	r := reader{b: b}
	flags := r.uvarint("flags")
	if flags&^(flagErased|flagDaysDerived|flagCarried|flagSections) != 0 {
		r.fail("unknown flags %#x", flags)
	}
	id := r.str("customer id", s.ID)
	seg, tier := s.Segment, s.Tier
	days, orders, refunds, tickets, emails, surveys := s.Days[:0], s.Orders[:0], s.Refunds[:0], s.Tickets[:0], s.Emails[:0], s.Surveys[:0]
	*s = State{ID: id, Days: days, Orders: orders, Refunds: refunds, Tickets: tickets, Emails: emails, Surveys: surveys, Subscriptions: s.Subscriptions[:0], Referrals: s.Referrals[:0]}
	s.Version = r.uvarint("version")
	unit := r.uvarint("time unit")
	if r.err == nil && (unit == 0 || unit > 1<<62) {
		r.fail("time unit %d ms out of range", unit)
	}
	base := r.varint("time base")
	baseMs := r.scale(base, unit)
	if flags&flagErased != 0 {
		e := r.uvarint("erased")
		if e > 1 {
			r.fail("erased flag %d", e)
		}
		s.Erased = e == 1
		s.ErasedAt = int64(uint64(r.varint("erased_at")) + uint64(baseMs))
	}
	s.Segment = r.str("segment", seg)
	s.SegmentSince = int64(uint64(r.varint("segment since")) + uint64(baseMs))
	s.Tier = r.str("tier", tier)
	s.ScoredNet = r.varint("scored net")
	s.ModelVersion = r.varint("model version")
	if flags&flagCarried != 0 {
		s.Refunded = r.total("refunded")
		s.RefundMg = r.total("refunded margin")
	}

	if flags&flagDaysDerived == 0 {
		n := r.count("days", 1<<31, 6)
		s.Days = slices.Grow(s.Days, n)
		prev := int64(0)
		for i := 0; i < n && r.err == nil; i++ {
			var d int64
			if i == 0 {
				d = r.varint("day")
			} else {
				d = int64(uint64(prev) + r.uvarint("day"))
			}
			prev = d
			cnt := r.uvarint("day orders")
			if cnt > 1<<62 {
				r.fail("day orders %d", cnt)
			}
			s.Days = append(s.Days, Day{D: d, N: int(cnt), Amount: r.total("day amount"), Margin: r.total("day margin")})
		}
	}

	n := r.count("orders", MaxOrders, 12)
	s.Orders = slices.Grow(s.Orders, n)
	prev := base
	for i := 0; i < n && r.err == nil; i++ {
		f := r.byte("order flags")
		if f&^orderRefunded != 0 {
			r.fail("order %d: unknown flags %#x", i, f)
		}
		t := int64(uint64(prev) + r.uvarint("order time"))
		prev = t
		o := Order{At: r.scale(t, unit), ID: r.u64("order id")}
		o.Amount, o.Margin = r.amount("order amount"), r.amount("order margin")
		if f&orderRefunded != 0 {
			o.Refunded, o.RefundedMargin = r.total("order refunded"), r.total("order refunded margin")
		}
		s.Orders = append(s.Orders, o)
	}

	n = r.count("refunds", MaxRefunds, 12)
	s.Refunds = slices.Grow(s.Refunds, n)
	prev = base
	for i := 0; i < n && r.err == nil; i++ {
		f := r.byte("refund flags")
		if f&^refundMigrated != 0 {
			r.fail("refund %d: unknown flags %#x", i, f)
		}
		t := int64(uint64(prev) + r.uvarint("refund time"))
		prev = t
		x := Refund{At: r.scale(t, unit), ID: r.u64("refund id"), Migrated: f&refundMigrated != 0}
		if !x.Migrated {
			x.Order = r.u64("refund order id")
		}
		x.Amount, x.Margin = r.amount("refund amount"), r.amount("refund margin")
		s.Refunds = append(s.Refunds, x)
	}

	n = r.count("tickets", MaxTickets, 11)
	s.Tickets = slices.Grow(s.Tickets, n)
	prev = base
	for i := 0; i < n && r.err == nil; i++ {
		var t Ticket
		if i < cap(s.Tickets) {
			t.Transitions = s.Tickets[:cap(s.Tickets)][i].Transitions[:0]
		}
		t.ID = r.u64("ticket id")
		m := r.count("transitions", 1<<31, 2)
		t.Transitions = slices.Grow(t.Transitions, m)
		if m == 0 && r.err == nil {
			r.fail("ticket %d has no transition", i)
		}
		last := prev
		for j := 0; j < m && r.err == nil; j++ {
			at := int64(uint64(last) + r.uvarint("transition time"))
			last = at
			if j == 0 {
				prev = at
			}
			code := r.byte("transition code")
			if p := (code >> 2) & 7; code&^0x3f != 0 || (int(p) >= len(priorities) && p != prioLiteral) {
				r.fail("ticket %d: transition code %#x", i, code)
				break
			}
			tr := Transition{Type: transitionTypes[code&3], At: r.scale(at, unit)}
			if code&trCSAT != 0 {
				c := r.varint("csat")
				if c == 0 || c < -1<<31 || c > 1<<31-1 {
					r.fail("csat %d", c)
				}
				tr.CSAT = int(c)
			}
			if p := (code >> 2) & 7; p == prioLiteral {
				tr.Priority = r.str("priority", "")
				if priorityCode(tr.Priority) != prioLiteral {
					r.fail("priority %q written as a literal", tr.Priority)
				}
			} else {
				tr.Priority = priorities[p]
			}
			t.Transitions = append(t.Transitions, tr)
		}
		s.Tickets = append(s.Tickets, t)
	}

	n = r.count("emails", int(numChannels)*MaxEmails, 10)
	s.Emails = slices.Grow(s.Emails, n)
	prev = base
	for i := 0; i < n && r.err == nil; i++ {
		k := int64(uint64(prev) + r.uvarint("email time"))
		prev = k
		m := Email{ID: r.u64("email id")}
		f := r.byte("email flags")
		if f&^(emailSent|emailOpened|emailClicked|emailDelivered|3<<emailChannelShift) != 0 || Channel(f>>emailChannelShift) >= numChannels {
			r.fail("email %d: unknown flags %#x", i, f)
		}
		m.Channel = Channel(f >> emailChannelShift)
		for bit, field := range [4]*int64{&m.Sent, &m.Opened, &m.Clicked, &m.Delivered} {
			if f&(1<<bit) != 0 {
				*field = r.scale(int64(uint64(k)+r.uvarint("email time")), unit)
			}
		}
		if r.err == nil && m.key() != r.scale(k, unit) {
			r.fail("email %d: first time is not the earliest of its times", i)
		}
		s.Emails = append(s.Emails, m)
	}
	if flags&flagSections != 0 {
		s.readSections(&r)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return r.err
	}
	if flags&flagDaysDerived != 0 {
		s.deriveDays()
	}
	if err := s.check(); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}
