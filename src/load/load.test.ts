import { describe, expect, it } from 'vitest';
import { decodeAmf0, encodeAmf0, type Amf0 } from './amf0.js';
import { isSequenceHeader, parseFlvTags, prepareFixture, toCodecId12, writeFlv, type FlvTag } from './flv.js';
import { encodeMessage, rtmpTarget } from './rtmp-client.js';

/** An FLV file of the given tags, laid out as ffmpeg writes it. */
function flvFile(tags: FlvTag[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0])];
  for (const tag of tags) {
    const h = Buffer.alloc(11);
    h[0] = tag.type;
    h.writeUIntBE(tag.data.length, 1, 3);
    h.writeUIntBE(tag.timestamp & 0xffffff, 4, 3);
    h[7] = tag.timestamp >>> 24;
    const size = Buffer.alloc(4);
    size.writeUInt32BE(11 + tag.data.length, 0);
    parts.push(h, tag.data, size);
  }
  return Buffer.concat(parts);
}

const avcHeader: FlvTag = { type: 9, timestamp: 0, data: Buffer.from([0x17, 0, 0, 0, 0, 1, 2]) };
const aacHeader: FlvTag = { type: 8, timestamp: 0, data: Buffer.from([0xaf, 0, 0x11, 0x90]) };
const video = (ts: number, key = false): FlvTag => ({
  type: 9,
  timestamp: ts,
  data: Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0, 9, 9]),
});
const audio = (ts: number): FlvTag => ({ type: 8, timestamp: ts, data: Buffer.from([0xaf, 1, 7, 7]) });

describe('AMF0', () => {
  it.each<[string, Amf0[]]>([
    ['numbers and strings', [1, 'connect', -2.5, '']],
    ['null, undefined and booleans', [null, undefined, true, false]],
    ['objects, nested', [{ app: 'live', n: 3, inner: { ok: true, list: [1, 'a'] } }]],
    ['strict arrays', [[1, 2, 3]]],
  ])('%s survive an encode/decode round trip', (_, values) => {
    expect(decodeAmf0(encodeAmf0(...values))).toEqual(values);
  });

  it('reads an ECMA array (onMetaData) as an object', () => {
    const ecma = Buffer.concat([Buffer.from([0x08, 0, 0, 0, 1]), encodeAmf0({ width: 640 }).subarray(1)]);
    expect(decodeAmf0(ecma)).toEqual([{ width: 640 }]);
  });

  it('rejects a truncated buffer', () => {
    expect(() => decodeAmf0(encodeAmf0('publish').subarray(0, 4))).toThrow(/truncated/);
  });
});

describe('RTMP message chunking', () => {
  it.each([
    ['one chunk', 100, 4096, 1],
    ['exactly the chunk size', 4096, 4096, 1],
    ['several chunks', 10_000, 4096, 3],
  ])('%s: a %d-byte payload at chunk size %d', (_, size, chunkSize, chunks) => {
    const payload = Buffer.alloc(size, 7);
    const msg = encodeMessage(6, 9, 1, 1234, payload, chunkSize);
    expect(msg[0]).toBe(6); // fmt 0, csid 6
    expect(msg.readUIntBE(1, 3)).toBe(1234);
    expect(msg.readUIntBE(4, 3)).toBe(size);
    expect(msg[7]).toBe(9);
    expect(msg.readUInt32LE(8)).toBe(1);
    // Every continuation is a one-byte fmt-3 header.
    expect(msg.length).toBe(12 + size + (chunks - 1));
    for (let i = 1; i < chunks; i++) expect(msg[12 + i * chunkSize + (i - 1)]).toBe(0xc6);
  });

  it('puts an extended timestamp after the header and after every continuation header', () => {
    const ts = 0x1000000;
    const msg = encodeMessage(4, 8, 1, ts, Buffer.alloc(300, 1), 128);
    expect(msg.readUIntBE(1, 3)).toBe(0xffffff);
    expect(msg.readUInt32BE(12)).toBe(ts);
    expect(msg[16 + 128]).toBe(0xc4);
    expect(msg.readUInt32BE(17 + 128)).toBe(ts);
    expect(msg.length).toBe(16 + 300 + 2 * 5);
  });

  it('splits a URL and a stream name into a publish target', () => {
    expect(rtmpTarget('rtmp://127.0.0.1:1936/live', 's1?a=b')).toEqual({
      host: '127.0.0.1',
      port: 1936,
      app: 'live',
      tcUrl: 'rtmp://127.0.0.1:1936/live',
      name: 's1?a=b',
    });
    expect(rtmpTarget('rtmp://example.com/live/', 's').port).toBe(1935);
    expect(() => rtmpTarget('http://example.com/live', 's')).toThrow(/rtmp/);
  });
});

