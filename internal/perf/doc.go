// Package perf is clvstream's end-to-end benchmark (make bench). It
// generates a realistic backfill, produces it to a real Kafka broker, and
// measures, back to back on the same topics:
//
//  1. a plain kafka-go consumer (one Reader per partition, FetchMessage in
//     a loop): the floor any Kafka consumer pays;
//  2. the same plus json.Unmarshal of every value into a map[string]any;
//  3. a naive processor: per record, JSON decode, GET the customer's state
//     from Redis, update a small JSON state, SET it back;
//  4. clvstream run itself, built from this module and executed as a
//     subprocess with a generated config (real Kafka, real Redis under a
//     key prefix of its own), from /readyz answering until every offset is
//     applied and the outbox is empty (ingest), then until nothing is due
//     (the sweep).
//
// The history (Mix, Generate) is synthetic and deterministic for a seed:
// customers join over two years that end a month ago, so the service
// replays it on event time; purchase rates are heavy-tailed and lifetimes
// exponential; refunds, tickets and email engagement refer to their own
// orders, tickets and messages, and a share of records is redelivered
// byte for byte. Records are keyed by customer id and partitioned with the
// service's partitioner, as it requires.
//
// Figures come from outside the service, so that they do not depend on
// its internals: CPU and peak RSS from /proc/PID; Redis CPU, commands and
// memory from INFO (server-wide, so another client of the same Redis adds
// to them: the report says how many were connected) and MEMORY USAGE of
// the service's keys; round trips and bytes from a relay the service's
// Redis connections go through (proxy.go), which counts request turns per
// connection; progress from the Redis keys of docs/state.md; re-scores
// from the service's /metrics. The issue-7 targets are printed beside the
// figures as PASS or MISS and never fail the run.
//
// Run it with make bench, or against running services:
//
//	eval "$(scripts/services.sh env)"
//	go run ./internal/perf/cmd/clvbench -events 1000000 -customers 107000
package perf
