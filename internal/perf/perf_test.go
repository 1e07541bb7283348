package perf

import (
	"bytes"
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/event"
)

// TestGenerateGivesTheMixOfValidEvents checks the history: the requested
// record count and shares, every record accepted by the service's decoder,
// refunds of real orders for at most their amount, occurred_at inside the
// history, and the same history for the same seed.
func TestGenerateGivesTheMixOfValidEvents(t *testing.T) {
	m := DefaultMix()
	m.Events, m.Customers = 20_000, 2_000
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	h, err := Generate(m, now)
	if err != nil {
		t.Fatal(err)
	}
	if h.Total() != m.Events {
		t.Fatalf("%d records, want %d", h.Total(), m.Events)
	}
	if h.Customers != m.Customers {
		t.Fatalf("%d customers have events, want %d", h.Customers, m.Customers)
	}
	distinct := float64(m.Events - h.Duplicates)
	share := func(types ...event.Type) float64 {
		n := 0
		for _, ty := range types {
			n += h.ByType[ty]
		}
		return float64(n) / float64(m.Events) // duplicates are spread in proportion
	}
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"purchases", share(event.Purchase), m.Purchases},
		{"refunds", share(event.Refund), m.Refunds},
		{"tickets", share(event.TicketOpened, event.TicketResolved), m.Tickets},
		{"emails", share(event.EmailSent, event.EmailOpened, event.EmailClicked), m.Emails},
		{"duplicates", float64(h.Duplicates) / distinct, m.Duplicates},
	} {
		if math.Abs(c.got-c.want) > 0.003 {
			t.Errorf("%s: share %.4f, want %.4f", c.name, c.got, c.want)
		}
	}
	if h.MaxEventTime.After(now.Add(-m.EndBefore)) || h.MaxEventTime.Before(h.Start) {
		t.Errorf("latest event %s outside the history %s..%s", h.MaxEventTime, h.Start, now.Add(-m.EndBefore))
	}

	dec, err := event.NewDecoder(event.Config{BaseCurrency: "USD", MaxBytes: 64 << 10, MaxClockSkew: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	orders := map[string]int64{}
	var refunds []event.Event
	for _, topic := range [][]gen{h.Purchases, h.Tickets, h.Emails} {
		prev := int64(0)
		for _, g := range topic {
			if g.at < prev {
				t.Fatal("records of a topic are not in occurred_at order")
			}
			prev = g.at
			ev, err := dec.Decode(g.Value(), nil)
			if err != nil {
				t.Fatalf("generated record rejected: %v: %s", err, g.Value())
			}
			if ev.OccurredAt.Before(h.Start) || ev.OccurredAt.After(h.MaxEventTime) {
				t.Fatalf("occurred_at %s outside the history", ev.OccurredAt)
			}
			switch ev.Type {
			case event.Purchase:
				orders[ev.CustomerID+"/"+ev.OrderID] = ev.Amount
			case event.Refund:
				refunds = append(refunds, ev)
			}
		}
	}
	for _, r := range refunds {
		amount, ok := orders[r.CustomerID+"/"+r.OrderID]
		if !ok || r.Amount > amount {
			t.Fatalf("refund %s of order %s: order found %v, amount %d of %d", r.ID, r.OrderID, ok, r.Amount, amount)
		}
	}
	again, _ := Generate(m, now)
	if !reflect.DeepEqual(h, again) {
		t.Fatal("the same seed gave a different history")
	}
}

// TestProxyCountsRoundTrips checks the relay's definition: one round trip
// per command sent alone, one per pipeline, one per script call.
func TestProxyCountsRoundTrips(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx := context.Background()
	px, err := startProxy(ctx, "127.0.0.1:21509", mr.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer px.close()
	rdb := redis.NewClient(&redis.Options{Addr: px.Addr(), PoolSize: 1, Protocol: 2, DisableIdentity: true})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	c0 := px.counts()
	for i := 0; i < 5; i++ {
		if err := rdb.Set(ctx, "k", i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got := px.counts().sub(c0).RoundTrips; got != 5 {
		t.Fatalf("5 SETs: %d round trips, want 5", got)
	}
	c1 := px.counts()
	_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < 50; i++ {
			p.Incr(ctx, "n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The client may open a new connection for it, whose handshake
	// (HELLO) is a round trip of its own.
	if got := px.counts().sub(c1); got.RoundTrips-got.Conns != 1 || got.BytesUp < 50*10 || got.BytesDown < 50*3 {
		t.Fatalf("a pipeline of 50: %+v, want 1 round trip carrying all 50 (plus one per new connection)", got)
	}
	c2 := px.counts()
	if err := rdb.Eval(ctx, "for i=1,10 do redis.call('INCR', KEYS[1]) end return 1", []string{"n"}).Err(); err != nil {
		t.Fatal(err)
	}
	if got := px.counts().sub(c2); got.RoundTrips-got.Conns != 1 {
		t.Fatalf("a script running 10 commands: %+v, want 1 round trip (plus one per new connection)", got)
	}
}

// TestHarnessCountsEveryRecordInEachMode runs the whole benchmark on a
// small history against the test services: each of the four modes must
// count every record, the service must apply or recognise as duplicates
// all of them (none dead-lettered: the history is valid), and the report
// must print the figures with their targets.
func TestHarnessCountsEveryRecordInEachMode(t *testing.T) {
	rdb, _ := testkit.Redis(t) // skips without services, before an in-process broker starts
	brokers, _ := testkit.Kafka(t)
	addr := rdb.Options().Addr
	m := DefaultMix()
	m.Events, m.Customers = 2000, 200
	o := Options{Mix: m, Partitions: 2, Brokers: brokers, RedisAddr: addr, Partitioner: "murmur2",
		HTTPAddr: "127.0.0.1:21510", ProxyAddr: "127.0.0.1:21511", Modes: AllModes(), Timeout: 2 * time.Minute,
		Progress: testWriter{t}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	res, err := Run(ctx, o)
	var out bytes.Buffer
	if res != nil {
		res.Print(&out)
		t.Log("\n" + out.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	want := int64(m.Events)
	for name, got := range map[string]int64{"plain": res.Plain.Events, "json": res.JSON.Events, "naive": res.Naive.Events, "service": res.Service.Events} {
		if got != want {
			t.Errorf("%s counted %d records, want %d", name, got, want)
		}
	}
	s := res.Service
	if !s.Settled || !s.SweepRan {
		t.Fatalf("service settled %v, sweep ran %v", s.Settled, s.SweepRan)
	}
	// The clock-advance phase adds one record per partition.
	if got := s.Applied + s.Duplicates; got != float64(want)+float64(o.Partitions) || s.DeadLetters != 0 {
		t.Errorf("service applied %v + duplicates %v (dead letters %v), want %d records", s.Applied, s.Duplicates, s.DeadLetters, want+int64(o.Partitions))
	}
	if s.Duplicates != float64(res.History.Duplicates) {
		t.Errorf("service found %v duplicates, the history has %d", s.Duplicates, res.History.Duplicates)
	}
	if s.SweepDue == 0 || s.SweepRescored < float64(s.SweepDue) {
		t.Errorf("sweep: %d due, %v re-scored", s.SweepDue, s.SweepRescored)
	}
	if s.Proxy.RoundTrips == 0 || s.PeakRSSKB == 0 || s.CPU == 0 || len(s.KeyBytes) == 0 {
		t.Errorf("missing figures: round trips %d, peak RSS %d kB, CPU %s, key bytes %v", s.Proxy.RoundTrips, s.PeakRSSKB, s.CPU, s.KeyBytes)
	}
	for _, line := range []string{"÷ (1) plain consumer", "÷ (3) naive processor", "Redis round trips per record", "Redis bytes per customer", "peak RSS", "sweep"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("report has no %q line", line)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
