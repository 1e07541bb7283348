package customer

import (
	"slices"
	"sort"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// Bounds of the per-customer sets (see the package doc and docs/state.md).
const (
	// MaxOrders is the number of most recent order ids kept for
	// deduplication and refund matching.
	MaxOrders = 1000
	// MaxRefunds is the number of most recent refunds kept, counted and
	// pending together.
	MaxRefunds = 200
	// MaxTickets is the number of most recent support tickets kept.
	MaxTickets = 100
	// MaxEmails is the number of most recent messages kept per channel
	// (e-mail, SMS, push).
	MaxEmails = 200
)

const msPerDay = int64(24 * time.Hour / time.Millisecond)

// HashID returns the 64-bit FNV-1a hash of a business or event id. The
// state keeps ids as these hashes: 8 bytes each whatever the id's length,
// compared in one instruction. See docs/state.md for the collision
// probability at the set bounds.
func HashID(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// Day is one distinct purchase day: the UTC day number (days since the Unix
// epoch), the number of orders counted on it and their exact gross amount
// and margin. A day keeps the amounts of orders evicted from Orders.
type Day struct {
	D      int64
	N      int
	Amount Total
	Margin Total
}

// Order is an applied purchase: the hash of its order id, the event time
// that orders the set, its amount and margin, and the exact sums of the
// refunds attached to it (uncapped; Derive counts at most the order's own
// amount and margin).
type Order struct {
	ID             uint64
	At             int64
	Amount, Margin int64
	Refunded       Total
	RefundedMargin Total
}

// Refund is an applied refund: hashes of its refund id and of the refunded
// order id, its time, amount and margin. A refund whose order is in
// Orders is attached to it (its amounts are in the order's Refunded sums);
// otherwise it is pending and attaches when the order arrives. Migrated
// marks a refund carried over from the JSON format, which recorded no order
// id: it only deduplicates, its amounts are in State.Refunded.
type Refund struct {
	ID             uint64
	At             int64
	Order          uint64
	Amount, Margin int64
	Migrated       bool
}

// Transition is one applied ticket transition.
type Transition struct {
	Type     event.Type
	At       int64
	CSAT     int
	Priority string
}

// Ticket is a support ticket (hash of its id) and its applied transitions,
// sorted by time. Its priority is that of its earliest transition carrying
// one.
type Ticket struct {
	ID          uint64
	Transitions []Transition
}

// Email is one message (hash of its id) on a channel (the name predates
// SMS and push; e-mail is channel 0): the send, delivery, first open and
// first click times (Unix ms, 0 when not seen). A message is identified by
// its id and channel.
type Email struct {
	ID        uint64
	Channel   Channel
	Sent      int64
	Delivered int64
	Opened    int64
	Clicked   int64
	// Campaign is the campaign the message's events named (the smallest
	// non-empty one when they disagree, so arrival order never matters);
	// empty when none did.
	Campaign string
}

// State is the stored state of one customer. Stats are order independent;
// the Segment fields and Version are bookkeeping of the scorer and the store.
// MarshalBinary and UnmarshalBinary (codec.go) are its storage encoding.
type State struct {
	ID string
	// Version counts the writes of this state; it makes segment-change ids
	// deterministic (customer id + version).
	Version uint64
	// Erased is the right-to-erasure tombstone: all statistics are dropped
	// and later events for the customer are ignored. ErasedAt is the
	// earliest erasure applied.
	Erased   bool
	ErasedAt int64

	Days    []Day
	Orders  []Order
	Refunds []Refund
	// Refunded and RefundMg are counted refunds no longer attributable to a
	// kept order: the capped refunds of orders evicted from Orders and the
	// refund totals migrated from the JSON format.
	Refunded Total
	RefundMg Total
	Tickets  []Ticket
	Emails   []Email
	// Consent is the latest opt-out and opt-in of each channel
	// (message.go), indexed by Channel.
	Consent [numChannels]Consent
	// Surveys are the most recent surveys sent or answered (survey.go).
	Surveys []Survey
	// Subscriptions (at most MaxSubscriptions, sorted by latest time and
	// id) and Acquisition are the contractual and acquisition facts
	// (subscription.go).
	Subscriptions []Subscription
	Acquisition   Acquisition
	// Referrals are the customers this one referred (referral.go): at
	// most MaxReferrals, sorted by (time, hash), each hash once.
	Referrals []Referral

	// Segment is the current segment and SegmentSince when it was entered
	// (Unix ms of the scoring clock).
	Segment      string
	SegmentSince int64
	// Tier is the current loyalty tier.
	Tier string
	// ScoredNet is the net revenue at the last scoring (minor units), from
	// which spend milestones are detected; ModelVersion the model version
	// of the last scoring.
	ScoredNet    int64
	ModelVersion int64
}

// Outcome says what Apply did with an event.
type Outcome int

// Outcomes of Apply.
const (
	Applied   Outcome = iota // the event changed the state
	Duplicate                // the fact was already known
	Ignored                  // the customer is erased, or the type carries no fact
	// Invalid: the event carries a negative amount or a margin outside
	// 0..amount, which the event decoder rejects; nothing changed.
	Invalid
)

// String names the outcome for metrics.
func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	case Invalid:
		return "invalid"
	default:
		return "ignored_erased"
	}
}

