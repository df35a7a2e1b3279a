#!/usr/bin/env bash
# A real MinIO server built from source with `go install`, for the tests and for users trying the minio storage.
#
#   scripts/minio.sh install                     build (once) and print the binary's path
#   scripts/minio.sh start DIR [--port N] [--certs-dir D] [--kms-key]
#                                                start a background server with its files under DIR
#   scripts/minio.sh stop DIR                    stop it (idempotent)
#   scripts/minio.sh run                         foreground server on 127.0.0.1:9000, data in ./minio-data
#
# Needs go (to build), curl (readiness check) and node or python3 (to pick a free port).
set -euo pipefail

# The Go module proxy does not serve MinIO's RELEASE.* tags (they are not semantic versions), so the pin is the
# pseudo-version of a commit: 7aac2a2c5b7c of 2026-02-12, the newest the proxy serves.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_MODULE=github.com/minio/minio

CACHE_DIR="${MINIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recorder}/minio/$MINIO_VERSION"
MINIO_BIN="$CACHE_DIR/minio"

DEFAULT_USER=recorder
DEFAULT_PASSWORD=recorder-secret
READY_TIMEOUT_SECONDS=60
STOP_GRACE_SECONDS=10

log() { echo "minio.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Builds the pinned MinIO into the cache dir unless it is there; prints the binary's path (the only stdout line).
cmd_install() {
  if [[ -x "$MINIO_BIN" ]]; then
    echo "$MINIO_BIN"
    return
  fi
  command -v go >/dev/null || die "go is required to build MinIO $MINIO_VERSION (https://go.dev/dl/), and was not found on PATH"
  mkdir -p "$CACHE_DIR"
  # Build into a private dir, then rename: a concurrent or interrupted build never leaves a half-written binary.
  local staging output status=0
  staging="$(mktemp -d "$CACHE_DIR/.install.XXXXXX")"
  output="$staging/go-install.log"
  log "building $MINIO_MODULE@$MINIO_VERSION with $(go version) (a few minutes on a cold go cache)"
  local started=$SECONDS
  # go's own lines go to stderr as they come (progress), and to a file for the error message.
  CGO_ENABLED=0 GOBIN="$staging" go install "$MINIO_MODULE@$MINIO_VERSION" 2>&1 | tee "$output" >&2 ||
    status=${PIPESTATUS[0]}
  if [[ $status -ne 0 || ! -x "$staging/minio" ]]; then
    {
      echo "minio.sh: error: go install $MINIO_MODULE@$MINIO_VERSION failed (exit $status). go said:"
      tail -n 40 "$output" | sed 's/^/  /'
    } >&2
    rm -rf "$staging"
    exit 1
  fi
  mv -f "$staging/minio" "$MINIO_BIN"
  rm -rf "$staging"
  log "built in $((SECONDS - started)) s"
  echo "$MINIO_BIN"
}

# Prints N free loopback TCP ports, distinct (all bound at once, then released).
free_ports() {
  local count=$1
  if command -v node >/dev/null; then
    node -e '
      const net = require("node:net");
      const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
      Promise.all(servers.map((s) => new Promise((ok, fail) => s.once("error", fail).listen(0, "127.0.0.1", ok))))
        .then(() => { console.log(servers.map((s) => s.address().port).join(" ")); servers.forEach((s) => s.close()); });
    ' "$count"
  elif command -v python3 >/dev/null; then
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$count"
  else
    die "node or python3 is needed to pick a free port (or pass --port)"
  fi
}

# True while pid runs (a zombie does not count: it waits only for its parent to reap it).
alive() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/stat" ]]; then
    local state
    state="$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)"
    [[ "$state" != Z ]] || return 1
  fi
}

