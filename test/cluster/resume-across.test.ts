import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { decodeByTimeline, storedPlaylist } from '../helpers/stored-hls.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const BUCKET = 'resumed';
let redis: TestRedis;
let minio: TestMinio;
let receiver: CallbackReceiver;
let haproxy: TestHaproxy;
let a: TestRecorder;
let b: TestRecorder;
let root: string;

async function node(nodeId: string): Promise<TestRecorder> {
  return startRecorder({
    storage: {
      type: 'minio',
      endPoint: minio.endPoint,
      port: minio.port,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      bucket: BUCKET,
    },
    cluster: {
      redis: redis.url,
      nodeId,
      advertise: `${nodeId}.example:1935`,
      leaseSeconds: 4,
      heartbeatSeconds: 1,
    },
    callback: { url: receiver.url },
    record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 2, hlsResumeTimeoutSeconds: 8 },
  });
}

const statuses = (stream: string) =>
  receiver.bodies
    .filter((x) => x.event_type === 332 && x.stream_id === stream)
    .sort((x, y) => Number(x.seq) - Number(y.seq))
    .map((x) => String(x.record_event));

beforeAll(async () => {
  [redis, minio, receiver] = await Promise.all([startRedis(), startMinio(), startCallbackReceiver()]);
  root = await mkdtemp(join(tmpdir(), 'recorder-resume-across-'));
  a = await node('node-a');
  b = await node('node-b');
  haproxy = await startHaproxy({
    balance: 'first',
    checkMs: 200,
    nodes: [
      { name: 'a', rtmpPort: a.recorder.rtmpPort, httpPort: a.recorder.httpPort },
      { name: 'b', rtmpPort: b.recorder.rtmpPort, httpPort: b.recorder.httpPort },
    ],
  });
}, 120_000);

afterAll(async () => {
  await haproxy?.stop();
  await a?.stop();
  await b?.stop();
  await receiver?.close();
  await minio?.destroy();
  await redis?.destroy();
  await rm(root, { recursive: true, force: true });
});

/** Asserts the one HLS recording of `stream`: one playlist, one discontinuity, contiguous numbers, it decodes. */
async function oneContinuedPlaylist(stream: string, pushedSeconds: number) {
  const [hls] = await receiver.waitFor(
    (x) => x.event_type === 100 && x.stream_id === stream && x.file_format === 'hls',
    1,
    60_000,
  );
  const playlist = await storedPlaylist(minio, BUCKET, String(hls!.video_url), root);
  expect(playlist.ended).toBe(true);
  expect(playlist.segments.filter((s) => s.discontinuity)).toHaveLength(1);
  expect(playlist.segments.map((s) => s.seq)).toEqual(playlist.segments.map((_, i) => i));
  const total = playlist.segments.reduce((sum, s) => sum + s.durationSeconds, 0);
  expect(total).toBeGreaterThan(pushedSeconds - 3);
  const { errors, seconds } = await decodeByTimeline(playlist);
  expect(errors).toEqual([]);
  expect(seconds).toBeGreaterThan(pushedSeconds - 3);
  // Once, and the pushes' own MP4s each on the node that took it.
  await new Promise((wake) => setTimeout(wake, 1000));
  const files = receiver.bodies.filter((x) => x.event_type === 100 && x.stream_id === stream);
  expect(files.filter((x) => x.file_format === 'hls')).toHaveLength(1);
  expect(files.filter((x) => x.file_format === 'mp4')).toHaveLength(2);
  return { hls: hls!, playlist };
}

describe('a reconnect to another node continues the recording', () => {
  it('pushed to A, dropped, pushed to B inside the window: one playlist, one discontinuity, one event 100', async () => {
    expect(await publish(a.rtmpUrl('across'), { seconds: 6 }).exited).toBe(0);
    await eventually(
      () => a.recorder.manager.sessionOf('live', 'across')?.state === 'interrupted',
      10_000,
      'A interrupted',
    );
    expect(await publish(b.rtmpUrl('across'), { seconds: 6 }).exited).toBe(0);
    // A handed it over: it no longer holds the recording; B does.
    expect(a.recorder.manager.sessionOf('live', 'across')).toBeUndefined();
    await oneContinuedPlaylist('across', 12);
    expect(statuses('across')).toEqual([
      'record_start_succeeded',
      'record_paused',
      'record_resumed',
      'record_paused',
      'record_ended',
    ]);
  }, 120_000);

  it('through HAProxy: A drains while the push is away, the reconnect lands on B and continues; A then stops', async () => {
    expect(await publish(`rtmp://127.0.0.1:${haproxy.port}/live/balanced`, { seconds: 6 }).exited).toBe(0);
    await eventually(
      () => a.recorder.manager.sessionOf('live', 'balanced')?.state === 'interrupted',
      10_000,
      'on A',
    );
    const drained = await fetch(`http://127.0.0.1:${a.recorder.httpPort}/api/drain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ timeoutSeconds: 60 }),
    });
    expect(drained.status).toBe(202);
    await eventually(async () => (await haproxy.states()).a === 'DOWN', 5000, 'A down in HAProxy');
    // A waits: its interrupted recording is neither cut short nor finished while the stream may come back.
    expect(a.recorder.manager.sessionOf('live', 'balanced')?.state).toBe('interrupted');
    expect(await publish(`rtmp://127.0.0.1:${haproxy.port}/live/balanced`, { seconds: 6 }).exited).toBe(0);
    await a.recorder.stopped;
    await oneContinuedPlaylist('balanced', 12);
  }, 120_000);
});
