import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlaylist } from '../../src/recording/hls-playlist.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { decode, probe } from '../helpers/media.js';
import { GOP_SECONDS } from '../helpers/fixtures.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = 'Play8ack5ignKey';
const PUSH_SECONDS = 6;

/**
 * Tencent's hotlink formula, written from its documentation and run by Python, not by the recorder's code:
 * sign = md5(KEY + Dir + t + exper + rlimit + us), t in lowercase hex, Dir the path up to its last "/".
 */
function tencentSigned(url: string, expiresAt: number, extra: { exper?: number; us?: string } = {}): string {
  const script = [
    'import hashlib, sys, urllib.parse',
    'key, url, expires, exper, us = sys.argv[1:6]',
    'parts = urllib.parse.urlsplit(url)',
    'path = parts.path',
    'dir = path[: path.rfind("/") + 1]',
    't = format(int(expires), "x")',
    'sign = hashlib.md5((key + dir + t + exper + "" + us).encode()).hexdigest()',
    'query = "t=" + t + ("&exper=" + exper if exper else "") + "&us=" + us + "&sign=" + sign',
    'print(urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, query, "")))',
  ].join('\n');
  return execFileSync(
    'python3',
    ['-c', script, KEY, url, String(expiresAt), String(extra.exper ?? ''), extra.us ?? 'a1b2c3'],
    { encoding: 'utf8' },
  ).trim();
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const ofStream = (stream: string, format: string) => (body: Record<string, unknown>) =>
  body.event_type === 100 && body.stream_id === stream && body.file_format === format;

let receiver: CallbackReceiver;
let minio: TestMinio;
let local: TestRecorder;
let remote: TestRecorder;
const bucket = `play-${randomBytes(3).toString('hex')}`;
const urls = new Map<string, string>();

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  minio = await startMinio();
  local = await startRecorder({
    record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 1 },
    callback: { url: receiver.url },
    playback: { key: KEY, urlTtlSeconds: 3600 },
  });
  // A private bucket, with video_url on the playback route.
  remote = await startRecorder({
    record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 1 },
    callback: { url: receiver.url },
    storage: minio.storage(bucket, { videoUrl: 'playback' }),
  });
  const pushes = [publish(local.rtmpUrl('signed'), { seconds: PUSH_SECONDS })];
  pushes.push(publish(remote.rtmpUrl('private'), { seconds: PUSH_SECONDS }));
  for (const p of pushes) expect(await p.exited).toBe(0);
  for (const [stream, format] of [
    ['signed', 'hls'],
    ['signed', 'mp4'],
    ['private', 'hls'],
    ['private', 'mp4'],
  ] as const) {
    const [body] = await receiver.waitFor(ofStream(stream, format), 1, 60_000);
    urls.set(`${stream}.${format}`, String(body!.video_url));
  }
}, 120_000);

afterAll(async () => {
  await local?.stop();
  await remote?.stop();
  await minio?.destroy();
  await receiver?.close();
});

