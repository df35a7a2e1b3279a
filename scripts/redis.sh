#!/usr/bin/env bash
# A real Redis (Debian's redis-server) for the tests and for users trying the cluster mode.
#
#   scripts/redis.sh start DIR [--port N] [--password P] [--tls-cert C --tls-key K]
#                                   start a background server with its files (AOF, log, pid) under DIR
#   scripts/redis.sh stop DIR       stop it (idempotent); its data stays in DIR
#   scripts/redis.sh kill DIR       SIGKILL it, as a crash would (idempotent)
#
# `start` prints REDIS_PORT=... and REDIS_URL=... lines. Persistence is AOF with appendfsync everysec (at most
# about a second of writes lost on a crash of the host); a restart on the same DIR reads it back.
# Needs redis-server and redis-cli (apt-get install redis-server) and python3 (to pick a free port).
set -euo pipefail

READY_TIMEOUT_SECONDS=20
STOP_GRACE_SECONDS=10

log() { echo "redis.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

running_pid() {
  local pidfile="$1/redis.pid"
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

cmd_start() {
  local dir="${1:-}"
  [[ -n "$dir" ]] || usage
  shift
  local port="" password="" cert="" key=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --password) password="$2"; shift 2 ;;
      --tls-cert) cert="$2"; shift 2 ;;
      --tls-key) key="$2"; shift 2 ;;
      *) usage ;;
    esac
  done
  command -v redis-server >/dev/null || die "redis-server was not found on PATH (apt-get install redis-server)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if running_pid "$dir" >/dev/null; then die "a Redis already runs with its files in $dir"; fi
  [[ -n "$port" ]] || port="$(free_port)"
  local conf="$dir/redis.conf"
  {
    echo "bind 127.0.0.1"
    echo "dir $dir"
    echo "daemonize yes"
    echo "pidfile $dir/redis.pid"
    echo "logfile $dir/redis.log"
    echo "save \"\""
    echo "appendonly yes"
    echo "appendfsync everysec"
    if [[ -n "$password" ]]; then echo "requirepass $password"; fi
    if [[ -n "$cert" ]]; then
      echo "port 0"
      echo "tls-port $port"
      echo "tls-cert-file $cert"
      echo "tls-key-file $key"
      echo "tls-auth-clients no"
    else
      echo "port $port"
    fi
  } >"$conf"
  redis-server "$conf" >/dev/null
  local cli=(redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning)
  if [[ -n "$password" ]]; then cli+=(-a "$password"); fi
  if [[ -n "$cert" ]]; then cli+=(--tls --cacert "$cert"); fi
  local deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
  # PONG once it serves; LOADING while it reads its AOF back.
  until [[ "$("${cli[@]}" ping 2>/dev/null)" == "PONG" ]]; do
    if ((SECONDS > deadline)); then
      tail -n 20 "$dir/redis.log" >&2 || true
      die "Redis on port $port not ready within ${READY_TIMEOUT_SECONDS}s"
    fi
    sleep 0.1
  done
  local scheme=redis
  if [[ -n "$cert" ]]; then scheme=rediss; fi
  local auth=""
  if [[ -n "$password" ]]; then auth=":$password@"; fi
  echo "REDIS_PORT=$port"
  echo "REDIS_URL=$scheme://${auth}127.0.0.1:$port"
}

cmd_stop() {
  local dir="${1:-}" signal="${2:-TERM}"
  [[ -n "$dir" ]] || usage
  local pid
  pid="$(running_pid "$dir")" || return 0
  kill "-$signal" "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + STOP_GRACE_SECONDS))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS > deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
}

command="${1:-}"
shift || true
case "$command" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "${1:-}" TERM ;;
  kill) cmd_stop "${1:-}" KILL ;;
  *) usage ;;
esac
