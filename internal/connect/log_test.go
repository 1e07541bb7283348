package connect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestCustomerField(t *testing.T) {
	id := "cust-0042@example.com"
	want := fmt.Sprintf("%x", sha256.Sum256([]byte(id)))[:16]

	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(core)
	log.Info("hashed", CustomerField(id, true))
	log.Info("clear", CustomerField(id, false))
	entries := logs.All()
	if got := entries[0].ContextMap()["customer"]; got != want {
		t.Errorf("hashed customer = %v, want %s", got, want)
	}
	if got := entries[1].ContextMap()["customer"]; got != id {
		t.Errorf("clear customer = %v, want %s", got, id)
	}
	if HashCustomer(id) != want || len(want) != 16 || strings.Contains(want, "cust") {
		t.Errorf("HashCustomer(%q) = %q, want %q (16 hex digits)", id, HashCustomer(id), want)
	}
	if HashCustomer("cust-0043@example.com") == want {
		t.Error("two ids hash alike")
	}
}

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func jsonLogger(w *syncBuffer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zapcore.DebugLevel))
}

// go-redis's dial failures come out as JSON lines of the zap logger (named
// redis), not as go-redis's own plain lines on stderr.
func TestRedisLogsThroughZap(t *testing.T) {
	var buf syncBuffer
	restore := SetRedisLogger(jsonLogger(&buf))
	defer restore()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	out := strings.TrimSpace(buf.String())
	if out == "" {
		t.Fatal("go-redis logged nothing through zap for a failed dial")
	}
	for _, line := range strings.Split(out, "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", line, err)
		}
		if m["logger"] != "redis" || m["level"] != "warn" {
			t.Errorf("line %q: logger %v level %v, want redis, warn", line, m["logger"], m["level"])
		}
		if msg, _ := m["msg"].(string); !strings.Contains(msg, "failed to dial") || strings.HasPrefix(msg, "redis: ") {
			t.Errorf("msg = %q, want go-redis's dial failure without its prefix", msg)
		}
	}
	t.Logf("go-redis line through zap: %s", strings.Split(out, "\n")[0])
}

// kafka-go lines go through zap at the chosen level.
func TestKafkaLogger(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	KafkaLogger(zap.New(core), zapcore.WarnLevel).Printf("leaving group %s: %v", "g1", "timeout")
	KafkaLogger(zap.New(core), zapcore.DebugLevel).Printf("below the level")
	all := logs.All()
	if len(all) != 1 || all[0].Message != "leaving group g1: timeout" || all[0].Level != zapcore.WarnLevel {
		t.Fatalf("entries = %+v", all)
	}
}
