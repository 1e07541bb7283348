package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

const (
	tPurchases = "purchases"
	tTickets   = "tickets"
	tEmails    = "emails"
	parts      = 2
)

var day0 = time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC)

func topicFor(t event.Type) string {
	switch t {
	case event.Purchase, event.Refund, event.CustomerErased:
		return tPurchases
	case event.EmailSent, event.EmailOpened, event.EmailClicked:
		return tEmails
	}
	return tTickets
}

func partitionOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % parts)
}

func newProcessor(t testing.TB) *Processor {
	t.Helper()
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Decoder: dec, Scorer: sc, TopicFor: topicFor, PartitionOf: partitionOf, Partitioner: "fnv-test",
		AllowedLateness: time.Hour, ReplayThreshold: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// history generates events of n customers over a year: purchases (some
// repeated with the same order id), refunds, tickets and emails, keyed and
// routed as producers must, as per-topic partition logs.
func history(seed uint64, n int) map[string][][]Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	logs := map[string][][]Record{tPurchases: make([][]Record, parts), tTickets: make([][]Record, parts), tEmails: make([][]Record, parts)}
	type ev struct {
		at  time.Time
		obj map[string]any
	}
	var evs []ev
	k := 0
	add := func(id string, at time.Time, typ string, extra map[string]any) {
		k++
		o := map[string]any{"event_id": fmt.Sprintf("e%d", k), "type": typ, "customer_id": id, "occurred_at": at.Format(time.RFC3339)}
		for a, b := range extra {
			o[a] = b
		}
		evs = append(evs, ev{at, o})
	}
	for c := 0; c < n; c++ {
		id := fmt.Sprintf("c%03d", c)
		at := day0.Add(time.Duration(rng.IntN(60*24)) * time.Hour)
		orders := 1 + rng.IntN(5)
		for o := 0; o < orders; o++ {
			oid := fmt.Sprintf("%s-o%d", id, o)
			add(id, at, "purchase", map[string]any{"order_id": oid, "amount": fmt.Sprintf("%d.%02d", 5+rng.IntN(200), rng.IntN(100)), "currency": "USD"})
			if rng.IntN(10) == 0 {
				add(id, at.Add(time.Hour), "refund", map[string]any{"order_id": oid, "amount": "3.00", "currency": "USD"})
			}
			if rng.IntN(4) == 0 {
				add(id, at.Add(2*time.Hour), "email_sent", map[string]any{"message_id": fmt.Sprintf("%s-m%d", id, o)})
				add(id, at.Add(5*time.Hour), "email_opened", map[string]any{"message_id": fmt.Sprintf("%s-m%d", id, o)})
			}
			if rng.IntN(6) == 0 {
				add(id, at.Add(3*time.Hour), "ticket_opened", map[string]any{"ticket_id": fmt.Sprintf("%s-t%d", id, o)})
				add(id, at.Add(30*time.Hour), "ticket_resolved", map[string]any{"ticket_id": fmt.Sprintf("%s-t%d", id, o), "csat": 1 + rng.IntN(5)})
			}
			at = at.Add(time.Duration(24*(5+rng.IntN(80))) * time.Hour)
		}
		if c%17 == 5 {
			add(id, at, "customer_erased", nil)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	for _, e := range evs {
		id := e.obj["customer_id"].(string)
		topic := topicFor(event.Type(e.obj["type"].(string)))
		p := partitionOf(id)
		v, _ := json.Marshal(e.obj)
		l := logs[topic][p]
		logs[topic][p] = append(l, Record{Topic: topic, Partition: p, Offset: int64(len(l)), Key: []byte(id), Value: v})
	}
	return logs
}

// store is what Redis holds for one partition in these tests.
type store struct {
	states  map[string][]byte
	due     map[string]int64
	applied map[string]int64
	clock   Clock
	outbox  [][]byte
	dead    int
}

func newStore() *store {
	return &store{states: map[string][]byte{}, due: map[string]int64{}, applied: map[string]int64{}}
}

func (s *store) timers(lo, hi int64, limit int) []Timer {
	var out []Timer
	for id, d := range s.due {
		if d >= lo && d <= hi {
			out = append(out, Timer{ID: id, Due: d})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Due != out[j].Due {
			return out[i].Due < out[j].Due
		}
		return out[i].ID < out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// shell drives p like the stream task: merge by event time, batches of
// batch records, timers paged by page, commits into st.
type shell struct {
	t     testing.TB
	p     *Processor
	st    *store
	part  int
	batch int
	page  int
	wall  time.Time
}

func (sh *shell) step(recs []Decoded, idle bool) {
	for {
		target := sh.p.Target(sh.st.clock, recs, idle, sh.wall)
		if len(recs) == 0 && target <= sh.st.clock.Now {
			return
		}
		horizon := target
		timers := sh.st.timers(1, target, sh.page)
		if len(timers) == sh.page {
			last := timers[len(timers)-1].Due
			horizon = last - 1
			for len(timers) > 0 && timers[len(timers)-1].Due == last {
				timers = timers[:len(timers)-1]
			}
			if len(timers) == 0 {
				timers, horizon = sh.st.timers(last, last, 0), last
			}
		}
		states := map[string]*customer.State{}
		load := func(id string) {
			if _, ok := states[id]; ok {
				return
			}
			st := &customer.State{ID: id}
			if b, ok := sh.st.states[id]; ok {
				if err := json.Unmarshal(b, st); err != nil {
					sh.t.Fatal(err)
				}
			}
			states[id] = st
		}
		for i := range recs {
			if recs[i].Err == nil {
				load(recs[i].Event.CustomerID)
			}
		}
		for _, x := range timers {
			load(x.ID)
		}
		applied := map[string]int64{}
		for k, v := range sh.st.applied {
			applied[k] = v
		}
		out := sh.p.Process(Input{Records: recs, States: states, Timers: timers, Horizon: horizon, Applied: applied,
			Clock: sh.st.clock, Wall: sh.wall, Idle: idle})
		for topic, r := range out.Offsets {
			if from, ok := sh.st.applied[topic]; ok && from != r.From || !ok && r.From != -1 {
				sh.t.Fatalf("offset range of %s starts at %d, stored %d", topic, r.From, from)
			}
			sh.st.applied[topic] = r.To
		}
		for _, x := range out.States {
			b, _ := json.Marshal(x)
			sh.st.states[x.ID] = b
		}
		for id, d := range out.Due {
			if d == 0 {
				delete(sh.st.due, id)
			} else {
				sh.st.due[id] = d
			}
		}
		for _, r := range out.Outbox {
			sh.st.outbox = append(sh.st.outbox, r.Value)
		}
		sh.st.dead += len(out.Dead)
		sh.st.clock = out.Clock
		recs = recs[out.Consumed:]
		if !out.Blocked && len(recs) == 0 {
			return
		}
	}
}

// replay runs partition part of logs through a fresh shell in event-time
// merge order, cutting batches at random sizes up to maxBatch, and
// "crashing" (dropping everything not committed, rewinding to the stored
// offsets) with probability crash per batch.
func replay(t testing.TB, p *Processor, logs map[string][][]Record, part int, seed uint64, maxBatch, page int, crash float64) *store {
	rng := rand.New(rand.NewPCG(seed, 3))
	st := newStore()
	sh := &shell{t: t, p: p, st: st, part: part, page: page, wall: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	topics := []string{tPurchases, tTickets, tEmails}
	for {
		// The merge: heads at the stored offsets (a restart) or after
		// what was taken.
		pos := map[string]int64{}
		for _, tp := range topics {
			pos[tp] = max(0, st.applied[tp])
		}
		for {
			n := 1 + rng.IntN(maxBatch)
			var recs []Decoded
			for len(recs) < n {
				best := ""
				var bestAt int64
				for _, tp := range topics {
					l := logs[tp][part]
					if pos[tp] >= int64(len(l)) {
						continue
					}
					d := p.Decode(l[pos[tp]])
					if best == "" || d.At() < bestAt {
						best, bestAt = tp, d.At()
					}
				}
				if best == "" {
					break
				}
				recs = append(recs, p.Decode(logs[best][part][pos[best]]))
				pos[best]++
			}
			if len(recs) == 0 {
				sh.step(nil, true)
				return st
			}
			if rng.Float64() < crash {
				// Redelivery: some records are fetched again.
				pos = map[string]int64{}
				for _, tp := range topics {
					pos[tp] = max(0, st.applied[tp]-int64(rng.IntN(3)))
				}
				continue
			}
			sh.step(recs, false)
		}
	}
}

// History is deterministic: whatever the batch sizes, the timer page size
// and the crashes (with redelivery of applied records) in between, a replay
// gives the same segment-change stream byte for byte and the same states.
func TestReplayIsDeterministic(t *testing.T) {
	p := newProcessor(t)
	logs := history(1, 120)
	for part := 0; part < parts; part++ {
		ref := replay(t, p, logs, part, 1, 1, 1<<20, 0)
		if len(ref.outbox) < 50 {
			t.Fatalf("partition %d: only %d output records; the history should move customers", part, len(ref.outbox))
		}
		for i, c := range []struct {
			batch, page int
			crash       float64
		}{{7, 1 << 20, 0}, {500, 3, 0}, {50, 1, 0.2}, {1000, 64, 0.5}} {
			got := replay(t, p, logs, part, uint64(10+i), c.batch, c.page, c.crash)
			if len(got.outbox) != len(ref.outbox) {
				t.Fatalf("partition %d, %+v: %d output records, reference %d", part, c, len(got.outbox), len(ref.outbox))
			}
			for j := range got.outbox {
				if !bytes.Equal(got.outbox[j], ref.outbox[j]) {
					t.Fatalf("partition %d, %+v: output %d differs:\n%s\n%s", part, c, j, got.outbox[j], ref.outbox[j])
				}
			}
			if len(got.states) != len(ref.states) {
				t.Fatalf("partition %d: %d states, reference %d", part, len(got.states), len(ref.states))
			}
			for id, b := range ref.states {
				if !bytes.Equal(got.states[id], b) {
					t.Fatalf("partition %d, %+v: state of %s differs", part, c, id)
				}
			}
		}
	}
}

// The end of a backfill publishes everything due by the last event: each
// customer's stored segment is what scoring their final state once, as of
// the end instant, decides, and nothing is due before it.
func TestBackfillEndsSettled(t *testing.T) {
	p := newProcessor(t)
	logs := history(2, 80)
	for part := 0; part < parts; part++ {
		st := replay(t, p, logs, part, 5, 40, 16, 0)
		end := st.clock.Now
		if end != st.clock.MaxEvent {
			t.Fatalf("clock %d after the backfill, latest event %d: an idle input must reach the latest event time", end, st.clock.MaxEvent)
		}
		for id, d := range st.due {
			if d <= end {
				t.Fatalf("customer %s still due at %d <= end %d", id, d, end)
			}
		}
		for id, b := range st.states {
			var s customer.State
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			res := p.cfg.Scorer.Score(&s, time.UnixMilli(max(end, s.LatestAt())).UTC(), nil)
			if res.Segment != s.Segment {
				t.Errorf("customer %s: stored segment %q, scoring the final state at the end gives %q (a pending change was never published)", id, s.Segment, res.Segment)
			}
		}
	}
}

// Per customer, changes come in version order, chain previous_segment to
// segment, and every event_id names one body.
func TestChangesChainPerCustomer(t *testing.T) {
	p := newProcessor(t)
	logs := history(3, 100)
	st := replay(t, p, logs, 0, 9, 30, 8, 0.1)
	last := map[string]event.SegmentChange{}
	ids := map[string]bool{}
	for _, b := range st.outbox {
		var head struct {
			EventID string `json:"event_id"`
			Type    string `json:"type"`
		}
		_ = json.Unmarshal(b, &head)
		if ids[head.EventID] {
			t.Fatalf("event id %s published twice", head.EventID)
		}
		ids[head.EventID] = true
		if head.Type != event.SegmentChangeType {
			continue
		}
		var c event.SegmentChange
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		prev, seen := last[c.CustomerID]
		switch {
		case !seen && c.PreviousSegment != nil:
			t.Fatalf("first change of %s has previous_segment %q, want null", c.CustomerID, *c.PreviousSegment)
		case seen && (c.From() != prev.Segment || c.Version <= prev.Version):
			t.Fatalf("change %s does not follow %s", c.EventID, prev.EventID)
		}
		if c.EventID != event.SegmentChangeID(c.CustomerID, c.Version) {
			t.Fatalf("event id %s is not customer/version", c.EventID)
		}
		last[c.CustomerID] = c
	}
	for id, c := range last {
		var s customer.State
		_ = json.Unmarshal(st.states[id], &s)
		if s.Segment != c.Segment {
			t.Fatalf("customer %s: last change to %q, stored %q", id, c.Segment, s.Segment)
		}
	}
}

// Order does not matter within the allowed lateness, and duplicates count
// once: the same facts shuffled within an hour, with every record sent
// twice, give the same customer statistics.
func TestOrderAndDuplicatesDoNotChangeFacts(t *testing.T) {
	p := newProcessor(t)
	logs := history(4, 60)
	ref := replay(t, p, logs, 1, 1, 100, 1<<20, 0)
	rng := rand.New(rand.NewPCG(4, 4))
	shuffled := map[string][][]Record{}
	for topic, ps := range logs {
		shuffled[topic] = make([][]Record, parts)
		for part, l := range ps {
			var out []Record
			for _, r := range l {
				out = append(out, r, r) // duplicated
			}
			// Swap neighbours: within an event hour apart at most.
			for i := 0; i+1 < len(out); i++ {
				a, b := p.Decode(out[i]), p.Decode(out[i+1])
				if rng.IntN(2) == 0 && b.At()-a.At() < time.Hour.Milliseconds() {
					out[i], out[i+1] = out[i+1], out[i]
				}
			}
			for i := range out {
				out[i].Offset = int64(i)
			}
			shuffled[topic][part] = out
		}
	}
	got := replay(t, p, shuffled, 1, 2, 100, 1<<20, 0)
	for id, b := range ref.states {
		var a, c customer.State
		_ = json.Unmarshal(b, &a)
		_ = json.Unmarshal(got.states[id], &c)
		fa, fc := a.Derive(day0.AddDate(2, 0, 0), 0), c.Derive(day0.AddDate(2, 0, 0), 0)
		if fa.Net != fc.Net || fa.Gross != fc.Gross || fa.PurchaseDays != fc.PurchaseDays || fa.OpenTickets != fc.OpenTickets || a.Erased != c.Erased {
			t.Fatalf("customer %s: facts differ after reordering and duplication:\n%+v\n%+v", id, fa, fc)
		}
	}
}

// A customer who goes silent drifts to at-risk and lapsed with no event,
// at the instants the scorer predicts (scheduled changes stamped with the
// instant they were due, not with the clock of the step that fired them).
func TestSilentCustomerDrifts(t *testing.T) {
	p := newProcessor(t)
	id := "silent"
	v, _ := json.Marshal(map[string]any{"event_id": "e1", "type": "purchase", "customer_id": id, "occurred_at": day0.Format(time.RFC3339), "order_id": "o1", "amount": "50.00", "currency": "USD"})
	other := "other"
	for partitionOf(other) != partitionOf(id) {
		other += "1"
	}
	late, _ := json.Marshal(map[string]any{"event_id": "e2", "type": "purchase", "customer_id": other, "occurred_at": day0.AddDate(1, 0, 0).Format(time.RFC3339), "order_id": "o2", "amount": "5.00", "currency": "USD"})
	logs := map[string][][]Record{tPurchases: make([][]Record, parts), tTickets: make([][]Record, parts), tEmails: make([][]Record, parts)}
	pt := partitionOf(id)
	logs[tPurchases][pt] = []Record{{Topic: tPurchases, Partition: pt, Offset: 0, Key: []byte(id), Value: v}, {Topic: tPurchases, Partition: pt, Offset: 1, Key: []byte(other), Value: late}}
	st := replay(t, p, logs, pt, 1, 1, 1<<20, 0)
	var path []string
	for _, b := range st.outbox {
		var c event.SegmentChange
		_ = json.Unmarshal(b, &c)
		if c.CustomerID == id && c.Type == event.SegmentChangeType {
			path = append(path, fmt.Sprintf("%s@%.1f/%s", c.Segment, c.OccurredAt.Sub(day0).Hours()/24, c.Cause))
		}
	}
	// Churn risk = P(no purchase in 90 days) (docs/churn.md): 0.5 at 89.3
	// days (at-risk), 0.85 at 245.3 days (lapsed).
	want := []string{"new@0.0/event", "at-risk@89.3/scheduled", "lapsed@245.3/scheduled"}
	if fmt.Sprint(path) != fmt.Sprint(want) {
		t.Fatalf("drift %v, want %v", path, want)
	}
}

// Bad records are dead letters with a clear reason and move the offset;
// they never reach a state.
func TestRoutingErrorsAreDeadLetters(t *testing.T) {
	p := newProcessor(t)
	id := "c1"
	pt := partitionOf(id)
	good := func(typ, extra string) []byte {
		return []byte(`{"event_id":"e","type":"` + typ + `","customer_id":"c1","occurred_at":"1997-01-01T00:00:00Z"` + extra + `}`)
	}
	cases := []struct {
		name   string
		r      Record
		reason event.Reason
		field  string
	}{
		{"no key", Record{Topic: tPurchases, Partition: pt, Value: good("purchase", `,"order_id":"o","amount":"1.00","currency":"USD"`)}, event.ReasonMisrouted, "key"},
		{"key differs", Record{Topic: tPurchases, Partition: pt, Key: []byte("c2"), Value: good("purchase", `,"order_id":"o","amount":"1.00","currency":"USD"`)}, event.ReasonInvalidField, "key"},
		{"wrong topic", Record{Topic: tPurchases, Partition: pt, Key: []byte(id), Value: good("ticket_opened", `,"ticket_id":"t"`)}, event.ReasonMisrouted, "type"},
		{"wrong partition", Record{Topic: tPurchases, Partition: 1 - pt, Key: []byte(id), Value: good("purchase", `,"order_id":"o","amount":"1.00","currency":"USD"`)}, event.ReasonMisrouted, "customer_id"},
		{"not json", Record{Topic: tPurchases, Partition: pt, Key: []byte(id), Value: []byte(`{`)}, event.ReasonMalformed, ""},
	}
	for _, c := range cases {
		d := p.Decode(c.r)
		if d.Err == nil || d.Err.Reason != c.reason || d.Err.Field != c.field {
			t.Errorf("%s: error %v, want reason %s field %q", c.name, d.Err, c.reason, c.field)
		}
		if d.Err != nil && bytes.Contains([]byte(d.Err.Msg), []byte("c2")) {
			t.Errorf("%s: the message repeats a customer id: %s", c.name, d.Err.Msg)
		}
		out := p.Process(Input{Records: []Decoded{d}, Horizon: 1 << 62, Wall: time.Now()})
		if len(out.Dead) != 1 || len(out.States) != 0 || out.Offsets[tPurchases].To != 1 {
			t.Errorf("%s: dead %d, states %d, offsets %+v", c.name, len(out.Dead), len(out.States), out.Offsets)
		}
	}
}

// Figures round half away from zero and never publish a non-finite value.
func TestRound4(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{{-0.3, -0.3}, {-0.29995, -0.3}, {0.12345, 0.1235}, {1e400 * 0, 0}} {
		if got := Round4(c.in); got != c.want {
			t.Errorf("Round4(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
