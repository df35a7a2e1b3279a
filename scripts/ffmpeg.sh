#!/usr/bin/env bash
# A current static ffmpeg (9.0.2, linux x86_64) from PyPI's imageio-ffmpeg wheel, cached outside the clone. It reads
# HEVC and AV1 over enhanced RTMP and HEVC as FLV codec id 12, which the bundled ffmpeg 4.1 and Debian 12's 5.1
# cannot. Usage: scripts/ffmpeg.sh install   (prints the binary's path: set ffmpegPath to it)
set -euo pipefail

VERSION=0.8.1
BINARY=ffmpeg-linux-x86_64-v9.0.2
CACHE_DIR="${FFMPEG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recorder}/imageio-ffmpeg/$VERSION"

log() { echo "ffmpeg.sh: $*" >&2; }

install() {
  local target="$CACHE_DIR/$BINARY"
  if [[ -x "$target" ]]; then
    echo "$target"
    return
  fi
  if [[ "$(uname -sm)" != "Linux x86_64" ]]; then
    log "the imageio-ffmpeg wheel ships this ffmpeg for Linux x86_64 only, not $(uname -sm)"
    exit 1
  fi
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  log "downloading imageio-ffmpeg $VERSION from PyPI (about 68 MB, once)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --python-version 3.11 -d "$work" "imageio-ffmpeg==$VERSION" >&2
  python3 - "$work" "$BINARY" <<'PY'
import glob, sys, zipfile
work, binary = sys.argv[1], sys.argv[2]
wheel = glob.glob(f"{work}/imageio_ffmpeg-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    with z.open(f"imageio_ffmpeg/binaries/{binary}") as src, open(f"{work}/{binary}", "wb") as dst:
        dst.write(src.read())
PY
  mkdir -p "$CACHE_DIR"
  chmod +x "$work/$BINARY"
  "$work/$BINARY" -hide_banner -version | head -n 1 >&2
  mv "$work/$BINARY" "$target"
  echo "$target"
}

case "${1:-}" in
  install) install ;;
  *)
    echo "usage: scripts/ffmpeg.sh install" >&2
    exit 2
    ;;
esac
