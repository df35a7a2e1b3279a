import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLoadFixture } from '../../src/load/fixture.js';
import { LoadGenerator, type StreamLoadStats } from '../../src/load/generator.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { FFPROBE, FIXTURES_DIR, PUBLISHER_FFMPEG } from '../helpers/fixtures.js';
import { startRecorder, type TestRecorder } from '../helpers/recorder.js';
import { countPackets } from '../../src/ffmpeg/probe.js';
import { freePorts } from '../../src/bench/service.js';

const STREAMS = ['load1', 'load2', 'load3'];
const PUSH_SECONDS = 8;
// Shorter than the push, so every publisher loops the fixture once.
const FIXTURE_SECONDS = 5;

describe('load generator: three publishers from one process', () => {
  let rec: TestRecorder;
  let receiver: CallbackReceiver;
  let stats: StreamLoadStats[];
  let bodies: Record<string, unknown>[];
  const connected: string[] = [];

  beforeAll(async () => {
    const fixture = await ensureLoadFixture({
      ffmpegPath: PUBLISHER_FFMPEG,
      dir: join(FIXTURES_DIR, 'load'),
      bitrateKbps: 500,
      seconds: FIXTURE_SECONDS,
    });
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 2 },
      callback: { url: receiver.url },
    });
    const generator = new LoadGenerator({
      url: `rtmp://127.0.0.1:${rec.recorder.rtmpPort}/live`,
      streams: STREAMS,
      fixture,
      durationSeconds: PUSH_SECONDS,
      rampMs: 500,
    });
    generator.on('connected', (stream) => connected.push(stream));
    await generator.start();
    stats = await generator.done;
    bodies = await receiver.waitFor((b) => b.event_type === 100, STREAMS.length * 2);
  }, 90_000);

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('every publisher connects and pushes the whole duration without error', () => {
    expect(connected.sort()).toEqual(STREAMS);
    for (const s of stats) {
      expect(s.error).toBeUndefined();
      // The last frame is within one video frame of the end: the fixture was looped to fill the duration.
      expect(s.lastTimestampMs).toBeGreaterThan(PUSH_SECONDS * 1000 - 100);
      expect(s.lastTimestampMs).toBeLessThan(PUSH_SECONDS * 1000);
      expect(s.videoFrames).toBeGreaterThan(0);
      expect(s.audioFrames).toBeGreaterThan(0);
    }
  });

  it('paces in real time: the wall span of a push is not shorter than its media span', () => {
    for (const s of stats) {
      const wallMs = s.endedAtMs! - s.startedAtMs!;
      expect(wallMs).toBeGreaterThanOrEqual(0.8 * s.lastTimestampMs);
    }
  });

  it.each(STREAMS)('%s: every frame pushed is in the recorded MP4', async (stream) => {
    const pushed = stats.find((s) => s.stream === stream)!;
    const body = bodies.find((b) => b.stream_id === stream && b.file_format === 'mp4')!;
    expect(body).toBeDefined();
    const counted = await countPackets(FFPROBE, join(rec.dataDir, new URL(String(body.video_url)).pathname));
    expect(counted).toEqual({ video: pushed.videoFrames, audio: pushed.audioFrames });
  });

  it.each(STREAMS)('%s: every frame pushed is in the recorded HLS segments', async (stream) => {
    const pushed = stats.find((s) => s.stream === stream)!;
    const body = bodies.find((b) => b.stream_id === stream && b.file_format === 'hls')!;
    expect(body).toBeDefined();
    const playlist = join(rec.dataDir, new URL(String(body.video_url)).pathname);
    const segments = (await readFile(playlist, 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(segments.length).toBeGreaterThan(1);
    const counted = { video: 0, audio: 0 };
    for (const segment of segments) {
      const n = await countPackets(FFPROBE, join(dirname(playlist), segment));
      counted.video += n.video;
      counted.audio += n.audio;
    }
    expect(counted).toEqual({ video: pushed.videoFrames, audio: pushed.audioFrames });
  });
});