describe('playback from a private MinIO bucket through /play/', () => {
  it('video_url of HLS is the playback route, and ffmpeg decodes the whole recording from it', async () => {
    const url = urls.get('private.hls')!;
    expect(url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${remote.recorder.httpPort}/play/live/private_.*\\.m3u8$`),
    );
    const { errors, seconds } = await decode(url);
    expect(errors).toEqual([]);
    expect(seconds).toBeGreaterThan(PUSH_SECONDS - 1.5);
  });

  it('the bucket itself refuses the same objects without signing', async () => {
    const path = new URL(urls.get('private.hls')!).pathname.replace(/^\/play\//, '');
    const direct = await fetch(`http://${minio.endPoint}:${minio.port}/${bucket}/${path}`);
    expect(direct.status).toBe(403);
    expect(await direct.text()).toContain('AccessDenied');
    const mp4 = await fetch(
      `http://${minio.endPoint}:${minio.port}/${bucket}/${new URL(urls.get('private.mp4')!).pathname.slice(6)}`,
    );
    expect(mp4.status).toBe(403);
  });

  it('an MP4 is served with byte ranges, the bytes those of the stored object', async () => {
    const url = urls.get('private.mp4')!;
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(whole.length).toBeGreaterThan(10_000);
    const ranged = await fetch(url, { headers: { range: 'bytes=100-1099' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-1099/${whole.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(whole.subarray(100, 1100))).toBe(true);
    const tail = await fetch(url, { headers: { range: 'bytes=-500' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 500))).toBe(true);
    const beyond = await fetch(url, { headers: { range: `bytes=${whole.length + 10}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${whole.length}`);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(whole.length));
    expect(head.headers.get('content-type')).toBe('video/mp4');
    const info = await probe(url);
    expect(Number(info.format.duration)).toBeGreaterThan(PUSH_SECONDS - 1.5);
  });

  it('a key that is not stored is 404; a hidden or escaping path is never served', async () => {
    const base = `http://127.0.0.1:${remote.recorder.httpPort}/play`;
    expect((await fetch(`${base}/live/none.mp4`)).status).toBe(404);
    expect((await fetch(`${base}/.work/x.mp4`)).status).toBe(404);
    expect((await fetch(`${base}/live/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
  });
});

describe('signed playback URLs (playback.key), on the local disk', () => {
  const base = () => `http://127.0.0.1:${local.recorder.httpPort}`;

  it('video_url is signed; the HLS it names decodes whole, every segment fetched with the carried signature', async () => {
    const url = new URL(urls.get('signed.hls')!);
    expect([...url.searchParams.keys()]).toEqual(['t', 'us', 'sign']);
    const expires = parseInt(url.searchParams.get('t')!, 16);
    expect(Math.abs(expires - (nowSeconds() + 3600))).toBeLessThan(120);
    const { errors, seconds } = await decode(url.href);
    expect(errors).toEqual([]);
    expect(seconds).toBeGreaterThan(PUSH_SECONDS - 1.5);
  });

  it('a URL signed by Tencent’s formula, not the recorder’s code, plays on /play/ and on the raw route', async () => {
    const path = new URL(urls.get('signed.hls')!).pathname;
    for (const route of [`${base()}${path}`, `${base()}/play${path}`]) {
      const signed = tencentSigned(route, nowSeconds() + 600);
      const answer = await fetch(signed);
      expect(answer.status, route).toBe(200);
      const served = await answer.text();
      const query = new URL(signed).search;
      const segments = parsePlaylist(served).segments;
      expect(segments.length).toBeGreaterThanOrEqual(PUSH_SECONDS / GOP_SECONDS);
      // Every segment URI carries the playlist's signature, and each one checks out.
      for (const segment of segments) {
        expect(segment.uri.endsWith(query), segment.uri).toBe(true);
        const got = await fetch(new URL(segment.uri, signed));
        expect(got.status, segment.uri).toBe(200);
        expect((await got.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      }
      // The same segment bare is refused.
      const bare = new URL(segments[0]!.uri, signed);
      bare.search = '';
      expect((await fetch(bare)).status).toBe(403);
    }
  });

  it('within Tencent’s 5 minutes of skew a URL still plays; past them it is 403', async () => {
    const mp4 = `${base()}${new URL(urls.get('signed.mp4')!).pathname}`;
    expect((await fetch(tencentSigned(mp4, nowSeconds() - 200))).status).toBe(200);
    const expired = await fetch(tencentSigned(mp4, nowSeconds() - 400));
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { message: string }).message).toMatch(/expired/);
  });

  it('a tampered signature, expiry or path is 403; so are unsigned requests on every media route', async () => {
    const mp4 = `${base()}${new URL(urls.get('signed.mp4')!).pathname}`;
    const signed = new URL(tencentSigned(mp4, nowSeconds() + 600));
    const tampered = new URL(signed);
    tampered.searchParams.set(
      'sign',
      signed.searchParams.get('sign')!.replace(/^./, (c) => (c === '0' ? '1' : '0')),
    );
    expect((await fetch(tampered)).status).toBe(403);
    const later = new URL(signed);
    later.searchParams.set('t', (parseInt(signed.searchParams.get('t')!, 16) + 3600).toString(16));
    expect((await fetch(later)).status).toBe(403);
    // Another directory's file under the same query.
    const elsewhere = new URL(signed);
    elsewhere.pathname = `/play${signed.pathname}`;
    expect((await fetch(elsewhere)).status).toBe(403);
    for (const unsigned of [mp4, `${base()}/play${new URL(mp4).pathname}`, mp4.replace(/\.mp4$/, '.m3u8')]) {
      const answer = await fetch(unsigned);
      expect(answer.status, unsigned).toBe(403);
      expect(((await answer.json()) as { message: string }).message).toMatch(/not signed/);
    }
    expect((await fetch(signed)).status).toBe(200);
  });

  it('a signed range of the raw route gives the bytes on disk', async () => {
    const path = new URL(urls.get('signed.mp4')!).pathname;
    const onDisk = await readFile(join(local.dataDir, decodeURIComponent(path)));
    const signed = tencentSigned(`${base()}/play${path}`, nowSeconds() + 600);
    const ranged = await fetch(signed, { headers: { range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(onDisk.subarray(0, 100))).toBe(true);
  });

  it('exper previews an HLS recording: the playlist ends after the segments that start within it', async () => {
    const path = new URL(urls.get('signed.hls')!).pathname;
    const preview = await fetch(tencentSigned(`${base()}/play${path}`, nowSeconds() + 600, { exper: 2 }));
    expect(preview.status).toBe(200);
    const { segments, ended } = parsePlaylist(await preview.text());
    expect(ended).toBe(true);
    const total = segments.reduce((sum, s) => sum + s.durationSeconds, 0);
    expect(total).toBeGreaterThanOrEqual(2);
    expect(total - segments.at(-1)!.durationSeconds).toBeLessThan(2);
    const whole = parsePlaylist(await (await fetch(urls.get('signed.hls')!)).text());
    expect(segments.length).toBeLessThan(whole.segments.length);
  });
});
