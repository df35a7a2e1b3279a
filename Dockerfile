# Recorder image: RTMP ingest on 1935, HTTP (playback, API, /healthz) on 8080, recordings under /data.
#
#   docker build -t recorder .
#   docker run -p 1935:1935 -p 8080:8080 -v recorder-data:/data recorder
#
# Every config key can be set with an environment variable: RECORDER_ + the key path joined by "__",
# e.g. RECORDER_RECORD__FORMATS=hls,mp4 or RECORDER_STORAGE__BUCKET=recordings. A config file can be
# mounted and passed as `serve --config /etc/recorder/config.yaml`; the variables win over it.

# --- build: compile TypeScript, then keep only the production dependencies ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
# The web console: its sources, bundled by esbuild into dist/console.
COPY console ./console
COPY scripts/build-console.mjs ./scripts/
# Some unit tests under src/ import helpers from test/, and tsconfig.json compiles them too.
COPY test ./test
# Test files are left out of the image.
# --omit=optional drops the ffmpeg binaries bundled by @ffmpeg-installer: the runtime uses Debian's ffmpeg.
RUN npm run build \
 && rm -rf dist/test \
 && find dist -name '*.test.*' -delete \
 && npm prune --omit=dev --omit=optional --no-audit --no-fund

# --- runtime ---
# Debian 13 (trixie): its ffmpeg 7.1 reads HEVC and AV1 over enhanced RTMP and HEVC as FLV codec id 12, which
# bookworm's 5.1 cannot; the recorder probes what the ffmpeg reads at start.
FROM node:20-trixie-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
ENV RECORDER_FFMPEGPATH=/usr/bin/ffmpeg
ENV RECORDER_DATADIR=/data
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 1935 8080
# Assumes the default HTTP port; change it here too if RECORDER_HTTP__PORT is set.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# On SIGTERM the recorder finishes open recordings before it exits: give it time (docker stop -t).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