describe('load generator: stop()', () => {
  let rec: TestRecorder;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({ record: { formats: ['mp4'] }, callback: { url: receiver.url } });
  });

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('stop() during the ramp unpublishes the connected publisher and never starts the rest', async () => {
    const fixture = await ensureLoadFixture({
      ffmpegPath: PUBLISHER_FFMPEG,
      dir: join(FIXTURES_DIR, 'load'),
      bitrateKbps: 500,
      seconds: FIXTURE_SECONDS,
    });
    const generator = new LoadGenerator({
      url: `rtmp://127.0.0.1:${rec.recorder.rtmpPort}/live`,
      streams: ['early', 'late'],
      fixture,
      durationSeconds: 60,
      rampMs: 20_000,
    });
    const first = new Promise<string>((resolve) => generator.on('connected', resolve));
    const started = generator.start();
    expect(await first).toBe('early');
    const stats = await generator.stop();
    await started;
    expect(await generator.done).toEqual(stats);
    const [early, late] = stats;
    expect(early!.endedAtMs).toBeGreaterThanOrEqual(early!.startedAtMs!);
    expect(early!.error).toBeUndefined();
    expect(late!.startedAtMs).toBeUndefined();
    expect(late!.videoFrames).toBe(0);
    // The recorder saw an unpublish, not a dropped connection: event 0 with errcode 0.
    const [ended] = await receiver.waitFor((b) => b.event_type === 0 && b.stream_id === 'early');
    expect(ended!.errcode).toBe(0);
    expect(receiver.bodies.filter((b) => b.stream_id === 'late')).toEqual([]);
  });
});

describe('load generator: a server per stream, one of them not listening yet', () => {
  it('publishes each stream to its own URL, trying a refused connection again until the server listens', async () => {
    const fixture = await ensureLoadFixture({
      ffmpegPath: PUBLISHER_FFMPEG,
      dir: join(FIXTURES_DIR, 'load'),
      bitrateKbps: 500,
      seconds: FIXTURE_SECONDS,
    });
    const dir = await mkdtemp(join(tmpdir(), 'load-urls-'));
    const ports = await freePorts(2);
    // ffmpeg's RTMP server takes one publish per `-listen 1` input and writes what it got.
    const listen = (port: number) => {
      const out = join(dir, `${port}.flv`);
      const child = spawn(
        PUBLISHER_FFMPEG,
        [
          '-hide_banner',
          '-loglevel',
          'error',
          '-listen',
          '1',
          '-i',
          `rtmp://127.0.0.1:${port}/live/s`,
        ].concat(['-c', 'copy', '-f', 'flv', '-y', out]),
        { stdio: 'ignore' },
      );
      return { out, exited: new Promise((done) => child.on('close', done)) };
    };
    try {
      const first = listen(ports[0]!);
      const generator = new LoadGenerator({
        url: 'rtmp://127.0.0.1:1/unused',
        urls: ports.map((port) => `rtmp://127.0.0.1:${port}/live`),
        streams: ['one', 'two'],
        fixture,
        durationSeconds: 3,
        connectWaitMs: 15_000,
      });
      const started = generator.start();
      await new Promise((wake) => setTimeout(wake, 1500));
      const second = listen(ports[1]!);
      await started;
      const stats = await generator.done;
      await Promise.all([first.exited, second.exited]);
      for (const [i, server] of [first, second].entries()) {
        expect(stats[i]!.error).toBeUndefined();
        expect(stats[i]!.videoFrames).toBeGreaterThan(0);
        expect((await countPackets(FFPROBE, server.out)).video).toBe(stats[i]!.videoFrames);
      }
      // The late one connected after its server came up, not before.
      expect(stats[1]!.startedAtMs! - stats[0]!.startedAtMs!).toBeGreaterThan(1000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a URL list that does not match the streams', () => {
    expect(
      () =>
        new LoadGenerator({
          url: 'rtmp://h/live',
          urls: ['rtmp://h/live'],
          streams: ['a', 'b'],
          fixture: 'f',
          durationSeconds: 1,
        }),
    ).toThrow(/one URL per stream/);
  });
});
