// Package connect turns the connection options of the configuration into
// ready-made clients, so the packages that use Kafka and Redis never see
// certificates, credentials or topologies:
//
//   - Kafka builds, from kafka_security, the *kafka.Dialer that the
//     consumer group and its readers dial with and the *kafka.Transport that
//     the writers and the admin client (topic checks) share, both with the
//     same TLS configuration and SASL mechanism (none, PLAIN, SCRAM-SHA-256
//     or SCRAM-SHA-512, the last two kafka-go's sasl/scram).
//   - Redis builds, from the redis section, a redis.UniversalClient of the
//     configured mode: a *redis.Client (standalone), a *redis.ClusterClient
//     (cluster) or a failover *redis.Client that follows the master the
//     sentinels name (sentinel); with TLS and the ACL user and password.
//   - CustomerField is the zap field every log line that names a customer
//     uses: the id hashed (log.hash_customer_ids, the default) or in clear.
//   - SetRedisLogger and KafkaLogger route the client libraries' own log
//     lines through the service's zap logger (JSON by default), instead of
//     go-redis's plain lines on stderr. Neither library logs command
//     arguments, record keys or values, so no customer id reaches them.
//     (These and CustomerField live in internal/zaplog, which the stream
//     package can import; connect re-exports them.)
//
// Certificate and key files are read once, when the clients are built; an
// error names the option and the file. Nothing here dials: the first
// connection is made by the first request, so Kafka and Redis construct
// without a reachable server (use Ping to check Redis).
package connect
