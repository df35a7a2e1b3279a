// Kills a cluster node (SIGKILL of its whole process group) during live pushes, N times, and measures how long
// the surviving nodes take to send each push's event 0 and to close and announce each playlist (event 100).
// Usage: npm run chaos:cluster -- [--kills 10] [--streams 2] [--window 5] [--lease 3] [--heartbeat 1]
//                                 [--out docs/chaos-cluster]
// Starts its own Redis, MinIO and callback receiver; node A is a `recorder serve` process, B and C run
// in this process. Needs a built dist/ (npm run build), redis-server, ffmpeg and the MinIO build.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startCallbackReceiver } from '../test/helpers/callback-receiver.ts';
import { freePort, startRecorderProcess } from '../test/helpers/chaos.ts';
import { ensureFixtures } from '../test/helpers/fixtures.ts';
import { startMinio } from '../test/helpers/minio.ts';
import { publish, startRecorder } from '../test/helpers/recorder.ts';
import { startRedis } from '../test/helpers/redis.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '10' },
    streams: { type: 'string', default: '2' },
    window: { type: 'string', default: '5' },
    lease: { type: 'string', default: '3' },
    heartbeat: { type: 'string', default: '1' },
    out: { type: 'string', default: 'docs/chaos-cluster' },
  },
});
const kills = Number(values.kills);
const streams = Number(values.streams);
const windowSeconds = Number(values.window);
const leaseSeconds = Number(values.lease);
const heartbeatSeconds = Number(values.heartbeat);

ensureFixtures();
const root = await mkdtemp(join(tmpdir(), 'recorder-chaos-cluster-'));
const [redis, minio, receiver] = await Promise.all([startRedis(), startMinio(), startCallbackReceiver()]);
const shared = {
  storage: {
    type: 'minio',
    endPoint: minio.endPoint,
    port: minio.port,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket: 'chaos',
  },
  callback: { url: receiver.url, retryIntervalSeconds: 1 },
  record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 2, hlsResumeTimeoutSeconds: windowSeconds },
};
const cluster = (nodeId) => ({
  redis: redis.url,
  nodeId,
  advertise: `${nodeId}:1935`,
  leaseSeconds,
  heartbeatSeconds,
});
const survivors = [
  await startRecorder({ ...shared, cluster: cluster('node-b') }),
  await startRecorder({ ...shared, cluster: cluster('node-c') }),
];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length
    ? s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
    : NaN;
};
const waitFor = async (test, timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = receiver.bodies.find(test);
    if (found) return found;
    if (Date.now() > deadline) return undefined;
    await sleep(50);
  }
};

const points = [];
console.log(
  `chaos:cluster: ${kills} kills of node A, ${streams} pushes each, window ${windowSeconds} s, lease ${leaseSeconds} s`,
);
for (let kill = 1; kill <= kills; kill++) {
  const [rtmp, http] = [await freePort(), await freePort()];
  const file = join(root, `a-${kill}.json`);
  await writeFile(
    file,
    JSON.stringify({
      ...shared,
      rtmp: { host: '127.0.0.1', port: rtmp },
      http: { host: '127.0.0.1', port: http },
      dataDir: join(root, `data-a-${kill}`),
      cluster: cluster('node-a'),
    }),
  );
  const a = await startRecorderProcess(file, join(root, `a-${kill}.log`), http);
  const names = Array.from({ length: streams }, (_, i) => `k${kill}s${i}`);
  const pushes = names.map((n) => publish(`rtmp://127.0.0.1:${rtmp}/live/${n}`, { seconds: 60 }));
  // A random moment of the pushes, past the first stored segments.
  const pushedMs = 5000 + Math.floor(Math.random() * 5000);
  await sleep(pushedMs);
  const killedAt = Date.now();
  process.kill(-a.child.pid, 'SIGKILL');
  await a.exited;
  await Promise.all(pushes.map((p) => p.exited));
  const point = { kill, pushedMs, killedAt, streams: names };
  let closed = 0;
  for (const name of names) {
    await waitFor((x) => x.event_type === 0 && x.stream_id === name, 60_000);
    if (
      await waitFor((x) => x.event_type === 100 && x.stream_id === name && x.file_format === 'hls', 90_000)
    ) {
      closed++;
    }
  }
  points.push(point);
  console.log(`kill ${kill}: pushed ${pushedMs} ms; ${closed}/${streams} playlists closed`);
}

// Arrival times, from the receiver's own record of each callback.
const arrival = (test) => receiver.received.find((r) => test(r.body))?.at;
const toEvent0 = [];
const toEvent100 = [];
let missing = 0;
for (const point of points) {
  for (const stream of point.streams) {
    const e0 = arrival((x) => x.event_type === 0 && x.stream_id === stream);
    const e100 = arrival((x) => x.event_type === 100 && x.stream_id === stream && x.file_format === 'hls');
    if (e0 === undefined || e100 === undefined) missing++;
    if (e0 !== undefined) toEvent0.push(e0 - point.killedAt);
    if (e100 !== undefined) toEvent100.push(e100 - point.killedAt);
  }
}
const ids = receiver.received.map((r) => r.eventIdHeader);
const duplicates = ids.length - new Set(ids).size;
const errcodes = [...new Set(receiver.bodies.filter((x) => x.event_type === 0).map((x) => x.errcode))];
const report = {
  when: new Date().toISOString(),
  kills,
  streamsPerKill: streams,
  resumeWindowSeconds: windowSeconds,
  leaseSeconds,
  heartbeatSeconds,
  medianMsToEvent0: median(toEvent0),
  medianMsToPlaylistEvent100: median(toEvent100),
  maxMsToEvent0: Math.max(...toEvent0),
  maxMsToPlaylistEvent100: Math.max(...toEvent100),
  missing,
  duplicateEventIds: duplicates,
  event0Errcodes: errcodes,
  msToEvent0: toEvent0,
  msToPlaylistEvent100: toEvent100,
};
await mkdir(values.out, { recursive: true });
await writeFile(join(values.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify({ ...report, msToEvent0: undefined, msToPlaylistEvent100: undefined }, null, 2));
for (const rec of survivors) await rec.stop();
await receiver.close();
await minio.destroy();
await redis.destroy();
await rm(root, { recursive: true, force: true });
