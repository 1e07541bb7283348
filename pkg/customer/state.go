package customer

import (
	"sort"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// Bounds of the per-customer id sets (see the package doc).
const (
	MaxOrders  = 1000
	MaxRefunds = 200
	MaxTickets = 100
	MaxEmails  = 200
)

const msPerDay = int64(24 * time.Hour / time.Millisecond)

// Day is one distinct purchase day: the UTC day number (days since the Unix
// epoch), the number of kept orders on it and their gross amount and margin.
type Day struct {
	D      int64 `json:"d"`
	N      int   `json:"n"`
	Amount int64 `json:"a"`
	Margin int64 `json:"m"`
}

// Seen is an applied order or refund: its business id, the event time that
// orders the set, the event id and the amounts it contributed. When two
// different events claim the same business id, the one with the earliest
// (time, event id) is kept whatever the arrival order.
type Seen struct {
	ID      string `json:"id"`
	At      int64  `json:"at"`
	EventID string `json:"e,omitempty"`
	Amount  int64  `json:"a,omitempty"`
	Margin  int64  `json:"m,omitempty"`
}

// Transition is one applied ticket transition.
type Transition struct {
	Type     event.Type `json:"t"`
	At       int64      `json:"at"`
	CSAT     int        `json:"csat,omitempty"`
	Priority string     `json:"p,omitempty"`
}

// Ticket is a support ticket and its applied transitions, sorted by time.
// Its priority is that of its earliest transition carrying one.
type Ticket struct {
	ID          string       `json:"id"`
	Transitions []Transition `json:"tr"`
}

// Email is one email message: the send, first open and first click times
// (Unix ms, 0 when not seen).
type Email struct {
	ID      string `json:"id"`
	Sent    int64  `json:"s,omitempty"`
	Opened  int64  `json:"o,omitempty"`
	Clicked int64  `json:"c,omitempty"`
}

// State is the stored state of one customer. Stats are order independent;
// the Segment fields and Version are bookkeeping of the scorer and the store.
type State struct {
	ID string `json:"id"`
	// Version counts the writes of this state; it makes segment-change ids
	// deterministic (customer id + version).
	Version uint64 `json:"v"`
	// Erased is the right-to-erasure tombstone: all statistics are dropped
	// and later events for the customer are ignored.
	Erased   bool  `json:"erased,omitempty"`
	ErasedAt int64 `json:"erased_at,omitempty"`

	Days     []Day    `json:"days,omitempty"`
	Orders   []Seen   `json:"orders,omitempty"`
	Refunds  []Seen   `json:"refunds,omitempty"`
	Refunded int64    `json:"refunded,omitempty"`
	RefundMg int64    `json:"refund_margin,omitempty"`
	Tickets  []Ticket `json:"tickets,omitempty"`
	Emails   []Email  `json:"emails,omitempty"`

	// Segment is the current segment and SegmentSince when it was entered
	// (Unix ms of the scoring clock).
	Segment      string `json:"seg,omitempty"`
	SegmentSince int64  `json:"seg_since,omitempty"`
	// Tier is the current loyalty tier.
	Tier string `json:"tier,omitempty"`
	// ScoredNet is the net revenue at the last scoring (minor units), from
	// which spend milestones are detected; ModelVersion the model version
	// of the last scoring.
	ScoredNet    int64 `json:"scored_net,omitempty"`
	ModelVersion int64 `json:"mv,omitempty"`
}

// Outcome says what Apply did with an event.
type Outcome int

// Outcomes of Apply.
const (
	Applied   Outcome = iota // the event changed the state
	Duplicate                // the fact was already known
	Ignored                  // the customer is erased
)

// String names the outcome for metrics.
func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	default:
		return "ignored_erased"
	}
}

// Apply adds the fact carried by e to the state. defaultMargin is the gross
// margin rate used when a purchase or refund carries no margin of its own.
func (s *State) Apply(e event.Event, defaultMargin float64) Outcome {
	if s.Erased {
		return Ignored
	}
	at := e.OccurredAt.UnixMilli()
	switch e.Type {
	case event.Purchase:
		v := Seen{ID: e.OrderID, At: at, EventID: e.ID, Amount: e.Amount, Margin: margin(e, defaultMargin)}
		added, replaced := addSeen(&s.Orders, v, MaxOrders)
		if !added {
			return Duplicate
		}
		if replaced != nil {
			s.addDay(floorDiv(replaced.At, msPerDay), -1, -replaced.Amount, -replaced.Margin)
		}
		s.addDay(floorDiv(at, msPerDay), 1, v.Amount, v.Margin)
	case event.Refund:
		id := e.RefundID
		if id == "" {
			id = e.ID
		}
		v := Seen{ID: id, At: at, EventID: e.ID, Amount: e.Amount, Margin: margin(e, defaultMargin)}
		added, replaced := addSeen(&s.Refunds, v, MaxRefunds)
		if !added {
			return Duplicate
		}
		if replaced != nil {
			s.Refunded -= replaced.Amount
			s.RefundMg -= replaced.Margin
		}
		s.Refunded += v.Amount
		s.RefundMg += v.Margin
	case event.TicketOpened, event.TicketUpdated, event.TicketResolved, event.TicketReopened:
		if !s.addTransition(e, at) {
			return Duplicate
		}
	case event.EmailSent, event.EmailOpened, event.EmailClicked:
		if !s.addEmail(e, at) {
			return Duplicate
		}
	case event.CustomerErased:
		*s = State{ID: s.ID, Version: s.Version, Erased: true, ErasedAt: at, Segment: s.Segment, SegmentSince: s.SegmentSince, Tier: s.Tier, ModelVersion: s.ModelVersion}
	default:
		return Ignored
	}
	return Applied
}

