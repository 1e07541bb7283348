package perf

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// Mix describes the synthetic history the benchmark produces. Shares are
// of the distinct events and sum to 1; Duplicates are extra copies on top.
type Mix struct {
	// Events is the number of records produced, duplicates included.
	Events int
	// Customers is the number of distinct customer ids.
	Customers int
	// Purchases, Refunds, Tickets and Emails are the shares of the
	// distinct events by kind (normalised to sum to 1).
	Purchases, Refunds, Tickets, Emails float64
	// Duplicates is the share of redelivered copies: Events ×
	// Duplicates/(1+Duplicates) records are byte-identical copies of an
	// earlier record of the same topic.
	Duplicates float64
	// HistoryDays is the span of the history; it ends EndBefore before the
	// wall clock, so the service replays it (a backfill).
	HistoryDays int
	// EndBefore is how long before now the history ends (default 30 days,
	// beyond the service's default replay threshold of 24 h).
	EndBefore time.Duration
	// Seed makes the history reproducible.
	Seed uint64
}

// DefaultMix is the mix of issue 7: 1,000,000 records for ~107,000
// customers, 51 % purchases, 3 % refunds, 5 % tickets, 41 % email events
// and 1 % redelivered duplicates over two years of history.
func DefaultMix() Mix {
	return Mix{Events: 1_000_000, Customers: 107_000, Purchases: 0.51, Refunds: 0.03, Tickets: 0.05, Emails: 0.41,
		Duplicates: 0.01, HistoryDays: 730, EndBefore: 30 * 24 * time.Hour, Seed: 1}
}

// Validate names the first field that cannot produce a history.
func (m Mix) Validate() error {
	switch {
	case m.Events < 1:
		return fmt.Errorf("events: %d must be at least 1", m.Events)
	case m.Customers < 1:
		return fmt.Errorf("customers: %d must be at least 1", m.Customers)
	case m.Purchases < 0 || m.Refunds < 0 || m.Tickets < 0 || m.Emails < 0 || m.Purchases+m.Refunds+m.Tickets+m.Emails <= 0:
		return fmt.Errorf("mix: shares must not be negative and must not all be 0 (got purchases %v, refunds %v, tickets %v, emails %v)", m.Purchases, m.Refunds, m.Tickets, m.Emails)
	case m.Refunds > 0 && m.Purchases == 0:
		return fmt.Errorf("refunds: %v needs purchases to refund", m.Refunds)
	case m.Duplicates < 0 || m.Duplicates >= 1:
		return fmt.Errorf("duplicates: %v must be in [0, 1)", m.Duplicates)
	case m.HistoryDays < 1:
		return fmt.Errorf("history-days: %d must be at least 1", m.HistoryDays)
	}
	return nil
}

// kind is a generated event's type.
type kind uint8

const (
	kPurchase kind = iota
	kRefund
	kTicketOpened
	kTicketResolved
	kEmailSent
	kEmailOpened
	kEmailClicked
)

var kindType = [...]event.Type{event.Purchase, event.Refund, event.TicketOpened, event.TicketResolved,
	event.EmailSent, event.EmailOpened, event.EmailClicked}

// gen is one generated event, compact so that a million fit in ~40 MB; the
// JSON is built when it is produced.
type gen struct {
	at   int64 // occurred_at, Unix seconds
	cust int32 // customer number
	seq  int32 // per-customer order / ticket / message number
	aux  int32 // purchase or refund amount in cents; csat for resolved tickets
	kind kind
	dup  bool // a redelivered copy of the record before it
}

// History is a generated history, in occurred_at order per topic.
type History struct {
	// Purchases, Tickets and Emails are the records of each input topic
	// (purchases and refunds share the purchases topic), in time order.
	Purchases, Tickets, Emails []gen
	// Customers is the number of distinct customers that have events.
	Customers int
	// ByType counts the records by event type, duplicates included.
	ByType map[event.Type]int
	// Duplicates is the number of redelivered copies.
	Duplicates int
	// Start and End bound occurred_at.
	Start, End time.Time
	// MaxEventTime is the latest occurred_at.
	MaxEventTime time.Time
}

// Total is the number of records.
func (h *History) Total() int { return len(h.Purchases) + len(h.Tickets) + len(h.Emails) }

