import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { RedisTimelineStore } from '../../src/cluster/redis-timeline.js';
import { silentLogger } from '../../src/shared/logger.js';
import type {
  GroupChangeEvent,
  MarkerEvent,
  MessageEvent,
  TimelineEvent,
} from '../../src/timeline/events.js';
import {
  FileTimelineStore,
  type SidecarRender,
  type TimelineStore,
} from '../../src/timeline/timeline-store.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis;
let link: RedisLink;
const dirs: string[] = [];
const stores: TimelineStore[] = [];
beforeAll(async () => {
  redis = await startRedis();
  link = await RedisLink.connect({ url: redis.url, logger: silentLogger() });
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await link?.close();
  await redis?.destroy();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'timeline-'));
  dirs.push(dir);
  return dir;
}

function kept<T extends TimelineStore>(store: T): T {
  stores.push(store);
  return store;
}

const STREAM = 'stream:live/room1';
const GROUP = 'group:@TGS#room1';
const OTHER_GROUP = 'group:@TGS#room2';

function marker(id: string, atMs: number, key = STREAM, label = `marker ${id}`): MarkerEvent {
  return { kind: 'marker', id, key, atMs, label };
}

function message(id: string, atMs: number, account: string, key = GROUP): MessageEvent {
  const text = `hello from ${account}`;
  return {
    kind: 'message',
    id,
    key,
    atMs,
    groupId: key.slice('group:'.length),
    account,
    msgSeq: atMs % 1000,
    random: 42,
    body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: text } }],
    text,
  };
}

function groupChange(id: string, atMs: number, account: string, key = GROUP): GroupChangeEvent {
  return {
    kind: 'group',
    id,
    key,
    atMs,
    groupId: key.slice('group:'.length),
    account,
    field: 'Notification',
    value: 'now live',
    product: false,
  };
}

function render(mediaKey: string, keys: string[], seconds = 60): SidecarRender {
  return {
    mediaKey,
    fileId: `file-${mediaKey}`,
    app: 'live',
    stream: 'room1',
    spans: [{ startMs: 1_000, seconds }],
    keys,
    retentionDays: 7,
  };
}

const ids = (events: readonly TimelineEvent[]) => events.map((e) => e.id);
const byMediaKey = (renders: SidecarRender[]) =>
  [...renders].sort((a, b) => a.mediaKey.localeCompare(b.mediaKey));

/** Two handles on one store: one store twice for files, two nodes' stores on one prefix for Redis. */
const backends: { name: string; open(): Promise<{ a: TimelineStore; b: TimelineStore }> }[] = [
  {
    name: 'file',
    open: async () => {
      const store = kept(new FileTimelineStore(await tempDir()));
      return { a: store, b: store };
    },
  },
  {
    name: 'redis',
    open: async () => {
      const prefix = `t-${randomBytes(3).toString('hex')}:`;
      return {
        a: kept(new RedisTimelineStore(link.client, prefix)),
        b: kept(new RedisTimelineStore(link.client, prefix)),
      };
    },
  },
];

