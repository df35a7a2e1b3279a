import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { decode } from '../helpers/media.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const PUSH_SECONDS = 6;
/** The publisher's absence between the two pushes: the scenario itself, not a wait for something. */
const GAP_MS = 3_000;
const RESUME_SECONDS = 10;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const isHls = (b: Record<string, unknown>) => b.file_format === 'hls';
const isMp4 = (b: Record<string, unknown>) => b.file_format === 'mp4';

function baseNameOf(url: unknown): string {
  return decodeURIComponent(new URL(String(url)).pathname.split('/').at(-1)!);
}

/** The recording's head: the playlist's base name without its last `_YYYY-MM-DD-HH-MM-SS` (the end time). */
function headOf(playlistName: string): string {
  const base = playlistName.replace(/\.m3u8$/, '');
  const head = base.replace(/_\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$/, '');
  expect(head, `${playlistName} ends with an end time`).not.toBe(base);
  return head;
}

function segmentNumber(uri: string): number {
  const match = /_(\d+)\.ts$/.exec(uri);
  expect(match, `segment ${uri} is numbered`).not.toBeNull();
  return Number(match![1]);
}

function parseMedia(text: string): HLS.types.MediaPlaylist {
  const playlist = HLS.parse(text);
  expect(playlist.isMasterPlaylist).toBe(false);
  return playlist as HLS.types.MediaPlaylist;
}

const discontinuityLines = (text: string) =>
  text.split(/\r?\n/).filter((line) => line.trim() === '#EXT-X-DISCONTINUITY').length;

/** Waits until the recorder has no recording left and every callback is delivered. */
async function settled(rec: TestRecorder): Promise<void> {
  await eventually(
    () => rec.recorder.manager.sessions.length === 0 && rec.recorder.outbox.pending().length === 0,
    30_000,
    'recordings to finish and callbacks to be delivered',
  );
}

/** Pushes twice on one stream with a GAP_MS absence between; returns when the second publisher left. */
async function pushTwice(rec: TestRecorder, stream: string): Promise<number> {
  const first = publish(rec.rtmpUrl(stream), { seconds: PUSH_SECONDS });
  expect(await first.exited).toBe(0);
  await delay(GAP_MS);
  const second = publish(rec.rtmpUrl(stream), { seconds: PUSH_SECONDS });
  expect(await second.exited).toBe(0);
  return Date.now();
}

