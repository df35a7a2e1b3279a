import { Agent } from 'node:http';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { colourFixture, frameAt, liveClient, near, push } from '../helpers/mix.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const KEY = { secretId: 'AKIDclustertest', secretKey: 'cluster-test-secret' };
const DOMAIN = 'cluster.example.com';

let redis: TestRedis;
let minio: TestMinio;
let receiver: CallbackReceiver;
const agent = new Agent({ keepAlive: false });
const nodes: TestRecorder[] = [];

/** A node of the cluster: its own ports and dataDir, the shared Redis and bucket. */
async function node(
  nodeId: string,
  overrides: { record?: Record<string, unknown> } = {},
): Promise<TestRecorder> {
  const rec = await startRecorder({
    storage: {
      type: 'minio',
      endPoint: minio.endPoint,
      port: minio.port,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      bucket: 'cluster',
    },
    cluster: {
      redis: redis.url,
      nodeId,
      advertise: `${nodeId}.example:1935`,
      leaseSeconds: 4,
      heartbeatSeconds: 1,
    },
    callback: { url: receiver.url, domain: DOMAIN },
    api: { credentials: [KEY] },
    record: { formats: ['mp4'], ...overrides.record },
  });
  nodes.push(rec);
  return rec;
}

const vodClient = (rec: TestRecorder) =>
  new vod.v20180717.Client({
    credential: KEY,
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: `127.0.0.1:${rec.recorder.httpPort}`, protocol: 'http://', agent } },
  });