describe.each(backends)('TimelineStore conformance: $name', ({ open }) => {
  it('returns the events of several timelines by time, both window edges included', async () => {
    const { a, b } = await open();
    const given = [
      marker('m3', 3_000),
      message('g2', 2_500, 'alice'),
      marker('m1', 1_000),
      groupChange('g1', 1_500, 'bob'),
      marker('m2', 2_000),
    ];
    expect(await a.append(given)).toEqual(given);

    expect(ids(await b.range([STREAM, GROUP], 0, 10_000))).toEqual(['m1', 'g1', 'm2', 'g2', 'm3']);
    expect(await b.range([STREAM, GROUP], 1_500, 2_500)).toEqual([given[3], given[4], given[1]]);
    expect(ids(await b.range([STREAM], 1_000, 3_000))).toEqual(['m1', 'm2', 'm3']);
    expect(ids(await b.range([STREAM, GROUP], 1_001, 2_999))).toEqual(['g1', 'm2', 'g2']);
    expect(ids(await b.range([GROUP, STREAM, GROUP], 2_500, 2_500))).toEqual(['g2']);
    expect(await b.range([STREAM, GROUP], 3_001, 10_000)).toEqual([]);
    expect(await b.range(['stream:live/nobody'], 0, 10_000)).toEqual([]);
  });

  it('stores an event once per (key, id): within one call, and again from another handle', async () => {
    const { a, b } = await open();
    const first = marker('dup', 1_000);
    expect(await a.append([first, { ...first, label: 'the same id again' }])).toEqual([first]);
    expect(await b.append([first])).toEqual([]);
    const next = marker('next', 2_000);
    expect(await b.append([{ ...first, atMs: 1_500, label: 'a retry' }, next])).toEqual([next]);
    expect(await a.range([STREAM], 0, 10_000)).toEqual([first, next]);
  });

  it('takes the same id under another key for another event', async () => {
    const { a, b } = await open();
    const onStream = marker('same', 1_000);
    const onGroup = message('same', 2_000, 'alice');
    expect(await a.append([onStream])).toEqual([onStream]);
    expect(await b.append([onGroup])).toEqual([onGroup]);
    expect(await a.range([STREAM, GROUP], 0, 10_000)).toEqual([onStream, onGroup]);
  });

  it('removes one event and returns it; an unknown id, or one on another key, removes nothing', async () => {
    const { a, b } = await open();
    const events = [marker('m1', 1_000), marker('m2', 2_000), marker('m3', 3_000)];
    await a.append(events);

    expect(await b.remove(STREAM, 'm2')).toEqual(events[1]);
    expect(await a.range([STREAM], 0, 10_000)).toEqual([events[0], events[2]]);
    expect(await a.remove(STREAM, 'm2')).toBeUndefined();
    expect(await a.remove(STREAM, 'no-such-id')).toBeUndefined();
    expect(await a.remove(GROUP, 'm1')).toBeUndefined();
    expect(ids(await b.range([STREAM], 0, 10_000))).toEqual(['m1', 'm3']);
  });

  it("removes one account's messages only: its markers and group changes, and others' messages, stay", async () => {
    const { a, b } = await open();
    const alice1 = message('a1', 1_000, 'alice');
    const alice2 = message('a2', 3_000, 'alice');
    const staying = [
      message('b1', 2_000, 'bob'),
      groupChange('ag', 2_500, 'alice'),
      marker('am', 1_500, GROUP, 'alice'),
    ];
    const elsewhere = message('a3', 1_200, 'alice', OTHER_GROUP);
    await a.append([alice1, ...staying, alice2, elsewhere]);

    const removed = await b.removeAccount(GROUP, 'alice');
    expect([...removed].sort((x, y) => x.atMs - y.atMs)).toEqual([alice1, alice2]);
    expect(ids(await a.range([GROUP], 0, 10_000))).toEqual(['am', 'b1', 'ag']);
    expect(await a.range([OTHER_GROUP], 0, 10_000)).toEqual([elsewhere]);
    expect(await a.removeAccount(GROUP, 'alice')).toEqual([]);
    expect(await a.removeAccount(GROUP, 'nobody')).toEqual([]);
  });

  it('lists a render under each timeline it draws from; the same media rendered again replaces it', async () => {
    const { a, b } = await open();
    const both = render('live/room1_1.mp4', [STREAM, GROUP]);
    const groupOnly = render('live/room1_2.mp4', [GROUP]);
    await a.addRender(both);
    await a.addRender(groupOnly);

    expect(await b.rendersOf(STREAM)).toEqual([both]);
    expect(byMediaKey(await b.rendersOf(GROUP))).toEqual([both, groupOnly]);
    expect(await b.rendersOf(OTHER_GROUP)).toEqual([]);

    const again = render('live/room1_1.mp4', [STREAM, GROUP], 90);
    await b.addRender(again);
    expect(await a.rendersOf(STREAM)).toEqual([again]);
    expect(byMediaKey(await a.rendersOf(GROUP))).toEqual([again, groupOnly]);
  });
});

describe('FileTimelineStore', () => {
  it('a new store on the same dir sees the events and renders, and still deduplicates', async () => {
    const dir = await tempDir();
    const before = new FileTimelineStore(dir);
    const events = [
      marker('m1', 1_000),
      message('a1', 2_000, 'alice'),
      message('b1', 3_000, 'bob'),
      marker('m2', 4_000),
    ];
    await before.append(events);
    await before.remove(STREAM, 'm2');
    await before.removeAccount(GROUP, 'bob');
    const shown = render('live/room1_1.mp4', [STREAM, GROUP]);
    await before.addRender(render('live/room1_1.mp4', [STREAM, GROUP], 30));
    await before.addRender(shown);
    await before.close();

    const after = kept(new FileTimelineStore(dir));
    expect(await after.range([STREAM, GROUP], 0, 10_000)).toEqual([events[0], events[1]]);
    expect(await after.rendersOf(STREAM)).toEqual([shown]);
    expect(await after.rendersOf(GROUP)).toEqual([shown]);
    const fresh = marker('m3', 5_000);
    expect(await after.append([events[0]!, events[1]!, fresh])).toEqual([fresh]);
    expect(ids(await after.range([STREAM, GROUP], 0, 10_000))).toEqual(['m1', 'a1', 'm3']);
  });

  it('a removed event stays removed after a restart: a retried webhook of it is not stored again', async () => {
    const dir = await tempDir();
    const before = new FileTimelineStore(dir);
    const gone = message('b1', 3_000, 'bob');
    await before.append([gone, message('a1', 2_000, 'alice')]);
    expect(ids(await before.removeAccount(GROUP, 'bob'))).toEqual(['b1']);
    await before.close();
    const after = kept(new FileTimelineStore(dir));
    expect(await after.append([gone])).toEqual([]);
    expect(ids(await after.range([GROUP], 0, 10_000))).toEqual(['a1']);
  });

  it('a line a crash cut short loses nothing written after it', async () => {
    const dir = await tempDir();
    const before = new FileTimelineStore(dir);
    await before.append([marker('m1', 1_000)]);
    await before.close();
    const [file] = (await readdir(dir)).filter((f) => f.endsWith('.jsonl'));
    await appendFile(join(dir, file!), '{"e":{"kind":"marker","id":"m2","ke');
    const after = kept(new FileTimelineStore(dir));
    const next = marker('m3', 3_000);
    expect(await after.append([next])).toEqual([next]);
    expect(ids(await kept(new FileTimelineStore(dir)).range([STREAM], 0, 10_000))).toEqual(['m1', 'm3']);
  });

  it('refuses appends once closed', async () => {
    const store = new FileTimelineStore(await tempDir());
    await store.close();
    await expect(store.append([marker('m1', 1_000)])).rejects.toThrow(/closed/);
  });
});
