import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { RedisMediaIndex } from '../../src/cluster/redis-media-index.js';
import {
  InvalidListQueryError,
  MediaIndex,
  type MediaCatalog,
  type MediaEntry,
  type MediaQuery,
  type MediaTimeline,
  type RecordingListQuery,
  type RecordingSort,
} from '../../src/media/media-index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let dir: string;
let redis: TestRedis;
let link: RedisLink;
let index: MediaCatalog;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'media-index-'));
  redis = await startRedis();
  link = await RedisLink.connect({ url: redis.url, logger: silentLogger() });
});
afterAll(async () => {
  await link?.close();
  await redis?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function entry(
  fileId: string,
  name: string,
  createTimeMs: number,
  extra: Partial<MediaEntry> = {},
): MediaEntry {
  return {
    fileId,
    name,
    key: `live/${name}.mp4`,
    format: 'mp4',
    streamId: name.slice(0, name.indexOf('_')),
    app: 'live',
    domain: 'push.example.com',
    createTimeMs,
    expireTimeMs: null,
    startMs: createTimeMs - 60_000,
    endMs: createTimeMs,
    size: 1000,
    duration: 60,
    container: 'mov,mp4,m4a,3gp,3g2,mj2',
    width: 320,
    height: 240,
    bitrate: 500_000,
    videoStreams: [{ codec: 'h264', bitrate: 440_000, width: 320, height: 240, fps: 25 }],
    audioStreams: [{ codec: 'aac', bitrate: 64_000, samplingRate: 44_100 }],
    vid: `1253_${fileId}`,
    taskId: 'task',
    sourceContext: '',
    ...extra,
  };
}

/** A timeline of the media at key with n markers. */
function timelineOf(key: string, n: number): MediaTimeline {
  return {
    events: `${key}.events.json`,
    danmaku: `${key}.danmaku.vtt`,
    chapters: `${key}.chapters.vtt`,
    markers: Array.from({ length: n }, (_, i) => ({
      id: `m${i}`,
      label: `Marker ${i}`,
      seconds: 1.5 + i * 10,
    })),
    messages: 12,
    products: n,
  };
}

const query = (q: Partial<MediaQuery>): MediaQuery => ({
  order: 'desc',
  offset: 0,
  limit: 10,
  countCap: 5000,
  ...q,
});
const ids = async (q: Partial<MediaQuery>) => (await index.search(query(q))).entries.map((e) => e.fileId);

const FIXTURE = [
  entry('1', 'room1_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 1000),
  entry('2', 'room1_user2_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 2000),
  entry('3', 'room10_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 3000),
  entry('4', 'room2_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 4000),
  entry('5', 'room1_user1_main_2020-02-16-13-00-00_2020-02-16-13-10-00', 5000, {
    format: 'hls',
    key: 'live/room1_user1_main_2020-02-16-13-00-00_2020-02-16-13-10-00.m3u8',
    expireTimeMs: 9000,
  }),
];

const sqlitePath = () => join(dir, randomBytes(4).toString('hex'), '.index', 'media.sqlite');
const backends: { name: string; open(): Promise<MediaCatalog> }[] = [
  { name: 'sqlite', open: async () => MediaIndex.open(sqlitePath()) },
  {
    name: 'redis',
    open: async () => new RedisMediaIndex(link.client, `mi-${randomBytes(4).toString('hex')}:`),
  },
];

describe.each(backends)('MediaCatalog conformance: $name', ({ open }) => {
  beforeEach(async () => {
    index = await open();
    await index.addMany(FIXTURE);
  });
  afterEach(() => index.close());

  it('finds names by prefix, newest first, and a prefix is not a substring', async () => {
    expect(await ids({ namePrefixes: ['room1_'] })).toEqual(['5', '2', '1']);
    expect(await ids({ namePrefixes: ['room1'] })).toEqual(['5', '3', '2', '1']);
    expect(await ids({ namePrefixes: ['room1_user1_', 'room2_'] })).toEqual(['5', '4', '1']);
    expect(await ids({ namePrefixes: ['user1'] })).toEqual([]);
  });

  it('treats LIKE wildcards in a prefix or a name as plain characters', async () => {
    await index.addMany([entry('6', 'a%b_c_2020', 6000), entry('7', 'aXbYc_2020', 7000)]);
    expect(await ids({ namePrefixes: ['a%b_'] })).toEqual(['6']);
    expect(await ids({ names: ['%b_c'] })).toEqual(['6']);
  });

  it('combines filters: file ids, names, stream ids and the create time window', async () => {
    expect(await ids({ fileIds: ['1', '4', '9'] })).toEqual(['4', '1']);
    expect(await ids({ names: ['user2'] })).toEqual(['2']);
    expect(await ids({ streamIds: ['room1', 'room2'] })).toEqual(['5', '4', '2', '1']);
    expect(await ids({ streamIds: ['room1'], createdAtOrAfterMs: 2000, createdBeforeMs: 5000 })).toEqual([
      '2',
    ]);
    expect(await ids({ namePrefixes: ['room1_'], fileIds: ['2', '3'] })).toEqual(['2']);
  });

  it('sorts either way and pages with offset and limit, counting every match', async () => {
    expect(await ids({ order: 'asc' })).toEqual(['1', '2', '3', '4', '5']);
    const page = await index.search(query({ order: 'asc', offset: 1, limit: 2 }));
    expect(page.entries.map((e) => e.fileId)).toEqual(['2', '3']);
    expect(page.totalCount).toBe(5);
    expect((await index.search(query({ offset: 10 }))).entries).toEqual([]);
    expect((await index.search(query({ countCap: 3 }))).totalCount).toBe(3);
  });

  it('gets entries by id with every field, and removes one', async () => {
    const [got] = await index.get(['5']);
    expect(got).toEqual(
      entry('5', 'room1_user1_main_2020-02-16-13-00-00_2020-02-16-13-10-00', 5000, {
        format: 'hls',
        key: 'live/room1_user1_main_2020-02-16-13-00-00_2020-02-16-13-10-00.m3u8',
        expireTimeMs: 9000,
      }),
    );
    expect(await index.remove('5')).toBe(true);
    expect(await index.remove('5')).toBe(false);
    expect((await index.get(['5', '1'])).map((e) => e.fileId)).toEqual(['1']);
  });

  it('records the thumbnails of a media, kept with its entry; none for a media not indexed', async () => {
    const thumbnails = { cover: 'live/a.mp4.jpg', sprite: 'live/a.mp4.sprite.jpg', vtt: 'live/a.mp4.vtt' };
    expect((await index.get(['2']))[0]!.thumbnails).toBeUndefined();
    expect(await index.setThumbnails('2', thumbnails)).toBe(true);
    expect((await index.get(['2']))[0]!.thumbnails).toEqual(thumbnails);
    expect((await index.search(query({ fileIds: ['2'] }))).entries[0]!.thumbnails).toEqual(thumbnails);
    await index.remove('2');
    expect(await index.setThumbnails('2', thumbnails)).toBe(false);
    // The event 100 that announced a media is kept with it.
    const announcement = { event_type: 100, file_id: '6', video_url: 'http://h/live/a.mp4', duration: 3 };
    await index.add(
      entry('6', 'room6_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 6000, { announcement }),
    );
    expect((await index.get(['6']))[0]!.announcement).toEqual(announcement);
    expect(await index.get(['2'])).toEqual([]);
  });

  it('records the timeline of a media, kept with its entry; none for a media not indexed', async () => {
    const timeline = timelineOf('live/b.mp4', 2);
    expect((await index.get(['3']))[0]!.timeline).toBeUndefined();
    expect(await index.setTimeline('3', timeline)).toBe(true);
    expect((await index.get(['3']))[0]!.timeline).toEqual(timeline);
    expect((await index.search(query({ fileIds: ['3'] }))).entries[0]!.timeline).toEqual(timeline);
    // Set again (rewritten sidecars): the new one replaces it.
    const none = timelineOf('live/b.mp4', 0);
    expect(await index.setTimeline('3', none)).toBe(true);
    expect((await index.get(['3']))[0]!.timeline).toEqual(none);
    expect(await index.setTimeline('nosuchid', timeline)).toBe(false);
    expect(await index.get(['nosuchid'])).toEqual([]);
    // A media deleted meanwhile is not brought back, nor found by its markers.
    await index.remove('3');
    expect(await index.setTimeline('3', timeline)).toBe(false);
    expect(await index.get(['3'])).toEqual([]);
    expect(await ids({ hasMarkers: true })).toEqual([]);
  });

  it('keeps the timeline of an entry added with one', async () => {
    const timeline = timelineOf('live/c.mp4', 1);
    await index.add(
      entry('6', 'room6_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 6000, { timeline }),
    );
    expect((await index.get(['6']))[0]!.timeline).toEqual(timeline);
    expect(await ids({ hasMarkers: true })).toEqual(['6']);
    // Added again without markers (a retried announce, timeline rewritten): no longer among those with markers.
    await index.addMany([
      entry('6', 'room6_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 6000, {
        timeline: timelineOf('live/c.mp4', 0),
      }),
    ]);
    expect(await ids({ hasMarkers: true })).toEqual([]);
    expect(await ids({ hasMarkers: false })).toEqual(['6', '5', '4', '3', '2', '1']);
  });

  it('searches by whether the timeline has markers, counting the matches, with the other filters', async () => {
    await index.setTimeline('1', timelineOf('live/1.mp4', 1));
    await index.setTimeline('3', timelineOf('live/3.mp4', 3));
    await index.setTimeline('4', timelineOf('live/4.mp4', 0));
    await index.setTimeline('5', timelineOf('live/5.m3u8', 2));
    const found = async (q: Partial<MediaQuery>) => {
      const { totalCount, entries } = await index.search(query(q));
      return { totalCount, ids: entries.map((e) => e.fileId) };
    };
    expect(await found({ hasMarkers: true })).toEqual({ totalCount: 3, ids: ['5', '3', '1'] });
    // A timeline without markers, and no timeline at all, both count as none.
    expect(await found({ hasMarkers: false })).toEqual({ totalCount: 2, ids: ['4', '2'] });
    expect(await found({ hasMarkers: true, streamIds: ['room1'] })).toEqual({
      totalCount: 2,
      ids: ['5', '1'],
    });
    expect(await found({ hasMarkers: false, streamIds: ['room1', 'room2'] })).toEqual({
      totalCount: 2,
      ids: ['4', '2'],
    });
    expect(await found({ hasMarkers: true, streamIds: ['room2'] })).toEqual({ totalCount: 0, ids: [] });
    expect(await found({ hasMarkers: true, order: 'asc', offset: 1, limit: 1 })).toEqual({
      totalCount: 3,
      ids: ['3'],
    });
    expect(await found({ hasMarkers: true, countCap: 2 })).toEqual({ totalCount: 2, ids: ['5', '3', '1'] });
    expect(await found({ hasMarkers: false, createdAtOrAfterMs: 3000 })).toEqual({
      totalCount: 1,
      ids: ['4'],
    });
    expect(await found({ hasMarkers: true, namePrefixes: ['room1_'], createdBeforeMs: 5000 })).toEqual({
      totalCount: 1,
      ids: ['1'],
    });
    expect(await found({ hasMarkers: false, names: ['USER2'] })).toEqual({ totalCount: 1, ids: ['2'] });
    // Removing a media takes it out of those with markers.
    await index.remove('3');
    expect(await found({ hasMarkers: true })).toEqual({ totalCount: 2, ids: ['5', '1'] });
    expect(await found({ hasMarkers: false })).toEqual({ totalCount: 2, ids: ['4', '2'] });
  });

  it('replaces an entry added again under the same FileId (a retried announce)', async () => {
    await index.add(
      entry('1', 'room1_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 1000, { size: 7 }),
    );
    expect((await index.get(['1']))[0]?.size).toBe(7);
    expect((await index.search(query({}))).totalCount).toBe(5);
  });

  it('changes the expiry of the media stored under a key, and says when no media has it', async () => {
    expect(
      await index.setExpiry('live/room2_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00.mp4', 7777),
    ).toBe(true);
    expect((await index.get(['4']))[0]?.expireTimeMs).toBe(7777);
    expect(await index.setExpiry('live/none.mp4', null)).toBe(false);
  });

  it('pages a query by create time alone, and counts it', async () => {
    const page = await index.search(
      query({ createdAtOrAfterMs: 2000, createdBeforeMs: 5000, order: 'asc', limit: 2 }),
    );
    expect(page.entries.map((e) => e.fileId)).toEqual(['2', '3']);
    expect(page.totalCount).toBe(3);
  });

  it('finds a name by a substring in any case, as SQLite’s LIKE does', async () => {
    expect(await ids({ names: ['USER2'] })).toEqual(['2']);
    expect(await ids({ names: ['user1_main_2020-02-16-13'] })).toEqual(['5']);
  });
});

const T0 = 1_700_000_000_000;
const FORMATS = ['hls', 'mp4', 'flv', 'aac'] as const;

/** n recordings under live/ and edu/, with many ties on each sort value and fileIds in no order of theirs. */
function recordings(n = 1000): MediaEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const app = i % 5 === 0 ? 'edu' : 'live';
    const stream = `stream${i % 40}`;
    const format = FORMATS[i % 4]!;
    const startMs = T0 + (i % 250) * 60_000;
    return entry(`f${String((i * 7919) % n).padStart(4, '0')}`, `${stream}_${i}`, startMs + 600_000, {
      key: `${app}/${stream}_${i}.${format === 'hls' ? 'm3u8' : format}`,
      app,
      format,
      startMs,
      endMs: startMs + 600_000,
      duration: (i % 37) * 0.5 + 0.25,
      size: ((i * 31) % 200) * 1000,
    });
  });
}

const SORTS: RecordingSort[] = ['start', 'duration', 'size'];
const ORDERS = ['asc', 'desc'] as const;
const valueOf = (e: MediaEntry, sort: RecordingSort) =>
  sort === 'start' ? e.startMs : sort === 'duration' ? e.duration : e.size;

/** The fileIds a listing must return, sorted here: by value, ties by fileId (ASCII ids: byte order). */
function expected(entries: readonly MediaEntry[], sort: RecordingSort, order: 'asc' | 'desc'): string[] {
  const asc = [...entries].sort(
    (a, b) => valueOf(a, sort) - valueOf(b, sort) || (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0),
  );
  return (order === 'asc' ? asc : asc.reverse()).map((e) => e.fileId);
}

/** Every page of a listing, following next; each page but the last is full. */
async function pageAll(q: RecordingListQuery, cursor?: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  do {
    const page = await index.list({ ...q, ...(cursor ? { cursor } : {}) });
    ids.push(...page.entries.map((e) => e.fileId));
    if (page.next) expect(page.entries).toHaveLength(q.limit ?? 100);
    cursor = page.next;
    if (++pages > 1000) throw new Error('the listing does not end');
  } while (cursor);
  return { ids, pages };
}

describe.each(backends)('recording listing conformance: $name', ({ open }) => {
  const all = recordings();
  beforeEach(async () => {
    index = await open();
    await index.addMany(all);
  });
  afterEach(() => index.close());

  it('pages 1,000 recordings by cursor, each once, in (value, fileId) order, for every sort and order', async () => {
    for (const sort of SORTS) {
      for (const order of ORDERS) {
        const { ids, pages } = await pageAll({ sort, order, limit: 100 });
        expect(ids, `${sort} ${order}`).toEqual(expected(all, sort, order));
        expect(pages).toBe(10);
      }
    }
  });

  it('lists newest first, 100 a page, by default', async () => {
    const page = await index.list({});
    expect(page.entries.map((e) => e.fileId)).toEqual(expected(all, 'start', 'desc').slice(0, 100));
    expect(page.next).toBeTypeOf('string');
    expect((await index.list({ limit: 1000 })).next).toBeUndefined();
  });

  it('filters by key prefix, format and start window, paging each', async () => {
    const from = T0 + 50 * 60_000;
    const to = T0 + 120 * 60_000;
    const filters: { q: RecordingListQuery; holds: (e: MediaEntry) => boolean }[] = [
      { q: { prefix: 'edu/' }, holds: (e) => e.key.startsWith('edu/') },
      // stream1 and stream10..19, not a substring match.
      { q: { prefix: 'live/stream1' }, holds: (e) => e.key.startsWith('live/stream1') },
      { q: { prefix: 'live/stream3_' }, holds: (e) => e.key.startsWith('live/stream3_') },
      { q: { format: 'aac' }, holds: (e) => e.format === 'aac' },
      { q: { fromMs: from, toMs: to }, holds: (e) => e.startMs >= from && e.startMs < to },
      { q: { fromMs: from }, holds: (e) => e.startMs >= from },
      { q: { toMs: to }, holds: (e) => e.startMs < to },
      {
        q: { prefix: 'live/', format: 'hls', fromMs: from, toMs: to },
        holds: (e) => e.key.startsWith('live/') && e.format === 'hls' && e.startMs >= from && e.startMs < to,
      },
    ];
    for (const { q, holds } of filters) {
      const matching = all.filter(holds);
      expect(matching.length).toBeGreaterThan(0);
      for (const sort of SORTS) {
        for (const order of ORDERS) {
          const { ids } = await pageAll({ ...q, sort, order, limit: 7 });
          expect(ids, `${JSON.stringify(q)} ${sort} ${order}`).toEqual(expected(matching, sort, order));
        }
      }
    }
    expect(await index.list({ prefix: 'vod/' })).toEqual({ entries: [], next: undefined });
  });

  it('a cursor from outside the start window pages from the window’s edge', async () => {
    const from = T0 + 100 * 60_000;
    const to = T0 + 150 * 60_000;
    const inWindow = all.filter((e) => e.startMs >= from && e.startMs < to);
    const early = (await index.list({ sort: 'start', order: 'asc', limit: 10 })).next!;
    const { ids: up } = await pageAll(
      { sort: 'start', order: 'asc', limit: 50, fromMs: from, toMs: to },
      early,
    );
    expect(up).toEqual(expected(inWindow, 'start', 'asc'));
    const late = (await index.list({ sort: 'start', order: 'desc', limit: 10 })).next!;
    const { ids: down } = await pageAll(
      { sort: 'start', order: 'desc', limit: 50, fromMs: from, toMs: to },
      late,
    );
    expect(down).toEqual(expected(inWindow, 'start', 'desc'));
  });

  it('refuses a bad cursor or limit, naming it', async () => {
    const bad = (q: RecordingListQuery) => index.list(q);
    await expect(bad({ cursor: 'not a cursor!' })).rejects.toThrow(InvalidListQueryError);
    await expect(bad({ cursor: Buffer.from('hello').toString('base64url') })).rejects.toThrow(
      /^cursor: is not a cursor of this listing/,
    );
    await expect(
      bad({ cursor: Buffer.from('["start","desc","1","x"]').toString('base64url') }),
    ).rejects.toThrow(/^cursor: /);
    const bySize = (await index.list({ sort: 'size', order: 'asc', limit: 5 })).next!;
    await expect(bad({ cursor: bySize })).rejects.toThrow(
      /^cursor: was made for sort=size and order=asc; pass those again, or no cursor$/,
    );
    await expect(bad({ limit: 0 })).rejects.toThrow(/^limit: must be a whole number from 1 to 1000$/);
    await expect(bad({ limit: 1001 })).rejects.toThrow(/^limit: /);
    await expect(bad({ limit: 2.5 })).rejects.toThrow(/^limit: /);
  });

  it('an entry removed between pages, even the cursor’s own, does not break the paging', async () => {
    for (const sort of SORTS) {
      const want = expected(all, sort, 'desc');
      const first = await index.list({ sort, limit: 100 });
      expect(first.entries.map((e) => e.fileId)).toEqual(want.slice(0, 100));
      // The cursor's own entry (ties on its value remain), one not yet listed, one already listed.
      expect(await index.remove(want[99]!)).toBe(true);
      expect(await index.remove(want[250]!)).toBe(true);
      expect(await index.remove(want[3]!)).toBe(true);
      const { ids } = await pageAll({ sort, limit: 100 }, first.next);
      expect(ids, sort).toEqual(want.slice(100).filter((id) => id !== want[250]));
      await index.addMany(all);
    }
  });

  it('an entry added again with another size moves in the size listing', async () => {
    const moved = { ...all[10]!, size: 5_000_000 };
    await index.add(moved);
    const now = all.map((e) => (e.fileId === moved.fileId ? moved : e));
    for (const order of ORDERS) {
      const { ids } = await pageAll({ sort: 'size', order, limit: 100 });
      expect(ids).toEqual(expected(now, 'size', order));
    }
    expect((await index.list({ sort: 'size', limit: 1 })).entries[0]).toEqual(moved);
  });
});

describe('RedisMediaIndex on its own', () => {
  it('lists media indexed before the listing existed, and skips members that are stale', async () => {
    const keyPrefix = `mi-${randomBytes(4).toString('hex')}:`;
    const some = recordings(300);
    await new RedisMediaIndex(link.client, keyPrefix).addMany(some);
    // What an index written before the listing looks like: no listing sets, no backfill mark.
    const sets = ['start', 'duration', 'size'].map((s) => `${keyPrefix}media:list:${s}`);
    await link.client.del(...sets, `${keyPrefix}media:list:backfilled`);
    // A member left by a media removed, and one with a value its entry no longer has.
    await link.client.zadd(sets[2]!, 0, '8000000000000000gone', 0, `c0c3880000000000${some[1]!.fileId}`);
    index = new RedisMediaIndex(link.client, keyPrefix);
    for (const sort of SORTS) {
      for (const order of ORDERS) {
        const { ids } = await pageAll({ sort, order, limit: 40 });
        expect(ids, `${sort} ${order}`).toEqual(expected(some, sort, order));
      }
    }
    expect(await link.client.exists(`${keyPrefix}media:list:backfilled`)).toBe(1);
  });
});

describe('MediaIndex (SQLite) on its own', () => {
  let path: string;
  beforeEach(async () => {
    path = sqlitePath();
    index = MediaIndex.open(path);
    await index.addMany(FIXTURE);
  });
  afterEach(() => index.close());

  it('opens an index made before thumbnails and timelines existed, adding their columns and keeping every entry', async () => {
    await index.close();
    const { Database } = createRequire(import.meta.url)(
      'node-sqlite3-wasm',
    ) as typeof import('node-sqlite3-wasm');
    const old = new Database(path);
    old.exec('ALTER TABLE media DROP COLUMN thumbnails');
    old.exec('ALTER TABLE media DROP COLUMN announcement');
    old.exec('ALTER TABLE media DROP COLUMN timeline');
    old.exec('ALTER TABLE media DROP COLUMN markers');
    old.close();
    index = MediaIndex.open(path);
    expect((await index.get(['1', '2', '3', '4', '5'])).length).toBe(5);
    expect(await index.setThumbnails('1', { cover: 'live/x.mp4.jpg' })).toBe(true);
    expect((await index.get(['1']))[0]!.thumbnails).toEqual({ cover: 'live/x.mp4.jpg' });
    // And the timeline's: every old entry has no markers until its timeline is set.
    expect(await ids({ hasMarkers: false })).toEqual(['5', '4', '3', '2', '1']);
    expect(await index.setTimeline('2', timelineOf('live/x.mp4', 1))).toBe(true);
    expect(await ids({ hasMarkers: true })).toEqual(['2']);
  });

  it('searches the name index for a prefix', async () => {
    const plan = (index as MediaIndex).explain('SELECT file_id FROM media WHERE name >= ? AND name <= ?', [
      'a',
      'b',
    ]);
    expect(plan.join('\n')).toMatch(/USING (COVERING )?INDEX media_name/);
  });

  it('pages a listing by a seek on the index of its sort, however deep', async () => {
    await index.addMany(recordings(1000));
    await index.addMany(
      Array.from({ length: 2500 }, (_, i) =>
        entry(`bulk${i}`, `bulk${i}_2020`, T0 + i, { key: `bulk/bulk${i}_2020.mp4`, startMs: T0 + i }),
      ),
    );
    const sqlite = index as MediaIndex;
    const columns = { start: 'start_time', duration: 'duration', size: 'size' } as const;
    for (const sort of SORTS) {
      for (const order of ORDERS) {
        let cursor: string | undefined;
        for (let i = 0; i < 20; i++) cursor = (await index.list({ sort, order, limit: 100, cursor })).next;
        const plan = sqlite.explainList({ sort, order, limit: 100, cursor }).join('\n');
        const op = order === 'asc' ? '>' : '<';
        expect(plan, `${sort} ${order}`).toBe(
          `SEARCH media USING INDEX media_list_${sort} ((${columns[sort]},file_id)${op}(?,?))`,
        );
      }
    }
    const deep = (await index.list({ limit: 1000, fromMs: T0 })).next;
    expect(sqlite.explainList({ fromMs: T0, cursor: deep }).join('\n')).toBe(
      'SEARCH media USING INDEX media_list_start (start_time>? AND (start_time,file_id)<(?,?))',
    );
    // A narrow prefix is read through the key index and sorted; a broad one is checked along the sort index.
    expect(sqlite.explainList({ prefix: 'live/stream1_' }).join('\n')).toMatch(
      /^SEARCH media USING INDEX media_key \(key>\? AND key<\?\)\nUSE TEMP B-TREE FOR ORDER BY$/,
    );
    expect(sqlite.explainList({ prefix: 'bulk/' }).join('\n')).toBe(
      'SCAN media USING INDEX media_list_start',
    );
    expect(sqlite.explainList({ sort: 'size', fromMs: T0 + 60_000, toMs: T0 + 120_000 }).join('\n')).toMatch(
      /^SEARCH media USING INDEX media_list_start \(start_time>\? AND start_time<\?\)\nUSE TEMP B-TREE/,
    );
    expect(sqlite.explainList({ sort: 'size', fromMs: T0 }).join('\n')).toBe(
      'SCAN media USING INDEX media_list_size',
    );
  });

  it('keeps its entries across close and open, and after a crash left its lock behind', async () => {
    await index.add(entry('8', 'room3_x_2020', 8000));
    await index.close();
    await index.close();
    // What a killed process leaves behind: the VFS lock directory.
    mkdirSync(`${path}.lock`);
    index = MediaIndex.open(path);
    expect(await ids({ namePrefixes: ['room3_'] })).toEqual(['8']);
    expect((await index.search(query({}))).totalCount).toBe(6);
  });
});
