import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RtmpIngest,
  type AdmitDecision,
  type MediaPacket,
  type PublishRequest,
} from '../../src/ingest/index.js';
import { ensureLoadFixture } from '../../src/load/fixture.js';
import { LoadGenerator } from '../../src/load/generator.js';
import { silentLogger } from '../../src/shared/logger.js';
import { FIXTURES_DIR, PUBLISHER_FFMPEG } from '../helpers/fixtures.js';

/** A publish decided later (as a cluster-wide claim is): media that came meanwhile must reach the sink whole. */
describe('ingest: a publish admitted later', () => {
  let fixture: string;
  let ingest: RtmpIngest;
  let port = 0;
  let decide: (request: PublishRequest) => Promise<AdmitDecision>;
  const received = new Map<string, MediaPacket[]>();
  const ended = new Map<string, string>();

  const sinkFor = (stream: string): AdmitDecision => {
    received.set(stream, []);
    return {
      accept: {
        onPacket: (packet) => received.get(stream)!.push(packet),
        onEnd: (reason) => ended.set(stream, reason),
      },
    };
  };

  beforeAll(async () => {
    fixture = await ensureLoadFixture({
      ffmpegPath: PUBLISHER_FFMPEG,
      dir: join(FIXTURES_DIR, 'load'),
      bitrateKbps: 500,
      seconds: 5,
    });
    ingest = new RtmpIngest({ host: '127.0.0.1', port: 0, logger: silentLogger(), admit: (r) => decide(r) });
    ({ port } = await ingest.listen());
  });
  afterAll(() => ingest?.close());

  const push = (stream: string, seconds: number) => {
    const generator = new LoadGenerator({
      url: `rtmp://127.0.0.1:${port}/live`,
      streams: [stream],
      fixture,
      durationSeconds: seconds,
    });
    void generator.start();
    return generator.done.then(([stats]) => stats!);
  };

  it('holds the media that came while the decision was pending, and hands it over in order, headers first', async () => {
    decide = async (request) => {
      await new Promise((wake) => setTimeout(wake, 400));
      return sinkFor(request.stream);
    };
    const stats = await push('late', 3);
    await expect.poll(() => ended.get('late'), { timeout: 5000 }).toBe('unpublished');
    const packets = received.get('late')!;
    const frames = (kind: string) => packets.filter((p) => p.kind === kind && !p.isSequenceHeader).length;
    expect(
      packets
        .filter((p) => p.isSequenceHeader)
        .map((p) => p.kind)
        .sort(),
    ).toEqual(['audio', 'video']);
    expect(packets.findIndex((p) => p.kind === 'video' && !p.isSequenceHeader)).toBeGreaterThan(
      packets.findIndex((p) => p.kind === 'video' && p.isSequenceHeader),
    );
    // Every frame pushed arrived, the ones of the first 400 ms included.
    expect(frames('video')).toBe(stats.videoFrames);
    expect(frames('audio')).toBe(stats.audioFrames);
    const dts = packets.filter((p) => p.kind === 'video').map((p) => p.dts);
    expect(dts).toEqual([...dts].sort((a, b) => a - b));
  });

  it('a refusal that comes later closes the publisher with nothing recorded', async () => {
    decide = async () => {
      await new Promise((wake) => setTimeout(wake, 200));
      return { refuse: 'the stream is published on node b' };
    };
    const stats = await push('refused', 3);
    expect(stats.error).toBeTruthy();
    expect(received.has('refused')).toBe(false);
  });

  it('a publisher that leaves before the decision ends its publish as soon as it is accepted', async () => {
    let release!: () => void;
    decide = (request) =>
      new Promise((resolve) => {
        release = () => resolve(sinkFor(request.stream));
      });
    const generator = new LoadGenerator({
      url: `rtmp://127.0.0.1:${port}/live`,
      streams: ['gone'],
      fixture,
      durationSeconds: 30,
    });
    const connected = new Promise((resolve) => generator.on('connected', resolve));
    void generator.start();
    await connected;
    await generator.stop();
    await new Promise((wake) => setTimeout(wake, 300));
    release();
    await expect.poll(() => ended.get('gone'), { timeout: 2000 }).toBe('disconnected');
  });
});
