// Package core is clvstream's processing core: a pure function from one
// partition's input records, the states of the customers they touch, the
// partition's timers, applied offsets, clock and the model in force, to the new states, due times, outbox records (segment,
// tier and milestone changes for the segment-changes topic, referral
// credits for the referrals topic), dead letters and per-record outcomes. It
// does no I/O: no Kafka, Redis, logging or metrics. The stream task is the
// shell around it: fetch, merge, load, Process, dead-letter, commit, relay.
//
// Model. A partition's history is a sequence of steps in event-time order:
// the task merges its input partitions by event time (the next record is
// the earliest head among the partitions), so the sequence is a function of
// the topics' contents, not of the pace at which they are fetched. Process
// walks that sequence one record at a time:
//
//  1. A record whose offset is below the applied offset is a redelivery and
//     is skipped; a record that does not decode, is keyed wrongly, is on the
//     wrong partition or the wrong topic is a dead letter.
//  2. The clock advances: in a replay (the latest event time is older than
//     the replay threshold behind the wall clock) to the latest event time
//     seen minus the allowed lateness, live to the wall clock. The clock
//     never goes back.
//  3. Every timer due at or before the new clock fires, earliest first (ties
//     by customer id): the customer is re-scored as of the instant it was
//     due (cause scheduled).
//  4. The record is applied to its customer's state and, if it changed a
//     fact, the customer is scored as of the clock (or their latest fact,
//     when later) with cause event (erasure for an erasure).
//
// When the input is idle (caught up, Input.Idle), the clock moves to the
// partition's latest event time (replay) or the wall clock (live) and the timers due by then fire, so every change due
// by the end of a backfill is published.
//
// Because every step depends only on the steps before it, batch edges do not
// matter: the same history gives the same states, versions, event ids and
// outbox records whatever the batch size, and a restart from a committed
// checkpoint continues the same sequence. Timers loaded from the store are
// complete up to Input.Horizon; Process stops at the first record that would
// move the clock past it and reports how many records it consumed, so the
// shell loads the next page of timers first.
//
// Referral credits. A customer_acquired naming a referrer (with
// Config.Referrals on) also adds a referral_credited record for the
// referrer to the outbox, destination DestReferrals: a function of the
// event alone, committed with the referred customer's state. The relay
// publishes it to the referrals topic, partitioned like the inputs, and
// the task owning the referrer reads it there as one more input: the only
// way one partition's history affects another's customer, and through a
// topic, so each customer keeps one writer (docs/design/referrals.md).
//
// Scoring and output. Score re-scores a customer against the model in force
// and builds the output records with Figures, the one builder of published
// figures (rounding, money formatting, churn factors) that the query API
// uses too, so a segment change and /v1/customers/{id} never disagree.
package core
