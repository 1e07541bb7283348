package stream

import (
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/core"
	"github.com/clvstream/clvstream/pkg/event"
)

// deadLetterFields are the fields of the "dead-lettered record" log line:
// reason, field at fault, source topic, partition and offset, and the
// record key as the customer field (ids, which is Service.idFields: hashed
// under log.hash_customer_ids, absent without Deps.CustomerField). The
// rejection message is never logged: it may quote the key, the customer id
// or a value of the payload (`record key "bob@example.com" differs from
// customer_id …`); it travels in the dead-letter record's clv.error.message
// header, which the coordinates in the line find.
func deadLetterFields(r core.Record, e *event.Error, ids func(id string) []zap.Field) []zap.Field {
	fields := []zap.Field{
		zap.String("reason", string(e.Reason)),
		zap.String("field", e.Field),
		zap.String("topic", r.Topic),
		zap.Int("source_partition", r.Partition),
		zap.Int64("offset", r.Offset),
	}
	if len(r.Key) > 0 && ids != nil {
		fields = append(fields, ids(string(r.Key))...)
	}
	return fields
}
