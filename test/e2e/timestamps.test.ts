import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPackets } from '../../src/ffmpeg/probe.js';
import { ensureLoadFixture } from '../../src/load/fixture.js';
import { LoadGenerator, type LoadOptions, type StreamLoadStats } from '../../src/load/generator.js';
import { parsePlaylist } from '../../src/recording/hls-playlist.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { FFPROBE, FIXTURES_DIR, PUBLISHER_FFMPEG } from '../helpers/fixtures.js';
import { formatDuration } from '../helpers/media.js';
import { eventually, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const run = promisify(execFile);
const FORMATS = ['hls', 'flv', 'mp4', 'aac'] as const;
const SEGMENT_SECONDS = 2;
const FRAME_S = 0.04;
const WRAP = 2 ** 32;

/** One publisher whose encoder clock misbehaves; `seconds` of media time are pushed in real time. */
interface Scenario {
  stream: string;
  seconds: number;
  stamp?: LoadOptions['stamp'];
  drop?: LoadOptions['drop'];
  deltaHeaders?: boolean;
}

const SCENARIOS: Scenario[] = [
  { stream: 'control', seconds: 10 },
  { stream: 'jump', seconds: 10, stamp: (_t, ts) => (ts >= 5000 ? ts + 30_000 : ts) },
  { stream: 'reset', seconds: 10, stamp: (_t, ts) => (ts >= 6000 ? ts - 6000 : ts) },
  {
    stream: 'both',
    seconds: 10,
    stamp: (_t, ts) => (ts >= 7000 ? ts - 7000 : ts >= 3000 ? ts + 30_000 : ts),
  },
  { stream: 'audioreset', seconds: 10, stamp: (t, ts) => (t === 8 && ts >= 5000 ? ts - 5000 : ts) },
  { stream: 'lateaudio', seconds: 6, drop: (t, ts) => t === 8 && ts < 2000 },
  { stream: 'latevideo', seconds: 6, drop: (t, ts) => t === 9 && ts < 2000 },
  // A real pause: nothing is sent from 4 s to 9 s of a 12 s push, and the clock goes on meanwhile.
  { stream: 'pause', seconds: 12, drop: (_t, ts) => ts >= 4000 && ts < 9000 },
  { stream: 'wrap0', seconds: 10, stamp: (_t, ts) => ts + WRAP - 5000 },
  { stream: 'wrapdelta', seconds: 10, stamp: (_t, ts) => ts + WRAP - 5000, deltaHeaders: true },
  // An audio clock 1.5 % fast: 0.6 s ahead of video after 40 s (the 10-minute, 0.1 % case is scripts/drift.mjs).
  { stream: 'drift', seconds: 40, stamp: (t, ts) => (t === 8 ? Math.round(ts * 1.015) : ts) },
];

interface Packet {
  stream: 'video' | 'audio';
  pts: number;
  dts: number;
  duration: number;
}

/** Every packet of a file, in file order, with times in seconds. */
async function packets(file: string): Promise<Packet[]> {
  const { stdout } = await run(
    FFPROBE,
    [
      '-v',
      'error',
      '-show_entries',
      'packet=codec_type,pts_time,dts_time,duration_time',
      '-of',
      'json',
      file,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const json = JSON.parse(stdout) as { packets: Record<string, string>[] };
  return json.packets.map((p) => ({
    stream: p.codec_type as 'video' | 'audio',
    pts: Number(p.pts_time),
    dts: Number(p.dts_time),
    duration: Number(p.duration_time ?? 0),
  }));
}

/** End of the last audio minus end of the last video, seconds: the A/V offset at the end of a file. */
function endOffset(list: Packet[]): number {
  const end = (kind: 'video' | 'audio') =>
    Math.max(...list.filter((p) => p.stream === kind).map((p) => p.pts + p.duration));
  return end('audio') - end('video');
}

describe('timestamps repaired at the ingest', () => {
  let rec: TestRecorder;
  let receiver: CallbackReceiver;
  const stats = new Map<string, StreamLoadStats>();
  const bodies = new Map<string, Map<string, Record<string, unknown>>>();
  const file = (stream: string, format: string) => {
    const url = String(bodies.get(stream)!.get(format)!.video_url);
    return join(rec.dataDir, decodeURIComponent(new URL(url).pathname));
  };

  beforeAll(async () => {
    const fixture = await ensureLoadFixture({
      ffmpegPath: PUBLISHER_FFMPEG,
      dir: join(FIXTURES_DIR, 'load'),
      bitrateKbps: 500,
      seconds: 5,
    });
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: [...FORMATS], hlsSegmentSeconds: SEGMENT_SECONDS },
      callback: { url: receiver.url },
    });
    // Every scenario at once: each is its own publish, so they cannot disturb each other's timeline.
    await Promise.all(
      SCENARIOS.map(async (s) => {
        const generator = new LoadGenerator({
          url: `rtmp://127.0.0.1:${rec.recorder.rtmpPort}/live`,
          streams: [s.stream],
          fixture,
          durationSeconds: s.seconds,
          ...(s.stamp ? { stamp: s.stamp } : {}),
          ...(s.drop ? { drop: s.drop } : {}),
          ...(s.deltaHeaders ? { deltaHeaders: true } : {}),
        });
        await generator.start();
        const [one] = await generator.done;
        stats.set(s.stream, one!);
      }),
    );
    const all = await receiver.waitFor(
      (b) => b.event_type === 100,
      SCENARIOS.length * FORMATS.length,
      120_000,
    );
    for (const body of all) {
      const stream = String(body.stream_id);
      if (!bodies.has(stream)) bodies.set(stream, new Map());
      bodies.get(stream)!.set(String(body.file_format), body);
    }
  }, 240_000);

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('every publish ran to its end', () => {
    for (const s of SCENARIOS) {
      expect(stats.get(s.stream)?.error, s.stream).toBeUndefined();
      expect(bodies.get(s.stream)?.size, s.stream).toBe(FORMATS.length);
    }
  });

  it.each(['control', 'jump', 'reset', 'both', 'audioreset', 'wrap0', 'wrapdelta'])(
    '%s: every output lasts the media pushed, and event 100 says so with true times',
    async (stream) => {
      for (const format of FORMATS) {
        const body = bodies.get(stream)!.get(format)!;
        const { seconds } = await formatDuration(file(stream, format));
        expect(Math.abs(seconds - 10), `${stream} ${format}: ${seconds} s`).toBeLessThan(0.5);
        expect(Math.abs(Number(body.duration) - 10), `${stream} ${format} duration`).toBeLessThan(0.5);
        const span = Number(body.end_time) - Number(body.start_time);
        expect(Math.abs(span - Number(body.duration)), `${stream} ${format}: ${span} s`).toBeLessThanOrEqual(
          1,
        );
      }
    },
  );

  it.each(['jump', 'reset', 'both', 'wrap0', 'wrapdelta'])(
    '%s: the MP4 has no frame gap over two frames, and no HLS segment over 1.5 × hlsSegmentSeconds',
    async (stream) => {
      const video = (await packets(file(stream, 'mp4'))).filter((p) => p.stream === 'video');
      const dts = video.map((p) => p.dts);
      for (let i = 1; i < dts.length; i++) {
        const step = dts[i]! - dts[i - 1]!;
        expect(step, `${stream} frame ${i}`).toBeLessThanOrEqual(2 * FRAME_S + 0.001);
        // A real frame spacing, not squeezed to a tick.
        expect(step, `${stream} frame ${i}`).toBeGreaterThan(FRAME_S / 2);
      }
      const playlist = parsePlaylist(await readFile(file(stream, 'hls'), 'utf8'));
      for (const segment of playlist.segments) {
        expect(segment.durationSeconds, `${stream} ${segment.uri}`).toBeLessThanOrEqual(
          1.5 * SEGMENT_SECONDS,
        );
      }
    },
  );

  it.each(['reset', 'wrap0', 'wrapdelta'])('%s: every frame pushed is in every output', async (stream) => {
    const sent = stats.get(stream)!;
    for (const format of FORMATS) {
      const count = await countPackets(FFPROBE, file(stream, format));
      if (format !== 'aac') expect(count.video, format).toBe(sent.videoFrames);
      if (format !== 'mp4' || count.audio) expect(count.audio, format).toBe(sent.audioFrames);
    }
  });

  it.each(['both', 'audioreset', 'jump', 'reset'])(
    '%s: the A/V offset at the end is within 40 ms of an undisturbed push',
    async (stream) => {
      const reference = endOffset(await packets(file('control', 'mp4')));
      const offset = endOffset(await packets(file(stream, 'mp4')));
      expect(Math.abs(offset - reference), `${stream}: ${offset} against ${reference}`).toBeLessThanOrEqual(
        0.04,
      );
    },
  );

  it('audio whose clock runs 1.5 % fast is slewed back: 600 ms of drift end within 100 ms of video', async () => {
    const control = endOffset(await packets(file('control', 'mp4')));
    const list = await packets(file('drift', 'mp4'));
    const offset = endOffset(list);
    console.log(`drift: audio ends ${(offset - control) * 1000} ms from where an undisturbed push ends`);
    expect(Math.abs(offset - control), `${offset} against ${control}`).toBeLessThanOrEqual(0.1);
    const audio = list.filter((p) => p.stream === 'audio').map((p) => p.dts);
    expect(audio.every((d, i) => i === 0 || d > audio[i - 1]!)).toBe(true);
  });

  it.each([
    ['lateaudio', 'audio', 'video', 0.015, 0.03],
    ['latevideo', 'video', 'audio', 0.035, 0.045],
  ] as const)(
    '%s: the track that starts 2 s late keeps its offset in the MP4, its first sample one frame long',
    async (stream, late, early, shortest, longest) => {
      const list = await packets(file(stream, 'mp4'));
      const first = (kind: 'video' | 'audio') =>
        list.filter((p) => p.stream === kind).sort((a, b) => a.pts - b.pts)[0]!;
      expect(
        Math.abs(first(late).pts - first(early).pts - 2),
        `${late} at ${first(late).pts}`,
      ).toBeLessThanOrEqual(0.1);
      expect(first(late).duration).toBeLessThan(longest);
      expect(first(late).duration).toBeGreaterThan(shortest);
    },
  );

  it('a real pause is kept as media time: files and event 100 span the wall clock, the pause a frozen frame', async () => {
    for (const format of FORMATS) {
      const body = bodies.get('pause')!.get(format)!;
      const span = Number(body.end_time) - Number(body.start_time);
      expect(Math.abs(span - 12), `${format}: ${span} s from start to end`).toBeLessThanOrEqual(1);
      // AAC (ADTS) has no timestamps: its file holds the 7 s of sound sent, back to back, and says so.
      const media = format === 'aac' ? 7 : 12;
      expect(Math.abs(Number(body.duration) - media), `${format}: ${String(body.duration)} s`).toBeLessThan(
        0.6,
      );
      const { seconds } = await formatDuration(file('pause', format));
      expect(Math.abs(seconds - media), `${format} file: ${seconds} s`).toBeLessThan(0.6);
    }
    const video = (await packets(file('pause', 'mp4'))).filter((p) => p.stream === 'video');
    const gaps = video.slice(1).map((p, i) => p.dts - video[i]!.dts);
    expect(Math.max(...gaps)).toBeGreaterThan(4.9);
    expect(gaps.filter((g) => g > 2 * FRAME_S + 0.001)).toHaveLength(1);
  });

  it('each repair is counted by kind on /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/metrics`)).text();
    const count = (kind: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`recorder_timestamp_repairs_total{kind="${kind}"} `))
          ?.split(' ')[1],
      );
    // jump, both (two each), reset (two), both's reset (two), audioreset (one); both wraps (two each).
    expect(count('jump')).toBe(4);
    expect(count('reset')).toBe(5);
    expect(count('wrap')).toBe(4);
    // Only the drifting push is slewed.
    expect(count('drift')).toBeGreaterThanOrEqual(1);
    await eventually(() => rec.recorder.manager.sessions.length === 0, 30_000, 'recordings to end');
  });
});
