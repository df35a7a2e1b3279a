#!/usr/bin/env bash
# The peers `recorder bench` compares the recorder with: nginx-rtmp (Debian's nginx + libnginx-mod-rtmp) and a pinned
# MediaMTX built from source with go, cached outside the clone like scripts/minio.sh does for MinIO.
#
#   scripts/peers.sh install      install both (apt-get for nginx, needs root; go for MediaMTX) and print their paths
#   scripts/peers.sh nginx        print the nginx binary and the rtmp module (installing them if missing)
#   scripts/peers.sh mediamtx     print the MediaMTX binary's path (building it once if missing)
#
# Only the full comparison (`npm run bench:compare`) needs them; the CI smoke case benches the recorder alone.
set -euo pipefail

MEDIAMTX_VERSION=v1.12.3
MEDIAMTX_MODULE=github.com/bluenviron/mediamtx
CACHE_DIR="${PEERS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recorder}/mediamtx/$MEDIAMTX_VERSION"
MEDIAMTX_BIN="$CACHE_DIR/mediamtx"
NGINX_RTMP_MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so

log() { echo "peers.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Prints "NGINX_BIN MODULE" (the only stdout line).
cmd_nginx() {
  if ! command -v nginx >/dev/null || [[ ! -f "$NGINX_RTMP_MODULE" ]]; then
    command -v apt-get >/dev/null || die "nginx and $NGINX_RTMP_MODULE are missing, and apt-get is not here to install them"
    log "installing nginx-light and libnginx-mod-rtmp (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Debian's package scripts may try to start nginx on port 80; the bench starts its own from a generated config.
    apt-get install -y -qq --no-install-recommends nginx-light libnginx-mod-rtmp >/dev/null
  fi
  [[ -f "$NGINX_RTMP_MODULE" ]] || die "libnginx-mod-rtmp did not install $NGINX_RTMP_MODULE"
  echo "$(command -v nginx) $NGINX_RTMP_MODULE"
}

# Builds the pinned MediaMTX into the cache dir unless it is there; prints the binary's path (the only stdout line).
cmd_mediamtx() {
  if [[ -x "$MEDIAMTX_BIN" ]]; then
    echo "$MEDIAMTX_BIN"
    return
  fi
  command -v go >/dev/null || die "go is required to build MediaMTX $MEDIAMTX_VERSION (https://go.dev/dl/)"
  mkdir -p "$CACHE_DIR"
  local staging status=0 source
  staging="$(mktemp -d "$CACHE_DIR/.install.XXXXXX")"
  log "building $MEDIAMTX_MODULE@$MEDIAMTX_VERSION with $(go version)"
  local started=$SECONDS
  # `go install module@version` cannot build MediaMTX: its VERSION and hls.min.js are made by `go generate` and are
  # not in the module zip. So: download the module, copy it, write those two files, build the copy.
  source="$(cd "$staging" && go mod download -json "$MEDIAMTX_MODULE@$MEDIAMTX_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || status=$?
  [[ $status -eq 0 && -d "$source" ]] || die "go mod download $MEDIAMTX_MODULE@$MEDIAMTX_VERSION failed"
  cp -r "$source" "$staging/src"
  chmod -R u+w "$staging/src"
  echo "$MEDIAMTX_VERSION" >"$staging/src/internal/core/VERSION"
  # The bench never serves MediaMTX's HLS web player, so its script may be empty.
  echo '// hls.js is not bundled in this build' >"$staging/src/internal/servers/hls/hls.min.js"
  (cd "$staging/src" && CGO_ENABLED=0 go build -o "$staging/mediamtx" .) >"$staging/build.log" 2>&1 || status=$?
  if [[ $status -ne 0 || ! -x "$staging/mediamtx" ]]; then
    {
      echo "peers.sh: error: building MediaMTX $MEDIAMTX_VERSION failed (exit $status). go said:"
      tail -n 40 "$staging/build.log" | sed 's/^/  /'
    } >&2
    rm -rf "$staging"
    exit 1
  fi
  mv -f "$staging/mediamtx" "$MEDIAMTX_BIN"
  rm -rf "$staging"
  log "built in $((SECONDS - started)) s"
  echo "$MEDIAMTX_BIN"
}

[[ $# -ge 1 ]] || usage
command=$1
shift
[[ $# -eq 0 ]] || usage
case "$command" in
  install)
    cmd_nginx
    cmd_mediamtx
    ;;
  nginx) cmd_nginx ;;
  mediamtx) cmd_mediamtx ;;
  *) usage ;;
esac
