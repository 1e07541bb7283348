#!/usr/bin/env bash
# Private Redis instance for clvstream's integration tests.
#
#   scripts/redis.sh up|down|status
#
# Listens on 127.0.0.1:${CLV_REDIS_PORT:-6390}; all state (config, pid, log)
# lives in ${CLV_SERVICES_DIR:-/tmp/clvstream-services}/redis. No persistence.
set -euo pipefail

PORT="${CLV_REDIS_PORT:-6390}"
DIR="${CLV_SERVICES_DIR:-/tmp/clvstream-services}/redis"
PIDFILE="$DIR/redis.pid"
LOGFILE="$DIR/redis.log"

ping_ok() { [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ]; }

# Install Debian's redis-server (which also brings redis-cli) if missing.
ensure_installed() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  echo "redis.sh: installing redis-server from apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q redis-server
  # The package may auto-start its own service on :6379 (systemd or sysv,
  # unless policy-rc.d forbids it). We don't use it; stop and disable it,
  # best effort, so it does not linger.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
  else
    service redis-server stop >/dev/null 2>&1 || true
  fi
}

up() {
  if ping_ok; then echo "redis: already running on 127.0.0.1:$PORT"; return 0; fi
  ensure_installed
  mkdir -p "$DIR"
  # Options on the command line; no config file needed.
  redis-server --bind 127.0.0.1 --port "$PORT" --daemonize yes \
    --dir "$DIR" --pidfile "$PIDFILE" --logfile "$LOGFILE" \
    --appendonly no --save ''
  for _ in $(seq 1 40); do           # 40 x 0.5 s = 20 s
    if ping_ok; then echo "redis: up on 127.0.0.1:$PORT"; return 0; fi
    sleep 0.5
  done
  echo "redis: no PONG on port $PORT after 20 s; log tail:" >&2
  tail -n 30 "$LOGFILE" >&2 || true
  exit 1
}

down() {
  # Prefer a clean SHUTDOWN; fall back to the pid file.
  if command -v redis-cli >/dev/null && ping_ok; then
    redis-cli -h 127.0.0.1 -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  elif [ -s "$PIDFILE" ]; then
    kill "$(cat "$PIDFILE")" 2>/dev/null || true
  fi
  for _ in $(seq 1 20); do
    if ! { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }; then break; fi
    sleep 0.5
  done
  rm -f "$PIDFILE"
  echo "redis: down"
}

status() {
  if command -v redis-cli >/dev/null && ping_ok; then
    echo "redis: running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE" 2>/dev/null || echo '?'))"
  else
    echo "redis: not running"; return 1
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
