package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/core"
)

// relayBatch is the number of outbox records produced per round.
const relayBatch = 1000

// relayLoop moves the partition's outbox to the segment-changes and
// referrals topics until ctx ends. It wakes on a commit (kick) or every
// second.
func (t *task) relayLoop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		n, err := t.relayOnce(ctx)
		wait := time.Second
		switch {
		case err != nil && ctx.Err() == nil:
			t.s.d.Metrics.RelayErrors.Inc()
			t.log.Warn("outbox relay failed; retrying", zap.Error(err), zap.Duration("backoff", backoff))
			wait = backoff
			backoff = min(2*backoff, 10*time.Second)
		case err == nil:
			backoff = 100 * time.Millisecond
			if n == relayBatch {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.kick:
		case <-time.After(wait):
		}
	}
}

// relayOnce produces up to relayBatch outbox records, oldest first, each to
// its destination topic, and deletes them from the outbox once the broker
// acknowledged all of them. A crash in between re-sends them with the same
// event ids. A referral credit whose topic is no longer configured
// (kafka.topics.referrals unset since it was committed) cannot be delivered
// anywhere: it is dropped with a warning.
func (t *task) relayOnce(ctx context.Context) (int, error) {
	entries, err := t.s.d.Store.ReadOutbox(ctx, t.p, relayBatch)
	if err != nil || len(entries) == 0 {
		t.observeBacklog(ctx)
		return 0, err
	}
	msgs := make([]kafka.Message, 0, len(entries))
	ids := make([]string, len(entries))
	dropped := 0
	for i, e := range entries {
		ids[i] = e.ID
		topic := t.s.destTopic(e.Dest)
		if topic == "" {
			dropped++
			continue
		}
		msgs = append(msgs, kafka.Message{
			Topic:   topic,
			Key:     []byte(e.Key),
			Value:   e.Value,
			Headers: []kafka.Header{{Key: "content-type", Value: []byte("application/json")}},
		})
	}
	if dropped > 0 {
		t.log.Warn("dropped outbox records whose destination topic is not configured (kafka.topics.referrals was unset after they were committed)", zap.Int("records", dropped))
	}
	start := time.Now()
	if err := t.s.out.WriteMessages(ctx, msgs...); err != nil {
		return 0, err
	}
	t.s.d.Metrics.RelaySeconds.Observe(time.Since(start).Seconds())
	t.s.d.Metrics.RelayRecords.Add(float64(len(msgs)))
	if err := t.s.d.Store.AckOutbox(ctx, t.p, ids); err != nil {
		return 0, err
	}
	t.observeBacklog(ctx)
	return len(entries), nil
}

func (t *task) observeBacklog(ctx context.Context) {
	if n, err := t.s.d.Store.OutboxLen(ctx, t.p); err == nil {
		t.s.d.Metrics.OutboxBacklog.WithLabelValues(strconv.Itoa(t.p)).Set(float64(n))
	}
}

// Dead-letter header names.
const (
	HeaderErrorClass      = "clv.error.class"
	HeaderErrorField      = "clv.error.field"
	HeaderErrorMessage    = "clv.error.message"
	HeaderSourceTopic     = "clv.source.topic"
	HeaderSourcePartition = "clv.source.partition"
	HeaderSourceOffset    = "clv.source.offset"
	// HeaderTruncated is set, to the original value's size in bytes, on
	// a dead letter whose value was cut to fit the broker's record size
	// limit; the whole record stays in the source topic at the offset the
	// source headers name.
	HeaderTruncated = "clv.truncated"
)

// errDeadLetter marks a failed dead-letter write.
var errDeadLetter = errors.New("dead-letter write failed")

// recordOverhead is what a record costs in a batch besides its key, value
// and headers (the record and batch framing), rounded up.
const recordOverhead = 512

// deadLetter produces the rejected records of a batch, with their original
// key, value and headers plus the error and source headers, and waits for
// the broker's acknowledgement: offsets move past a record only once it is
// either applied or dead-lettered. A record that would exceed the broker's
// limit (kafka.max_message_bytes) has its value truncated, with a header
// saying so; the writer splits the batch below that limit.
func (t *task) deadLetter(ctx context.Context, dead []core.Decoded) error {
	if len(dead) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, len(dead))
	for i, d := range dead {
		h := make([]kafka.Header, 0, len(d.Headers)+7)
		for _, x := range d.Headers {
			h = append(h, kafka.Header{Key: x.Key, Value: x.Value})
		}
		h = append(h,
			kafka.Header{Key: HeaderErrorClass, Value: []byte(d.Err.Reason)},
			kafka.Header{Key: HeaderErrorField, Value: []byte(d.Err.Field)},
			kafka.Header{Key: HeaderErrorMessage, Value: []byte(d.Err.Error())},
			kafka.Header{Key: HeaderSourceTopic, Value: []byte(d.Topic)},
			kafka.Header{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(d.Partition))},
			kafka.Header{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(d.Offset, 10))},
		)
		value := d.Value
		size := len(d.Key) + len(value) + recordOverhead
		for _, x := range h {
			size += len(x.Key) + len(x.Value)
		}
		if limit := t.s.cfg.MaxMessageBytes; size > limit {
			keep := max(0, len(value)-(size-limit))
			h = append(h, kafka.Header{Key: HeaderTruncated, Value: []byte(strconv.Itoa(len(value)))})
			value = value[:keep]
		}
		msgs[i] = kafka.Message{Key: d.Key, Value: value, Headers: h}
		t.log.Info("dead-lettered record", deadLetterFields(d.Record, d.Err, t.s.idFields)...)
	}
	if err := t.s.dlq.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("%w: %w", errDeadLetter, err)
	}
	return nil
}
