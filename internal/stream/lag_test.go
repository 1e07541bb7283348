package stream

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/testkit"
)

// lagTestPartition sends every message to one partition.
type lagTestPartition int

func (p lagTestPartition) Balance(kafka.Message, ...int) int { return int(p) }

func lagTestProduce(t *testing.T, brokers []string, topic string, p, n int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: lagTestPartition(p), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprint("k", i)), Value: []byte("v")}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

// The lag is the broker's end offset minus the applied offset the caller
// gives, per topic, for the probed partition only; end offsets are asked
// for at most every interval and kept when the broker does not answer.
// The probe has no Redis at all: it answers whatever state Redis is in.
func TestLagProbeFromBrokerEndOffsets(t *testing.T) {
	brokers, real := testkit.Kafka(t)
	if !real {
		t.Log("kfake broker: ListOffsets semantics of a real broker are not checked")
	}
	a, b := testkit.Unique("lag-a"), testkit.Unique("lag-b")
	testkit.CreateTopics(t, brokers, 3, a, b)
	lagTestProduce(t, brokers, a, 1, 30)
	lagTestProduce(t, brokers, b, 1, 5)
	lagTestProduce(t, brokers, a, 0, 7) // another task's partition

	clock := time.Unix(1_000_000, 0)
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	lp := newLagProbe(client, 1, []string{a, b}, time.Minute, false)
	lp.now = func() time.Time { return clock }
	ctx := context.Background()

	check := func(what string, applied map[string]int64, want map[string]int64) {
		t.Helper()
		got, err := lp.observe(ctx, applied)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for topic, w := range want {
			if got[topic] != w {
				t.Fatalf("%s: lag of %s = %d, want %d (all: %v)", what, topic, got[topic], w, got)
			}
		}
	}
	check("nothing applied", map[string]int64{a: -1, b: -1}, map[string]int64{a: 30, b: 5})
	check("nothing applied, no entry", map[string]int64{}, map[string]int64{a: 30, b: 5})
	check("part applied", map[string]int64{a: 10, b: 5}, map[string]int64{a: 20, b: 0})
	check("all applied", map[string]int64{a: 30, b: 5}, map[string]int64{a: 0, b: 0})

	// The backlog grows while nothing is applied (Redis down: the task
	// commits nothing, so its applied offsets stand still).
	lagTestProduce(t, brokers, a, 1, 25)
	check("before the next probe: last end offsets", map[string]int64{a: 10, b: 5}, map[string]int64{a: 20})
	clock = clock.Add(time.Minute)
	check("after the next probe", map[string]int64{a: 10, b: 5}, map[string]int64{a: 45, b: 0})

	// The broker unreachable: the error is reported, the last end offsets
	// stay in use.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	lp.client = &kafka.Client{Addr: kafka.TCP(dead), Timeout: time.Second}
	clock = clock.Add(time.Minute)
	got, err := lp.observe(ctx, map[string]int64{a: 40, b: 5})
	if err == nil {
		t.Fatal("no error from an unreachable broker")
	}
	if got[a] != 15 || got[b] != 0 {
		t.Fatalf("lag with the broker unreachable = %v, want a 15 and b 0 from the last end offsets", got)
	}

	// start_offset latest: a topic with nothing applied has no lag.
	latest := newLagProbe(client, 1, []string{a, b}, time.Minute, true)
	got, err = latest.observe(ctx, map[string]int64{a: 50, b: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got[a] != 5 || got[b] != 0 {
		t.Fatalf("fromLatest lag = %v, want a 5, b 0", got)
	}
}
