import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupMessage, sendImWebhook } from '../helpers/im.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { pushColourClock } from '../helpers/pattern.js';
import { eventually, startRecorder, type TestRecorder } from '../helpers/recorder.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const SDKAPPID = 1400000123;
const ROOM = '4004';
const STREAM = `${SDKAPPID}_${ROOM}_alice_main`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let redis: TestRedis;
let minio: TestMinio;
const nodes: TestRecorder[] = [];

async function node(nodeId: string): Promise<TestRecorder> {
  const rec = await startRecorder({
    storage: { ...minio.storage('timeline') },
    cluster: { redis: redis.url, nodeId, leaseSeconds: 4, heartbeatSeconds: 1 },
    record: { formats: ['hls'], hlsSegmentSeconds: 2 },
    im: { sdkAppId: SDKAPPID },
  });
  nodes.push(rec);
  return rec;
}

beforeAll(async () => {
  [redis, minio] = await Promise.all([startRedis(), startMinio()]);
}, 120_000);

afterAll(async () => {
  for (const rec of nodes) await rec.stop().catch(() => undefined);
  await minio?.destroy();
  await redis?.destroy();
});

describe('the timeline in a cluster', () => {
  it('a marker and webhooks reaching the other node land in the sidecar of the recording on this one, a retry through the other node is stored once', async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const viaB = { base: `http://127.0.0.1:${b.recorder.httpPort}`, sdkAppId: SDKAPPID };
    const viaA = { base: `http://127.0.0.1:${a.recorder.httpPort}`, sdkAppId: SDKAPPID };
    const publisher = pushColourClock(a.rtmpUrl(STREAM), 8);
    await eventually(
      () => (a.recorder.manager.sessionOf('live', STREAM)?.identity.mediaStartMs ?? 0) > 0,
      15_000,
      'the recording on A',
    );
    // B learns of A's recording from the work registry (its heartbeat).
    await sleep(2500);
    const marker = await fetch(`http://127.0.0.1:${b.recorder.httpPort}/api/markers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ app: 'live', stream: STREAM, label: 'set through B' }),
    });
    expect(marker.status).toBe(201);
    const hello = groupMessage({
      groupId: ROOM,
      account: 'bob',
      seq: 1,
      atMs: Date.now(),
      text: 'hello via B',
    });
    expect((await sendImWebhook(viaB, hello)).answer).toMatchObject({ ActionStatus: 'OK' });
    // IM retries the same message, and this time it reaches A.
    expect((await sendImWebhook(viaA, hello)).answer).toMatchObject({ ActionStatus: 'OK' });
    await sleep(500);
    const more = groupMessage({
      groupId: ROOM,
      account: 'carol',
      seq: 2,
      atMs: Date.now(),
      text: 'and again',
    });
    expect((await sendImWebhook(viaB, more)).answer).toMatchObject({ ActionStatus: 'OK' });
    await publisher.exited;
    await eventually(() => a.recorder.manager.sessions.length === 0, 30_000, 'the recording to close');
    await a.recorder.uploads.drain(30_000);

    const [entry] = (
      await a.recorder.mediaIndex.search({
        streamIds: [STREAM],
        order: 'asc',
        offset: 0,
        limit: 10,
        countCap: 10,
      })
    ).entries;
    expect(entry?.timeline, 'the index entry has a timeline').toBeDefined();
    const sidecar = JSON.parse(await text(await b.recorder.store.get(entry!.timeline!.events))) as {
      events: { kind: string; label?: string; text?: string }[];
    };
    expect(sidecar.events.map((e) => e.label ?? e.text)).toEqual([
      'set through B',
      'hello via B',
      'and again',
    ]);
    expect(entry!.timeline!.markers.map((m) => m.label)).toEqual(['set through B']);
  }, 90_000);
});
