import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/storage/object-store.js';
import { publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

interface ExpiryAnswer {
  key: string;
  keys: string[];
  expiresAt: string | null;
}

async function api(rec: TestRecorder, method: 'GET' | 'PUT', body?: unknown, token?: string) {
  const base = `http://127.0.0.1:${rec.recorder.httpPort}/api/media/expiry`;
  const key = method === 'GET' ? (body as string) : undefined;
  const res = await fetch(key ? `${base}?key=${encodeURIComponent(key)}` : base, {
    method,
    headers: {
      ...(method === 'PUT' ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(method === 'PUT' ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as ExpiryAnswer & { message?: string } };
}

describe('retention on local disk (record.storageDays)', () => {
  let rec: TestRecorder;
  let files: string[];

  beforeAll(async () => {
    rec = await startRecorder({ record: { formats: ['hls', 'mp4', 'flv'], storageDays: 2 } });
    const pusher = publish(rec.rtmpUrl('keep'), { seconds: 5 });
    expect(await pusher.exited).toBe(0);
    await rec.recorder.manager.shutdown();
    files = await rec.files();
  });

  afterAll(async () => {
    await rec?.stop();
  });

  const named = (ext: string) => files.find((f) => f.endsWith(ext) && !f.endsWith('.live.m3u8'))!;

  it('every stored file expires storageDays after it was stored', async () => {
    const { status, json } = await api(rec, 'GET', `live/${named('.mp4')}`);
    expect(status).toBe(200);
    const expires = Date.parse(json.expiresAt!);
    expect(expires).toBeGreaterThan(Date.now() + 2 * DAY_MS - 120_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 2 * DAY_MS);
  });

  it('pins an HLS recording (playlist and every segment), extends another, and the sweeper spares both', async () => {
    const playlist = `live/${named('.m3u8')}`;
    const before = await api(rec, 'GET', playlist);
    const segments = before.json.keys.filter((k) => k.endsWith('.ts'));
    expect(segments.length).toBeGreaterThan(1);

    const indexed = async () =>
      (
        await rec.recorder.mediaIndex.search({
          namePrefixes: ['keep'],
          order: 'asc',
          offset: 0,
          limit: 10,
          countCap: 5000,
        })
      ).entries.find((e) => e.key === playlist);
    expect((await indexed())?.expireTimeMs).toBeGreaterThan(Date.now());

    const pinned = await api(rec, 'PUT', { key: playlist, expiresAt: null });
    expect(pinned.status).toBe(200);
    expect(pinned.json.expiresAt).toBeNull();
    expect(pinned.json.keys).toEqual(before.json.keys);
    // SearchMedia's ExpireTime follows.
    expect((await indexed())?.expireTimeMs).toBeNull();

    const mp4 = `live/${named('.mp4')}`;
    const later = new Date(Date.now() + 10 * DAY_MS).toISOString();
    const extended = await api(rec, 'PUT', { key: mp4, expiresAt: later });
    expect(extended.json.expiresAt).toBe(later);
    expect((await api(rec, 'GET', mp4)).json.expiresAt).toBe(later);

    // A media's thumbnails expire with it (their expiry moved with the media's).
    const withThumbnails = (key: string) => [key, `${key}.jpg`, `${key}.sprite.jpg`, `${key}.vtt`].sort();
    // Three days on: the FLV (2 days) goes; the pinned HLS and the extended MP4 stay.
    const removed = await rec.recorder.sweepExpired(new Date(Date.now() + 3 * DAY_MS));
    expect([...removed].sort()).toEqual(withThumbnails(`live/${named('.flv')}`));
    expect(existsSync(join(rec.dataDir, named('.flv')))).toBe(false);
    for (const key of [playlist, ...segments, mp4])
      expect(existsSync(join(rec.dataDir, key)), key).toBe(true);

    // Eleven days on, the MP4 goes too; the pinned recording never does.
    expect([...(await rec.recorder.sweepExpired(new Date(Date.now() + 11 * DAY_MS)))].sort()).toEqual(
      withThumbnails(mp4),
    );
    expect(await rec.recorder.sweepExpired(new Date(Date.now() + 5000 * DAY_MS))).toEqual([]);
  });

  it('bad requests answer 400 or 404 with a message, never a stack', async () => {
    const bad = await api(rec, 'PUT', { key: 'live/x.mp4', expiresAt: 'tomorrow' });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/expiresAt/);
    const escape = await api(rec, 'GET', '../etc/passwd');
    expect(escape.status).toBe(400);
    const missing = await api(rec, 'GET', 'live/none.mp4');
    expect(missing.status).toBe(404);
    expect(JSON.stringify(missing.json)).not.toMatch(/at .*\.js/);
  });
});

describe('the media API with api.adminToken', () => {
  it('needs the bearer token', async () => {
    const token = 'a-token-of-enough-length';
    const rec = await startRecorder({ api: { adminToken: token } });
    try {
      expect((await api(rec, 'GET', 'live/none.mp4')).status).toBe(401);
      expect((await api(rec, 'GET', 'live/none.mp4', 'wrong-token-of-enough-len')).status).toBe(401);
      expect((await api(rec, 'GET', 'live/none.mp4', token)).status).toBe(404);
    } finally {
      await rec.stop();
    }
  });
});
