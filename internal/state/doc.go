// Package state is clvstream's Redis store.
//
// Every key of the task that owns input partition p carries the hash tag
// {<prefix>:p}, so one task's keys live in one Redis Cluster slot and can be
// written by one script:
//
//	{clv:p}:meta       hash: gen, owner, lease_until (owner fence),
//	                   off:<topic> (next input offset to apply, per topic),
//	                   wm (event-time watermark, Unix ms),
//	                   pop_span, pop_repeats (population aggregate)
//	{clv:p}:customers  hash: customer id -> JSON customer.State
//	{clv:p}:due        sorted set: customer id scored by next re-score time (Unix ms)
//	{clv:p}:outbox     stream: segment-change records (and referral credits,
//	                   field d=referrals) awaiting the relay
//	                   (fields k = Kafka key, v = Kafka value)
//
// A batch is applied by one EVALSHA of the commit script (Commit), which is
// atomic: it checks that the caller's generation still owns the partition,
// checks that each input topic's stored offset is the one the batch started
// from and advances it, writes the changed customers, the due-set changes,
// the outbox records, the watermark and the population delta. Either all of
// it happens or none, which is what makes redelivery harmless: a replayed
// record lies below the stored offset and is skipped.
//
// Fencing: Claim takes the partition for a consumer-group generation when
// that generation is newer than the stored one or the stored owner's lease
// has expired (so a recreated group, whose generations restart at 1, can
// take over once the old owner is gone). Commit requires the stored
// generation to equal the caller's, so a zombie of an older generation can
// no longer write once the new owner has claimed. Commits renew the lease.
package state