// RefundStatus says how an applied refund (or the pending refunds an
// applied purchase released) counts.
type RefundStatus int

// Refund statuses of a Result.
const (
	// RefundNone: no refund was applied or released.
	RefundNone RefundStatus = iota
	// RefundCounted: the refunds count in full against their known order.
	RefundCounted
	// RefundCapped: the order's refunds now exceed its amount (or margin);
	// only up to the order's own amount counts, the excess never does.
	RefundCapped
	// RefundPending: the refunded order is unknown to this customer; the
	// refund is kept (up to MaxRefunds) and counts when the order arrives.
	RefundPending
)

// String names the status for metrics.
func (r RefundStatus) String() string {
	switch r {
	case RefundCounted:
		return "counted"
	case RefundCapped:
		return "capped"
	case RefundPending:
		return "pending"
	default:
		return "none"
	}
}

// Result is the detailed outcome of ApplyEvent, for metrics.
type Result struct {
	Outcome Outcome
	// Refund classifies an applied refund, or the refunds an applied
	// purchase released (RefundCounted or RefundCapped when Released > 0).
	Refund RefundStatus
	// Released is the number of pending refunds an applied purchase
	// attached to itself.
	Released int
}

// Apply adds the fact carried by e to the state. defaultMargin is the gross
// margin rate used when a purchase or refund carries no margin of its own.
func (s *State) Apply(e event.Event, defaultMargin float64) Outcome {
	return s.ApplyEvent(e, defaultMargin).Outcome
}

// ApplyEvent is Apply with the refund bookkeeping of the result.
func (s *State) ApplyEvent(e event.Event, defaultMargin float64) Result {
	at := e.OccurredAt.UnixMilli()
	if s.Erased {
		if e.Type == event.CustomerErased && at < s.ErasedAt {
			s.ErasedAt = at // the earliest erasure is the fact
			return Result{Outcome: Applied}
		}
		return Result{Outcome: Ignored}
	}
	switch e.Type {
	case event.Purchase, event.Refund:
		if e.Amount < 0 || (e.HasMargin && (e.Margin < 0 || e.Margin > e.Amount)) {
			return Result{Outcome: Invalid}
		}
		if e.Type == event.Purchase {
			return s.addOrder(Order{ID: HashID(e.OrderID), At: at, Amount: e.Amount, Margin: margin(e, defaultMargin)})
		}
		id := e.RefundID
		if id == "" {
			id = e.ID
		}
		return s.addRefund(Refund{ID: HashID(id), At: at, Order: HashID(e.OrderID), Amount: e.Amount, Margin: margin(e, defaultMargin)})
	case event.TicketOpened, event.TicketUpdated, event.TicketResolved, event.TicketReopened:
		if !s.addTransition(e, at) {
			return Result{Outcome: Duplicate}
		}
	case event.EmailSent, event.EmailOpened, event.EmailClicked,
		event.MessageSent, event.MessageDelivered, event.MessageOpened, event.MessageClicked:
		if !s.addEmail(e, at) {
			return Result{Outcome: Duplicate}
		}
	case event.SubscriptionStarted, event.SubscriptionRenewed, event.SubscriptionCancelled:
		if !s.addSubscription(e, at) {
			return Result{Outcome: Duplicate}
		}
	case event.CustomerAcquired:
		if !s.addAcquisition(e, at) {
			return Result{Outcome: Duplicate}
		}
	case event.ReferralCredited:
		if e.Referred == 0 {
			return Result{Outcome: Invalid}
		}
		if !s.addReferral(e.Referred, at) {
			return Result{Outcome: Duplicate}
		}
	case event.MessageOptedOut, event.MessageOptedIn:
		if !s.addConsent(e, at) {
			return Result{Outcome: Duplicate}
		}
	case event.SurveySent, event.SurveyResponded:
		if !s.addSurvey(e, at) {
			return Result{Outcome: Duplicate}
		}
	case event.CustomerErased:
		*s = State{ID: s.ID, Version: s.Version, Erased: true, ErasedAt: at, Segment: s.Segment, SegmentSince: s.SegmentSince, Tier: s.Tier, ModelVersion: s.ModelVersion}
	default:
		return Result{Outcome: Ignored}
	}
	return Result{Outcome: Applied}
}