// Generate builds the history of m deterministically from m.Seed and now.
// Every customer buys at least once when there are enough purchases;
// purchase frequency is heavy-tailed (a few customers buy often, most
// rarely) and each customer stops after an exponential lifetime, so some
// drift to at-risk and lapsed. Refunds refer to earlier orders of the same
// customer for at most their amount; tickets are opened and resolved
// (with a CSAT score); emails are sent, some opened, some of those
// clicked.
func Generate(m Mix, now time.Time) (*History, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	rnd := rand.New(rand.NewPCG(m.Seed, 0x636c76))
	end := now.UTC().Add(-m.EndBefore).Truncate(time.Hour)
	start := end.AddDate(0, 0, -m.HistoryDays)
	span := end.Unix() - start.Unix()

	distinct := int(math.Round(float64(m.Events) / (1 + m.Duplicates)))
	dups := m.Events - distinct
	sum := m.Purchases + m.Refunds + m.Tickets + m.Emails
	nP := int(math.Round(float64(distinct) * m.Purchases / sum))
	nR := int(math.Round(float64(distinct) * m.Refunds / sum))
	nT := int(math.Round(float64(distinct) * m.Tickets / sum))
	nE := distinct - nP - nR - nT
	if nE < 0 { // rounding with a zero email share
		nP += nE
		nE = 0
	}
	if nR > nP { // cannot refund more orders than there are
		nE += nR - nP
		nR = nP
	}

	// Customers: join time, lifetime, purchase weight, basket size.
	type cust struct {
		join, stop int64   // Unix seconds
		weight     float64 // relative purchase rate
		basket     float64 // mean order in cents
		orders     int32
		tickets    int32
		messages   int32
	}
	nC := m.Customers
	cs := make([]cust, nC)
	cum := make([]float64, nC)
	total := 0.0
	for i := range cs {
		c := &cs[i]
		c.join = start.Unix() + int64(rnd.Float64()*0.8*float64(span))
		life := int64(rnd.ExpFloat64() * 300 * 86400)
		c.stop = min(end.Unix(), c.join+max(life, 86400))
		c.weight = math.Pow(rnd.ExpFloat64(), 1.5) + 0.02
		c.basket = math.Exp(8.1 + 0.6*rnd.NormFloat64()) // median ~$33
		total += c.weight
		cum[i] = total
	}
	pick := func() int { // a customer by purchase weight
		i, _ := slices.BinarySearch(cum, rnd.Float64()*total)
		return min(i, nC-1)
	}
	timeIn := func(from, to int64) int64 {
		if to <= from {
			return from
		}
		return from + rnd.Int64N(to-from+1)
	}

	var purchases, tickets, emails []gen
	purchases = make([]gen, 0, nP+nR+dups)
	// Purchases: the first order at the join time for as many customers as
	// there are purchases, the rest by weight within each one's lifetime.
	for i := 0; i < nP; i++ {
		ci := i
		if i >= nC {
			ci = pick()
		}
		c := &cs[ci]
		at := c.join
		if c.orders > 0 {
			at = timeIn(c.join, c.stop)
		}
		c.orders++
		amount := int32(max(100, c.basket*(0.5+rnd.Float64())))
		purchases = append(purchases, gen{at: at, cust: int32(ci), seq: c.orders, aux: amount, kind: kPurchase})
	}
	// Refunds: distinct orders, a few days after them, full or partial.
	for _, k := range rnd.Perm(nP)[:nR] {
		o := purchases[k]
		amount := o.aux
		if rnd.IntN(2) == 0 {
			amount = max(1, int32(float64(o.aux)*rnd.Float64()))
		}
		at := min(end.Unix(), o.at+3600+rnd.Int64N(20*86400))
		purchases = append(purchases, gen{at: at, cust: o.cust, seq: o.seq, aux: amount, kind: kRefund})
	}
	// Tickets: opened then resolved with a CSAT score, by customers who
	// buy (weighted); an odd count leaves the last one open.
	tickets = make([]gen, 0, nT+dups/10)
	for len(tickets) < nT {
		ci := pick()
		c := &cs[ci]
		c.tickets++
		at := timeIn(c.join, end.Unix())
		tickets = append(tickets, gen{at: at, cust: int32(ci), seq: c.tickets, kind: kTicketOpened})
		if len(tickets) < nT {
			res := min(end.Unix(), at+3600+rnd.Int64N(72*3600))
			tickets = append(tickets, gen{at: res, cust: int32(ci), seq: c.tickets, aux: 1 + rnd.Int32N(5), kind: kTicketResolved})
		}
	}
	// Emails: every customer gets campaigns after joining; ~35 % opened,
	// a quarter of the opens clicked.
	emails = make([]gen, 0, nE+dups/2)
	for len(emails) < nE {
		ci := rnd.IntN(nC)
		c := &cs[ci]
		c.messages++
		at := timeIn(c.join, end.Unix())
		emails = append(emails, gen{at: at, cust: int32(ci), seq: c.messages, kind: kEmailSent})
		if len(emails) < nE && rnd.Float64() < 0.35 {
			op := min(end.Unix(), at+rnd.Int64N(48*3600))
			emails = append(emails, gen{at: op, cust: int32(ci), seq: c.messages, kind: kEmailOpened})
			if len(emails) < nE && rnd.Float64() < 0.25 {
				emails = append(emails, gen{at: min(end.Unix(), op+rnd.Int64N(3600)), cust: int32(ci), seq: c.messages, kind: kEmailClicked})
			}
		}
	}
	// Duplicates: copies of random records of each topic, right after the
	// original (a producer retry or a redelivery), in proportion to the
	// topic sizes.
	topics := []*[]gen{&purchases, &tickets, &emails}
	for i := 0; i < dups; i++ {
		n := rnd.IntN(distinct)
		for _, tp := range topics {
			if n < len(*tp) {
				g := (*tp)[n]
				g.dup = true
				*tp = append(*tp, g)
				break
			}
			n -= len(*tp)
		}
	}
	h := &History{Start: start, End: end, ByType: map[event.Type]int{}}
	seen := make([]bool, nC)
	var maxAt int64
	for _, tp := range topics {
		// Time order; a duplicate sorts right after its original.
		slices.SortStableFunc(*tp, func(a, b gen) int {
			if a.at != b.at {
				return int(a.at - b.at)
			}
			if a.cust != b.cust {
				return int(a.cust - b.cust)
			}
			if a.kind != b.kind {
				return int(a.kind) - int(b.kind)
			}
			if a.seq != b.seq {
				return int(a.seq - b.seq)
			}
			if a.dup != b.dup {
				if a.dup {
					return 1
				}
				return -1
			}
			return 0
		})
		for _, g := range *tp {
			h.ByType[kindType[g.kind]]++
			if g.dup {
				h.Duplicates++
			}
			if !seen[g.cust] {
				seen[g.cust] = true
				h.Customers++
			}
			maxAt = max(maxAt, g.at)
		}
	}
	h.Purchases, h.Tickets, h.Emails = purchases, tickets, emails
	h.MaxEventTime = time.Unix(maxAt, 0).UTC()
	return h, nil
}

