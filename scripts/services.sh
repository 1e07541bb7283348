#!/usr/bin/env bash
# Test services for clvstream's integration suite: Redis + a real Kafka broker.
#
#   scripts/services.sh up       start both (idempotent)
#   scripts/services.sh down     stop both (Kafka data is wiped)
#   scripts/services.sh status   show both
#   scripts/services.sh env      print the exports the Go tests read:
#                                  eval "$(scripts/services.sh env)"
#
# Without java or mvn only Redis is started; the Go suite then falls back to
# its in-process broker.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

have_java() { command -v java >/dev/null && command -v mvn >/dev/null; }

case "${1:-}" in
  up)
    "$HERE/redis.sh" up
    if have_java; then
      "$HERE/kafka.sh" up
    else
      echo "WARNING: no Java: the integration suite will run against the in-process broker only" >&2
    fi
    ;;
  down)
    "$HERE/redis.sh" down
    "$HERE/kafka.sh" down
    ;;
  status)
    rc=0
    "$HERE/redis.sh" status || rc=1
    if have_java; then "$HERE/kafka.sh" status || rc=1; else echo "kafka: skipped (no Java)"; fi
    exit "$rc"
    ;;
  env)
    echo "export CLV_TEST_REDIS_ADDR=127.0.0.1:${CLV_REDIS_PORT:-6390}"
    if have_java; then
      echo "export CLV_TEST_KAFKA_BROKERS=127.0.0.1:${CLV_KAFKA_PORT:-19092}"
    fi
    ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
