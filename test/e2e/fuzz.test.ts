import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpIngest } from '../../src/ingest/index.js';
import type { MediaPacket, PublishRequest } from '../../src/ingest/types.js';
import { createLogger } from '../../src/shared/logger.js';
import { decode, probe } from '../helpers/media.js';
import { eventually, publish, startRecorder } from '../helpers/recorder.js';
import {
  amf0,
  chunks,
  connect,
  handshake,
  publishCmd,
  runCase,
  runFuzz,
  type FuzzCase,
  type FuzzOutcome,
} from '../helpers/rtmp-fuzz.js';

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const MiB = 1024 * 1024;

/** Memory once garbage is collected (when vitest exposes gc) and the event loop has settled. */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  return process.memoryUsage();
}

describe('rtmp fuzzing', () => {
  it('1,000 malformed RTMP cases leave a real recording intact and the server serving', async () => {
    const rec = await startRecorder({ record: { formats: ['mp4'] } });
    cleanups.push(() => rec.stop());
    const port = rec.recorder.rtmpPort;
    const { manager, ingest } = rec.recorder;

    const publisher = publish(rec.rtmpUrl('real'), { seconds: 20 });
    const session = await eventually(
      () => {
        const s = manager.sessionOf('live', 'real');
        return s?.state === 'recording' ? s : undefined;
      },
      30_000,
      'real recording',
    );
    const baseline = await settledMemory();

    const unexpected = new Set<string>();
    const result = await runFuzz(port, 1000, {
      seed: 20_240_601,
      concurrency: 20,
      duplicateOf: 'real',
      slowGapMs: 100,
      slowBytes: 10,
      floodSockets: 20,
      onCase: () => {
        for (const s of manager.sessions) if (s !== session) unexpected.add(s.key);
      },
    });
    expect(result.errors).toEqual([]);
    expect([...unexpected]).toEqual([]);
    expect(session.state).toBe('recording');
    await eventually(() => ingest.connectionCount === 1, 15_000, 'fuzz connections closed');

    expect(await publisher.exited).toBe(0);
    expect(await session.done).toBe('completed');

    // The server still takes a valid push afterwards, and records it.
    const after = publish(rec.rtmpUrl('after'), { seconds: 3 });
    expect(await after.exited).toBe(0);
    await eventually(() => manager.sessions.length === 0, 30_000, 'sessions finished');
    expect(ingest.connectionCount).toBe(0);

    const files = await rec.files();
    const real = files.filter((f) => f.includes('real')).map((f) => join(rec.dataDir, 'live', f));
    expect(real.length).toBeGreaterThan(0);
    let seconds = 0;
    for (const file of real) {
      expect((await probe(file)).streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
      const decoded = await decode(file);
      expect(decoded.errors).toEqual([]);
      seconds += decoded.seconds;
    }
    expect(seconds).toBeGreaterThan(18);
    expect(seconds).toBeLessThan(22);
    expect(files.some((f) => f.includes('after'))).toBe(true);

    const end = await settledMemory();
    const gc = typeof globalThis.gc === 'function';
    console.log(
      `fuzz: ${result.cases} cases, ${result.sockets} sockets; ` +
        `rss ${(baseline.rss / MiB).toFixed(1)} -> ${(end.rss / MiB).toFixed(1)} MiB, ` +
        `heapUsed ${(baseline.heapUsed / MiB).toFixed(1)} -> ${(end.heapUsed / MiB).toFixed(1)} MiB` +
        (gc ? ' (after gc)' : ' (no gc exposed)'),
    );
    if (gc) expect(end.rss).toBeLessThan(baseline.rss + 64 * MiB);
    else expect(end.heapUsed).toBeLessThan(baseline.heapUsed + 64 * MiB);
  });
});

describe('rtmp ingest bounds what a peer can make it hold', () => {
  /** An ingest on a free port that admits every publish and counts its media packets. */
  async function ingestFor(options: { publishDeadlineMs?: number } = {}) {
    const admitted: PublishRequest[] = [];
    const packets: MediaPacket[] = [];
    const ingest = new RtmpIngest({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ level: 'silent' }),
      admit: (request) => {
        admitted.push(request);
        return { accept: { onPacket: (p) => packets.push(p), onEnd: () => {} } };
      },
      ...options,
    });
    const { port } = await ingest.listen();
    cleanups.push(() => ingest.close());
    return { ingest, port, admitted, packets };
  }

  const once = (writes: Buffer[], gapMs = 0, readMs = 2000): FuzzCase => ({
    index: 0,
    kind: 'chunk-headers',
    sockets: [writes],
    gapMs,
    readMs,
  });
  const single = async (port: number, c: FuzzCase): Promise<FuzzOutcome> => (await runCase(port, c))[0]!;

  /** A video message with FLV codec id 7 (H.264), inter frame. */
  const video = (size: number) =>
    Buffer.concat([Buffer.from([0x27, 0x01, 0, 0, 0]), Buffer.alloc(size - 5, 7)]);

  it("the generator's handshake, connect and publish are admitted, and large media after it is taken", async () => {
    const { port, admitted, packets } = await ingestFor();
    const big = video(512 * 1024);
    const outcome = await single(
      port,
      once(
        [handshake(), connect('live', port), publishCmd('ok'), chunks(6, 9, big, { streamId: 1 })],
        0,
        500,
      ),
    );
    expect(outcome.closedByServer).toBe(false);
    expect(admitted.map((r) => `${r.app}/${r.stream}`)).toEqual(['live/ok']);
    expect(packets.map((p) => p.tag.length)).toEqual([11 + big.length + 4]);
  });

  it('a 16 MiB message declared before publish closes the connection', async () => {
    const { port, ingest } = await ingestFor();
    const outcome = await single(
      port,
      once([handshake(), chunks(64, 9, Buffer.alloc(128), { length: 0xffffff })]),
    );
    expect(outcome.closedByServer).toBe(true);
    await eventually(() => ingest.connectionCount === 0, 2000, 'connection gone');
  });

  it('a 33rd chunk stream closes the connection', async () => {
    const { port } = await ingestFor();
    const streams = Array.from({ length: 33 }, (_, i) => chunks(320 + i * 7, 18, Buffer.alloc(16)));
    expect((await single(port, once([handshake(), ...streams]))).closedByServer).toBe(true);
  });

  it.each([0, 0x80000000, 0xffffffff])('Set Chunk Size %d closes the connection', async (size) => {
    const { port, admitted } = await ingestFor();
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(size, 0);
    const outcome = await single(
      port,
      once([handshake(), chunks(2, 1, payload), connect('live', port), publishCmd('ok')]),
    );
    expect(outcome.closedByServer).toBe(true);
    expect(admitted).toEqual([]);
  });

  it.each([
    ['a long string of 4 GiB', Buffer.from([0x0c, 0xff, 0xff, 0xff, 0xff, 0x61, 0x62])],
    ['a string of 65,535 bytes', Buffer.from([0x02, 0xff, 0xff, 0x61])],
    ['an unknown marker', Buffer.from([0x0d])],
  ])('a publish whose name is %s with fewer bytes present is refused', async (_, name) => {
    const { port, admitted } = await ingestFor();
    const publish = Buffer.concat([amf0('publish'), amf0(3), amf0(null), name]);
    const outcome = await single(
      port,
      once([handshake(), connect('live', port), chunks(8, 20, publish, { streamId: 1 })]),
    );
    expect(outcome.closedByServer).toBe(true);
    expect(admitted).toEqual([]);
  });

  it('objects nested deeper than 16 levels are refused without recursing through them', async () => {
    const { port } = await ingestFor();
    // connect's command object holds {k: {k: ... 10,000 deep, never closed.
    const nested = Buffer.alloc(4 * 10_000, Buffer.from([0x00, 0x01, 0x6b, 0x03]));
    const deep = Buffer.concat([amf0('connect'), amf0(1), Buffer.from([0x03]), nested]);
    const outcome = await single(port, once([handshake(), chunks(3, 20, deep)]));
    expect(outcome.closedByServer).toBe(true);
  });

  it('a peer sending a byte at a time is closed at the publish deadline', async () => {
    const { port } = await ingestFor({ publishDeadlineMs: 500 });
    const bytes = Buffer.concat([handshake(), connect('live', port)]);
    const writes = [
      bytes.subarray(0, 1000),
      ...Array.from({ length: 40 }, (_, i) => bytes.subarray(1000 + i, 1001 + i)),
    ];
    const started = Date.now();
    const outcome = await single(port, once(writes, 50, 5000));
    expect(outcome.closedByServer).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
