// Package demo runs clvstream with no infrastructure: an in-process Kafka
// broker (franz-go's kfake), an in-process Redis-compatible store
// (miniredis) and a synthetic traffic generator, and prints a live summary
// of the segments.
//
// The generator simulates a shop on an accelerated clock (one simulated day
// per DayEvery of wall time, starting two years ago): customers arrive,
// buy at their own rhythm (frequent, occasional, one-time), some stop
// buying, all receive weekly emails and now and then open a support
// ticket; one record in 400 is malformed so the dead-letter path shows.
// Events carry their simulated timestamps, so the service runs on its
// event-time clock and silent customers drift to at-risk and lapsed as the
// simulated weeks pass.
package demo
