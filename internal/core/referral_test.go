package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

const tReferrals = "referrals"

// refTopicFor routes like topicFor, with acquisitions on purchases and the
// credits on the referrals topic.
func refTopicFor(t event.Type) string {
	switch t {
	case event.CustomerAcquired:
		return tPurchases
	case event.ReferralCredited:
		return tReferrals
	}
	return topicFor(t)
}

// newReferralProcessor is a processor with the credit on (or off) and a
// rule putting referrers in segment "ambassador".
func newReferralProcessor(t testing.TB, on bool) *Processor {
	t.Helper()
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rs := segment.DefaultRuleSet()
	rs.Rules = append([]segment.RuleSpec{{Name: "ambassador", When: "referrals >= 1"}}, rs.Rules...)
	sc, err := scoring.New(scoring.Config{}, rs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Decoder: dec, Scorer: sc, TopicFor: refTopicFor, PartitionOf: partitionOf, Partitioner: "fnv-test",
		AllowedLateness: time.Hour, ReplayThreshold: 24 * time.Hour, Referrals: on})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func acquired(id, referrer string, at time.Time, eventID string) Record {
	v, _ := json.Marshal(map[string]any{"event_id": eventID, "type": "customer_acquired", "customer_id": id,
		"occurred_at": at.Format(time.RFC3339Nano), "channel": "referral", "referrer_id": referrer})
	return Record{Topic: tPurchases, Partition: partitionOf(id), Key: []byte(id), Value: v}
}

