import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const run = promisify(execFile);
let redis: TestRedis;
let minio: TestMinio;
let receiver: CallbackReceiver;
let haproxy: TestHaproxy;
let a: TestRecorder;
let b: TestRecorder;

async function node(nodeId: string, maxSlots: number): Promise<TestRecorder> {
  return startRecorder({
    storage: {
      type: 'minio',
      endPoint: minio.endPoint,
      port: minio.port,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      bucket: 'balanced',
    },
    cluster: {
      redis: redis.url,
      nodeId,
      advertise: `${nodeId}.example:1935`,
      leaseSeconds: 4,
      heartbeatSeconds: 1,
      maxSlots,
    },
    callback: { url: receiver.url },
    record: { formats: ['mp4'] },
  });
}

const readyz = async (rec: TestRecorder) => {
  const answer = await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/readyz`);
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
};
const viaBalancer = (stream: string) => `rtmp://127.0.0.1:${haproxy.port}/live/${stream}`;

beforeAll(async () => {
  [redis, minio, receiver] = await Promise.all([startRedis(), startMinio(), startCallbackReceiver()]);
  a = await node('node-a', 1);
  b = await node('node-b', 0);
  // `first`: every connection goes to A while A is up, so only its health check can send one to B.
  haproxy = await startHaproxy({
    balance: 'first',
    checkMs: 200,
    nodes: [a, b].map((rec, i) => ({
      name: i === 0 ? 'a' : 'b',
      rtmpPort: rec.recorder.rtmpPort,
      httpPort: rec.recorder.httpPort,
    })),
  });
  await eventually(
    async () => {
      const states = await haproxy.states();
      return states.a === 'UP' && states.b === 'UP';
    },
    10_000,
    'both nodes up in HAProxy',
  );
}, 120_000);

afterAll(async () => {
  await haproxy?.stop();
  await a?.stop();
  await b?.stop();
  await receiver?.close();
  await minio?.destroy();
  await redis?.destroy();
});

describe('balancing by capacity behind HAProxy', () => {
  it('a node at cluster.maxSlots fails /readyz, HAProxy marks it down, the next publish lands on the other', async () => {
    const first = publish(viaBalancer('first'), { seconds: 10 });
    await eventually(
      () => a.recorder.manager.sessionOf('live', 'first') !== undefined,
      10_000,
      'the push on A',
    );
    const full = await readyz(a);
    expect(full.status).toBe(503);
    expect(full.body).toMatchObject({ status: 'full', live: 1, maxSlots: 1 });
    expect(String(full.body.reason)).toContain('at capacity (1 of cluster.maxSlots 1');
    await eventually(async () => (await haproxy.states()).a === 'DOWN', 5000, 'A down in HAProxy');

    const second = publish(viaBalancer('second'), { seconds: 3 });
    expect(await second.exited).toBe(0);
    // Events 1 and 0 name the node that took the push.
    const [begun] = await receiver.waitFor((x) => x.event_type === 1 && x.stream_id === 'second');
    expect(begun!.node).toBe('node-b.example');
    expect((await receiver.waitFor((x) => x.event_type === 1 && x.stream_id === 'first'))[0]!.node).toBe(
      'node-a.example',
    );
    // A push that still reaches A directly is refused, and the first one goes on.
    expect(await publish(a.rtmpUrl('direct'), { seconds: 2 }).exited).not.toBe(0);
    expect(a.recorder.manager.sessionOf('live', 'direct')).toBeUndefined();
    expect(await first.exited).toBe(0);
    // Its slot free again, A is ready and back in HAProxy.
    await eventually(async () => (await readyz(a)).status === 200, 10_000, 'A ready again');
    await eventually(async () => (await haproxy.states()).a === 'UP', 5000, 'A up in HAProxy');
    const files = await receiver.waitFor(
      (x) => x.event_type === 100 && (x.stream_id === 'first' || x.stream_id === 'second'),
      2,
    );
    expect(files.map((f) => f.stream_id).sort()).toEqual(['first', 'second']);
  }, 90_000);

  it('`recorder drain`: /readyz fails, no new publish is taken, the push in progress ends whole, then the node stops', async () => {
    const pushed = publish(b.rtmpUrl('drained'), { seconds: 6 });
    await eventually(
      () => b.recorder.manager.sessionOf('live', 'drained') !== undefined,
      10_000,
      'the push on B',
    );
    const { stdout } = await run(process.execPath, [
      resolve('dist/src/cli.js'),
      'drain',
      '--url',
      `http://127.0.0.1:${b.recorder.httpPort}`,
      '--timeout',
      '60',
    ]);
    expect(JSON.parse(stdout)).toMatchObject({
      status: 'draining',
      node: 'node-b',
      live: 1,
      timeoutSeconds: 60,
    });
    expect(await readyz(b)).toMatchObject({ status: 503, body: { status: 'draining' } });
    expect(await publish(b.rtmpUrl('too-late'), { seconds: 2 }).exited).not.toBe(0);
    let stopped = false;
    void b.recorder.stopped.then(() => (stopped = true));
    expect(stopped).toBe(false);
    expect(await pushed.exited).toBe(0);
    await b.recorder.stopped;
    // Nothing lost: the drained push's file is stored and announced, whole.
    const [file] = await receiver.waitFor((x) => x.event_type === 100 && x.stream_id === 'drained');
    expect(Number(file!.duration)).toBeGreaterThan(5);
    expect(receiver.bodies.some((x) => x.stream_id === 'too-late')).toBe(false);
  }, 90_000);
});
