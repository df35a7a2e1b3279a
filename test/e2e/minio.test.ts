import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlaylist } from '../../src/recording/hls-playlist.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { decode, probe } from '../helpers/media.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

let minio: TestMinio;
let receiver: CallbackReceiver;
const recorders: TestRecorder[] = [];
// Two minutes, so that many upload retries fail before MinIO returns.
const MINIO_DOWN_MS = 122_000;

beforeAll(async () => {
  minio = await startMinio();
  receiver = await startCallbackReceiver();
});

afterAll(async () => {
  for (const rec of recorders) await rec.stop().catch(() => {});
  await receiver?.close();
  await minio?.destroy();
});

function client(): Client {
  return new Client({
    endPoint: minio.endPoint,
    port: minio.port,
    useSSL: false,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  });
}

function storage(bucket: string, overrides: Record<string, unknown> = {}) {
  return {
    type: 'minio' as const,
    endPoint: minio.endPoint,
    port: minio.port,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket,
    ...overrides,
  };
}

async function start(
  formats: ('hls' | 'mp4' | 'flv' | 'aac')[],
  bucket: string,
  options: { dataDir?: string; storage?: Record<string, unknown>; drainTimeoutMs?: number } = {},
): Promise<TestRecorder> {
  const rec = await startRecorder(
    {
      record: { formats, hlsSegmentSeconds: 1 },
      storage: storage(bucket, options.storage),
      callback: { url: receiver.url },
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    },
    options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {},
  );
  recorders.push(rec);
  return rec;
}

const ofStream = (stream: string, format?: string) => (body: Record<string, unknown>) =>
  body.event_type === 100 && body.stream_id === stream && (!format || body.file_format === format);

async function keys(bucket: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of client().listObjectsV2(bucket, '', true)) if (item.name) names.push(item.name);
  return names.sort();
}

async function read(bucket: string, key: string): Promise<string> {
  return text(await client().getObject(bucket, key));
}

/** The final playlist of a stream, parsed, with its segment keys. */
async function finalPlaylist(bucket: string, stream: string) {
  const all = await keys(bucket);
  const name = all.find((k) => k.includes(`/${stream}_`) && k.endsWith('.m3u8') && !k.endsWith('.live.m3u8'));
  expect(name, `final playlist of ${stream} in ${all.join(', ')}`).toBeDefined();
  const parsed = parsePlaylist(await read(bucket, name!));
  return { name: name!, ...parsed, all };
}

async function staged(rec: TestRecorder): Promise<string[]> {
  return readdir(join(rec.dataDir, '.uploads', 'files')).catch(() => []);
}

