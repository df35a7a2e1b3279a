// Media index benchmark: SearchMedia by NamePrefixes over 100,000 recordings.
//
// Fills a temp index (dataDir/.index/media.sqlite layout, the real schema) with recordings of 1,000 small streams
// (20 files each) and 10 big ones (8,000 each), then times prefix searches through searchMedia(), the function the
// SearchMedia action runs (parameter validation, index query, capped TotalCount, MediaInfo with MediaUrl from a
// LocalStore). Query kinds, shuffled: a small stream's id (20 matches), a big stream's id (8,000), a broad
// prefix `room1` (matches ~10% of the streams) and a prefix with no match; each with Limit 10 and 100.
// Prints the median and p95 per kind and overall. `--backend redis` runs the same on the cluster's index in a
// Redis of its own (scripts/redis.sh). Runs TypeScript sources through tsx: no build needed.
//
//   npm run bench:media-index -- [--rows 100000] [--rounds 50] [--backend sqlite|redis]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { searchMedia } from '../src/api/media-actions.ts';
import { RedisLink } from '../src/cluster/redis-link.ts';
import { RedisMediaIndex } from '../src/cluster/redis-media-index.ts';
import { MediaIndex } from '../src/media/media-index.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { LocalStore } from '../src/storage/local-store.ts';
import { startRedis } from '../test/helpers/redis.ts';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const backendAt = args.indexOf('--backend');
const BACKEND = backendAt >= 0 ? args[backendAt + 1] : 'sqlite';
if (BACKEND !== 'sqlite' && BACKEND !== 'redis') {
  console.error('bench-media-index: --backend must be sqlite or redis');
  process.exit(2);
}
const ROWS = arg('rows', 100_000);
const ROUNDS = arg('rounds', 50);
const BIG_STREAMS = 10;
const BIG_SHARE = 0.8;

const dir = mkdtempSync(join(tmpdir(), 'bench-media-index-'));
const redis = BACKEND === 'redis' ? await startRedis() : undefined;
const link = redis ? await RedisLink.connect({ url: redis.url, logger: silentLogger() }) : undefined;
const index = link
  ? new RedisMediaIndex(link.client, 'bench:')
  : MediaIndex.open(join(dir, '.index', 'media.sqlite'));
const store = new LocalStore({ dataDir: dir, publicBaseUrl: () => 'http://127.0.0.1:8080' });
const pad = (n) => String(n).padStart(2, '0');

function nameOf(stream, ms) {
  const d = new Date(ms);
  const t = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}-${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}`;
  return `${stream}_${t}_${t}`;
}

function* recordings() {
  const bigRows = Math.round(ROWS * BIG_SHARE);
  const smallStreams = 1000;
  const base = Date.UTC(2024, 0, 1);
  for (let i = 0; i < ROWS; i++) {
    const stream =
      i < bigRows ? `bigroom${i % BIG_STREAMS}_user_main` : `room${(i - bigRows) % smallStreams}_user_main`;
    const createTimeMs = base + i * 60_000;
    const name = nameOf(stream, createTimeMs - 1_800_000);
    yield {
      fileId: String(5_285_890_000_000_000_000n + BigInt(i)),
      name,
      key: `live/${name}.mp4`,
      format: 'mp4',
      streamId: stream,
      app: 'live',
      domain: 'push.example.com',
      createTimeMs,
      expireTimeMs: null,
      startMs: createTimeMs - 1_800_000,
      endMs: createTimeMs,
      size: 120_000_000,
      duration: 1800,
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      width: 1280,
      height: 720,
      bitrate: 533_000,
      videoStreams: [{ codec: 'h264', bitrate: 470_000, width: 1280, height: 720, fps: 25 }],
      audioStreams: [{ codec: 'aac', bitrate: 63_000, samplingRate: 48_000 }],
      vid: `1253001_${i.toString(16).padStart(32, '0')}`,
      taskId: `task-${i}`,
      sourceContext: '',
    };
  }
}

let t = performance.now();
await index.addMany([...recordings()]);
const fillMs = performance.now() - t;

// One add at a time, as announce does it (SQLite: each its own fsynced transaction; Redis: one MULTI).
const singles = [];
for (let i = 0; i < 50; i++) {
  const entry = { ...recordings().next().value, fileId: `single-${i}`, name: `single${i}_x` };
  t = performance.now();
  await index.add(entry);
  singles.push(performance.now() - t);
}

const kinds = {
  'small stream (20 matches)': (r) => `room${(r * 37) % 1000}_user_main`,
  'big stream (8,000 matches)': (r) => `bigroom${r % BIG_STREAMS}_user_main`,
  'broad prefix room1 (~2,200 matches)': () => 'room1',
  'no match': (r) => `absent${r}_`,
};
const plan = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const [kind, prefix] of Object.entries(kinds)) {
    for (const limit of [10, 100]) plan.push({ kind, limit, prefix: prefix(r) });
  }
}
for (let i = plan.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [plan[i], plan[j]] = [plan[j], plan[i]];
}

// Warm-up: SQLite's page cache and the JIT, as on a running recorder.
for (const q of plan.slice(0, 20))
  await searchMedia({ index, store }, { NamePrefixes: [q.prefix], Limit: q.limit });

const times = new Map();
const counts = new Map();
for (const q of plan) {
  t = performance.now();
  const answer = await searchMedia({ index, store }, { NamePrefixes: [q.prefix], Limit: q.limit });
  const ms = performance.now() - t;
  const key = `${q.kind}, Limit ${q.limit}`;
  times.set(key, [...(times.get(key) ?? []), ms]);
  counts.set(key, answer.TotalCount);
}

const quantile = (list, q) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const fmt = (ms) => ms.toFixed(2);
const all = [...times.values()].flat();
console.log(
  `backend: ${BACKEND}; rows: ${ROWS}; filled in ${(fillMs / 1000).toFixed(1)} s (${BACKEND === 'redis' ? 'transactions of 1,000' : 'one transaction'})`,
);
console.log(
  `single durable add: median ${fmt(quantile(singles, 0.5))} ms, p95 ${fmt(quantile(singles, 0.95))} ms`,
);
console.log(`queries: ${all.length} (${ROUNDS} rounds, shuffled), through searchMedia()`);
console.log('');
console.log('| query | TotalCount | median ms | p95 ms |');
console.log('| --- | ---: | ---: | ---: |');
for (const [key, list] of times) {
  console.log(`| ${key} | ${counts.get(key)} | ${fmt(quantile(list, 0.5))} | ${fmt(quantile(list, 0.95))} |`);
}
console.log(`| **all** | | **${fmt(quantile(all, 0.5))}** | **${fmt(quantile(all, 0.95))}** |`);

await index.close();
await link?.close();
await redis?.destroy();
rmSync(dir, { recursive: true, force: true });