const readyz = async (rec: TestRecorder) =>
  (await (await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/readyz`)).json()) as Record<string, unknown>;

beforeAll(async () => {
  [redis, minio, receiver] = await Promise.all([
    startRedis({ password: 'cluster-pw' }),
    startMinio(),
    startCallbackReceiver(),
  ]);
}, 120_000);

afterAll(async () => {
  for (const rec of nodes) await rec.stop().catch(() => undefined);
  await receiver?.close();
  await minio?.destroy();
  await redis?.destroy();
});

describe('two nodes on one Redis', () => {
  let a: TestRecorder;
  let b: TestRecorder;
  beforeAll(async () => {
    a = await node('node-a');
    b = await node('node-b', { record: { auto: false } });
  }, 60_000);

  it('refuses a second publisher of a stream live on the other node; the first goes on', async () => {
    const first = publish(a.rtmpUrl('dup'), { seconds: 6 });
    await eventually(
      () => a.recorder.manager.sessionOf('live', 'dup') !== undefined,
      10_000,
      'the push on A',
    );
    const second = publish(b.rtmpUrl('dup'), { seconds: 3 });
    expect(await second.exited).not.toBe(0);
    expect(b.recorder.manager.sessionOf('live', 'dup')).toBeUndefined();
    expect(await first.exited).toBe(0);
    const [begin] = await receiver.waitFor((x) => x.event_type === 1 && x.stream_id === 'dup');
    // Events 1 and 0 name the node as it advertises itself; only A sent any.
    expect(begin!.node).toBe('node-a.example');
    const [file] = await receiver.waitFor((x) => x.event_type === 100 && x.stream_id === 'dup');
    expect(Number(file!.duration)).toBeGreaterThan(4);
    expect(receiver.bodies.filter((x) => x.stream_id === 'dup' && x.event_type === 1)).toHaveLength(1);
    // Once A's push ended, B may take the stream.
    const later = publish(b.rtmpUrl('dup'), { seconds: 2 });
    expect(await later.exited).toBe(0);
  }, 60_000);

  it('a template and rule made on A record a push on B by them; a task made on A records on B', async () => {
    const onA = liveClient(a.recorder.httpPort, KEY, agent);
    const { TemplateId } = await onA.CreateLiveRecordTemplate({
      TemplateName: 'flv_only',
      FlvParam: { Enable: 1, RecordInterval: 1800, StorageTime: 0 },
    });
    await onA.CreateLiveRecordRule({
      DomainName: DOMAIN,
      AppName: 'live',
      StreamName: 'ruled',
      TemplateId: TemplateId!,
    });
    // B records nothing by default (record.auto false): only A's rule makes it record this stream.
    await eventually(() => b.recorder.templates.rules.length === 1, 5000, 'the rule on B');
    expect(await publish(b.rtmpUrl('ruled'), { seconds: 3 }).exited).toBe(0);
    const [ruled] = await receiver.waitFor((x) => x.event_type === 100 && x.stream_id === 'ruled');
    expect(ruled!.file_format).toBe('flv');

    const task = await onA.CreateRecordTask({
      StreamName: 'tasked',
      AppName: 'live',
      DomainName: DOMAIN,
      EndTime: Math.floor(Date.now() / 1000) + 600,
    });
    await eventually(() => b.recorder.tasks.get(task.TaskId!) !== undefined, 5000, 'the task on B');
    expect(await publish(b.rtmpUrl('tasked'), { seconds: 3 }).exited).toBe(0);
    // B records nothing of its own: this file is the task's.
    const [tasked] = await receiver.waitFor((x) => x.event_type === 100 && x.stream_id === 'tasked');
    expect(tasked!.file_format).toBe('mp4');
  }, 60_000);

  it('SearchMedia, DescribeMediaInfos and DeleteMedia on a third node see and act on what A and B recorded', async () => {
    const c = await node('node-c');
    // B records nothing of its own: a task made on C records media_b there.
    const task = await liveClient(c.recorder.httpPort, KEY, agent).CreateRecordTask({
      StreamName: 'media_b',
      AppName: 'live',
      DomainName: DOMAIN,
      EndTime: Math.floor(Date.now() / 1000) + 600,
    });
    await eventually(() => b.recorder.tasks.get(task.TaskId!) !== undefined, 5000, 'the task on B');
    await Promise.all([
      publish(a.rtmpUrl('media_a'), { seconds: 3 }).exited,
      publish(b.rtmpUrl('media_b'), { seconds: 3 }).exited,
    ]);
    const files = await receiver.waitFor(
      (x) => x.event_type === 100 && String(x.stream_id).startsWith('media_'),
      2,
    );
    const fromB = files.find((x) => x.stream_id === 'media_b')!;
    const fromA = files.find((x) => x.stream_id === 'media_a')!;
    const onC = vodClient(c);
    const found = await onC.SearchMedia({
      NamePrefixes: ['media_'],
      Sort: { Field: 'CreateTime', Order: 'Asc' },
    });
    expect(found.TotalCount).toBe(2);
    expect(found.MediaInfoSet!.map((m) => m.FileId).sort()).toEqual(
      [String(fromA.file_id), String(fromB.file_id)].sort(),
    );
    const described = await onC.DescribeMediaInfos({ FileIds: [String(fromB.file_id), 'nope'] });
    expect(described.MediaInfoSet!.map((m) => m.FileId)).toEqual([String(fromB.file_id)]);
    expect(described.MediaInfoSet![0]!.BasicInfo?.Name).toMatch(/^media_b_/);
    expect(described.NotExistFileIdSet).toEqual(['nope']);
    await onC.DeleteMedia({ FileId: String(fromA.file_id) });
    expect((await vodClient(a).SearchMedia({ NamePrefixes: ['media_a'] })).TotalCount).toBe(0);
  }, 60_000);

  it('a mix session made on B runs on A, where its inputs publish; cancelled on B, it ends on A', async () => {
    const [red, blue] = await Promise.all([colourFixture('red', 440), colourFixture('blue', 2500)]);
    const onB = liveClient(b.recorder.httpPort, KEY, agent);
    const half = (x: number) => ({ ImageWidth: 320, ImageHeight: 360, LocationX: x, LocationY: 0 });
    // Made before any input publishes: B takes it first (nothing to mix anywhere), and hands it to A when
    // A's pushes start.
    await onB.CreateCommonMixStream({
      MixStreamSessionId: 'across',
      InputStreamList: [
        {
          InputStreamName: 'across_canvas',
          LayoutParams: { ImageLayer: 1, InputType: 3, ImageWidth: 640, ImageHeight: 360, Color: '0x808080' },
        },
        { InputStreamName: 'across_red', LayoutParams: { ImageLayer: 2, ...half(0) } },
        { InputStreamName: 'across_blue', LayoutParams: { ImageLayer: 3, ...half(320) } },
      ],
      OutputParams: { OutputStreamName: 'across_mix', OutputStreamType: 1 },
    });
    const pushes = [push(red, a.rtmpUrl('across_red'), 24), push(blue, a.rtmpUrl('across_blue'), 24)];
    await eventually(() => a.recorder.mixes.sessions.includes('across'), 15_000, 'the mix to run on A');
    expect(b.recorder.mixes.sessions).not.toContain('across');
    await new Promise((r) => setTimeout(r, 8000));
    await onB.CancelCommonMixStream({ MixStreamSessionId: 'across' });
    await eventually(() => !a.recorder.mixes.sessions.includes('across'), 10_000, 'the mix to end on A');
    const cancelledAt = Date.now();
    const [file] = await receiver.waitFor(
      (x) => x.event_type === 100 && x.stream_id === 'across_mix' && x.file_format === 'mp4',
    );
    // Recorded by A (B records nothing of its own), ended by the cancel while its inputs still published.
    expect(Number(file!.end_time) * 1000).toBeLessThan(cancelledAt + 1000);
    expect(Number(file!.duration)).toBeGreaterThan(4);
    const mp4 = join(await mkdtemp(join(tmpdir(), 'cluster-mix-')), 'mix.mp4');
    await writeFile(mp4, Buffer.from(await (await fetch(String(file!.video_url))).arrayBuffer()));
    const frame = await frameAt(mp4, Number(file!.duration) - 2, 640, 360);
    expect(near(frame.mean(0, 0, 320, 360), [255, 0, 0])).toBe(true);
    expect(near(frame.mean(320, 0, 320, 360), [0, 0, 255])).toBe(true);
    for (const p of pushes) p.child.kill('SIGTERM');
    await Promise.all(pushes.map((p) => p.exited));
  }, 90_000);

  it("GET /api/cluster on any node lists every node's live recordings and unconfirmed uploads, with their owner", async () => {
    const cluster = async (rec: TestRecorder) =>
      (await (await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/api/cluster`)).json()) as {
        mode: string;
        node: string;
        nodes: { node: string; alive: boolean; items: { kind: string; subject: string; state: string }[] }[];
      };
    const itemsOf = async (rec: TestRecorder, node: string) =>
      (await cluster(rec)).nodes.find((n) => n.node === node)?.items ?? [];
    // MinIO away: A's file waits in its upload queue, and the registry says whose it is.
    await minio.stop();
    const pushed = publish(a.rtmpUrl('owned'), { seconds: 4 });
    await eventually(
      async () =>
        (await itemsOf(b, 'node-a')).some((i) => i.kind === 'recording' && i.subject === 'live/owned'),
      10_000,
      "A's recording in the registry, read on B",
    );
    const view = await cluster(b);
    expect(view).toMatchObject({ mode: 'cluster', node: 'node-b' });
    expect(view.nodes.find((n) => n.node === 'node-a')).toMatchObject({ alive: true });
    expect(await pushed.exited).toBe(0);
    await eventually(
      async () =>
        (await itemsOf(b, 'node-a')).some((i) => i.kind === 'upload' && i.subject.includes('owned')),
      20_000,
      "A's upload in the registry",
    );
    expect((await itemsOf(b, 'node-a')).filter((i) => i.kind === 'recording')).toEqual([]);
    await minio.restart();
    await receiver.waitFor((x) => x.event_type === 100 && x.stream_id === 'owned', 1, 60_000);
    await eventually(async () => (await itemsOf(b, 'node-a')).length === 0, 10_000, "A's work done");
  }, 120_000);

  it('while Redis is down: /readyz says so, a new publish is refused with the reason; after, it works again', async () => {
    expect((await readyz(a)).redis).toBeUndefined();
    await redis.stop();
    await eventually(async () => (await readyz(a)).redis !== undefined, 10_000, 'readyz to report Redis');
    expect(await readyz(a)).toMatchObject({ status: 'ready', redis: { ok: false } });
    const refused = publish(a.rtmpUrl('while-down'), { seconds: 2 });
    expect(await refused.exited).not.toBe(0);
    expect(a.recorder.manager.sessionOf('live', 'while-down')).toBeUndefined();
    await redis.restart();
    await eventually(async () => (await readyz(a)).redis === undefined, 15_000, 'Redis back in readyz');
    expect(await publish(a.rtmpUrl('after-down'), { seconds: 2 }).exited).toBe(0);
    await receiver.waitFor((x) => x.event_type === 100 && x.stream_id === 'after-down');
  }, 60_000);
});
