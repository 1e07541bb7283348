// Package testkit gives clvstream's tests their real services: a Redis
// server (CLV_TEST_REDIS_ADDR) and a Kafka broker (CLV_TEST_KAFKA_BROKERS,
// a real Apache Kafka started by scripts/services.sh; without it, an
// in-process kfake broker, announced loudly). `make test` starts both and
// sets CLV_TEST_REQUIRE_SERVICES=1, which turns a missing Redis into a
// failure instead of a skip. Every test gets its own key prefix and topic
// names, so tests share the servers without seeing each other.
package testkit
