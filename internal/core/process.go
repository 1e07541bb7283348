package core

import (
	"container/heap"
	"encoding/json"
	"time"

	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// run is the mutable state of one Process call.
type run struct {
	p      *Processor
	in     *Input
	out    *Output
	states map[string]*customer.State
	cust   map[string]custRun
	timers timerHeap
	scored Scored // every scoring's, its slices reused
}

// custRun is what a Process call tracks per customer: the current due
// time (0: none), the stored one if known, and whether the state is
// already among the states to write.
type custRun struct {
	due, known      int64
	hasKnown, wrote bool
}

// Process runs in's records and timers through the partition's history
// (see the package doc). It does not modify in's maps or slices; the states
// in in.States are updated in place and returned in Output.States when
// they must be written.
func (p *Processor) Process(in Input) Output {
	// Sized for a step that scores every customer once and changes half
	// of them (a sweep's re-scores mostly change one record each).
	n := len(in.Records) + len(in.Timers)
	r := &run{
		p: p, in: &in,
		out: &Output{
			Offsets: map[string]OffsetRange{}, Due: make(map[string]int64, n), Clock: in.Clock,
			Outcomes: map[Outcome]int{}, Rescored: map[event.Cause]*[2]int{}, Refunds: map[string]int{},
			States: make([]*customer.State, 0, len(in.States)), Outbox: make([]OutboxRecord, 0, n/2+len(in.Timers)),
			Changes: make([]Change, 0, n/2+len(in.Timers)),
		},
		states: in.States,
		cust:   make(map[string]custRun, len(in.Dues)+len(in.Timers)),
		timers: make(timerHeap, 0, len(in.Timers)),
	}
	if r.states == nil {
		r.states = map[string]*customer.State{}
	}
	for id, d := range in.Dues {
		r.cust[id] = custRun{due: d, known: d, hasKnown: true}
	}
	for _, t := range in.Timers {
		if t.Due > in.Horizon {
			continue
		}
		c := r.cust[t.ID]
		c.due, c.known, c.hasKnown = t.Due, t.Due, true
		r.cust[t.ID] = c
		r.timers = append(r.timers, t)
	}
	heap.Init(&r.timers)

	for i := range in.Records {
		rec := &in.Records[i]
		from, ok := in.Applied[rec.Topic]
		if !ok {
			from = -1
		}
		if from >= 0 && rec.Offset < from {
			r.out.Outcomes[Outcome{rec.Topic, "unknown", "replayed"}]++
			r.out.Consumed = i + 1
			continue
		}
		if rec.Err == nil {
			next := p.afterRecord(r.out.Clock, rec.At(), in.Wall)
			if next.Now > in.Horizon {
				r.fire(in.Horizon)
				r.out.Clock.Now = max(r.out.Clock.Now, in.Horizon)
				r.out.Blocked = true
				break
			}
			r.out.Clock = next
			r.fire(next.Now)
		}
		r.consume(rec, from)
		r.out.Consumed = i + 1
	}
	if in.Idle && !r.out.Blocked {
		target := p.idle(r.out.Clock, in.Wall)
		if target.Now > in.Horizon {
			target.Now = max(r.out.Clock.Now, in.Horizon)
			r.out.Blocked = true
		}
		r.out.Clock = target
		r.fire(target.Now)
	}
	for id, c := range r.cust {
		if !c.hasKnown || c.known != c.due {
			r.out.Due[id] = c.due
		}
	}
	return *r.out
}

// consume moves the applied offset past rec and applies it.
func (r *run) consume(rec *Decoded, from int64) {
	o := r.out.Offsets[rec.Topic]
	if _, ok := r.out.Offsets[rec.Topic]; !ok {
		o = OffsetRange{From: from, To: from}
	}
	o.To = max(o.To, rec.Offset+1)
	r.out.Offsets[rec.Topic] = o
	if rec.Err != nil {
		r.out.Dead = append(r.out.Dead, *rec)
		r.out.Outcomes[Outcome{rec.Topic, "unknown", "dead_lettered"}]++
		return
	}
	ev := rec.Event
	st := r.state(ev.CustomerID)
	res := st.ApplyEvent(ev, r.p.margin)
	r.out.Outcomes[Outcome{rec.Topic, string(ev.Type), res.Outcome.String()}]++
	if res.Refund != customer.RefundNone {
		r.out.Refunds[res.Refund.String()]++
	}
	r.out.RefundsReleased += res.Released
	if res.Outcome != customer.Applied {
		r.credit(ev, res.Outcome)
		return
	}
	cause := event.CauseEvent
	if st.Erased {
		cause = event.CauseErasure
	}
	// As of the record's own instant when the clock trails it (the state
	// keeps purchase days, not instants), never before the customer's
	// last change.
	r.score(st, max(r.out.Clock.Now, rec.At(), st.SegmentSince), cause, true)
	r.credit(ev, res.Outcome)
}

// credit adds the referral credit of a customer_acquired naming a referrer
// to the outbox, for the referrer's partition (docs/design/referrals.md).
// The record is a function of the event alone: key the referrer id as the
// event gives it (never stored in the referred customer's state), id
// referral/<hash(referred)>/<hash(referrer)>, the event's occurred_at. It is
// written whether the event was applied or a duplicate for the referred
// customer (a redelivery re-sends what the referrer already has; a second
// acquisition naming another referrer credits that one too), not when the
// referred customer is erased.
func (r *run) credit(ev event.Event, o customer.Outcome) {
	ref := ev.Acquisition.ReferrerID
	if !r.p.cfg.Referrals || ev.Type != event.CustomerAcquired || ref == "" || (o != customer.Applied && o != customer.Duplicate) {
		return
	}
	referred := customer.HashID(ev.CustomerID)
	js, _ := json.Marshal(event.ReferralCredit{
		EventID: event.ReferralCreditID(referred, customer.HashID(ref)), Type: event.ReferralCredited, CustomerID: ref,
		ReferredHash: event.HashHex(referred), OccurredAt: ev.OccurredAt.UTC().Format(time.RFC3339Nano),
	})
	r.out.Outbox = append(r.out.Outbox, OutboxRecord{Key: ref, Value: js, Dest: DestReferrals})
}

// fire re-scores every customer due at or before now, earliest first, as
// of the instant each was due.
func (r *run) fire(now int64) {
	for len(r.timers) > 0 && r.timers[0].Due <= now {
		t := heap.Pop(&r.timers).(Timer)
		cr := r.cust[t.ID]
		if cr.due != t.Due {
			continue // superseded by a later scoring
		}
		cr.due = 0
		r.cust[t.ID] = cr
		st := r.state(t.ID)

		n := r.out.Rescored[event.CauseScheduled]
		if n == nil {
			n = &[2]int{}
			r.out.Rescored[event.CauseScheduled] = n
		}
		if r.score(st, t.Due, event.CauseScheduled, false) {
			n[0]++
		} else {
			n[1]++
		}
	}
}

func (r *run) state(id string) *customer.State {
	st := r.states[id]
	if st == nil {
		st = &customer.State{ID: id}
		r.states[id] = st
	}
	return st
}

// score re-scores st as of at and records what it produced; it reports
// whether the segment changed.
func (r *run) score(st *customer.State, at int64, cause event.Cause, factsChanged bool) bool {
	s := &r.scored
	r.p.scoreInto(s, st, time.UnixMilli(at).UTC(), r.in.Model, cause, factsChanged)
	if s.Due != 0 && s.Due <= at {
		s.Due = at + 1 // a timer always moves the customer forward
	}
	c := r.cust[st.ID]
	c.due = s.Due
	if s.Due != 0 {
		heap.Push(&r.timers, Timer{ID: st.ID, Due: s.Due})
	}
	if s.Write && !c.wrote {
		c.wrote = true
		r.out.States = append(r.out.States, st)
	}
	r.cust[st.ID] = c
	r.out.Outbox = append(r.out.Outbox, s.Outbox...)
	r.out.Changes = append(r.out.Changes, s.Changes...)
	return s.SegmentChanged
}

// timerHeap orders timers by due time, then customer id.
type timerHeap []Timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].Due != h[j].Due {
		return h[i].Due < h[j].Due
	}
	return h[i].ID < h[j].ID
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(Timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
