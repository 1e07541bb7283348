package customer

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// mixEvents returns the events of one synthetic customer of the benchmark
// mix of issue 7 (51 % purchases, 3 % refunds, 5 % ticket transitions, 41 %
// email, 1 % redelivered duplicates; ~9.3 events per customer on average,
// with a long tail). Times have second precision, as RFC 3339 input without
// fractions gives; event ids differ from the business ids.
func mixEvents(r *rand.Rand, id string) []event.Event {
	n := 1 + int(r.ExpFloat64()*8.35)
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(365*24*3600)) * time.Second)
	span := time.Duration(30+r.IntN(700)) * 24 * time.Hour
	at := func() time.Time { return start.Add(time.Duration(r.Int64N(int64(span/time.Second))) * time.Second) }
	var evs []event.Event
	var orders []event.Event
	var tickets, msgs []string
	seq := 0
	next := func() string { seq++; return fmt.Sprintf("evt-%s-%d", id, seq) }
	for len(evs) < n {
		p := r.Float64()
		switch {
		case p < 0.01 && len(evs) > 0: // redelivered duplicate
			evs = append(evs, evs[r.IntN(len(evs))])
		case p < 0.52 || len(evs) == 0:
			cents := int64(500 + r.IntN(20000))
			if r.IntN(10) == 0 {
				cents *= 8
			}
			e := event.Event{ID: next(), Type: event.Purchase, CustomerID: id, OrderID: fmt.Sprintf("ord-%s-%d", id, len(orders)+1),
				OccurredAt: at(), Amount: cents, Currency: "USD"}
			if r.IntN(3) == 0 {
				e.Margin, e.HasMargin = int64(math.Round(float64(cents)*0.4)), true
			}
			orders = append(orders, e)
			evs = append(evs, e)
		case p < 0.55:
			if len(orders) == 0 {
				continue
			}
			o := orders[r.IntN(len(orders))]
			e := event.Event{ID: next(), Type: event.Refund, CustomerID: id, OrderID: o.OrderID,
				OccurredAt: o.OccurredAt.Add(time.Duration(1+r.IntN(20*24)) * time.Hour), Amount: 1 + o.Amount/int64(1+r.IntN(3)), Currency: "USD"}
			e.RefundID = e.ID
			evs = append(evs, e)
		case p < 0.60:
			var e event.Event
			if len(tickets) == 0 || r.IntN(2) == 0 {
				tickets = append(tickets, fmt.Sprintf("tkt-%s-%d", id, len(tickets)+1))
				e = event.Event{Type: event.TicketOpened, Priority: []string{"low", "normal", "high", "urgent"}[r.IntN(4)]}
			} else {
				e = event.Event{Type: []event.Type{event.TicketUpdated, event.TicketResolved, event.TicketResolved, event.TicketReopened}[r.IntN(4)]}
				if e.Type == event.TicketResolved && r.IntN(2) == 0 {
					e.CSAT = 1 + r.IntN(5)
				}
			}
			e.ID, e.CustomerID, e.TicketID, e.OccurredAt = next(), id, tickets[len(tickets)-1], at()
			evs = append(evs, e)
		default:
			var e event.Event
			if len(msgs) == 0 || r.IntN(2) == 0 {
				msgs = append(msgs, fmt.Sprintf("msg-%s-%d", id, len(msgs)+1))
				e.Type = event.EmailSent
			} else if r.IntN(4) == 0 {
				e.Type = event.EmailClicked
			} else {
				e.Type = event.EmailOpened
			}
			e.ID, e.CustomerID, e.MessageID, e.OccurredAt = next(), id, msgs[len(msgs)-1], at()
			evs = append(evs, e)
		}
	}
	return evs
}

// mixStates builds the states of n customers of the benchmark mix.
func mixStates(n int, seed uint64) []State {
	sts, _ := mixCorpus(n, seed)
	return sts
}

// mixCorpus builds the states of n customers of the benchmark mix and the
// same states in the JSON format of earlier releases (string ids), which is
// what Redis held before the binary encoding.
func mixCorpus(n int, seed uint64) ([]State, [][]byte) {
	r := rand.New(rand.NewPCG(seed, 99))
	out := make([]State, n)
	js := make([][]byte, n)
	for i := range out {
		id := fmt.Sprintf("cust-%07d", i)
		out[i] = State{ID: id, Version: uint64(1 + r.IntN(20)), Segment: []string{"new", "active", "loyal", "at-risk", "lapsed", "high-value"}[r.IntN(6)],
			SegmentSince: 1700000000000 + r.Int64N(3e10), Tier: []string{"none", "bronze", "silver", "gold"}[r.IntN(4)], ModelVersion: int64(r.IntN(5))}
		names := map[uint64]string{}
		events := map[string]string{} // business id -> event id, for the JSON of that era
		for _, e := range mixEvents(r, id) {
			for _, s := range []string{e.OrderID, e.RefundID, e.TicketID, e.MessageID} {
				names[HashID(s)] = s
			}
			if e.Type == event.Purchase {
				events[e.OrderID] = e.ID
			} else if e.Type == event.Refund {
				events[e.RefundID] = e.ID
			}
			out[i].Apply(e, 0.3)
		}
		f := out[i].Derive(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 0)
		out[i].ScoredNet = f.Margin
		var err error
		if js[i], err = json.Marshal(toV0(&out[i], names, events)); err != nil {
			panic(err)
		}
	}
	return out, js
}

// toV0 converts s to the JSON format of earlier releases, names giving the
// id strings behind the hashes.
func toV0(s *State, names map[uint64]string, events map[string]string) v0State {
	v := v0State{ID: s.ID, V: s.Version, Erased: s.Erased, ErasedAt: s.ErasedAt, Refunded: s.Refunded.Int64(), RefundMg: s.RefundMg.Int64(),
		Seg: s.Segment, SegSince: s.SegmentSince, Tier: s.Tier, ScoredNet: s.ScoredNet, ModelVersion: s.ModelVersion}
	for _, d := range s.Days {
		v.Days = append(v.Days, v0Day{D: d.D, N: d.N, A: d.Amount.Int64(), M: d.Margin.Int64()})
	}
	for _, o := range s.Orders {
		v.Orders = append(v.Orders, v0Seen{ID: names[o.ID], At: o.At, E: events[names[o.ID]], A: o.Amount, M: o.Margin})
		v.Refunded += o.Refunded.Int64()
		v.RefundMg += o.RefundedMargin.Int64()
	}
	for _, x := range s.Refunds {
		v.Refunds = append(v.Refunds, v0Seen{ID: names[x.ID], At: x.At, E: events[names[x.ID]], A: x.Amount, M: x.Margin})
	}
	for _, t := range s.Tickets {
		vt := v0Ticket{ID: names[t.ID]}
		for _, tr := range t.Transitions {
			vt.Tr = append(vt.Tr, v0Transition{T: tr.Type, At: tr.At, CSAT: tr.CSAT, P: tr.Priority})
		}
		v.Tickets = append(v.Tickets, vt)
	}
	for _, m := range s.Emails {
		v.Emails = append(v.Emails, v0Email{ID: names[m.ID], S: m.Sent, O: m.Opened, C: m.Clicked})
	}
	return v
}
