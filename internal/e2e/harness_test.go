package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/clvstream/clvstream/internal/app"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/obs"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// env is one test's slice of the shared services: its own topics, consumer
// group and Redis key prefix.
type env struct {
	t       testing.TB
	brokers []string
	real    bool
	rdb     *redis.Client
	prefix  string
	topics  stream.Topics
	group   string
	parts   int
	part    stream.Partitioner
	writers map[string]*kafka.Writer
}

func newEnv(t testing.TB, parts int) *env {
	t.Helper()
	brokers, real := testkit.Kafka(t)
	rdb, prefix := testkit.Redis(t)
	base := testkit.Unique("clv")
	e := &env{t: t, brokers: brokers, real: real, rdb: rdb, prefix: prefix, parts: parts, group: base + "-group",
		topics: stream.Topics{Purchases: base + ".purchases", Tickets: base + ".tickets", Emails: base + ".emails",
			SegmentChanges: base + ".segment-changes", DeadLetter: base + ".dead-letter"},
		writers: map[string]*kafka.Writer{}}
	e.part, _ = stream.NewPartitioner("murmur2")
	testkit.CreateTopics(t, brokers, parts, e.topics.Purchases, e.topics.Tickets, e.topics.Emails, e.topics.SegmentChanges, e.topics.DeadLetter)
	t.Cleanup(func() {
		for _, w := range e.writers {
			_ = w.Close()
		}
	})
	return e
}

// config returns a service configuration for this env.
func (e *env) config() config.Config {
	var c config.Config
	c.Kafka.Brokers = e.brokers
	c.Kafka.Topics = e.topics
	c.Kafka.GroupID = e.group
	c.Kafka.BatchSize = 200
	c.Kafka.FlushInterval = 50 * time.Millisecond
	c.Kafka.RescoreInterval = 100 * time.Millisecond
	c.Kafka.SessionTimeout = 6 * time.Second
	c.Kafka.RebalanceTimeout = 6 * time.Second
	c.Kafka.ShutdownTimeout = 10 * time.Second
	c.Redis.Addr = e.rdb.Options().Addr
	c.Redis.KeyPrefix = e.prefix
	c.HTTP.Addr = "127.0.0.1:0"
	c.HTTP.Auth = "none"
	c.Input.Rates = map[string]string{"EUR": "1.10"}
	c.Log.Level = "info"
	return c.WithDefaults()
}

