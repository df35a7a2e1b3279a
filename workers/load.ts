// Load worker: `node --import tsx workers/load.ts --url rtmp://127.0.0.1:1935/live --streams 50 --prefix s
// --fixture load.flv --duration 600 [--ramp-ms 5000] [--connect-wait-ms 30000]`. `--url` may list one URL per
// stream, comma-separated. Runs one LoadGenerator (N publishers in this one process),
// prints one JSON line per second of live totals and a final {"final":[...]} line with each stream's counts.
// SIGTERM or SIGINT unpublishes every stream and prints the final line.
import { parseArgs } from 'node:util';
import { LoadGenerator, type StreamLoadStats } from '../src/load/generator.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    streams: { type: 'string', default: '1' },
    prefix: { type: 'string', default: 's' },
    fixture: { type: 'string' },
    duration: { type: 'string' },
    'ramp-ms': { type: 'string', default: '0' },
    'connect-wait-ms': { type: 'string', default: '0' },
  },
});

function fail(message: string): never {
  process.stderr.write(`load: ${message}\n`);
  process.exit(2);
}

const count = Number(values.streams);
const duration = Number(values.duration);
const rampMs = Number(values['ramp-ms']);
const connectWaitMs = Number(values['connect-wait-ms']);
if (!values.url) fail('--url is required');
if (!values.fixture) fail('--fixture is required');
if (!Number.isInteger(count) || count < 1) fail('--streams must be a positive integer');
if (!(duration > 0)) fail('--duration must be a positive number of seconds');
if (!(rampMs >= 0)) fail('--ramp-ms must be a number >= 0');
if (!(connectWaitMs >= 0)) fail('--connect-wait-ms must be a number >= 0');
const urls = values.url!.split(',');
if (urls.length > 1 && urls.length !== count) fail('--url must be one URL, or one per stream');

const streams = Array.from({ length: count }, (_, i) => `${values.prefix}${i + 1}`);
const generator = new LoadGenerator({
  url: urls[0]!,
  ...(urls.length > 1 ? { urls } : {}),
  connectWaitMs,
  streams,
  fixture: values.fixture,
  durationSeconds: duration,
  rampMs,
});

const startedAt = Date.now();
let connected = 0;
generator.on('connected', () => connected++);
generator.on('error', (stream, err) => process.stderr.write(`load: ${stream}: ${err.message}\n`));

function line(stats: StreamLoadStats[]): string {
  const sum = (key: 'videoFrames' | 'audioFrames' | 'bytes') => stats.reduce((n, s) => n + s[key], 0);
  return JSON.stringify({
    t: Math.round((Date.now() - startedAt) / 1000),
    connected,
    publishing: stats.filter((s) => s.startedAtMs !== undefined && s.endedAtMs === undefined).length,
    errors: stats.filter((s) => s.error).length,
    videoFrames: sum('videoFrames'),
    audioFrames: sum('audioFrames'),
    bytes: sum('bytes'),
    maxQueuedBytes: Math.max(...stats.map((s) => s.maxQueuedBytes)),
  });
}

const progress = setInterval(() => process.stdout.write(`${line(generator.stats())}\n`), 1000);
const finish = (stats: StreamLoadStats[]) => {
  clearInterval(progress);
  process.stdout.write(`${line(stats)}\n${JSON.stringify({ final: stats })}\n`, () => process.exit(0));
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void generator.stop());
void generator.done.then(finish);
generator.start().catch((err: unknown) => {
  process.stderr.write(`load: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
