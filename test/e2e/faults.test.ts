import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordingSession } from '../../src/recording/recording-session.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { decode, probe } from '../helpers/media.js';
import { eventually, killEngine, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function recorderWith(overrides: Parameters<typeof startRecorder>[0]): Promise<TestRecorder> {
  const rec = await startRecorder(overrides);
  cleanups.push(() => rec.stop());
  return rec;
}

async function receiver(): Promise<CallbackReceiver> {
  const r = await startCallbackReceiver();
  cleanups.push(() => r.close());
  return r;
}

/** The session of a stream once its current run writes. */
function recordingSession(rec: TestRecorder, stream: string): Promise<RecordingSession> {
  return eventually(
    () => {
      const session = rec.recorder.manager.sessionOf('live', stream);
      return session?.state === 'recording' && session.currentRun?.writing ? session : undefined;
    },
    30_000,
    `${stream} recording`,
  );
}

/** Where a callback's video_url is stored under dataDir. */
function fileOf(rec: TestRecorder, body: Record<string, unknown>): string {
  return join(rec.dataDir, decodeURIComponent(new URL(String(body.video_url)).pathname));
}

/** The durations an HLS playlist declares, and whether it has a discontinuity or an end. */
async function playlist(path: string): Promise<{ seconds: number; discontinuity: boolean; ended: boolean }> {
  const text = await readFile(path, 'utf8');
  const seconds = [...text.matchAll(/^#EXTINF:([\d.]+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  return {
    seconds,
    discontinuity: /^#EXT-X-DISCONTINUITY\s*$/m.test(text),
    ended: /^#EXT-X-ENDLIST\s*$/m.test(text),
  };
}

const byFormat = (stream: string, format: string) => (b: Record<string, unknown>) =>
  b.stream_id === stream && b.file_format === format;

/** Records a push, SIGKILLs the run's engine after 5 s, and returns the MP4 files and their callbacks. */
async function recordThroughKill(pushSeconds: number) {
  const callbacks = await receiver();
  const rec = await recorderWith({ record: { formats: ['mp4'] }, callback: { url: callbacks.url } });
  const publisher = publish(rec.rtmpUrl('killed'), { seconds: pushSeconds });
  const session = await recordingSession(rec, 'killed');
  const run = session.currentRun!;
  // A deliberate span of recording: two 2 s GOPs (fragments) are written by then.
  await eventually(
    () => run.firstMediaWallMs !== undefined && Date.now() - run.firstMediaWallMs >= 5000,
    30_000,
    '5 s of recording',
  );
  const killedAt = Date.now();
  killEngine(run);
  await eventually(() => session.currentRun !== run, 30_000, 'engine restarted');
  const publisherCode = await publisher.exited;
  const final = await session.done;
  const mp4s = (await rec.files()).filter((f) => f.endsWith('.mp4')).map((f) => join(rec.dataDir, 'live', f));
  const bodies = await callbacks.waitFor(byFormat('killed', 'mp4'), Math.max(1, mp4s.length));
  return { rec, killedAt, publisherCode, final, mp4s, bodies };
}

const startOf = (body: Record<string, unknown>) =>
  Number(body.start_time) + Number(body.start_time_usec) / 1e6;

describe('faults', () => {
  it('an engine killed with SIGKILL mid-recording still leaves a readable MP4', async () => {
    const { rec, killedAt, publisherCode, final, mp4s, bodies } = await recordThroughKill(12);
    // The publisher stays connected through the restart and finishes its push.
    expect(publisherCode).toBe(0);
    expect(final).toBe('completed');

    // Seen: 2 files, the killed run's (about 4 s) and the restarted run's.
    expect(mp4s.length).toBeGreaterThanOrEqual(1);
    expect(bodies).toHaveLength(mp4s.length);
    expect(bodies.map((b) => fileOf(rec, b)).sort()).toEqual(mp4s);

    // The file from the killed run: it starts first, before the kill.
    const first = [...bodies].sort((a, b) => startOf(a) - startOf(b))[0]!;
    expect(startOf(first) * 1000).toBeLessThan(killedAt);
    const info = await probe(fileOf(rec, first));
    expect(info.streams.some((s) => s.codec_type === 'video')).toBe(true);
    expect(Number(info.format.duration)).toBeGreaterThan(2);

    for (const file of mp4s) {
      const { errors, seconds } = await decode(file);
      expect(errors, file).toEqual([]);
      expect(seconds, file).toBeGreaterThan(0);
    }
  });

  it('the callback of an MP4 left by a killed engine states the duration the file holds', async () => {
    const { rec, bodies } = await recordThroughKill(8);
    expect(bodies.length).toBeGreaterThanOrEqual(1);
    const restarts = await rec.recorder.metrics.registry
      .getSingleMetric('recorder_ffmpeg_restarts_total')
      ?.get();
    expect(restarts?.values[0]?.value).toBe(1);
    for (const body of bodies) {
      const file = fileOf(rec, body);
      const { seconds } = await decode(file);
      expect(
        Math.abs(Number(body.duration) - seconds),
        `${file}: callback ${String(body.duration)} s, file ${seconds} s`,
      ).toBeLessThanOrEqual(0.5);
    }
  });

  it('a second publisher on a live stream is refused and the first recording is intact', async () => {
    const rec = await recorderWith({ record: { formats: ['mp4', 'hls'] } });
    const a = publish(rec.rtmpUrl('dup'), { seconds: 10 });
    let aExited = false;
    void a.exited.then(() => (aExited = true));
    const session = await recordingSession(rec, 'dup');

    const bStartedAt = Date.now();
    const b = publish(rec.rtmpUrl('dup'), { seconds: 5 });
    const bCode = await b.exited;
    const bSeconds = (Date.now() - bStartedAt) / 1000;
    expect(aExited).toBe(false);
    expect(bCode).not.toBe(0);
    expect(bSeconds).toBeLessThan(4);
    // The refusal did not touch A's recording.
    expect(rec.recorder.manager.sessionOf('live', 'dup')).toBe(session);
    expect(session.state).toBe('recording');

    expect(await a.exited).toBe(0);
    expect(await session.done).toBe('completed');

    const files = await rec.files();
    const mp4s = files.filter((f) => f.endsWith('.mp4'));
    const playlists = files.filter((f) => f.endsWith('.m3u8'));
    expect(mp4s).toHaveLength(1);
    expect(playlists).toHaveLength(1);

    const mp4 = await decode(join(rec.dataDir, 'live', mp4s[0]!));
    expect(mp4.errors).toEqual([]);
    expect(mp4.seconds).toBeGreaterThanOrEqual(9);
    expect(mp4.seconds).toBeLessThanOrEqual(11);

    const m3u8 = join(rec.dataDir, 'live', playlists[0]!);
    const declared = await playlist(m3u8);
    expect(declared.discontinuity).toBe(false);
    expect(declared.ended).toBe(true);
    expect(declared.seconds).toBeGreaterThanOrEqual(9);
    expect(declared.seconds).toBeLessThanOrEqual(11);
    const hls = await decode(m3u8);
    expect(hls.errors).toEqual([]);
    expect(hls.seconds).toBeGreaterThanOrEqual(9);
    expect(hls.seconds).toBeLessThanOrEqual(11);
  });

  it('a push with an unsupported stream fails alone', async () => {
    const callbacks = await receiver();
    const rec = await recorderWith({ record: { formats: ['hls', 'aac'] }, callback: { url: callbacks.url } });
    const x = publish(rec.rtmpUrl('x'), { fixture: 'video.flv', seconds: 5 });
    const y = publish(rec.rtmpUrl('y'), { seconds: 5 });
    const [sx, sy] = await Promise.all([recordingSession(rec, 'x'), recordingSession(rec, 'y')]);
    expect(await x.exited).toBe(0);
    expect(await y.exited).toBe(0);
    expect(await sy.done).toBe('completed');
    await sx.done;

    const files = await rec.files();
    const ofStream = (stream: string, ext: string) =>
      files.filter((f) => f.startsWith(`${stream}_`) && f.endsWith(ext));
    expect(ofStream('y', '.m3u8')).toHaveLength(1);
    expect(ofStream('y', '.aac')).toHaveLength(1);
    expect(ofStream('x', '.m3u8')).toHaveLength(1);
    expect(ofStream('x', '.aac')).toEqual([]);

    const [yHls] = await callbacks.waitFor(byFormat('y', 'hls'));
    const [yAac] = await callbacks.waitFor(byFormat('y', 'aac'));
    const [xHls] = await callbacks.waitFor(byFormat('x', 'hls'));
    expect(fileOf(rec, yHls!)).toBe(join(rec.dataDir, 'live', ofStream('y', '.m3u8')[0]!));
    expect(fileOf(rec, yAac!)).toBe(join(rec.dataDir, 'live', ofStream('y', '.aac')[0]!));
    expect(fileOf(rec, xHls!)).toBe(join(rec.dataDir, 'live', ofStream('x', '.m3u8')[0]!));

    const xInfo = await probe(fileOf(rec, xHls!));
    expect(xInfo.streams.map((s) => s.codec_type)).toEqual(['video']);
    for (const body of [yHls!, yAac!, xHls!]) {
      const { errors, seconds } = await decode(fileOf(rec, body));
      expect(errors, String(body.video_url)).toEqual([]);
      expect(seconds, String(body.video_url)).toBeGreaterThan(3);
    }

    // Drain the outbox: every callback the recorder made has been delivered now.
    await rec.recorder.stop();
    expect(callbacks.bodies.filter(byFormat('x', 'aac'))).toEqual([]);
  });

  it('an audio-only push gives HLS and AAC', async () => {
    const rec = await recorderWith({ record: { formats: ['hls', 'aac'] } });
    const publisher = publish(rec.rtmpUrl('audio'), { fixture: 'audio.flv', seconds: 6 });
    const session = await recordingSession(rec, 'audio');
    expect(await publisher.exited).toBe(0);
    expect(await session.done).toBe('completed');

    const files = await rec.files();
    const playlists = files.filter((f) => f.endsWith('.m3u8'));
    const aacs = files.filter((f) => f.endsWith('.aac'));
    expect(playlists).toHaveLength(1);
    expect(aacs).toHaveLength(1);

    const m3u8 = join(rec.dataDir, 'live', playlists[0]!);
    const info = await probe(m3u8);
    expect(info.streams.some((s) => s.codec_type === 'audio')).toBe(true);
    expect(info.streams.some((s) => s.codec_type === 'video')).toBe(false);
    expect((await playlist(m3u8)).ended).toBe(true);
    const hls = await decode(m3u8);
    expect(hls.errors).toEqual([]);
    expect(hls.seconds).toBeGreaterThanOrEqual(5);
    expect(hls.seconds).toBeLessThanOrEqual(7);

    const aac = await decode(join(rec.dataDir, 'live', aacs[0]!));
    expect(aac.errors).toEqual([]);
    expect(aac.seconds).toBeGreaterThanOrEqual(5);
    expect(aac.seconds).toBeLessThanOrEqual(7);
  });
});
