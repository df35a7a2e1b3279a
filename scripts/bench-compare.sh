#!/usr/bin/env bash
# The full comparison behind the README's "Benchmark: concurrent slots": the recorder, nginx-rtmp and MediaMTX, one
# after another, on the same load, ramping N. Installs the peers first (scripts/peers.sh: apt-get for nginx-rtmp,
# go for MediaMTX). Arguments are passed to `recorder bench` and override the defaults below, e.g.
#   scripts/bench-compare.sh --slots 300 --duration 600
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/peers.sh nginx >/dev/null
mediamtx="$(scripts/peers.sh mediamtx)"
node scripts/build-if-needed.mjs
echo "bench-compare: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start" >&2
exec node dist/src/cli.js bench --target all --ramp --slots 300 --ramp-from 40 --duration 40 --bitrate 1000 \
  --formats hls,mp4 --out docs/bench --mediamtx "$mediamtx" "$@"
