import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { RedisMediaIndex } from '../../src/cluster/redis-media-index.js';
import {
  MediaIndex,
  type MediaCatalog,
  type MediaEntry,
  type MediaQuery,
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

describe('MediaIndex (SQLite) on its own', () => {
  let path: string;
  beforeEach(async () => {
    path = sqlitePath();
    index = MediaIndex.open(path);
    await index.addMany(FIXTURE);
  });
  afterEach(() => index.close());

  it('searches the name index for a prefix', async () => {
    const plan = (index as MediaIndex).explain('SELECT file_id FROM media WHERE name >= ? AND name <= ?', [
      'a',
      'b',
    ]);
    expect(plan.join('\n')).toMatch(/USING (COVERING )?INDEX media_name/);
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