// margin returns the event's margin or the default rate applied to its
// amount, rounded to the nearest minor unit.
func margin(e event.Event, defaultRate float64) int64 {
	if e.HasMargin {
		return e.Margin
	}
	return int64(float64(e.Amount)*defaultRate + 0.5)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// addSeen inserts v into the set kept sorted by (At, ID), keeping the max
// most recent. When an entry with the same id exists, v replaces it only if
// v comes first by (At, EventID); the replaced entry is returned so its
// contribution can be undone. added is false when v changed nothing.
func addSeen(set *[]Seen, v Seen, max int) (added bool, replaced *Seen) {
	for i, x := range *set {
		if x.ID != v.ID {
			continue
		}
		if x.At < v.At || (x.At == v.At && x.EventID <= v.EventID) {
			return false, nil
		}
		old := x
		*set = append((*set)[:i], (*set)[i+1:]...)
		replaced = &old
		break
	}
	s := *set
	i := sort.Search(len(s), func(i int) bool { return lessSeen(v, s[i]) })
	s = append(s, Seen{})
	copy(s[i+1:], s[i:])
	s[i] = v
	if len(s) > max {
		s = s[len(s)-max:]
	}
	*set = s
	return true, replaced
}

func lessSeen(a, b Seen) bool {
	if a.At != b.At {
		return a.At < b.At
	}
	return a.ID < b.ID
}

// addDay adds n orders with amount and margin to day d (n = -1 removes
// one); a day with no orders left disappears.
func (s *State) addDay(d int64, n int, amount, mg int64) {
	i := sort.Search(len(s.Days), func(i int) bool { return s.Days[i].D >= d })
	if i < len(s.Days) && s.Days[i].D == d {
		s.Days[i].N += n
		s.Days[i].Amount += amount
		s.Days[i].Margin += mg
		if s.Days[i].N <= 0 {
			s.Days = append(s.Days[:i], s.Days[i+1:]...)
		}
		return
	}
	if n <= 0 {
		return // the day's orders were evicted from the id set earlier
	}
	s.Days = append(s.Days, Day{})
	copy(s.Days[i+1:], s.Days[i:])
	s.Days[i] = Day{D: d, N: n, Amount: amount, Margin: mg}
}

func (s *State) addTransition(e event.Event, at int64) bool {
	tr := Transition{Type: e.Type, At: at, CSAT: e.CSAT, Priority: e.Priority}
	for i := range s.Tickets {
		t := &s.Tickets[i]
		if t.ID != e.TicketID {
			continue
		}
		for _, x := range t.Transitions {
			if x == tr {
				return false
			}
		}
		t.Transitions = append(t.Transitions, tr)
		sort.Slice(t.Transitions, func(a, b int) bool { return lessTransition(t.Transitions[a], t.Transitions[b]) })
		s.boundTickets()
		return true
	}
	s.Tickets = append(s.Tickets, Ticket{ID: e.TicketID, Transitions: []Transition{tr}})
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
		return transitionRank[a.Type] < transitionRank[b.Type]
	}
	if a.CSAT != b.CSAT {
		return a.CSAT < b.CSAT
	}
	return a.Priority < b.Priority
}

var transitionRank = map[event.Type]int{
	event.TicketOpened: 0, event.TicketUpdated: 1, event.TicketReopened: 2, event.TicketResolved: 3,
}

// boundTickets sorts tickets by (first transition time, id) and keeps the
// MaxTickets most recent.
func (s *State) boundTickets() {
	sort.Slice(s.Tickets, func(a, b int) bool {
		ta, tb := s.Tickets[a].Transitions[0].At, s.Tickets[b].Transitions[0].At
		if ta != tb {
			return ta < tb
		}
		return s.Tickets[a].ID < s.Tickets[b].ID
	})
	if len(s.Tickets) > MaxTickets {
		s.Tickets = s.Tickets[len(s.Tickets)-MaxTickets:]
	}
}

func (s *State) addEmail(e event.Event, at int64) bool {
	idx := -1
	for i := range s.Emails {
		if s.Emails[i].ID == e.MessageID {
			idx = i
			break
		}
	}
	if idx < 0 {
		s.Emails = append(s.Emails, Email{ID: e.MessageID})
		idx = len(s.Emails) - 1
	}
	m := &s.Emails[idx]
	var field *int64
	switch e.Type {
	case event.EmailSent:
		field = &m.Sent
	case event.EmailOpened:
		field = &m.Opened
	default:
		field = &m.Clicked
	}
	// The earliest time of each kind is the fact; a later duplicate changes nothing.
	if *field != 0 && *field <= at {
		return false
	}
	*field = at
	sort.Slice(s.Emails, func(a, b int) bool {
		ka, kb := s.Emails[a].key(), s.Emails[b].key()
		if ka != kb {
			return ka < kb
		}
		return s.Emails[a].ID < s.Emails[b].ID
	})
	if len(s.Emails) > MaxEmails {
		s.Emails = s.Emails[len(s.Emails)-MaxEmails:]
	}
	return true
}

// key is the earliest known time of the message.
func (m Email) key() int64 {
	k := int64(0)
	for _, t := range []int64{m.Sent, m.Opened, m.Clicked} {
		if t != 0 && (k == 0 || t < k) {
			k = t
		}
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
		up(m.Opened)
		up(m.Clicked)
	}
	return latest
}