# The pid recorded in DIR/minio.pid if that process is still a running minio; nothing otherwise.
running_pid() {
  local dir=$1 pid
  [[ -f "$dir/minio.pid" ]] || return 0
  pid="$(cat "$dir/minio.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  alive "$pid" || return 0
  # A pid reused by another program after a reboot or crash is not ours.
  if [[ -r "/proc/$pid/cmdline" ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q minio; then
    return 0
  fi
  echo "$pid"
}

cmd_start() {
  [[ $# -ge 1 && "$1" != -* ]] || usage
  local dir=$1 port="" certs_dir="" kms=false
  shift
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port)
        [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "--port needs a number"
        port=$2
        shift 2
        ;;
      --certs-dir)
        [[ $# -ge 2 ]] || die "--certs-dir needs a directory"
        certs_dir=$2
        shift 2
        ;;
      --kms-key)
        kms=true
        shift
        ;;
      *) usage ;;
    esac
  done
  mkdir -p "$dir/data"
  dir="$(cd "$dir" && pwd)"
  local existing
  existing="$(running_pid "$dir")"
  [[ -z "$existing" ]] || die "a MinIO (pid $existing) already runs for $dir; stop it first"

  local bin
  bin="$(cmd_install)"

  local console_port ports
  if [[ -z "$port" ]]; then
    ports="$(free_ports 2)"
    read -r port console_port <<<"$ports"
  else
    ports="$(free_ports 1)"
    read -r console_port <<<"$ports"
  fi

  local scheme=http args=()
  if [[ -n "$certs_dir" ]]; then
    [[ -f "$certs_dir/public.crt" && -f "$certs_dir/private.key" ]] ||
      die "--certs-dir $certs_dir must hold public.crt and private.key"
    certs_dir="$(cd "$certs_dir" && pwd)"
    args+=(--certs-dir "$certs_dir")
    scheme=https
  fi

  local user="${MINIO_ROOT_USER:-$DEFAULT_USER}" password="${MINIO_ROOT_PASSWORD:-$DEFAULT_PASSWORD}"
  local server_env=(MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$password")
  if $kms; then
    # A static key is enough for SSE-S3 on a single server; kept so that restarts can read old objects.
    if [[ ! -s "$dir/kms-key" ]]; then
      (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n' >"$dir/kms-key")
    fi
    server_env+=(MINIO_KMS_SECRET_KEY="recorder-key:$(cat "$dir/kms-key")")
  fi

  local scheme_port="$scheme://127.0.0.1:$port"
  # Another server on the port would answer the readiness check in place of ours.
  if [[ "$(curl -s -k --noproxy '*' --max-time 2 -o /dev/null -w '%{http_code}' "$scheme_port/" || true)" != 000 ]]; then
    die "something already answers on $scheme_port"
  fi
  echo "--- $(date -u +%Y-%m-%dT%H:%M:%SZ) start $scheme_port (console port $console_port)" >>"$dir/minio.log"
  env "${server_env[@]}" "$bin" server "$dir/data" \
    --address "127.0.0.1:$port" --console-address "127.0.0.1:$console_port" ${args[@]+"${args[@]}"} \
    </dev/null >>"$dir/minio.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/minio.pid"

  local url="$scheme_port/minio/health/ready" deadline=$((SECONDS + READY_TIMEOUT_SECONDS)) code
  while true; do
    code="$(curl -s -k --noproxy '*' --max-time 2 -o /dev/null -w '%{http_code}' "$url" || true)"
    if [[ "$code" == 200 ]] && alive "$pid"; then break; fi
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      if alive "$pid"; then
        log "error: $url did not answer 200 within $READY_TIMEOUT_SECONDS s (last: ${code:-none}); stopping it"
        kill -KILL "$pid" 2>/dev/null || true
      else
        log "error: MinIO exited before $url was ready"
      fi
      rm -f "$dir/minio.pid"
      {
        echo "--- tail of $dir/minio.log:"
        tail -n 40 "$dir/minio.log"
      } >&2
      exit 1
    fi
    sleep 0.2
  done

  local use_ssl=false
  [[ "$scheme" == http ]] || use_ssl=true
  printf 'MINIO_ENDPOINT=127.0.0.1\nMINIO_PORT=%s\nMINIO_ACCESS_KEY=%q\nMINIO_SECRET_KEY=%q\nMINIO_USE_SSL=%s\n' \
    "$port" "$user" "$password" "$use_ssl" >"$dir/env"
  log "MinIO (pid $pid) ready at $scheme://127.0.0.1:$port, console at $scheme://127.0.0.1:$console_port"
  cat "$dir/env"
}

cmd_stop() {
  [[ $# -eq 1 ]] || usage
  local dir=$1 pid
  pid="$(running_pid "$dir")"
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_GRACE_SECONDS))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$pid"; then
      log "MinIO (pid $pid) still runs $STOP_GRACE_SECONDS s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    fi
  fi
  rm -f "$dir/minio.pid"
}

cmd_run() {
  [[ $# -eq 0 ]] || usage
  local bin data="${MINIO_DATA_DIR:-./minio-data}"
  local user="${MINIO_ROOT_USER:-$DEFAULT_USER}" password="${MINIO_ROOT_PASSWORD:-$DEFAULT_PASSWORD}"
  bin="$(cmd_install)"
  mkdir -p "$data"
  cat <<EOF
MinIO $MINIO_VERSION: data in $data, S3 API at http://127.0.0.1:9000, console at http://127.0.0.1:9001
Use it in the recorder config (the recorder creates the bucket):

storage:
  type: minio
  endPoint: 127.0.0.1
  port: 9000
  useSSL: false
  accessKey: $user
  secretKey: $password
  bucket: recordings

Ctrl-C stops it.
EOF
  MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$password" exec "$bin" server "$data" \
    --address 127.0.0.1:9000 --console-address 127.0.0.1:9001
}

[[ $# -ge 1 ]] || usage
command=$1
shift
case "$command" in
  install)
    [[ $# -eq 0 ]] || usage
    cmd_install
    ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  run) cmd_run "$@" ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