describe('recording to MinIO', () => {
  it('stores every object before its event 100, never lists a missing segment, and leaves nothing local', async () => {
    const bucket = `rec-${randomBytes(3).toString('hex')}`;
    const rec = await start(['hls', 'mp4', 'flv'], bucket);
    const pusher = publish(rec.rtmpUrl('m1'), { seconds: 8 });

    // While recording: every uploaded live playlist names only segments already in the bucket.
    let liveChecks = 0;
    const watching = (async () => {
      while (pusher.child.exitCode === null) {
        const all = await keys(bucket).catch(() => [] as string[]);
        const live = all.find((k) => k.endsWith('.live.m3u8'));
        if (live) {
          const text = await read(bucket, live).catch(() => undefined);
          if (text) {
            const dir = live.slice(0, live.lastIndexOf('/') + 1);
            const named = parsePlaylist(text).segments.map((s) => dir + s.uri);
            const present = new Set(await keys(bucket));
            for (const key of named) expect(present.has(key), `${key} named before it was stored`).toBe(true);
            expect(text).not.toContain('#EXT-X-ENDLIST');
            liveChecks++;
          }
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    expect(await pusher.exited).toBe(0);
    await watching;
    expect(liveChecks).toBeGreaterThan(0);

    for (const format of ['hls', 'mp4', 'flv']) {
      const [body] = await receiver.waitFor(ofStream('m1', format));
      // At the callback, every object of the file is already stored.
      const present = new Set(await keys(bucket));
      if (format === 'hls') {
        const { name, segments, ended } = await finalPlaylist(bucket, 'm1');
        expect(ended).toBe(true);
        // 8 s with a 2 s GOP: four segments at least.
        expect(segments.length).toBeGreaterThanOrEqual(4);
        for (const s of segments) expect(present.has(`live/${s.uri}`)).toBe(true);
        expect(String(body!.video_url)).toContain(`/${bucket}/${name}`);
      } else {
        const url = String(body!.video_url);
        expect(url).toContain('X-Amz-Signature=');
        const info = await probe(url);
        expect(Number(info.format.duration)).toBeGreaterThan(6);
        const { errors } = await decode(url);
        expect(errors).toEqual([]);
      }
    }
    // The live playlist is gone once the final one is stored; nothing is left on local disk.
    expect((await keys(bucket)).filter((k) => k.endsWith('.live.m3u8'))).toEqual([]);
    await rec.recorder.uploads.drain(10_000);
    expect(await staged(rec)).toEqual([]);
    expect(await readdir(join(rec.dataDir, 'live')).catch(() => [])).toEqual([]);
  });

  it('MinIO stopped mid-recording for two minutes and started again: no file lost, callbacks after the recovery', async () => {
    const bucket = `out-${randomBytes(3).toString('hex')}`;
    const rec = await start(['hls', 'mp4'], bucket);
    let failures = 0;
    rec.recorder.uploads.on('failed', () => failures++);
    const pusher = publish(rec.rtmpUrl('m2'), { seconds: 12 });
    await eventually(
      async () => (await keys(bucket)).some((k) => k.endsWith('.ts')),
      20_000,
      'a first segment',
    );
    await minio.stop();
    const stoppedAt = Date.now();
    // The push ends and its files finish while MinIO is away; it stays down through two minutes of retries.
    expect(await pusher.exited).toBe(0);
    // The files are finished and queued durably: the recording itself ends while MinIO is still down.
    await eventually(() => rec.recorder.manager.sessions.length === 0, 40_000, 'the recording to end');
    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + MINIO_DOWN_MS - Date.now())));
    expect(receiver.bodies.filter(ofStream('m2'))).toEqual([]);
    expect(rec.recorder.uploads.pending().length).toBeGreaterThan(0);
    const failedWhileDown = failures;
    await minio.restart();

    const [hls] = await receiver.waitFor(ofStream('m2', 'hls'), 1, 90_000);
    const [mp4] = await receiver.waitFor(ofStream('m2', 'mp4'), 1, 90_000);
    // The queue kept retrying through the outage (one retry a second here, at most).
    expect(failedWhileDown).toBeGreaterThan(10);
    const arrivals = receiver.bodies.filter(ofStream('m2'));
    expect(arrivals.length).toBe(2);
    // Media recorded after MinIO went away is in the files.
    expect(Number(hls!.end_time) * 1000).toBeGreaterThan(stoppedAt);

    // Every segment of the recording is there, numbered without a gap, and the playlist covers the push.
    const { segments, all } = await finalPlaylist(bucket, 'm2');
    const seqs = segments.map((s) => s.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    for (const s of segments) expect(all).toContain(`live/${s.uri}`);
    const total = segments.reduce((sum, s) => sum + s.durationSeconds, 0);
    expect(total).toBeGreaterThan(10);
    const info = await probe(String(mp4!.video_url));
    expect(Number(info.format.duration)).toBeGreaterThan(10);
    await rec.recorder.uploads.drain(10_000);
    expect(await staged(rec)).toEqual([]);
  }, 240_000);

  it('uploads left pending at shutdown resume after a restart of the recorder', async () => {
    const bucket = `rst-${randomBytes(3).toString('hex')}`;
    await minio.stop();
    const first = await start(['mp4', 'hls'], bucket, { drainTimeoutMs: 500 });
    const pusher = publish(first.rtmpUrl('m3'), { seconds: 5 });
    expect(await pusher.exited).toBe(0);
    await eventually(() => first.recorder.manager.sessions.length === 0, 30_000, 'recording finished');
    await first.recorder.stop();
    const pending = await readdir(join(first.dataDir, '.uploads', 'jobs'));
    expect(pending.length).toBeGreaterThan(2);
    expect(receiver.bodies.filter(ofStream('m3'))).toEqual([]);

    await minio.restart();
    const second = await start(['mp4', 'hls'], bucket, { dataDir: first.dataDir });
    await receiver.waitFor(ofStream('m3', 'mp4'), 1, 60_000);
    await receiver.waitFor(ofStream('m3', 'hls'), 1, 60_000);
    const { segments, all } = await finalPlaylist(bucket, 'm3');
    for (const s of segments) expect(all).toContain(`live/${s.uri}`);
    await second.recorder.uploads.drain(10_000);
    expect(await readdir(join(second.dataDir, '.uploads', 'jobs'))).toEqual([]);
    expect(await staged(second)).toEqual([]);
  });

  it('a wrong secret is a clear error: readiness says so, no callback, the files stay local', async () => {
    const bucket = `bad-${randomBytes(3).toString('hex')}`;
    const rec = await start(['mp4'], bucket, {
      storage: { secretKey: 'definitely-wrong' },
      drainTimeoutMs: 200,
    });
    const codes: string[] = [];
    rec.recorder.uploads.on('failed', (_job, err) => codes.push(String((err as { code?: string }).code)));
    const pusher = publish(rec.rtmpUrl('m4'), { seconds: 4 });
    expect(await pusher.exited).toBe(0);
    await eventually(() => codes.length > 0, 30_000, 'an upload failure');
    expect(codes[0]).toBe('STORAGE_AUTH');
    const ready = (await (await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/readyz`)).json()) as {
      storage?: { ok: boolean; error: string };
    };
    expect(ready.storage?.ok).toBe(false);
    expect(ready.storage?.error).toMatch(/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch/);
    expect(ready.storage?.error).toContain('storage.secretKey');
    expect(await staged(rec)).toHaveLength(1);
    expect(receiver.bodies.filter(ofStream('m4'))).toEqual([]);
  });
});