// margin returns the event's margin or the default rate applied to its
// amount, rounded to the nearest minor unit and kept within 0..amount.
func margin(e event.Event, defaultRate float64) int64 {
	if e.HasMargin {
		return e.Margin
	}
	m := float64(e.Amount)*defaultRate + 0.5
	if !(m >= 1) { // also NaN
		return 0
	}
	if m >= float64(e.Amount) {
		return e.Amount
	}
	return min(int64(m), e.Amount)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func dayOf(ms int64) int64 { return floorDiv(ms, msPerDay) }

// before reports whether claim v of an order id wins over the kept claim x:
// the earliest time, then the smaller amount, then the smaller margin.
// Claims equal in all three have the same effect, so the later one is a
// duplicate whichever event carried it: the outcome never depends on
// arrival order (see docs/state.md on why no event id is kept).
func (v *Order) before(x *Order) bool {
	if v.At != x.At {
		return v.At < x.At
	}
	if v.Amount != x.Amount {
		return v.Amount < x.Amount
	}
	return v.Margin < x.Margin
}

// before is Order.before for refunds, the refunded order's hash deciding
// after the time.
func (v *Refund) before(x *Refund) bool {
	if v.At != x.At {
		return v.At < x.At
	}
	if v.Order != x.Order {
		return v.Order < x.Order
	}
	if v.Amount != x.Amount {
		return v.Amount < x.Amount
	}
	return v.Margin < x.Margin
}

func lessOrder(a, b *Order) bool {
	if a.At != b.At {
		return a.At < b.At
	}
	return a.ID < b.ID
}

func lessRefund(a, b *Refund) bool {
	if a.At != b.At {
		return a.At < b.At
	}
	return a.ID < b.ID
}

// addOrder applies a purchase (see the package doc for the rules).
func (s *State) addOrder(v Order) Result {
	res := Result{Outcome: Applied}
	if i := s.orderIndex(v.ID); i >= 0 {
		x := s.Orders[i]
		if !v.before(&x) {
			return Result{Outcome: Duplicate}
		}
		// An earlier claim of the same order id replaces the kept one; the
		// refunds attached to the id stay attached.
		v.Refunded, v.RefundedMargin = x.Refunded, x.RefundedMargin
		s.Orders = append(s.Orders[:i], s.Orders[i+1:]...)
		s.addDay(dayOf(x.At), -1, x.Amount, x.Margin)
	} else {
		for _, r := range s.Refunds {
			if !r.Migrated && r.Order == v.ID { // pending until now
				v.Refunded, v.RefundedMargin = v.Refunded.Add(r.Amount), v.RefundedMargin.Add(r.Margin)
				res.Released++
			}
		}
	}
	if res.Released > 0 {
		res.Refund = refundStatus(&v)
	}
	s.insertOrder(v)
	s.addDay(dayOf(v.At), 1, v.Amount, v.Margin)
	if len(s.Orders) > MaxOrders {
		s.evictOrder()
	}
	return res
}

func (s *State) orderIndex(id uint64) int {
	for i := range s.Orders {
		if s.Orders[i].ID == id {
			return i
		}
	}
	return -1
}

func (s *State) insertOrder(v Order) {
	o := s.Orders
	i := sort.Search(len(o), func(i int) bool { return lessOrder(&v, &o[i]) })
	o = append(o, Order{})
	copy(o[i+1:], o[i:])
	o[i] = v
	s.Orders = o
}

// evictOrder drops the oldest order: its counted refunds move to the
// state's carried totals and its refunds leave the refund set (a refund of
// it arriving later stays pending).
func (s *State) evictOrder() {
	o := s.Orders[0]
	s.Orders = append(s.Orders[:0], s.Orders[1:]...)
	s.Refunded = s.Refunded.Plus(o.Refunded.Min(TotalOf(o.Amount)))
	s.RefundMg = s.RefundMg.Plus(o.RefundedMargin.Min(TotalOf(o.Margin)))
	keep := s.Refunds[:0]
	for _, r := range s.Refunds {
		if r.Migrated || r.Order != o.ID {
			keep = append(keep, r)
		}
	}
	s.Refunds = keep
}

func refundStatus(o *Order) RefundStatus {
	if TotalOf(o.Amount).Less(o.Refunded) || TotalOf(o.Margin).Less(o.RefundedMargin) {
		return RefundCapped
	}
	return RefundCounted
}

// addRefund applies a refund (see the package doc for the rules).
func (s *State) addRefund(v Refund) Result {
	for i := range s.Refunds {
		x := s.Refunds[i]
		if x.ID != v.ID {
			continue
		}
		if !v.before(&x) {
			return Result{Outcome: Duplicate}
		}
		// An earlier claim of the same refund id replaces the kept one:
		// undo its contribution exactly.
		s.Refunds = append(s.Refunds[:i], s.Refunds[i+1:]...)
		if x.Migrated {
			s.Refunded, s.RefundMg = s.Refunded.Sub(x.Amount), s.RefundMg.Sub(x.Margin)
		} else if j := s.orderIndex(x.Order); j >= 0 {
			o := &s.Orders[j]
			o.Refunded, o.RefundedMargin = o.Refunded.Sub(x.Amount), o.RefundedMargin.Sub(x.Margin)
		}
		break
	}
	res := Result{Outcome: Applied, Refund: RefundPending}
	if j := s.orderIndex(v.Order); j >= 0 {
		o := &s.Orders[j]
		o.Refunded, o.RefundedMargin = o.Refunded.Add(v.Amount), o.RefundedMargin.Add(v.Margin)
		res.Refund = refundStatus(o)
	}
	r := s.Refunds
	i := sort.Search(len(r), func(i int) bool { return lessRefund(&v, &r[i]) })
	r = append(r, Refund{})
	copy(r[i+1:], r[i:])
	r[i] = v
	if len(r) > MaxRefunds {
		// The oldest refund leaves the set: attached, its amount stays on
		// its order; pending, it is dropped for good.
		r = append(r[:0], r[1:]...)
	}
	s.Refunds = r
	return res
}

// PendingRefunds returns the number of kept refunds whose order is unknown.
func (s *State) PendingRefunds() int {
	n := 0
	for _, r := range s.Refunds {
		if !r.Migrated && s.orderIndex(r.Order) < 0 {
			n++
		}
	}
	return n
}

// addDay adds (n = 1) or removes (n = -1) one order's amount and margin on
// day d; a day with no orders left disappears.
func (s *State) addDay(d int64, n int, amount, mg int64) {
	i := sort.Search(len(s.Days), func(i int) bool { return s.Days[i].D >= d })
	if i < len(s.Days) && s.Days[i].D == d {
		day := &s.Days[i]
		day.N += n
		if n > 0 {
			day.Amount, day.Margin = day.Amount.Add(amount), day.Margin.Add(mg)
		} else {
			day.Amount, day.Margin = day.Amount.Sub(amount), day.Margin.Sub(mg)
		}
		if day.N <= 0 {
			s.Days = append(s.Days[:i], s.Days[i+1:]...)
		}
		return
	}
	if n <= 0 {
		return
	}
	s.Days = append(s.Days, Day{})
	copy(s.Days[i+1:], s.Days[i:])
	s.Days[i] = Day{D: d, N: n, Amount: TotalOf(amount), Margin: TotalOf(mg)}
}

func (s *State) addTransition(e event.Event, at int64) bool {
	tr := Transition{Type: e.Type, At: at, CSAT: e.CSAT, Priority: e.Priority}
	id := HashID(e.TicketID)
	for i := range s.Tickets {
		t := &s.Tickets[i]
		if t.ID != id {
			continue
		}
		for _, x := range t.Transitions {
			if x == tr {
				return false
			}
		}
		t.Transitions = append(t.Transitions, tr)
		slices.SortFunc(t.Transitions, func(a, b Transition) int { return boolCmp(lessTransition(a, b), lessTransition(b, a)) })
		s.boundTickets()
		return true
	}
	s.Tickets = append(s.Tickets, Ticket{ID: id, Transitions: []Transition{tr}})
	s.boundTickets()
	return true
}

// lessTransition orders transitions by time, then by a fixed type order and
// content, so that simultaneous transitions sort the same whatever their
// arrival order.
func lessTransition(a, b Transition) bool {
	if a.At != b.At {
		return a.At < b.At
	}
	if a.Type != b.Type {
		return typeCode(a.Type) < typeCode(b.Type)
	}
	if a.CSAT != b.CSAT {
		return a.CSAT < b.CSAT
	}
	return a.Priority < b.Priority
}

// boundTickets sorts tickets by (first transition time, id) and keeps the
// MaxTickets most recent.
func (s *State) boundTickets() {
	s.sortTickets()
	trim(&s.Tickets, MaxTickets)
}

func (s *State) sortTickets() {
	slices.SortFunc(s.Tickets, func(a, b Ticket) int {
		if c := cmpInt(a.Transitions[0].At, b.Transitions[0].At); c != 0 {
			return c
		}
		return cmpUint(a.ID, b.ID)
	})
}

// sortEmails sorts messages by (earliest time, id, channel).
func (s *State) sortEmails() {
	slices.SortFunc(s.Emails, func(a, b Email) int {
		if c := cmpInt(a.key(), b.key()); c != 0 {
			return c
		}
		if c := cmpUint(a.ID, b.ID); c != 0 {
			return c
		}
		return cmpUint(uint64(a.Channel), uint64(b.Channel))
	})
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *State) addEmail(e event.Event, at int64) bool {
	id, ch := HashID(e.MessageID), ChannelOf(e.Channel)
	idx := -1
	for i := range s.Emails {
		if s.Emails[i].ID == id && s.Emails[i].Channel == ch {
			idx = i
			break
		}
	}
	if idx < 0 {
		s.Emails = append(s.Emails, Email{ID: id, Channel: ch})
		idx = len(s.Emails) - 1
	}
	m := &s.Emails[idx]
	campaignChanged := false
	if c := e.Campaign; c != "" && (m.Campaign == "" || c < m.Campaign) && len(c) <= maxCampaignBytes {
		m.Campaign, campaignChanged = c, true
	}
	var field *int64
	switch e.Type {
	case event.EmailSent, event.MessageSent:
		field = &m.Sent
	case event.MessageDelivered:
		field = &m.Delivered
	case event.EmailOpened, event.MessageOpened:
		field = &m.Opened
	default:
		field = &m.Clicked
	}
	// The earliest time of each kind is the fact; a later duplicate changes nothing.
	if *field != 0 && *field <= at {
		return campaignChanged // a duplicate, unless it names a campaign first
	}
	*field = at
	s.sortEmails()
	s.trimMessages()
	return true
}

// key is the earliest known time of the message (0 when none).
func (m Email) key() int64 {
	k := m.Sent
	if m.Delivered != 0 && (k == 0 || m.Delivered < k) {
		k = m.Delivered
	}
	if m.Opened != 0 && (k == 0 || m.Opened < k) {
		k = m.Opened
	}
	if m.Clicked != 0 && (k == 0 || m.Clicked < k) {
		k = m.Clicked
	}
	return k
}

// LatestAt returns the time (Unix ms) of the customer's latest known fact:
// the start of the last purchase day, the last ticket transition or email
// time, or the erasure. The scorer never scores a customer as of an instant
// before their own latest fact.
func (s *State) LatestAt() int64 {
	latest := s.ErasedAt
	up := func(t int64) {
		if t > latest {
			latest = t
		}
	}
	if n := len(s.Days); n > 0 {
		up(s.Days[n-1].D * msPerDay)
	}
	for _, t := range s.Tickets {
		up(t.Transitions[len(t.Transitions)-1].At)
	}
	for _, m := range s.Emails {
		up(m.Sent)
		up(m.Delivered)
		up(m.Opened)
		up(m.Clicked)
	}
	for i := range s.Subscriptions {
		up(s.Subscriptions[i].key())
	}
	if s.Acquisition.Set {
		up(s.Acquisition.At)
	}
	if n := len(s.Referrals); n > 0 {
		up(s.Referrals[n-1].At)
	}
	for _, c := range s.Consent {
		up(c.OptedOut)
		up(c.OptedIn)
	}
	for i := range s.Surveys {
		up(s.Surveys[i].Sent)
		up(s.Surveys[i].Responded)
	}
	return latest
}
