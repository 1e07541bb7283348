// Package zaplog holds what every clvstream package that logs shares, with
// no dependency besides zap and the client libraries (so the stream, state
// and connect packages can all import it):
//
//   - Customer names a customer in a log line without writing the id: with
//     hashing on (log.hash_customer_ids, the default) as the first 16 hex
//     digits of the SHA-256 of the id, enough to follow one customer
//     through the logs (hash the id to find its lines) and useless to read
//     ids back; in clear with hashing off.
//   - Kafka and SetRedis route the client libraries' own log lines through
//     zap (JSON by default) instead of go-redis's plain lines on stderr.
//     Neither library logs command arguments, record keys or values, so no
//     customer id reaches them.
//
// internal/connect re-exports these for the code that builds clients.
package zaplog
