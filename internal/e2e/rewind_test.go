package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/internal/testkit"
)

// snapshot is a consistent copy of some keys (DUMP in one MULTI/EXEC).
type snapshot map[string]string

func (e *env) snapshot(keys []string) snapshot {
	e.t.Helper()
	ctx := context.Background()
	cmds, err := e.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Dump(ctx, k)
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		e.t.Fatalf("snapshot: %v", err)
	}
	out := snapshot{}
	for i, c := range cmds {
		if v, err := c.(*redis.StringCmd).Result(); err == nil {
			out[keys[i]] = v
		}
	}
	return out
}

// restore puts the snapshot back in one MULTI/EXEC, deleting the keys it
// did not hold: Redis goes back in time, as after a restore or a failover to
// a lagging replica.
func (e *env) restore(s snapshot, keys []string) {
	e.t.Helper()
	ctx := context.Background()
	_, err := e.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			if v, ok := s[k]; ok {
				p.RestoreReplace(ctx, k, 0, v)
			} else {
				p.Del(ctx, k)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("restore: %v", err)
	}
}

func (e *env) partitionKeys() []string {
	var keys []string
	s := e.store()
	for p := 0; p < e.parts; p++ {
		k := s.Keys(p)
		keys = append(keys, k.Meta, k.Customers, k.Due, k.Outbox, k.OutboxLen, k.Quarantine)
	}
	return keys
}

// Storage going back in time loses nothing: Redis is restored to an older
// consistent snapshot under a running instance, twice (once with a wipe),
// while records keep arriving. The instance notices (its commits no longer
// start at the stored offsets), resumes from what Redis holds and applies
// the records after the snapshot again: the final state is exactly the
// exactly-once reference, and /readyz-visible progress resumes. The
// partition-count key comes back after the wipe without a restart.
func TestRedisGoingBackInTimeLosesNothing(t *testing.T) {
	e := newEnv(t, 2)
	recs := workload(7, 200, 40)
	half := len(recs) / 2
	e.produceRecords(recs[:half]...)
	cfg := e.config()
	cfg.Kafka.BatchSize = 50
	stop := e.start(cfg, "rewind")

	testkit.Eventually(t, 2*time.Minute, "some records applied", func() bool { return e.appliedRecords() > int64(half/4) })
	snap := e.snapshot(e.partitionKeys())
	testkit.Eventually(t, 2*time.Minute, "the first half applied", e.appliedAll)
	e.produceRecords(recs[half : half+half/2]...)
	time.Sleep(300 * time.Millisecond)
	e.restore(snap, e.partitionKeys()) // back in time, under load
	testkit.Eventually(t, 2*time.Minute, "three quarters applied", e.appliedAll)

	// A full wipe: nothing of the partitions and no partition count.
	ctx := context.Background()
	e.restore(snapshot{}, e.partitionKeys())
	iter := e.rdb.Scan(ctx, 0, "{"+e.prefix+":meta}:*", 100).Iterator()
	for iter.Next(ctx) {
		e.rdb.Del(ctx, iter.Val())
	}
	e.produceRecords(recs[half+half/2:]...)
	e.waitSettled(2 * time.Minute)
	stop()

	e.assertMatchesReference(e.reference(recs))
	if n, err := e.store().Partitions(ctx); err != nil || n != e.parts {
		t.Fatalf("partition count after the wipe: %d %v, want %d", n, err, e.parts)
	}
}

// A dead letter never blocks its partition: a correctly keyed record just
// below the broker's limit, and three large bad records in one batch,
// become dead letters (truncated where they would not fit, with a header
// saying so) and the good records after them are applied.
func TestOversizeDeadLettersDoNotStall(t *testing.T) {
	e := newEnv(t, 1)
	ctx := context.Background()
	// The input topic accepts records up to the broker default (1 MiB);
	// the dead letter adds headers to it.
	big := kafka.Message{Key: []byte("c-big"), Value: []byte(`{"event_id":"` + strings.Repeat("x", 1_040_000) + `"`)}
	var mid []kafka.Message
	for i := 0; i < 3; i++ {
		mid = append(mid, kafka.Message{Key: []byte("c-mid"), Value: []byte(`{"type":"` + strings.Repeat("y", 600_000) + `"`)})
	}
	w := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: e.topics.Purchases, Balancer: e.part, RequiredAcks: kafka.RequireAll, BatchBytes: 8 << 20}
	defer w.Close()
	if err := w.WriteMessages(ctx, big); err != nil {
		t.Fatalf("produce the big record: %v", err)
	}
	for _, m := range mid {
		if err := w.WriteMessages(ctx, m); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	good := workload(3, 20, 5)
	e.produceRecords(good...)
	stop := e.start(e.config(), "oversize")
	e.waitSettled(90 * time.Second)
	stop()
	dl := e.deadLetters()
	if len(dl) != 4 {
		t.Fatalf("%d dead letters, want 4", len(dl))
	}
	truncated := 0
	for _, m := range dl {
		if header(m, stream.HeaderTruncated) != "" {
			truncated++
			if header(m, stream.HeaderSourceOffset) == "" || len(m.Value) >= 1_040_000 {
				t.Fatalf("truncated dead letter without its source offset or not cut: %d bytes", len(m.Value))
			}
		}
	}
	if truncated != 1 {
		t.Fatalf("%d truncated dead letters, want 1 (the big record)", truncated)
	}
	e.assertMatchesReference(e.reference(good))
}