// start runs a service instance in-process; the returned stop cancels it
// and waits for a clean shutdown.
func (e *env) start(cfg config.Config, name string) (stop func()) {
	e.t.Helper()
	if err := cfg.Validate(); err != nil {
		e.t.Fatal(err)
	}
	log := zaptest.NewLogger(e.t, zaptest.Level(zap.WarnLevel)).Named(name)
	a, err := app.New(cfg, log, obs.NewRegistry())
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.Run(ctx); err != nil {
			e.t.Errorf("%s: run: %v", name, err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// produce writes raw messages to a topic with the murmur2 partitioner
// (or the message's own partition when the writer is given one).
func (e *env) produce(topic string, msgs ...kafka.Message) {
	e.t.Helper()
	w, ok := e.writers[topic]
	if !ok {
		w = &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: topic, Balancer: e.part, RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 1000}
		e.writers[topic] = w
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(msgs) > 0 {
		n := min(len(msgs), 1000)
		if err := w.WriteMessages(ctx, msgs[:n]...); err != nil {
			e.t.Fatalf("produce to %s: %v", topic, err)
		}
		msgs = msgs[n:]
	}
}

// produceRecords writes records to their topics, keyed by customer.
func (e *env) produceRecords(recs ...event.Record) {
	e.t.Helper()
	by := map[string][]kafka.Message{}
	for _, r := range recs {
		v, err := json.Marshal(r)
		if err != nil {
			e.t.Fatal(err)
		}
		topic := e.topics.For(r.Type)
		by[topic] = append(by[topic], kafka.Message{Key: []byte(r.CustomerID), Value: v})
	}
	for topic, msgs := range by {
		e.produce(topic, msgs...)
	}
}

// store returns a state store on the env's prefix.
func (e *env) store() *state.Store { return state.New(e.rdb, e.prefix, time.Minute) }

// appliedAll reports whether every input record has been applied and the
// outboxes are drained.
func (e *env) appliedAll() bool {
	return testkit.AppliedAll(e.t, e.rdb, e.prefix, e.brokers, e.topics.Inputs(), e.parts)
}

func (e *env) waitApplied(timeout time.Duration) {
	e.t.Helper()
	testkit.Eventually(e.t, timeout, "all input applied and outboxes drained", e.appliedAll)
}

// states returns every stored customer state.
func (e *env) states() map[string]*customer.State {
	e.t.Helper()
	out := map[string]*customer.State{}
	err := e.store().Each(context.Background(), func(_ int, st *customer.State) error {
		out[st.ID] = st
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// changes returns every record of the segment-changes topic.
func (e *env) changes() ([]event.SegmentChange, []kafka.Message) {
	e.t.Helper()
	msgs := testkit.ReadAll(e.t, e.brokers, e.topics.SegmentChanges, e.parts)
	out := make([]event.SegmentChange, 0, len(msgs))
	var kept []kafka.Message
	for _, m := range msgs {
		var c event.SegmentChange
		if err := json.Unmarshal(m.Value, &c); err != nil {
			e.t.Fatalf("segment change is not JSON: %v: %s", err, m.Value)
		}
		if string(m.Key) != c.CustomerID {
			e.t.Fatalf("record keyed %q for customer %q", m.Key, c.CustomerID)
		}
		if c.Type != event.SegmentChangeType {
			continue // tier changes and milestones share the topic
		}
		out = append(out, c)
		kept = append(kept, m)
	}
	return out, kept
}

// checkChangeLog asserts the invariants of the segment-change log against
// the final states: duplicates (same event_id) are byte-identical re-sends;
// per customer, versions increase and each change starts where the previous
// one ended (none lost, none spurious); the last one is the stored segment.
func (e *env) checkChangeLog(states map[string]*customer.State) map[string][]event.SegmentChange {
	e.t.Helper()
	changes, msgs := e.changes()
	byID := map[string]string{}
	per := map[string][]event.SegmentChange{}
	for i, c := range changes {
		if c.EventID != event.SegmentChangeID(c.CustomerID, c.Version) {
			e.t.Fatalf("event_id %q is not derived from customer and version", c.EventID)
		}
		if prev, ok := byID[c.EventID]; ok {
			if prev != string(msgs[i].Value) {
				e.t.Fatalf("event_id %s published with two different contents:\n%s\n%s", c.EventID, prev, msgs[i].Value)
			}
			continue
		}
		byID[c.EventID] = string(msgs[i].Value)
		per[c.CustomerID] = append(per[c.CustomerID], c)
	}
	for id, cs := range per {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Version < cs[j].Version })
		prevSeg := ""
		for i, c := range cs {
			if c.From() != prevSeg {
				e.t.Fatalf("customer %s: change v%d starts from %q but the previous change ended in %q (a change was lost or is spurious)", id, c.Version, c.From(), prevSeg)
			}
			if c.Segment == c.From() {
				e.t.Fatalf("customer %s: change v%d does not change the segment", id, c.Version)
			}
			if i > 0 && c.Version <= cs[i-1].Version {
				e.t.Fatalf("customer %s: versions not increasing", id)
			}
			prevSeg = c.Segment
		}
		if st := states[id]; st == nil || st.Segment != prevSeg {
			e.t.Fatalf("customer %s: last published segment %q, stored %v", id, prevSeg, st)
		}
		per[id] = cs
	}
	for id, st := range states {
		if st.Segment != "" && len(per[id]) == 0 {
			e.t.Fatalf("customer %s is in segment %q but no change was published", id, st.Segment)
		}
	}
	return per
}

// deadLetters returns the dead-letter records.
func (e *env) deadLetters() []kafka.Message {
	return testkit.ReadAll(e.t, e.brokers, e.topics.DeadLetter, e.parts)
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// statsView strips the scorer's bookkeeping from a state, leaving the
// order-independent statistics.
func statsView(st *customer.State) string {
	c := *st
	c.Version, c.Segment, c.SegmentSince, c.Tier, c.ScoredNet, c.ModelVersion = 0, "", 0, "", 0, 0
	b, _ := json.Marshal(c)
	return string(b)
}

func rec(typ event.Type, cust string, at time.Time, f func(*event.Record)) event.Record {
	r := event.Record{EventID: fmt.Sprintf("%s-%s-%d", cust, typ, at.UnixNano()), Type: typ, CustomerID: cust, OccurredAt: at.UTC().Format(time.RFC3339)}
	if f != nil {
		f(&r)
	}
	return r
}
