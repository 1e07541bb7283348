package zaplog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// redisLog is the go-redis package-level logger: it forwards every line to
// the zap logger in current (JSON when the service logs JSON).
type redisLog struct{ current atomic.Pointer[zap.Logger] }

// Printf implements go-redis's internal.Logging. go-redis lines are about
// connections, pools and topology (addresses, errors), never command
// arguments, so no customer id or key reaches them; they are logged at warn
// level (go-redis logs failures), without go-redis's own "redis: " prefix.
func (r *redisLog) Printf(_ context.Context, format string, v ...any) {
	log := r.current.Load()
	if log == nil {
		return
	}
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	log.Warn(strings.TrimRight(msg, "\n"))
}

var (
	redisLogger     redisLog
	redisLoggerOnce sync.Once
)

// SetRedis sends go-redis's log lines, which it writes to stderr in
// its own format by default (e.g. `redis: … failed to dial`), to log (named
// "redis") instead. go-redis has one logger per process, so call it once at
// start-up, before the first client is used; it returns a function that
// puts the previous zap logger back (for tests). A nil log discards the
// lines.
func SetRedis(log *zap.Logger) (restore func()) {
	redisLoggerOnce.Do(func() { redis.SetLogger(&redisLogger) })
	if log == nil {
		log = zap.NewNop()
	}
	prev := redisLogger.current.Swap(log.Named("redis"))
	return func() { redisLogger.current.Store(prev) }
}

// Kafka returns a kafka-go logger (for ConsumerGroupConfig, Reader
// and Writer Logger and ErrorLogger) writing through log at level. kafka-go
// lines name groups, members, topics and partitions, never record keys or
// values.
func Kafka(log *zap.Logger, level zapcore.Level) kafka.Logger {
	return kafka.LoggerFunc(func(format string, args ...any) {
		if ce := log.Check(level, strings.TrimRight(fmt.Sprintf(format, args...), "\n")); ce != nil {
			ce.Write()
		}
	})
}
