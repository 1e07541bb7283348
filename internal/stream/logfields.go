package stream

import (
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/zaplog"
	"github.com/clvstream/clvstream/pkg/event"
)

// deadLetterFields are the fields of the "dead-lettered record" log line:
// reason, field at fault, source topic, partition and offset, and the
// record key as the customer field (zaplog.Customer: hashed unless
// clearIDs). The rejection message is left out when ids are hashed, since
// it may quote the key, the customer id or a value of the payload (`record
// key "bob@example.com" differs from customer_id …`); it travels in the
// dead-letter record's clv.error.message header instead, where the
// coordinates in the log line find it. With clearIDs (log.hash_customer_ids
// false) the message is logged too, under "error".
func deadLetterFields(msg kafka.Message, e *event.Error, clearIDs bool) []zap.Field {
	fields := []zap.Field{
		zap.String("reason", string(e.Reason)),
		zap.String("field", e.Field),
		zap.String("topic", msg.Topic),
		zap.Int("source_partition", msg.Partition),
		zap.Int64("offset", msg.Offset),
	}
	if len(msg.Key) > 0 {
		fields = append(fields, zaplog.Customer(string(msg.Key), !clearIDs))
	}
	if clearIDs {
		fields = append(fields, zap.String("error", e.Error()))
	}
	return fields
}