describe(`with hlsResumeTimeoutSeconds ${RESUME_SECONDS}`, () => {
  let receiver: CallbackReceiver;
  let rec: TestRecorder;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: ['hls', 'mp4'], hlsResumeTimeoutSeconds: RESUME_SECONDS, hlsSegmentSeconds: 2 },
      callback: { url: receiver.url },
    });
  });

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('a publish that returns within the window continues the same playlist', async () => {
    // Armed before the first push, so a callback sent at the interruption would be seen too early.
    const hlsArrival = receiver.waitFor(isHls, 1, 90_000).then(() => Date.now());
    // Handled here too, so a push that fails first does not leave it rejecting unobserved.
    hlsArrival.catch(() => {});
    const secondEnd = await pushTwice(rec, 'resume1');
    // Still inside the window: only the live playlist exists, without ENDLIST, naming stored segments only.
    const open = (await rec.files()).filter((f) => f.endsWith('.m3u8'));
    expect(open).toHaveLength(1);
    expect(open[0]).toMatch(/\.live\.m3u8$/);
    const live = await readFile(join(rec.dataDir, 'live', open[0]!), 'utf8');
    expect(live).not.toContain('#EXT-X-ENDLIST');
    for (const uri of live.split('\n').filter((l) => l.endsWith('.ts'))) {
      expect(existsSync(join(rec.dataDir, 'live', uri)), uri).toBe(true);
    }

    const arrivedAt = await hlsArrival;
    // The playlist is announced only once the window after the second push has expired.
    expect(arrivedAt - secondEnd).toBeGreaterThanOrEqual((RESUME_SECONDS - 2) * 1000);
    await delay(1_000);
    await settled(rec);

    const hlsBodies = receiver.bodies.filter(isHls);
    expect(hlsBodies).toHaveLength(1);
    expect(receiver.bodies.filter(isMp4)).toHaveLength(2);

    const files = await rec.files();
    const playlists = files.filter((f) => f.endsWith('.m3u8'));
    expect(playlists).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.mp4'))).toHaveLength(2);
    const playlistName = playlists[0]!;
    expect(baseNameOf(hlsBodies[0]!.video_url)).toBe(playlistName);

    const playlistPath = join(rec.dataDir, 'live', playlistName);
    const text = await readFile(playlistPath, 'utf8');
    expect(discontinuityLines(text)).toBe(1);
    expect(text).toContain('#EXT-X-ENDLIST');

    const playlist = parseMedia(text);
    const uris = playlist.segments.map((s) => s.uri);
    expect(uris.length).toBeGreaterThanOrEqual(4);
    // The discontinuity marks where the second push starts, not the first segment.
    const joinAt = playlist.segments.findIndex((s) => s.discontinuity);
    expect(joinAt).toBeGreaterThan(0);
    expect(joinAt).toBeLessThan(uris.length - 1);

    // Numbering runs on across the join, one by one.
    const numbers = uris.map(segmentNumber);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]! - numbers[i - 1]!).toBe(1);
    expect(playlist.mediaSequenceBase ?? 0).toBe(numbers[0]);

    // Every segment exists, and shares the playlist's head; no segment is left out of the playlist.
    const head = headOf(playlistName);
    for (const uri of uris) {
      expect(uri.startsWith(`${head}_`), `${uri} starts with ${head}_`).toBe(true);
      expect(files).toContain(uri);
    }
    expect(files.filter((f) => f.endsWith('.ts')).sort()).toEqual([...uris].sort());

    const { errors, seconds } = await decode(playlistPath);
    expect(errors).toEqual([]);
    expect(seconds).toBeGreaterThanOrEqual(2 * PUSH_SECONDS - 1.5);
    expect(seconds).toBeLessThanOrEqual(2 * PUSH_SECONDS + 1.5);
  }, 120_000);
});

describe('with hlsResumeTimeoutSeconds 0', () => {
  let receiver: CallbackReceiver;
  let rec: TestRecorder;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: ['hls', 'mp4'], hlsResumeTimeoutSeconds: 0, hlsSegmentSeconds: 2 },
      callback: { url: receiver.url },
    });
  });

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('every interruption ends the playlist', async () => {
    await pushTwice(rec, 'resume0');
    await receiver.waitFor(isHls, 2, 60_000);
    await settled(rec);

    const hlsBodies = receiver.bodies.filter(isHls);
    expect(hlsBodies).toHaveLength(2);
    expect(receiver.bodies.filter(isMp4)).toHaveLength(2);

    const files = await rec.files();
    const playlists = files.filter((f) => f.endsWith('.m3u8'));
    expect(playlists).toHaveLength(2);
    expect(hlsBodies.map((b) => baseNameOf(b.video_url)).sort()).toEqual(playlists);

    const heads = new Set<string>();
    for (const name of playlists) {
      const text = await readFile(join(rec.dataDir, 'live', name), 'utf8');
      expect(discontinuityLines(text), `discontinuities in ${name}`).toBe(0);
      expect(text, name).toContain('#EXT-X-ENDLIST');
      const head = headOf(name);
      heads.add(head);
      const uris = parseMedia(text).segments.map((s) => s.uri);
      expect(uris.length, `segments of ${name}`).toBeGreaterThan(0);
      for (const uri of uris) {
        expect(uri.startsWith(`${head}_`), `${uri} starts with ${head}_`).toBe(true);
        expect(files).toContain(uri);
      }
    }
    // Two recordings, each with its own prefix.
    expect(heads.size).toBe(2);
  }, 120_000);
});
