// Package lease is clvstream's one lock primitive: a named lease in Redis,
// held by an owner token for a time to live.
//
// A lease is a plain string key whose value is the holder's token:
//
//	Acquire  SET key token NX PX ttl       (taken only when nobody holds it)
//	Renew    if GET key == token: PEXPIRE  (a Lua script: compare and extend)
//	Release  if GET key == token: DEL      (a Lua script: compare and delete)
//
// Each step is one atomic Redis command or script, so two contenders never
// both hold a lease: the NX write admits exactly one of them, and renewal
// and release act only when the stored token is the caller's, so a holder
// whose lease expired and was taken by another cannot extend or delete the
// new holder's lease. A holder that stops without releasing (a crash) loses
// the lease when its time to live runs out; a holder that stops cleanly, or
// fails to start, releases it at once so another instance can take it
// without waiting.
//
// Tokens must be unique per holder, not per process: Token appends random
// bits to an instance name, so two holders in one process (tests, or two
// jobs sharing an instance id) are still told apart.
//
// The key may carry a Redis Cluster hash tag; a lease touches one key only.
// Scripts that must run only while a lease is held (model publication)
// compare the key's value with the token themselves, in the same script.
package lease
