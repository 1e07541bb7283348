// Package state is clvstream's Redis store.
//
// Every key of the task that owns input partition p carries the hash tag
// {<prefix>:p}, so one task's keys live in one Redis Cluster slot and can be
// written by one transaction:
//
//	{clv:p}:meta       hash: gen, owner, lease_until (owner fence),
//	                   off:<topic> (next input offset to apply, per topic),
//	                   wm (latest event time applied), clk (the task's
//	                   clock), model_done (the scoring every state was
//	                   last re-scored under)
//	{clv:p}:customers  hash: customer id -> encoded customer.State
//	{clv:p}:due        sorted set: customer id scored by next re-score time (Unix ms)
//	{clv:p}:outbox     stream: one entry per commit, the segment, tier and
//	                   milestone changes and referral credits it produced,
//	                   packed (AppendOutbox), awaiting the relay
//	{clv:p}:outboxlen  string: the number of records in the outbox
//	{clv:p}:quarantine hash: customer id -> stored bytes that did not decode
//
// A batch is applied by one optimistic transaction (Commit): WATCH the meta
// hash and read it, check that the caller's generation still owns the
// partition and that each input topic's stored offset is the one the batch
// started from, then MULTI/EXEC the new offsets, the changed customers, the
// due-set changes, the outbox entry, the watermark and the clock. EXEC
// applies all of it or, when the meta hash changed after the WATCH,
// nothing, and the commit starts over. That is what makes redelivery
// harmless: a replayed record lies below the stored offset and is skipped.
//
// Fencing: Claim takes the partition for a consumer-group generation when
// that generation is newer than the stored one or the stored owner's lease
// has expired (so a recreated group, whose generations restart at 1, can
// take over once the old owner is gone). Commit requires the stored
// generation to equal the caller's, so a zombie of an older generation can
// no longer write once the new owner has claimed. Commits renew the lease.
package state
