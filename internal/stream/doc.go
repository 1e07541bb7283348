// Package stream is clvstream's processing pipeline: consumer group, one
// task per input partition number, batching, the dead-letter topic and the
// outbox relay.
//
// Model. The input topics (purchases, tickets, emails) are co-partitioned:
// the same partition count and keyed by customer id with the same
// partitioner. Task p owns partition p of every input topic, so it is the
// only writer of its customers. Service.Run joins the consumer group with
// kafka-go's ConsumerGroup (range assignor, which hands out partition p of
// every topic to the same member) and starts one task per assigned
// partition number with Generation.Start; the generation id is the fencing
// token of the Redis store.
//
// A task is one select loop over: records (fed by one reader goroutine per
// topic), a flush timer, a re-score ticker and its context. A flush decodes
// the buffered records, sends bad ones to the dead-letter topic (waiting for
// the broker's acknowledgement), applies the good ones to the customers'
// states, scores the changed customers, and writes everything with one
// atomic Redis call (state.Store.Commit). Only then are Kafka offsets
// committed; on start a task resumes from the offsets stored in Redis,
// which are the truth.
//
// Segment changes leave through the outbox: the commit appends them to the
// partition's Redis stream and the task's relay produces them to the
// segment-changes topic and deletes what the broker acknowledged. A crash
// between the two re-sends the same deterministic event ids (at least once,
// in order per customer).
//
// Time. Each task has a clock: the wall clock when live, the event-time
// watermark (latest event time seen minus the allowed lateness) when the
// input is historic (the latest event is older than ReplayThreshold), so a
// backfill of 1997 data scores customers as of 1997. The re-score ticker
// pops customers whose next-due time has passed and re-scores them through
// the same commit (cause "scheduled").
package stream
