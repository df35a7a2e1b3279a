import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLoadFixture } from '../../src/load/fixture.js';
import { LoadGenerator } from '../../src/load/generator.js';
import { parsePlaylist } from '../../src/recording/hls-playlist.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { FIXTURES_DIR, PUBLISHER_FFMPEG } from '../helpers/fixtures.js';
import { eventually, killEngine, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

type Body = Record<string, unknown>;

interface Health {
  sha256: string;
  segments_sha256?: string | null;
  duration: number | null;
  wall_seconds: number;
  max_av_offset_ms: number | null;
  timestamp_repairs: Record<'reset' | 'jump' | 'wrap' | 'start' | 'drift', number> | null;
  cut: boolean;
}

const NO_REPAIRS = { reset: 0, jump: 0, wrap: 0, start: 0, drift: 0 };
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('file_health in event 100', () => {
  let rec: TestRecorder;
  let receiver: CallbackReceiver;
  let metrics = '';
  const healthOf = (body: Body) => body.file_health as Health;
  const stored = (body: Body) =>
    join(rec.dataDir, decodeURIComponent(new URL(String(body.video_url)).pathname));
  const eventsOf = (stream: string, format: string) =>
    receiver.bodies.filter((b) => b.event_type === 100 && b.stream_id === stream && b.file_format === format);

  beforeAll(async () => {
    const fixture = await ensureLoadFixture({
      ffmpegPath: PUBLISHER_FFMPEG,
      dir: join(FIXTURES_DIR, 'load'),
      bitrateKbps: 500,
      seconds: 5,
    });
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 2 },
      callback: { url: receiver.url },
    });
    // Three pushes at once, each its own publish: a clean one (longer than the 10 s A/V warm-up), one whose
    // ffmpeg is killed mid-push, and one whose encoder clock resets to 0 at 6 s.
    const healthy = publish(rec.rtmpUrl('healthy'), { seconds: 12 });
    const killed = publish(rec.rtmpUrl('killed'), { seconds: 10 });
    const reset = new LoadGenerator({
      url: `rtmp://127.0.0.1:${rec.recorder.rtmpPort}/live`,
      streams: ['reset'],
      fixture,
      durationSeconds: 10,
      stamp: (_t, ts) => (ts >= 6000 ? ts - 6000 : ts),
    });
    await reset.start();
    const session = await eventually(() => {
      const s = rec.recorder.manager.sessionOf('live', 'killed');
      return s?.currentRun?.writing && s.currentRun.firstMediaWallMs !== undefined ? s : undefined;
    });
    const first = session.currentRun!;
    // Two GOPs in, so the killed ffmpeg leaves fragments of its MP4 behind.
    await eventually(() => Date.now() - first.firstMediaWallMs! >= 4500);
    killEngine(first);
    expect(await healthy.exited).toBe(0);
    expect(await killed.exited).toBe(0);
    const [sent] = await reset.done;
    expect(sent?.error).toBeUndefined();
    // healthy: HLS + MP4; killed: HLS + the MP4 of each ffmpeg; reset: HLS + MP4.
    await receiver.waitFor((b) => b.event_type === 100, 7, 60_000);
    await rec.files();
    metrics = await (await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/metrics`)).text();
  }, 90_000);

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('a clean push: the hashes are those of the stored files, durations agree, nothing repaired or cut', async () => {
    const [mp4] = eventsOf('healthy', 'mp4');
    const [hls] = eventsOf('healthy', 'hls');
    expect(eventsOf('healthy', 'mp4')).toHaveLength(1);
    for (const body of [mp4!, hls!]) {
      const health = healthOf(body);
      expect(health.sha256, String(body.file_format)).toBe(sha256(await readFile(stored(body))));
      expect(Math.abs(health.duration! - health.wall_seconds), JSON.stringify(health)).toBeLessThan(0.5);
      expect(Math.abs(health.wall_seconds - 12), JSON.stringify(health)).toBeLessThan(1);
      expect(health.timestamp_repairs).toEqual(NO_REPAIRS);
      expect(health.cut).toBe(false);
      // Past the warm-up, audio and video of one encoder clock stay together.
      expect(health.max_av_offset_ms, JSON.stringify(health)).toBeGreaterThanOrEqual(0);
      expect(health.max_av_offset_ms, JSON.stringify(health)).toBeLessThanOrEqual(100);
    }
    expect(healthOf(mp4!)).not.toHaveProperty('segments_sha256');
    // HLS: the digest of its segments' digests, in playlist order, each taken from the stored segment.
    const playlist = parsePlaylist(await readFile(stored(hls!), 'utf8'));
    expect(playlist.segments.length).toBeGreaterThanOrEqual(5);
    const digests = await Promise.all(
      playlist.segments.map(async (s) => sha256(await readFile(join(rec.dataDir, 'live', s.uri)))),
    );
    expect(healthOf(hls!).segments_sha256).toBe(sha256(digests.join('\n')));
    const extinf = playlist.segments.reduce((sum, s) => sum + s.durationSeconds, 0);
    expect(Math.abs(healthOf(hls!).duration! - extinf)).toBeLessThan(0.01);
  });

  it('the MP4 whose engine was killed is cut, and its hash is that of the stored file', async () => {
    const parts = eventsOf('killed', 'mp4').toSorted((a, b) => Number(a.start_time) - Number(b.start_time));
    expect(parts).toHaveLength(2);
    expect(parts.map((b) => healthOf(b).cut)).toEqual([true, false]);
    for (const part of parts) {
      const health = healthOf(part);
      expect(health.sha256).toBe(sha256(await readFile(stored(part))));
      expect(health.duration!).toBeGreaterThan(2);
      expect(Math.abs(health.duration! - health.wall_seconds), JSON.stringify(health)).toBeLessThan(0.5);
    }
    // The playlist goes on across the restart: the recorder wrote it whole.
    const [hls] = eventsOf('killed', 'hls');
    const playlist = parsePlaylist(await readFile(stored(hls!), 'utf8'));
    expect(playlist.segments.some((s) => s.discontinuity)).toBe(true);
    const digests = await Promise.all(
      playlist.segments.map(async (s) => sha256(await readFile(join(rec.dataDir, 'live', s.uri)))),
    );
    expect(healthOf(hls!)).toMatchObject({ cut: false, segments_sha256: sha256(digests.join('\n')) });
  });

  it('a timestamp reset: the files count the repairs /metrics counted for the push', () => {
    const counted = Number(
      metrics
        .split('\n')
        .find((l) => l.startsWith('recorder_timestamp_repairs_total{kind="reset"} '))
        ?.split(' ')[1],
    );
    // Video and audio both reset.
    expect(counted).toBe(2);
    for (const format of ['hls', 'mp4']) {
      const [body] = eventsOf('reset', format);
      expect(healthOf(body!).timestamp_repairs, format).toEqual({ ...NO_REPAIRS, reset: counted });
    }
    // The other pushes had none: every reset /metrics counted is the reset push's.
    for (const stream of ['healthy', 'killed']) {
      expect(healthOf(eventsOf(stream, 'hls')[0]!).timestamp_repairs?.reset, stream).toBe(0);
    }
  });
});