describe('FLV fixture', () => {
  const tags = [
    { type: 18 as const, timestamp: 0, data: encodeAmf0('onMetaData', { width: 640 }) },
    avcHeader,
    aacHeader,
    video(0, true),
    audio(0),
    audio(21),
    video(40),
    audio(43),
    video(80),
    audio(64),
  ];

  it('parses every tag with its type, timestamp and body', () => {
    expect(parseFlvTags(flvFile(tags))).toEqual(tags);
  });

  it('reads timestamps past 24 bits from the extension byte', () => {
    const [tag] = parseFlvTags(flvFile([video(0x1234567, true)]));
    expect(tag!.timestamp).toBe(0x1234567);
  });

  it('tells sequence headers from frames', () => {
    expect([avcHeader, aacHeader, video(0, true), audio(0)].map(isSequenceHeader)).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('keeps headers apart, counts frames, and loops one frame after the last', () => {
    const fixture = prepareFixture(parseFlvTags(flvFile(tags)));
    expect(fixture.metadata).toEqual(tags[0]!.data);
    expect(fixture.headers).toEqual([avcHeader, aacHeader]);
    expect(fixture.videoFrames).toBe(3);
    expect(fixture.audioFrames).toBe(4);
    // Video ends at 80 + 40; audio at 64 + 21 (median spacing): the later end wins.
    expect(fixture.loopMs).toBe(120);
  });

  it('refuses a file without frames', () => {
    expect(() => prepareFixture(parseFlvTags(flvFile([avcHeader])))).toThrow(/no audio or video frames/);
  });
});

describe('FLV codec id 12 (HEVC the way Chinese CDNs send it)', () => {
  const tag = (type: 8 | 9, data: number[], timestamp = 0) => ({ type, timestamp, data: Buffer.from(data) });
  it.each([
    ['a sequence start', [0x90, ...Buffer.from('hvc1'), 1, 2, 3], [0x1c, 0, 0, 0, 0, 1, 2, 3]],
    [
      'a coded keyframe with its composition time',
      [0x91, ...Buffer.from('hvc1'), 0, 0, 40, 9, 9],
      [0x1c, 1, 0, 0, 40, 9, 9],
    ],
    [
      'an inter frame without one (CodedFramesX)',
      [0xa3, ...Buffer.from('hvc1'), 7, 7],
      [0x2c, 1, 0, 0, 0, 7, 7],
    ],
  ])('rewrites %s', (_name, enhanced, legacy) => {
    expect([...toCodecId12(tag(9, enhanced))!.data]).toEqual(legacy);
  });
  it('passes H.264 and audio through, drops what codec id 12 cannot say', () => {
    const avc = tag(9, [0x17, 1, 0, 0, 0, 5]);
    expect(toCodecId12(avc)).toBe(avc);
    expect(toCodecId12(tag(8, [0xaf, 1, 5]))?.data[0]).toBe(0xaf);
    expect(toCodecId12(tag(9, [0x92, ...Buffer.from('hvc1')]))).toBeUndefined();
  });
  it('writeFlv and parseFlvTags round-trip, timestamps past 24 bits included', () => {
    const tags = [tag(9, [0x1c, 0, 0, 0, 0]), tag(8, [0xaf, 1, 5], 0x1234567)];
    expect(parseFlvTags(writeFlv(tags))).toEqual(tags);
  });
});
