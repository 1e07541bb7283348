package testkit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/clvstream/clvstream/internal/state"
)

// Unique returns a name unique to this test run, safe for keys and topics.
func Unique(base string) string {
	return fmt.Sprintf("%s-%d-%06d", base, time.Now().UnixNano()%1e9, rand.IntN(1e6))
}

// Redis returns a client of the test Redis server and a key prefix unique to
// the test; the prefix's keys are deleted at cleanup.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	addr := os.Getenv("CLV_TEST_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CLV_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal("CLV_TEST_REDIS_ADDR is not set: start the services with scripts/services.sh up")
		}
		t.Skip("no Redis: set CLV_TEST_REDIS_ADDR (make test does) to run this test")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", addr, err)
	}
	prefix := Unique("t")
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, "{"+prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

var (
	fakeOnce sync.Once
	fake     *kfake.Cluster
	fakeErr  error
)

// Kafka returns the brokers of the test Kafka: the real broker when
// CLV_TEST_KAFKA_BROKERS is set, else a shared in-process kfake cluster
// (with a loud warning). real reports which.
func Kafka(t testing.TB) (brokers []string, real bool) {
	t.Helper()
	if b := os.Getenv("CLV_TEST_KAFKA_BROKERS"); b != "" {
		return strings.Split(b, ","), true
	}
	fakeOnce.Do(func() {
		fmt.Fprintln(os.Stderr, "WARNING: CLV_TEST_KAFKA_BROKERS is not set: the Kafka tests run against the in-process kfake broker, NOT a real Apache Kafka broker")
		fake, fakeErr = kfake.NewCluster(kfake.NumBrokers(1))
	})
	if fakeErr != nil {
		t.Fatalf("in-process kafka: %v", fakeErr)
	}
	t.Log("WARNING: running against the in-process kfake broker, not a real Apache Kafka broker")
	return fake.ListenAddrs(), false
}

// CreateTopics creates topics with the given partition count.
func CreateTopics(t testing.TB, brokers []string, partitions int, names ...string) {
	t.Helper()
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		t.Fatalf("dial kafka: %v", err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		t.Fatalf("kafka controller: %v", err)
	}
	cc, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, fmt.Sprint(ctrl.Port)))
	if err != nil {
		t.Fatalf("dial controller: %v", err)
	}
	defer cc.Close()
	var cfgs []kafka.TopicConfig
	for _, n := range names {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: n, NumPartitions: partitions, ReplicationFactor: 1})
	}
	if err := cc.CreateTopics(cfgs...); err != nil {
		t.Fatalf("create topics %v: %v", names, err)
	}
	// Wait until metadata shows every partition with a leader.
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := client.Metadata(context.Background(), &kafka.MetadataRequest{Topics: names})
		ok := err == nil && len(md.Topics) == len(names)
		if ok {
			for _, tp := range md.Topics {
				if tp.Error != nil || len(tp.Partitions) != partitions {
					ok = false
				}
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topics %v not ready: %v", names, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ReadAll reads every record of topic from the start to the current end of
// each of its partitions.
func ReadAll(t testing.TB, brokers []string, topic string, partitions int) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []kafka.Message
	for p := 0; p < partitions; p++ {
		end := EndOffset(t, brokers, topic, p)
		if end == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 100 * time.Millisecond})
		_ = r.SetOffset(kafka.FirstOffset)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
			if m.Offset+1 >= end {
				break
			}
		}
		r.Close()
	}
	return out
}

// EndOffset returns the high watermark of a partition.
func EndOffset(t testing.TB, brokers []string, topic string, p int) int64 {
	t.Helper()
	conn, err := kafka.DialLeader(context.Background(), "tcp", brokers[0], topic, p)
	if err != nil {
		t.Fatalf("dial leader %s/%d: %v", topic, p, err)
	}
	defer conn.Close()
	end, err := conn.ReadLastOffset()
	if err != nil {
		t.Fatalf("last offset %s/%d: %v", topic, p, err)
	}
	return end
}

// Eventually polls cond every 100ms until it returns true or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AppliedAll reports whether the service under test has applied every
// record of the input topics (the offsets stored in Redis under prefix reached
// the end of every input partition) and drained every outbox.
func AppliedAll(t testing.TB, rdb *redis.Client, prefix string, brokers, inputs []string, parts int) bool {
	t.Helper()
	ctx := context.Background()
	st := state.New(rdb, prefix, time.Minute)
	for p := 0; p < parts; p++ {
		k := st.Keys(p)
		for _, topic := range inputs {
			end := EndOffset(t, brokers, topic, p)
			if end == 0 {
				continue
			}
			v, err := rdb.HGet(ctx, k.Meta, "off:"+topic).Result()
			if err != nil {
				return false
			}
			if n, _ := strconv.ParseInt(v, 10, 64); n < end {
				return false
			}
		}
		if n, _ := st.OutboxLen(ctx, p); n > 0 {
			return false
		}
	}
	return true
}