// CustomerID is the id (and Kafka key) of customer number n.
func CustomerID(n int32) string { return "cust-" + strconv.Itoa(int(n)+1) }

// Record returns the wire record of g.
func (g gen) Record() event.Record {
	cust := CustomerID(g.cust)
	at := time.Unix(g.at, 0).UTC().Format(time.RFC3339)
	r := event.Record{Type: kindType[g.kind], CustomerID: cust, OccurredAt: at}
	cents := func(c int32) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }
	switch g.kind {
	case kPurchase:
		r.OrderID = fmt.Sprintf("%s-o%d", cust, g.seq)
		r.EventID = r.OrderID
		r.Amount, r.Currency = cents(g.aux), "USD"
	case kRefund:
		r.OrderID = fmt.Sprintf("%s-o%d", cust, g.seq)
		r.EventID = r.OrderID + "-r"
		r.Amount, r.Currency = cents(g.aux), "USD"
	case kTicketOpened, kTicketResolved:
		r.TicketID = fmt.Sprintf("%s-t%d", cust, g.seq)
		r.EventID = r.TicketID + "-" + string(r.Type[len("ticket_"):])
		if g.kind == kTicketOpened {
			r.Priority = "normal"
		} else {
			r.CSAT = int(g.aux)
		}
	default:
		r.MessageID = fmt.Sprintf("%s-m%d", cust, g.seq)
		r.EventID = r.MessageID + "-" + string(r.Type[len("email_"):])
		r.Campaign = "weekly"
	}
	return r
}

// Value is the JSON record value of g.
func (g gen) Value() []byte {
	b, _ := json.Marshal(g.Record()) // a Record of strings and ints always marshals
	return b
}
