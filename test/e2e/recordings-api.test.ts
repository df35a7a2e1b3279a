import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApiGuard } from '../../src/api/api-guard.js';
import { deleteMediaById } from '../../src/api/media-actions.js';
import { registerRecordingRoutes } from '../../src/api/recording-routes.js';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { MediaIndex, type MediaEntry } from '../../src/media/media-index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { LocalStore } from '../../src/storage/local-store.js';

const T0 = Date.parse('2024-05-01T00:00:00Z');
const FORMATS = ['hls', 'mp4', 'flv', 'aac'] as const;
const ADMIN = 'ops-token-0123456789abcdef';
const VIEWER = 'wall-token-0123456789abcdef';

let dir: string;
let dataDir: string;
let index: MediaIndex;
let store: LocalStore;
let server: HttpServer;
let guarded: HttpServer;

function recording(i: number, extra: Partial<MediaEntry> = {}): MediaEntry {
  const format = FORMATS[i % 4]!;
  const name = `stream${i % 30}_${i}`;
  const startMs = T0 + (i % 300) * 60_000;
  return {
    fileId: `f${String((i * 7919) % 1000).padStart(4, '0')}`,
    name,
    key: `${i % 4 === 0 ? 'edu' : 'live'}/${name}.${format === 'hls' ? 'm3u8' : format}`,
    format,
    streamId: `stream${i % 30}`,
    app: i % 4 === 0 ? 'edu' : 'live',
    domain: 'push.example.com',
    createTimeMs: startMs + 600_000,
    expireTimeMs: i % 2 ? null : startMs + 86_400_000,
    startMs,
    endMs: startMs + 600_000,
    size: ((i * 31) % 200) * 1000,
    duration: (i % 37) * 0.5 + 0.25,
    container: 'mov,mp4,m4a,3gp,3g2,mj2',
    width: 320,
    height: 240,
    bitrate: 500_000,
    videoStreams: [{ codec: 'h264', bitrate: 440_000, width: 320, height: 240, fps: 25 }],
    audioStreams: [{ codec: 'aac', bitrate: 64_000, samplingRate: 44_100 }],
    vid: `1253_${i}`,
    taskId: 'task',
    sourceContext: '',
    ...extra,
  };
}

const ALL = Array.from({ length: 1000 }, (_, i) => recording(i));
type Sort = 'start' | 'duration' | 'size';
const valueOf = (e: MediaEntry, sort: Sort) =>
  sort === 'start' ? e.startMs : sort === 'duration' ? e.duration : e.size;

