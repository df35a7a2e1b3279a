import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { freePort, startRecorderProcess, type RecorderProcess } from '../helpers/chaos.js';
import { decodeByTimeline, storedPlaylist } from '../helpers/stored-hls.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const BUCKET = 'deaths';
const WINDOW_SECONDS = 6;
let redis: TestRedis;
let minio: TestMinio;
let receiver: CallbackReceiver;
let root: string;
let doomed: RecorderProcess | undefined;
const survivors: TestRecorder[] = [];
let ports: { rtmp: number; http: number };

const shared = () => ({
  storage: {
    type: 'minio' as const,
    endPoint: minio.endPoint,
    port: minio.port,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket: BUCKET,
  },
  callback: { url: receiver.url, retryIntervalSeconds: 1 },
  record: {
    formats: ['hls' as const, 'mp4' as const],
    hlsSegmentSeconds: 2,
    hlsResumeTimeoutSeconds: WINDOW_SECONDS,
  },
});
const cluster = (nodeId: string) => ({
  redis: redis.url,
  nodeId,
  advertise: `${nodeId}.example:1935`,
  leaseSeconds: 3,
  heartbeatSeconds: 1,
});

/** Node A as a process of its own (its dataDir kept), so that its whole process group can be killed. */
async function startA(): Promise<RecorderProcess> {
  const file = join(root, 'a.json');
  await writeFile(
    file,
    JSON.stringify({
      ...shared(),
      rtmp: { host: '127.0.0.1', port: ports.rtmp },
      http: { host: '127.0.0.1', port: ports.http },
      dataDir: join(root, 'data-a'),
      cluster: cluster('node-a'),
    }),
  );
  return startRecorderProcess(file, join(root, 'a.log'), ports.http);
}

const of = (stream: string, type: number, format?: string) =>
  receiver.bodies.filter(
    (x) =>
      x.event_type === type && x.stream_id === stream && (format === undefined || x.file_format === format),
  );

beforeAll(async () => {
  [redis, minio, receiver] = await Promise.all([startRedis(), startMinio(), startCallbackReceiver()]);
  root = await mkdtemp(join(tmpdir(), 'recorder-node-death-'));
  ports = { rtmp: await freePort(), http: await freePort() };
}, 120_000);

afterAll(async () => {
  if (doomed?.child.pid) {
    try {
      process.kill(-doomed.child.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  for (const rec of survivors) await rec.stop().catch(() => undefined);
  await receiver?.close();
  await minio?.destroy();
  await redis?.destroy();
  await rm(root, { recursive: true, force: true });
});

describe("a node's death: the others finish its work", () => {
  it('kill -9 of A with live pushes: event 0 and the closed playlists come from B or C, once; a reconnect continues on B; A restarted stores only its leftovers', async () => {
    doomed = await startA();
    const b = await startRecorder({ ...shared(), cluster: cluster('node-b') });
    const c = await startRecorder({ ...shared(), cluster: cluster('node-c') });
    survivors.push(b, c);
    const url = (stream: string) => `rtmp://127.0.0.1:${ports.rtmp}/live/${stream}`;
    const pushes = ['dies1', 'dies2', 'back'].map((stream) => publish(url(stream), { seconds: 40 }));
    await receiver.waitFor((x) => x.event_type === 1 && String(x.stream_id) === 'back', 1, 20_000);
    // A few segments stored on MinIO (2 s each) before the death.
    await new Promise((wake) => setTimeout(wake, 8000));
    const killedAt = Date.now();
    process.kill(-doomed.child.pid!, 'SIGKILL');
    await doomed.exited;
    await Promise.all(pushes.map((p) => p.exited));

    // The encoder of `back` reconnects to B once A's claim on the stream lapsed, inside the window.
    await eventually(
      async () => {
        const again = publish(b.rtmpUrl('back'), { seconds: 6 });
        const exited = await Promise.race([
          again.exited,
          new Promise((r) => setTimeout(() => r('running'), 1500)),
        ]);
        if (exited === 'running') {
          expect(await again.exited).toBe(0);
          return true;
        }
        return false;
      },
      20_000,
      'a reconnect of back taken by B',
    );

    for (const stream of ['dies1', 'dies2', 'back']) {
      const [end] = await receiver.waitFor((x) => x.event_type === 0 && x.stream_id === stream, 1, 30_000);
      expect(end).toMatchObject({ errcode: 1004, node: 'node-a.example' });
      expect(Number(end!.push_duration)).toBeGreaterThan(5000);
    }
    for (const stream of ['dies1', 'dies2']) {
      const [hls] = await receiver.waitFor(
        (x) => x.event_type === 100 && x.stream_id === stream && x.file_format === 'hls',
        1,
        60_000,
      );
      // Not before the window had passed since the death was seen.
      expect(Date.now() - killedAt).toBeGreaterThan(WINDOW_SECONDS * 1000);
      const playlist = await storedPlaylist(minio, BUCKET, String(hls!.video_url), root);
      expect(playlist.ended).toBe(true);
      expect(playlist.segments.length).toBeGreaterThanOrEqual(2);
      const { errors, seconds } = await decodeByTimeline(playlist);
      expect(errors).toEqual([]);
      expect(seconds).toBeGreaterThan(3);
    }
    // `back` is one playlist: A's stored segments, a discontinuity, B's.
    const [back] = await receiver.waitFor(
      (x) => x.event_type === 100 && x.stream_id === 'back' && x.file_format === 'hls',
      1,
      60_000,
    );
    const continued = await storedPlaylist(minio, BUCKET, String(back!.video_url), root);
    expect(continued.segments.filter((s) => s.discontinuity)).toHaveLength(1);
    expect(continued.segments.map((s) => s.seq)).toEqual(continued.segments.map((_, i) => i));
    const decoded = await decodeByTimeline(continued);
    expect(decoded.errors).toEqual([]);
    expect(decoded.seconds).toBeGreaterThan(8);

    // A comes back on its disk: what only it had is stored as files of their own; nothing is announced twice.
    const before = new Set(
      receiver.bodies.filter((x) => x.event_type === 100).map((x) => String(x.video_url).split('?')[0]!),
    );
    doomed = await startA();
    // The MP4 parts in progress lived only on A's disk: A stores and announces them now.
    await receiver.waitFor((x) => x.event_type === 100 && x.file_format === 'mp4', 4, 60_000);
    await new Promise((wake) => setTimeout(wake, 3000));
    expect(of('dies1', 100, 'mp4')).toHaveLength(1);
    expect(of('dies2', 100, 'mp4')).toHaveLength(1);
    expect(of('back', 100, 'mp4')).toHaveLength(2);
    const after = receiver.bodies
      .filter((x) => x.event_type === 100)
      .map((x) => String(x.video_url).split('?')[0]!);
    expect(after.length).toBe(new Set(after).size);
    // One event 0 per push: `back` had two (A's, ended by B or C; its reconnect's, by B).
    expect(
      of('back', 0)
        .map((x) => x.errcode)
        .sort(),
    ).toEqual([0, 1004]);
    for (const stream of ['dies1', 'dies2', 'back']) {
      if (stream !== 'back') expect(of(stream, 0)).toHaveLength(1);
      const playlists = of(stream, 100, 'hls').map((x) => String(x.video_url).split('?')[0]!);
      expect(new Set(playlists).size).toBe(playlists.length);
    }
    expect(after.filter((u) => !before.has(u)).every((u) => /dies1|dies2|back/.test(u))).toBe(true);
  }, 180_000);
});
