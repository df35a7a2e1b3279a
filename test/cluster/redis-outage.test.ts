import { Agent } from 'node:http';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const KEY = { secretId: 'AKIDoutagetest', secretKey: 'outage-test-secret' };
const OUTAGE_MS = 30_000;
// The whole 40 s fixture: Redis is away from its 5th second to its 35th.
const PUSH_SECONDS = 40;

let redis: TestRedis;
let minio: TestMinio;
let receiver: CallbackReceiver;
let rec: TestRecorder;
const agent = new Agent({ keepAlive: false });

beforeAll(async () => {
  [redis, minio, receiver] = await Promise.all([startRedis(), startMinio(), startCallbackReceiver()]);
  rec = await startRecorder({
    storage: {
      type: 'minio',
      endPoint: minio.endPoint,
      port: minio.port,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      bucket: 'outage',
    },
    cluster: { redis: redis.url, nodeId: 'outage-a', leaseSeconds: 4, heartbeatSeconds: 1 },
    callback: { url: receiver.url },
    api: { credentials: [KEY] },
    // Files split every 10 s, so some are finished while Redis is away.
    record: { formats: ['mp4'], maxFileDurationSeconds: 10 },
  });
}, 120_000);

afterAll(async () => {
  await rec?.stop();
  await receiver?.close();
  await minio?.destroy();
  await redis?.destroy();
});

describe('Redis down for 30 s during a push (cluster mode)', () => {
  let refusedWhileDown: number | null = null;
  let files: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const push = publish(rec.rtmpUrl('long'), { seconds: PUSH_SECONDS });
    await eventually(() => rec.recorder.manager.sessionOf('live', 'long'), 10_000, 'the push');
    await new Promise((wake) => setTimeout(wake, 5000));
    await redis.stop();
    await new Promise((wake) => setTimeout(wake, 3000));
    refusedWhileDown = await publish(rec.rtmpUrl('newcomer'), { seconds: 2 }).exited;
    await new Promise((wake) => setTimeout(wake, OUTAGE_MS - 3000));
    await redis.restart();
    expect(await push.exited).toBe(0);
    files = await receiver.waitFor((b) => b.event_type === 100 && b.stream_id === 'long', 4, 90_000);
  }, 180_000);

  it('the push went on and every file of it was stored and announced, none twice', async () => {
    await new Promise((wake) => setTimeout(wake, 2000));
    const all = receiver.bodies.filter((b) => b.event_type === 100 && b.stream_id === 'long');
    const ids = all.map((b) => String(b.file_id));
    expect(new Set(ids).size).toBe(ids.length);
    const seconds = all.reduce((sum, b) => sum + Number(b.duration), 0);
    // One publish, split into parts: together they hold the whole push.
    expect(seconds).toBeGreaterThan(PUSH_SECONDS - 4);
    expect(files.length).toBeGreaterThanOrEqual(4);
    // One event 1 and one event 0: the publish was never cut.
    expect(receiver.bodies.filter((b) => b.stream_id === 'long' && b.event_type === 1)).toHaveLength(1);
    expect(receiver.bodies.filter((b) => b.stream_id === 'long' && b.event_type === 0)).toHaveLength(1);
    const events = receiver.received.filter((r) => r.body.stream_id === 'long').map((r) => r.eventIdHeader);
    expect(new Set(events).size).toBe(events.length);
  });

  it('the media index has every file once Redis is back', async () => {
    const client = new vod.v20180717.Client({
      credential: KEY,
      region: 'ap-guangzhou',
      profile: {
        httpProfile: { endpoint: `127.0.0.1:${rec.recorder.httpPort}`, protocol: 'http://', agent },
      },
    });
    const all = receiver.bodies.filter((b) => b.event_type === 100 && b.stream_id === 'long');
    const found = await client.SearchMedia({ NamePrefixes: ['long_'], Limit: 50 });
    expect(found.TotalCount).toBe(all.length);
    expect(found.MediaInfoSet!.map((m) => m.FileId).sort()).toEqual(all.map((b) => String(b.file_id)).sort());
  });

  it('a new publish was refused while Redis was down, and is taken again after', async () => {
    expect(refusedWhileDown).not.toBe(0);
    expect(receiver.bodies.filter((b) => b.stream_id === 'newcomer')).toEqual([]);
    expect(await publish(rec.rtmpUrl('after'), { seconds: 2 }).exited).toBe(0);
    await receiver.waitFor((b) => b.event_type === 100 && b.stream_id === 'after', 1, 30_000);
  });
});
