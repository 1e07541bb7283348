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

// relayBatch is about the number of outbox records produced per round:
// entries are read until it is reached, at least one.
const relayBatch = 1000

// relayLoop moves the partition's outbox to the segment-changes and
// referrals topics until ctx ends. It wakes on a commit (kick) or every
// second.
func (t *task) relayLoop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		more, err := t.relayOnce(ctx)
		wait := time.Second
		switch {
		case err != nil && ctx.Err() == nil:
			t.s.d.Metrics.RelayErrors.Inc()
			t.log.Warn("outbox relay failed; retrying", zap.Error(err), zap.Duration("backoff", backoff))
			wait = backoff
			backoff = min(2*backoff, 10*time.Second)
		case err == nil:
			backoff = 100 * time.Millisecond
			if more {
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

// relayOnce produces the records of the oldest outbox entries (one per
// commit; about relayBatch records), each to its destination topic, and
// deletes the entries once the broker acknowledged all of them. A crash in
// between re-sends them with the same event ids. A referral credit whose
// topic is no longer configured (kafka.topics.referrals unset since it was
// committed) cannot be delivered anywhere: it is dropped with a warning.
// more says entries may be waiting beyond those read.
func (t *task) relayOnce(ctx context.Context) (more bool, err error) {
	// One entry more than this round takes says whether more are waiting.
	entries, err := t.s.d.Store.ReadOutbox(ctx, t.p, t.relayCount+1)
	if err != nil || len(entries) == 0 {
		t.observeBacklog(ctx)
		return false, err
	}
	n, take := 0, 0
	for _, e := range entries {
		if take == int(t.relayCount) || (take > 0 && n+len(e.Records) > relayBatch) {
			break
		}
		n += len(e.Records)
		take++
	}
	more = take < len(entries)
	entries = entries[:take]
	// Entries to read next time: as many as held about relayBatch records
	// in this round's.
	t.relayCount = min(relayBatch, max(1, int64(relayBatch*len(entries)/max(1, n))))
	msgs := make([]kafka.Message, 0, n)
	dropped := 0
	for _, e := range entries {
		for _, r := range e.Records {
			topic := t.s.destTopic(r.Dest)
			if topic == "" {
				dropped++
				continue
			}
			msgs = append(msgs, kafka.Message{
				Topic:   topic,
				Key:     []byte(r.Key),
				Value:   r.Value,
				Headers: jsonHeaders,
			})
		}
	}
	if dropped > 0 {
		t.log.Warn("dropped outbox records whose destination topic is not configured (kafka.topics.referrals was unset after they were committed)", zap.Int("records", dropped))
	}
	start := time.Now()
	if err := t.s.out.WriteMessages(ctx, msgs...); err != nil {
		return false, err
	}
	t.s.d.Metrics.RelaySeconds.Observe(time.Since(start).Seconds())
	t.s.d.Metrics.RelayRecords.Add(float64(len(msgs)))
	left, err := t.s.d.Store.AckOutbox(ctx, t.p, entries)
	if err != nil {
		return false, err
	}
	t.s.d.Metrics.OutboxBacklog.WithLabelValues(strconv.Itoa(t.p)).Set(float64(left))
	return more, nil
}

// jsonHeaders are the headers of every relayed record. The writer only
// reads them.
var jsonHeaders = []kafka.Header{{Key: "content-type", Value: []byte("application/json")}}

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
