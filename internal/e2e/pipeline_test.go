package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/app"
	"github.com/clvstream/clvstream/internal/obs"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/event"
)

// fixedPartition sends every message to one partition, to produce
// misrouted records on purpose.
type fixedPartition int

func (f fixedPartition) Balance(_ kafka.Message, _ ...int) int { return int(f) }

// Bad records of every class go to the dead-letter topic with their reason,
// the original key and value and the source coordinates; good records
// around them are applied; the stream keeps flowing.
func TestDeadLetterKeepsTheStreamFlowing(t *testing.T) {
	e := newEnv(t, 2)
	at := time.Now().Add(-time.Hour).UTC()
	good := func(cust, order string) []byte {
		b, _ := json.Marshal(rec(event.Purchase, cust, at, func(r *event.Record) { r.OrderID, r.Amount, r.Currency = order, "10.00", "USD" }))
		return b
	}
	cases := map[event.Reason]kafka.Message{
		event.ReasonMalformed:       {Key: []byte("c1"), Value: []byte(`{"type":"purchase",`)},
		event.ReasonUnknownType:     {Key: []byte("c1"), Value: []byte(`{"event_id":"x1","type":"wishlist_added","customer_id":"c1","occurred_at":"2024-01-01T00:00:00Z"}`)},
		event.ReasonMissingField:    {Key: []byte("c1"), Value: []byte(`{"event_id":"x2","type":"purchase","customer_id":"c1","occurred_at":"2024-01-01T00:00:00Z","amount":"1.00","currency":"USD"}`)},
		event.ReasonInvalidField:    {Key: []byte("c1"), Value: []byte(`{"event_id":"x3","type":"purchase","customer_id":"c1","occurred_at":"2024-01-01T00:00:00Z","order_id":"o","amount":12.5,"currency":"USD"}`)},
		event.ReasonUnknownCurrency: {Key: []byte("c1"), Value: []byte(`{"event_id":"x4","type":"purchase","customer_id":"c1","occurred_at":"2024-01-01T00:00:00Z","order_id":"o","amount":"1.00","currency":"GBP"}`)},
		event.ReasonClockSkew:       {Key: []byte("c1"), Value: []byte(`{"event_id":"x5","type":"purchase","customer_id":"c1","occurred_at":"2099-01-01T00:00:00Z","order_id":"o","amount":"1.00","currency":"USD"}`)},
		event.ReasonOversize:        {Key: []byte("c1"), Value: []byte(`{"pad":"` + strings.Repeat("x", 70<<10) + `"}`)},
	}
	var msgs []kafka.Message
	msgs = append(msgs, kafka.Message{Key: []byte("c1"), Value: good("c1", "o-before")})
	for _, m := range cases {
		msgs = append(msgs, m)
	}
	msgs = append(msgs, kafka.Message{Key: []byte("c1"), Value: good("c1", "o-after")})
	e.produce(e.topics.Purchases, msgs...)
	// A record on the wrong partition, and one whose key is not its customer.
	wrong := 1 - stream.PartitionOf(e.part, "c2", 2)
	w := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: e.topics.Purchases, Balancer: fixedPartition(wrong), RequiredAcks: kafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(t.Context(), kafka.Message{Key: []byte("c2"), Value: good("c2", "o-misrouted")}); err != nil {
		t.Fatal(err)
	}
	e.produce(e.topics.Purchases, kafka.Message{Key: []byte("c1"), Value: good("c3", "o-wrong-key")})

	stop := e.start(e.config(), "svc")
	e.waitApplied(60 * time.Second)
	stop()

	dead := e.deadLetters()
	got := map[string][]kafka.Message{}
	for _, m := range dead {
		got[header(m, stream.HeaderErrorClass)] = append(got[header(m, stream.HeaderErrorClass)], m)
		for _, h := range []string{stream.HeaderErrorMessage, stream.HeaderSourceTopic, stream.HeaderSourcePartition, stream.HeaderSourceOffset} {
			if header(m, h) == "" {
				t.Errorf("dead letter without header %s: %v", h, m.Headers)
			}
		}
		if header(m, stream.HeaderSourceTopic) != e.topics.Purchases {
			t.Errorf("source topic header = %q", header(m, stream.HeaderSourceTopic))
		}
	}
	if len(dead) != len(cases)+2 {
		t.Errorf("dead letters = %d, want %d", len(dead), len(cases)+2)
	}
	carries := func(reason event.Reason, want kafka.Message, msgPart string) bool {
		for _, d := range got[string(reason)] {
			if string(d.Value) == string(want.Value) && string(d.Key) == string(want.Key) && strings.Contains(header(d, stream.HeaderErrorMessage), msgPart) {
				return true
			}
		}
		return false
	}
	for reason, m := range cases {
		if !carries(reason, m, "") {
			t.Errorf("no dead letter with reason %s carrying the original key and value", reason)
		}
	}
	if len(got[string(event.ReasonMisrouted)]) != 1 || !strings.Contains(header(got[string(event.ReasonMisrouted)][0], stream.HeaderErrorMessage), "partition") {
		t.Errorf("misrouted record not dead-lettered with an explanation: %v", got[string(event.ReasonMisrouted)])
	}
	if !carries(event.ReasonInvalidField, kafka.Message{Key: []byte("c1"), Value: good("c3", "o-wrong-key")}, "key") {
		t.Errorf("record keyed by another customer was not dead-lettered")
	}
	states := e.states()
	c1 := states["c1"]
	if c1 == nil || len(c1.Orders) != 2 {
		t.Fatalf("c1 should have the two good orders around the bad records, got %+v", c1)
	}
	if _, ok := states["c2"]; ok {
		t.Fatal("misrouted record was applied")
	}
	if _, ok := states["c3"]; ok {
		t.Fatal("record with a foreign key was applied")
	}
}

