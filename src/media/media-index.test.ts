import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaIndex, type MediaEntry, type MediaQuery } from './media-index.js';

let dir: string;
let index: MediaIndex;

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
const ids = (q: Partial<MediaQuery>) => index.search(query(q)).entries.map((e) => e.fileId);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'media-index-'));
  index = MediaIndex.open(join(dir, '.index', 'media.sqlite'));
  index.addMany([
    entry('1', 'room1_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 1000),
    entry('2', 'room1_user2_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 2000),
    entry('3', 'room10_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 3000),
    entry('4', 'room2_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 4000),
    entry('5', 'room1_user1_main_2020-02-16-13-00-00_2020-02-16-13-10-00', 5000, {
      format: 'hls',
      key: 'live/room1_user1_main_2020-02-16-13-00-00_2020-02-16-13-10-00.m3u8',
      expireTimeMs: 9000,
    }),
  ]);
});

afterEach(() => {
  index.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('MediaIndex', () => {
  it('finds names by prefix, newest first, and a prefix is not a substring', () => {
    expect(ids({ namePrefixes: ['room1_'] })).toEqual(['5', '2', '1']);
    expect(ids({ namePrefixes: ['room1'] })).toEqual(['5', '3', '2', '1']);
    expect(ids({ namePrefixes: ['room1_user1_', 'room2_'] })).toEqual(['5', '4', '1']);
    expect(ids({ namePrefixes: ['user1'] })).toEqual([]);
  });

  it('treats LIKE wildcards in a prefix or a name as plain characters', () => {
    index.addMany([entry('6', 'a%b_c_2020', 6000), entry('7', 'aXbYc_2020', 7000)]);
    expect(ids({ namePrefixes: ['a%b_'] })).toEqual(['6']);
    expect(ids({ names: ['%b_c'] })).toEqual(['6']);
  });

  it('searches the name index for a prefix', () => {
    const plan = index.explain('SELECT file_id FROM media WHERE name >= ? AND name <= ?', ['a', 'b']);
    expect(plan.join('\n')).toMatch(/USING (COVERING )?INDEX media_name/);
  });

  it('combines filters: file ids, names, stream ids and the create time window', () => {
    expect(ids({ fileIds: ['1', '4', '9'] })).toEqual(['4', '1']);
    expect(ids({ names: ['user2'] })).toEqual(['2']);
    expect(ids({ streamIds: ['room1', 'room2'] })).toEqual(['5', '4', '2', '1']);
    expect(ids({ streamIds: ['room1'], createdAtOrAfterMs: 2000, createdBeforeMs: 5000 })).toEqual(['2']);
    expect(ids({ namePrefixes: ['room1_'], fileIds: ['2', '3'] })).toEqual(['2']);
  });

  it('sorts either way and pages with offset and limit, counting every match', () => {
    expect(ids({ order: 'asc' })).toEqual(['1', '2', '3', '4', '5']);
    const page = index.search(query({ order: 'asc', offset: 1, limit: 2 }));
    expect(page.entries.map((e) => e.fileId)).toEqual(['2', '3']);
    expect(page.totalCount).toBe(5);
    expect(index.search(query({ offset: 10 })).entries).toEqual([]);
    expect(index.search(query({ countCap: 3 })).totalCount).toBe(3);
  });

  it('gets entries by id with every field, and removes one', () => {
    const [got] = index.get(['5']);
    expect(got).toEqual(
      entry('5', 'room1_user1_main_2020-02-16-13-00-00_2020-02-16-13-10-00', 5000, {
        format: 'hls',
        key: 'live/room1_user1_main_2020-02-16-13-00-00_2020-02-16-13-10-00.m3u8',
        expireTimeMs: 9000,
      }),
    );
    expect(index.remove('5')).toBe(true);
    expect(index.remove('5')).toBe(false);
    expect(index.get(['5', '1']).map((e) => e.fileId)).toEqual(['1']);
  });

  it('replaces an entry added again under the same FileId (a retried announce)', async () => {
    await index.add(
      entry('1', 'room1_user1_main_2020-02-16-12-00-00_2020-02-16-12-10-00', 1000, { size: 7 }),
    );
    expect(index.get(['1'])[0]?.size).toBe(7);
    expect(index.search(query({})).totalCount).toBe(5);
  });

  it('keeps its entries across close and open, and after a crash left its lock behind', async () => {
    const path = join(dir, '.index', 'media.sqlite');
    await index.add(entry('8', 'room3_x_2020', 8000));
    index.close();
    index.close();
    // What a killed process leaves behind: the VFS lock directory.
    mkdirSync(`${path}.lock`);
    index = MediaIndex.open(path);
    expect(ids({ namePrefixes: ['room3_'] })).toEqual(['8']);
    expect(index.search(query({})).totalCount).toBe(6);
  });
});