// process runs recs (offsets set in order) through a fresh partition and
// returns the output.
func process(p *Processor, states map[string]*customer.State, recs ...Record) Output {
	var ds []Decoded
	for i, r := range recs {
		r.Offset = int64(i)
		ds = append(ds, p.Decode(r))
	}
	return p.Process(Input{Records: ds, States: states, Horizon: 1 << 62, Wall: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
}

func credits(out Output) []OutboxRecord {
	var cs []OutboxRecord
	for _, r := range out.Outbox {
		if r.Dest == DestReferrals {
			cs = append(cs, r)
		}
	}
	return cs
}

// The referral credit is a function of the customer_acquired alone: one
// record for the referrer (key the referrer id from the event, the
// deterministic id, the event's time), the same bytes for a redelivered or
// duplicate acquisition, none without a referrer, with the credit off or
// for an erased referred customer; segment changes keep their destination.
func TestReferralCreditRecord(t *testing.T) {
	p := newReferralProcessor(t, true)
	at := day0.Add(36*time.Hour + 1500*time.Millisecond)
	out := process(p, nil, acquired("r-1", "f-1", at, "a1"), acquired("r-1", "f-1", at, "a1-again"))
	cs := credits(out)
	if len(cs) != 2 {
		t.Fatalf("%d credits, want 2 (the duplicate acquisition re-sends)", len(cs))
	}
	want := fmt.Sprintf(`{"event_id":"referral/%016x/%016x","type":"referral_credited","customer_id":"f-1","referred_hash":"%016x","occurred_at":"1997-01-02T12:00:01.5Z"}`,
		customer.HashID("r-1"), customer.HashID("f-1"), customer.HashID("r-1"))
	if cs[0].Key != "f-1" || string(cs[0].Value) != want || !bytes.Equal(cs[0].Value, cs[1].Value) {
		t.Fatalf("credit %s %s\nwant %s", cs[0].Key, cs[0].Value, want)
	}
	changes := 0
	for _, r := range out.Outbox {
		if r.Dest == DestSegmentChanges {
			changes++
			if strings.Contains(string(r.Value), string(event.ReferralCredited)) {
				t.Errorf("a credit on the segment-changes destination: %s", r.Value)
			}
		}
	}
	if changes == 0 {
		t.Error("no segment change for the referred customer")
	}
	// The referred customer's state does not keep the referrer's id.
	for _, st := range out.States {
		b, _ := st.MarshalBinary()
		if bytes.Contains(b, []byte("f-1")) {
			t.Errorf("state of %s holds the referrer's raw id", st.ID)
		}
	}
	if cs := credits(process(newReferralProcessor(t, false), nil, acquired("r-1", "f-1", at, "a1"))); len(cs) != 0 {
		t.Errorf("credit off: %d credits", len(cs))
	}
	erased, _ := json.Marshal(map[string]any{"event_id": "x", "type": "customer_erased", "customer_id": "r-1", "occurred_at": day0.Format(time.RFC3339)})
	out = process(p, nil, Record{Topic: tPurchases, Partition: partitionOf("r-1"), Key: []byte("r-1"), Value: erased}, acquired("r-1", "f-1", at, "a1"))
	if cs := credits(out); len(cs) != 0 {
		t.Errorf("erased referred customer: %d credits", len(cs))
	}
}

// creditRecord is the record the relay publishes for an outbox credit, as
// the referrer's partition reads it.
func creditRecord(c OutboxRecord) Record {
	return Record{Topic: tReferrals, Partition: partitionOf(c.Key), Key: []byte(c.Key), Value: c.Value}
}

// On the referrer's partition the credit creates the unknown referrer's
// state, counts once however often it is delivered, and a referrals rule
// puts the referrer in its segment; on a public topic it is a dead letter
// saying it is internal.
func TestReferralCreditApplied(t *testing.T) {
	p := newReferralProcessor(t, true)
	at := day0.Add(36 * time.Hour)
	c := credits(process(p, nil, acquired("r-1", "f-1", at, "a1")))[0]
	out := process(p, nil, creditRecord(c), creditRecord(c))
	if len(out.States) != 1 || out.States[0].ID != "f-1" {
		t.Fatalf("states %+v", out.States)
	}
	f := out.States[0]
	if f.ReferralCount() != 1 || f.Segment != "ambassador" {
		t.Fatalf("referrer: %d referrals, segment %q", f.ReferralCount(), f.Segment)
	}
	if n := out.Outcomes[Outcome{tReferrals, string(event.ReferralCredited), "duplicate"}]; n != 1 {
		t.Errorf("%d duplicate credits, want 1", n)
	}
	if len(credits(out)) != 0 {
		t.Error("a credit emitted a credit (no cascades)")
	}
	pub := creditRecord(c)
	pub.Topic = tPurchases
	out = process(p, nil, pub)
	if len(out.Dead) != 1 || out.Dead[0].Err.Reason != event.ReasonMisrouted || !strings.Contains(out.Dead[0].Err.Msg, "internal event") {
		t.Fatalf("referral_credited on a public topic: %+v", out.Dead)
	}
	off := newReferralProcessor(t, false)
	cfg := off.cfg
	cfg.TopicFor = func(ty event.Type) string {
		if ty == event.ReferralCredited {
			return "" // kafka.topics.referrals not set
		}
		return refTopicFor(ty)
	}
	off.cfg = cfg
	if out := process(off, nil, creditRecord(c)); len(out.Dead) != 1 || out.Dead[0].Err.Reason != event.ReasonMisrouted {
		t.Fatalf("referral_credited with the credit off: %+v", out.Dead)
	}
}

// The referrer's state is a function of the set of credits: any order, any
// batch cut, duplicates and redelivery of committed records give the same
// referral sets, segments and states.
func TestReferralCreditsOrderIndependent(t *testing.T) {
	p := newReferralProcessor(t, true)
	rng := rand.New(rand.NewPCG(10, 18))
	var acq []Record
	for i := 0; i < 150; i++ {
		f := fmt.Sprintf("f-%d", rng.IntN(6))
		acq = append(acq, acquired(fmt.Sprintf("r-%d", i), f, day0.Add(time.Duration(rng.IntN(90*24))*time.Hour), fmt.Sprint("a", i)))
	}
	cs := credits(process(p, nil, acq...))
	run := func(seed uint64) map[string]string {
		rng := rand.New(rand.NewPCG(seed, 1))
		log := append([]OutboxRecord{}, cs...)
		rng.Shuffle(len(log), func(i, j int) { log[i], log[j] = log[j], log[i] })
		log = append(log, log[:rng.IntN(len(log))]...) // relay re-sends
		states := map[string][]byte{}
		applied := map[string]int64{}
		for part := 0; part < parts; part++ {
			var recs []Decoded
			for _, c := range log {
				if r := creditRecord(c); r.Partition == part {
					r.Offset = int64(len(recs))
					recs = append(recs, p.Decode(r))
				}
			}
			var clock Clock
			pos := 0
			for pos < len(recs) {
				n := min(len(recs)-pos, 1+rng.IntN(20))
				if rng.IntN(4) == 0 {
					pos = max(0, pos-rng.IntN(5)) // redelivery below the applied offset
				}
				batch := recs[pos : pos+n]
				loaded := map[string]*customer.State{}
				for _, d := range batch {
					st := &customer.State{ID: d.Event.CustomerID}
					if b, ok := states[st.ID]; ok {
						if err := st.UnmarshalBinary(b); err != nil {
							t.Fatal(err)
						}
					}
					loaded[st.ID] = st
				}
				ap := map[string]int64{}
				if v, ok := applied[fmt.Sprint(part)]; ok {
					ap[tReferrals] = v
				}
				out := p.Process(Input{Records: batch, States: loaded, Horizon: 1 << 62, Applied: ap, Clock: clock,
					Wall: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
				for _, st := range out.States {
					b, _ := st.MarshalBinary()
					states[st.ID] = b
				}
				if o, ok := out.Offsets[tReferrals]; ok {
					applied[fmt.Sprint(part)] = o.To
				}
				clock = out.Clock
				pos += out.Consumed
			}
		}
		view := map[string]string{}
		for id, b := range states {
			var st customer.State
			_ = st.UnmarshalBinary(b)
			view[id] = fmt.Sprintf("%v %s", st.Referrals, st.Segment)
		}
		return view
	}
	ref := run(1)
	total := 0
	for id, v := range ref {
		if !strings.HasSuffix(v, " ambassador") {
			t.Errorf("referrer %s: %s, want segment ambassador", id, v)
		}
		total += strings.Count(v, "{")
	}
	if total != 150 {
		t.Fatalf("%d referrals credited, want 150 (one per referred customer)", total)
	}
	for seed := uint64(2); seed < 12; seed++ {
		got := run(seed)
		for id, v := range ref {
			if got[id] != v {
				t.Fatalf("seed %d: referrer %s: %s, want %s", seed, id, got[id], v)
			}
		}
	}
}