// A customer who goes silent drifts new -> at-risk -> lapsed as
// event time passes, with no event of their own (cause "scheduled"); a
// customer whose segment does not change gets no event.
func TestSilentCustomerDriftsWithTime(t *testing.T) {
	e := newEnv(t, 1)
	day0 := time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC)
	purchase := func(cust string, day int) event.Record {
		return rec(event.Purchase, cust, day0.AddDate(0, 0, day), func(r *event.Record) {
			r.OrderID, r.Amount, r.Currency = cust+"-"+day0.AddDate(0, 0, day).Format("20060102"), "20.00", "USD"
		})
	}
	e.produceRecords(purchase("silent", 0), purchase("clock", 0))
	stop := e.start(e.config(), "svc")
	defer stop()

	segmentOf := func(cust string) string {
		if st := e.states()[cust]; st != nil {
			return st.Segment
		}
		return ""
	}
	waitSegment := func(cust, seg string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for segmentOf(cust) != seg {
			if time.Now().After(deadline) {
				t.Fatalf("%s: segment %q, want %q", cust, segmentOf(cust), seg)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitSegment("silent", "new")
	// Another customer's events move the event-time clock; "silent" buys
	// nothing more. Defaults: population gap 60 days, churn risk = P(no
	// purchase in 90 days) (docs/churn.md), which reaches 0.5 (at-risk) at
	// 89 days, before "new" would end at 90, and 0.85 (lapsed) at 245 days.
	for _, step := range []struct {
		day  int
		want string
	}{{60, "new"}, {100, "at-risk"}, {270, "lapsed"}} {
		e.produceRecords(purchase("clock", step.day))
		if step.want == "new" {
			e.waitApplied(30 * time.Second)
			time.Sleep(500 * time.Millisecond) // several re-score ticks
		}
		waitSegment("silent", step.want)
	}
	e.waitApplied(30 * time.Second)
	stop()
	per := e.checkChangeLog(e.states())
	var path []string
	for _, c := range per["silent"] {
		if c.Segment != "new" && c.Cause != event.CauseScheduled {
			t.Errorf("silent: change to %s has cause %s, want scheduled", c.Segment, c.Cause)
		}
		path = append(path, c.Segment)
	}
	if strings.Join(path, ">") != "new>at-risk>lapsed" {
		t.Fatalf("silent customer path = %v, want new>at-risk>lapsed", path)
	}
	if per["silent"][0].Cause != event.CauseEvent {
		t.Errorf("first change cause = %s, want event", per["silent"][0].Cause)
	}
}

// Input topics with different partition counts cannot be co-partitioned:
// the service refuses to start and says which topics and how to fix it.
func TestStartupRefusesTopicsNotCoPartitioned(t *testing.T) {
	e := newEnv(t, 2)
	cfg := e.config()
	cfg.Kafka.Topics.Tickets = testkit.Unique("clv.tickets3")
	testkit.CreateTopics(t, e.brokers, 3, cfg.Kafka.Topics.Tickets)
	a, err := app.New(cfg, zap.NewNop(), obs.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = a.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "not co-partitioned") || !strings.Contains(err.Error(), cfg.Kafka.Topics.Tickets) {
		t.Fatalf("run with mismatched partitions: %v", err)
	}
	cfg.Kafka.Topics.Emails = testkit.Unique("clv.missing")
	a, _ = app.New(cfg, zap.NewNop(), obs.NewRegistry())
	if err := a.Run(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("run with a missing topic: %v", err)
	}
}

// A customer whose net revenue swings across the high-value threshold
// (1,000) every six hours of event time changes segment at most once per
// dwell time (24h), and not at all while the swings stay inside the
// hysteresis margin.
func TestNoFlappingAroundAThreshold(t *testing.T) {
	e := newEnv(t, 1)
	stop := e.start(e.config(), "svc")
	defer stop()
	t0 := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	money := func(typ event.Type, i int, amount string) event.Record {
		return rec(typ, "flap", t0.Add(time.Duration(i)*6*time.Hour), func(r *event.Record) {
			r.OrderID, r.Currency, r.Amount = fmt.Sprintf("o%d", i), "USD", amount
			if typ == event.Refund {
				r.OrderID, r.RefundID = "o0", fmt.Sprintf("r%d", i)
			}
		})
	}
	// 1,100 first; then refunds of 200 and purchases of 200 alternate:
	// 900 (below 1,000 - 50) and 1,100, sixteen swings over four days.
	e.produceRecords(money(event.Purchase, 0, "1100.00"))
	e.waitApplied(30 * time.Second)
	for i := 1; i <= 16; i++ {
		if i%2 == 1 {
			e.produceRecords(money(event.Refund, i, "200.00"))
		} else {
			e.produceRecords(money(event.Purchase, i, "200.00"))
		}
		e.waitApplied(30 * time.Second)
	}
	stop()
	per := e.checkChangeLog(e.states())
	cs := per["flap"]
	if len(cs) < 2 {
		t.Fatalf("changes %d: the swings should move the customer at least once after the first segment", len(cs))
	}
	for i := 1; i < len(cs); i++ {
		if gap := cs[i].OccurredAt.Sub(cs[i-1].OccurredAt); gap < 24*time.Hour {
			t.Fatalf("segment changed twice within %s: %s -> %s -> %s", gap, cs[i-1].From(), cs[i-1].Segment, cs[i].Segment)
		}
	}
	if len(cs) > 1+4 {
		t.Fatalf("%d changes over 4 days of swings every 6 hours; dwell allows at most 5", len(cs))
	}
	t.Logf("16 swings in 4 days -> %d segment changes", len(cs))
}

// A restart with changed segment rules re-scores every stored customer
// under them (cause model), with no new event, like a new model version.
func TestChangedRulesRescoreEveryCustomer(t *testing.T) {
	e := newEnv(t, 2)
	day0 := time.Now().UTC().AddDate(0, 0, -3).Truncate(time.Hour)
	var recs []event.Record
	for i := 0; i < 6; i++ {
		cust := fmt.Sprintf("r%d", i)
		recs = append(recs, rec(event.Purchase, cust, day0, func(r *event.Record) {
			r.OrderID, r.Amount, r.Currency = cust+"-o", "20.00", "USD"
		}))
	}
	e.produceRecords(recs...)
	stop := e.start(e.config(), "before")
	e.waitApplied(30 * time.Second)
	stop()
	for id, st := range e.states() {
		if st.Segment != "new" {
			t.Fatalf("%s: segment %q under the default rules, want new", id, st.Segment)
		}
	}

	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - {name: small-spender, when: \"net_revenue < 50\"}\n  - {name: everyone, when: \"true\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Scoring.SegmentRulesFile = rules
	stop = e.start(cfg, "after")
	deadline := time.Now().Add(30 * time.Second)
	for {
		moved := 0
		for _, st := range e.states() {
			if st.Segment == "small-spender" {
				moved++
			}
		}
		if moved == len(recs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d customers in the new rules' segment after 30 s", moved, len(recs))
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	for id, cs := range e.checkChangeLog(e.states()) {
		last := cs[len(cs)-1]
		if last.Segment != "small-spender" || last.Cause != event.CauseModel {
			t.Errorf("%s: last change %s (cause %s), want small-spender by cause model", id, last.Segment, last.Cause)
		}
	}
}
