package connect

import (
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clvstream/clvstream/internal/zaplog"
)

// CustomerField is the log field "customer" naming a customer: with hash
// (log.hash_customer_ids, the default) the first 16 hex digits of the
// SHA-256 of id, which follows one customer through the logs without
// writing the id; without, the id in clear. It is zaplog.Customer.
func CustomerField(id string, hash bool) zap.Field { return zaplog.Customer(id, hash) }

// HashCustomer returns the first 16 hex digits of the SHA-256 of id, the form
// customer ids take in logs (to find a customer's lines: hash the id). It is
// zaplog.HashCustomer.
func HashCustomer(id string) string { return zaplog.HashCustomer(id) }

// SetRedisLogger sends go-redis's log lines to log (named "redis") as zap
// lines instead of go-redis's plain lines on stderr; call it once at
// start-up. It is zaplog.SetRedis; it returns the function restoring the
// previous logger.
func SetRedisLogger(log *zap.Logger) (restore func()) { return zaplog.SetRedis(log) }

// KafkaLogger returns a kafka-go logger writing through log at level. It is
// zaplog.Kafka.
func KafkaLogger(log *zap.Logger, level zapcore.Level) kafka.Logger { return zaplog.Kafka(log, level) }
