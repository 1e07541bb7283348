package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/obs"
)

// A start with Redis and Kafka both unreachable names both, with the
// option that sets each, instead of failing on the first one tried.
func TestStartNamesEveryUnreachableDependency(t *testing.T) {
	cfg := config.Config{}
	cfg.Kafka.Brokers = []string{"127.0.0.1:21198"} // nothing listens on either port
	cfg.Redis.Addr = "127.0.0.1:21199"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.HTTP.Auth = "none"
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, zap.NewNop(), obs.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = a.Run(ctx)
	if err == nil {
		t.Fatal("Run succeeded with neither Redis nor Kafka reachable")
	}
	for _, want := range []string{"cannot start", "redis at 127.0.0.1:21199", "redis.addr", "kafka at 127.0.0.1:21198", "kafka.brokers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("took %s to fail", d)
	}
	t.Logf("start error after %s:\n%v", time.Since(start).Round(time.Millisecond), err)
}