function expected(entries: readonly MediaEntry[], sort: Sort, order: 'asc' | 'desc'): string[] {
  const asc = [...entries].sort(
    (a, b) => valueOf(a, sort) - valueOf(b, sort) || (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0),
  );
  return (order === 'asc' ? asc : asc.reverse()).map((e) => e.fileId);
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(on: HttpServer, method: 'GET' | 'DELETE', url: string, token?: string): Promise<Answer> {
  const res = await on.app.inject({
    method,
    url,
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  return { status: res.statusCode, body: res.json() };
}

/** Every page of a listing over HTTP, following next. */
async function pageAll(query: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let next: string | null = null;
  let pages = 0;
  do {
    const url: string = `/api/recordings?${query}${next ? `&cursor=${encodeURIComponent(next)}` : ''}`;
    const { status, body } = await call(server, 'GET', url);
    expect(status, JSON.stringify(body)).toBe(200);
    ids.push(...(body.recordings as { fileId: string }[]).map((r) => r.fileId));
    next = body.next as string | null;
    if (++pages > 100) throw new Error('the listing does not end');
  } while (next);
  return { ids, pages };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recordings-api-'));
  dataDir = join(dir, 'data');
  index = MediaIndex.open(join(dataDir, '.index', 'media.sqlite'));
  store = new LocalStore({ dataDir, publicBaseUrl: () => 'http://127.0.0.1:8080' });
  await store.init();
  await index.addMany(ALL);
  const routes = {
    catalog: index,
    deleteMedia: (fileId: string) => deleteMediaById({ index, store }, fileId),
  };
  server = createHttpServer({ host: '127.0.0.1', port: 0, dataDir, logger: silentLogger() });
  registerRecordingRoutes(server.app, routes);
  await server.app.ready();
  guarded = createHttpServer({ host: '127.0.0.1', port: 0, dataDir, logger: silentLogger() });
  registerApiGuard(
    guarded.app,
    [
      { name: 'ops', token: ADMIN, role: 'admin' },
      { name: 'wall', token: VIEWER, role: 'viewer' },
    ],
    silentLogger(),
  );
  registerRecordingRoutes(guarded.app, routes);
  await guarded.app.ready();
});

afterAll(async () => {
  await server?.close();
  await guarded?.close();
  await index?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GET /api/recordings', () => {
  it('pages 1,000 recordings by cursor, sorted by start, duration and size, each once and in order', async () => {
    for (const sort of ['start', 'duration', 'size'] as const) {
      for (const order of ['asc', 'desc'] as const) {
        const { ids, pages } = await pageAll(`sort=${sort}&order=${order}&limit=100`);
        expect(ids, `${sort} ${order}`).toEqual(expected(ALL, sort, order));
        expect(pages).toBe(10);
      }
    }
  });

  it('answers newest first, 100 a page, each recording as plain JSON', async () => {
    const { status, body } = await call(server, 'GET', '/api/recordings');
    expect(status).toBe(200);
    const recordings = body.recordings as { fileId: string }[];
    expect(recordings.map((r) => r.fileId)).toEqual(expected(ALL, 'start', 'desc').slice(0, 100));
    expect(body.next).toBeTypeOf('string');
    const newest = ALL.find((e) => e.fileId === recordings[0]!.fileId)!;
    expect(recordings[0]).toEqual({
      coverUrl: null,
      thumbnailsUrl: null,
      fileId: newest.fileId,
      key: newest.key,
      name: newest.name,
      format: newest.format,
      domain: 'push.example.com',
      app: newest.app,
      streamId: newest.streamId,
      startTime: new Date(newest.startMs).toISOString(),
      endTime: new Date(newest.endMs).toISOString(),
      duration: newest.duration,
      size: newest.size,
      createdAt: new Date(newest.createTimeMs).toISOString(),
      expiresAt: newest.expireTimeMs === null ? null : new Date(newest.expireTimeMs).toISOString(),
      container: newest.container,
      width: 320,
      height: 240,
      bitrate: 500_000,
      videoStreams: newest.videoStreams,
      audioStreams: newest.audioStreams,
      vid: newest.vid,
      taskId: 'task',
      sourceContext: '',
    });
  });

  it('filters by prefix, format and a start window given in ISO 8601 or Unix seconds', async () => {
    const from = T0 + 60 * 60_000;
    const to = T0 + 120 * 60_000;
    const matching = ALL.filter(
      (e) => e.key.startsWith('live/stream1') && e.format === 'mp4' && e.startMs >= from && e.startMs < to,
    );
    const iso = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
    const seconds = `from=${from / 1000}&to=${to / 1000}`;
    for (const window of [iso, seconds]) {
      const { ids } = await pageAll(`prefix=live/stream1&format=mp4&${window}&sort=size&order=asc&limit=3`);
      expect(ids).toEqual(expected(matching, 'size', 'asc'));
      expect(ids.length).toBeGreaterThan(3);
    }
    expect(await call(server, 'GET', '/api/recordings?prefix=vod/')).toEqual({
      status: 200,
      body: { recordings: [], next: null },
    });
  });

  it('refuses a bad parameter with a 400 naming it', async () => {
    const bySize = (await call(server, 'GET', '/api/recordings?sort=size&limit=1')).body.next as string;
    const refusals: [string, string, RegExp][] = [
      ['sort=name', 'InvalidParameterValue', /^sort: /],
      ['order=up', 'InvalidParameterValue', /^order: /],
      ['limit=0', 'InvalidParameterValue', /^limit: must be a whole number from 1 to 1000$/],
      ['limit=1001', 'InvalidParameterValue', /^limit: /],
      ['limit=ten', 'InvalidParameter', /^limit: must be a whole number from 1 to 1000$/],
      ['limit=2.5', 'InvalidParameter', /^limit: must be a whole number from 1 to 1000$/],
      ['format=wav', 'InvalidParameterValue', /^format: /],
      ['from=yesterday', 'InvalidParameterValue', /^from: must be ISO 8601 with a zone .* or Unix seconds$/],
      ['to=2024-05-01T00:00:00', 'InvalidParameterValue', /^to: /],
      ['from=1714600000&to=1714500000', 'InvalidParameterValue', /^to: must be later than from$/],
      ['cursor=garbage!', 'InvalidParameterValue', /^cursor: is not a cursor of this listing/],
      [`cursor=${bySize}`, 'InvalidParameterValue', /^cursor: was made for sort=size and order=desc/],
      ['sort=start&sort=size', 'InvalidParameterValue', /^sort: /],
      ['page=2', 'UnknownParameter', /page/],
    ];
    for (const [query, code, message] of refusals) {
      const { status, body } = await call(server, 'GET', `/api/recordings?${query}`);
      expect(status, query).toBe(400);
      const error = (body.Response as { Error: { Code: string; Message: string } }).Error;
      expect(error.Code, query).toBe(code);
      expect(error.Message, query).toMatch(message);
    }
  });
});

describe('GET and DELETE /api/recordings/:fileId', () => {
  it('answers one recording, and 404 for an unknown one', async () => {
    const { status, body } = await call(server, 'GET', `/api/recordings/${ALL[7]!.fileId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ fileId: ALL[7]!.fileId, key: ALL[7]!.key, size: ALL[7]!.size });
    const missing = await call(server, 'GET', '/api/recordings/no-such-file');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ Response: { Error: { Code: 'ResourceNotFound' } } });
  });

  it('deletes a recording: its files leave the disk, its entry the index', async () => {
    const mp4 = recording(2000, { fileId: 'del-mp4', key: 'live/del_2024.mp4', format: 'mp4' });
    const hls = recording(2001, { fileId: 'del-hls', key: 'live/delhls_2024.m3u8', format: 'hls' });
    await store.putBuffer(Buffer.from('mp4 bytes'), mp4.key);
    const playlist = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXTINF:2.000,',
      'delhls_2024_0.ts',
      '#EXTINF:2.000,',
      'delhls_2024_1.ts',
      '#EXT-X-ENDLIST',
      '',
    ].join('\n');
    await store.putBuffer(Buffer.from(playlist), hls.key);
    await store.putBuffer(Buffer.from('ts 0'), 'live/delhls_2024_0.ts');
    await store.putBuffer(Buffer.from('ts 1'), 'live/delhls_2024_1.ts');
    await index.addMany([mp4, hls]);
    const files = ['live/del_2024.mp4', hls.key, 'live/delhls_2024_0.ts', 'live/delhls_2024_1.ts'].map((k) =>
      join(dataDir, k),
    );
    expect(files.every((f) => existsSync(f))).toBe(true);

    for (const entry of [mp4, hls]) {
      expect(await call(server, 'DELETE', `/api/recordings/${entry.fileId}`)).toEqual({
        status: 200,
        body: { fileId: entry.fileId, deleted: true },
      });
      expect((await call(server, 'GET', `/api/recordings/${entry.fileId}`)).status).toBe(404);
      expect((await call(server, 'DELETE', `/api/recordings/${entry.fileId}`)).status).toBe(404);
    }
    expect(files.filter((f) => existsSync(f))).toEqual([]);
    const { ids } = await pageAll('limit=1000');
    expect(ids).toHaveLength(1000);
    expect(ids).not.toContain('del-mp4');
  });

  it('a wrong method on a recording is a 405 naming the allowed ones', async () => {
    const res = await server.app.inject({ method: 'PUT', url: '/api/recordings/x', payload: {} });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('DELETE, GET');
  });
});

describe('the /api/ guard on recordings', () => {
  it('a viewer lists and reads but may not delete; an admin deletes', async () => {
    const victim = recording(3000, { fileId: 'guarded-1', key: 'live/guarded_2024.mp4', format: 'mp4' });
    await index.add(victim);
    expect((await call(guarded, 'GET', '/api/recordings?limit=1', VIEWER)).status).toBe(200);
    expect((await call(guarded, 'GET', '/api/recordings/guarded-1', VIEWER)).status).toBe(200);
    const refused = await call(guarded, 'DELETE', '/api/recordings/guarded-1', VIEWER);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('token wall is a viewer');
    expect((await index.get(['guarded-1'])).length).toBe(1);
    expect((await call(guarded, 'DELETE', '/api/recordings/guarded-1')).status).toBe(401);
    expect(await call(guarded, 'DELETE', '/api/recordings/guarded-1', ADMIN)).toEqual({
      status: 200,
      body: { fileId: 'guarded-1', deleted: true },
    });
    expect(await index.get(['guarded-1'])).toEqual([]);
  });
});
