// Package stream is clvstream's pipeline shell: consumer group, one task per
// input partition number, the event-time merge, the state cache, the
// dead-letter topic and the outbox relay. The batch logic itself is the pure
// core in internal/core.
//
// Model. The input topics (purchases, tickets, emails, and the optional
// surveys and internal referrals topics) are co-partitioned:
// the same partition count and keyed by customer id with the same
// partitioner. Task p owns partition p of every input topic, so it is the
// only writer of its customers. Service.Run joins the consumer group with
// kafka-go's ConsumerGroup (range assignor, which hands out partition p of
// every topic to the same member) and starts one task per assigned
// partition number with Generation.Start; the generation id is the fencing
// token of the Redis store.
//
// A task is one select loop over: its merger's wake-ups, a flush timer, a
// tick (idle clock, model re-scoring, lag) and its context. One reader
// goroutine per input partition fetches and decodes (core.Processor.Decode)
// into the merger, which hands records out in event-time order and waits,
// boundedly, for a partition that is behind. Each step loads the stored
// timers due by the step's clock and the states it needs (cache first),
// runs core.Processor.Process, produces the dead letters (waiting for the
// broker's acknowledgement), and writes everything with one atomic Redis
// call (state.Store.Commit). Only then do the cache and the in-memory
// checkpoint move. Any failure resumes the task from the checkpoint stored in
// Redis, which is the truth: re-claim, drop the cache, rewind the readers.
//
// Segment changes leave through the outbox: the commit appends them to the
// partition's Redis stream and the task's relay produces them to the
// segment-changes topic and deletes what the broker acknowledged. A crash
// between the two re-sends the same deterministic event ids (at least once,
// in order per customer). Referral credits take the same path to the
// referrals topic (each outbox record names its destination), keyed by the
// referrer, whose task reads them as an input: a referral crosses
// partitions without any task writing another's customers
// (docs/design/referrals.md).
package stream
