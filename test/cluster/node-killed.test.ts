import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRecorderProcess, type RecorderProcess } from '../helpers/chaos.js';
import { startHeldReceiver, type HeldReceiver } from '../helpers/held-receiver.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis;
let minio: TestMinio;
let receiver: HeldReceiver;
let root: string;
let doomed: RecorderProcess | undefined;
let survivor: TestRecorder | undefined;

/** The config both nodes share: Redis, the bucket, the receiver, short leases. */
const shared = () => ({
  storage: {
    type: 'minio' as const,
    endPoint: minio.endPoint,
    port: minio.port,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket: 'killed',
  },
  callback: { url: receiver.url, key: 'killed-key', retryIntervalSeconds: 1, timeoutSeconds: 30 },
  record: { formats: ['mp4' as const] },
});
const cluster = (nodeId: string) => ({
  redis: redis.url,
  nodeId,
  advertise: `${nodeId}.example:1935`,
  leaseSeconds: 3,
  heartbeatSeconds: 1,
});

beforeAll(async () => {
  [redis, minio, receiver] = await Promise.all([startRedis(), startMinio(), startHeldReceiver()]);
  root = await mkdtemp(join(tmpdir(), 'recorder-node-killed-'));
}, 120_000);

afterAll(async () => {
  doomed?.child.kill('SIGKILL');
  await survivor?.stop().catch(() => undefined);
  await receiver?.close();
  await minio?.destroy();
  await redis?.destroy();
  await rm(root, { recursive: true, force: true });
});

describe('a recorder node killed mid-delivery', () => {
  it('another node delivers its event 100 once, after the lease lapses and the receiver recovers', async () => {
    const [rtmpPort, httpPort] = [await freePort(), await freePort()];
    const configFile = join(root, 'node-a.json');
    await writeFile(
      configFile,
      JSON.stringify({
        ...shared(),
        rtmp: { host: '127.0.0.1', port: rtmpPort },
        http: { host: '127.0.0.1', port: httpPort },
        dataDir: join(root, 'data-a'),
        cluster: cluster('node-a'),
      }),
    );
    doomed = await startRecorderProcess(configFile, join(root, 'node-a.log'), httpPort);
    // Events 1 and 0 are answered; event 100's first attempt is held: node A is mid-delivery.
    receiver.hold = (body) => body.event_type === 100;
    expect(await publish(`rtmp://127.0.0.1:${rtmpPort}/live/doomed`, { seconds: 3 }).exited).toBe(0);
    await eventually(() => receiver.held.length === 1, 30_000, "A's first attempt at event 100");
    const eventId = receiver.held[0]!.request.eventId;
    expect(receiver.held[0]!.request.body).toMatchObject({ event_type: 100, stream_id: 'doomed' });
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    // The receiver answers 500 to the dead node's attempt, then recovers.
    receiver.hold = () => false;
    receiver.release(500);

    survivor = await startRecorder({ ...shared(), cluster: cluster('node-b') });
    await eventually(() => receiver.delivered(eventId) === 1, 30_000, 'event 100 delivered by node B');
    const attempts = receiver.requests.filter((q) => q.eventId === eventId);
    expect(attempts[0]!.status).toBe(500);
    expect(attempts.at(-1)).toMatchObject({ status: 200, body: { event_type: 100, stream_id: 'doomed' } });
    // The file it announces was stored by A before the callback: B sends what A wrote.
    const stored = await fetch(String(attempts.at(-1)!.body.video_url));
    expect(stored.status).toBe(200);
    expect(Number(stored.headers.get('content-length'))).toBeGreaterThan(10_000);
    // Once, and no more: wait past another retry interval and lease.
    await new Promise((wake) => setTimeout(wake, 4000));
    expect(receiver.delivered(eventId)).toBe(1);
    // B lists itself alive, and A not (its lease lapsed; it left no work to list).
    const view = (await (
      await fetch(`http://127.0.0.1:${survivor.recorder.httpPort}/api/cluster`)
    ).json()) as {
      nodes: { node: string; alive: boolean }[];
    };
    expect(view.nodes[0]).toMatchObject({ node: 'node-b', alive: true });
    expect(view.nodes.some((n) => n.node === 'node-a' && n.alive)).toBe(false);
  }, 120_000);
});
