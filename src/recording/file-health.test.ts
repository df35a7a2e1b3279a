import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  OffsetLog,
  RepairLog,
  addRepairs,
  avOffsetOf,
  buildFileHealth,
  noRepairs,
  segmentsSha256,
  textSha256,
  type HealthInput,
} from './file-health.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const A = sha('segment a');
const B = sha('segment b');

describe('segmentsSha256', () => {
  it.each([
    ['two segments: their hex digests joined by a newline', [A, B], sha(`${A}\n${B}`)],
    ['one segment: its digest alone, no newline', [A], sha(A)],
    ['order matters', [B, A], sha(`${B}\n${A}`)],
    ['upper-case digests are read as lower-case', [A.toUpperCase(), B], sha(`${A}\n${B}`)],
    ['a segment without a digest: unknown', [A, undefined], null],
    ['no segment: unknown', [], null],
  ])('%s', (_name, digests, expected) => {
    expect(segmentsSha256(digests)).toBe(expected);
  });

  it('textSha256 hashes the UTF-8 text', () => {
    expect(textSha256('#EXTM3U\n')).toBe(sha('#EXTM3U\n'));
    expect(textSha256('é')).toBe(
      createHash('sha256')
        .update(Buffer.from([0xc3, 0xa9]))
        .digest('hex'),
    );
  });
});

describe('RepairLog', () => {
  const log = new RepairLog();
  log.add('reset', 1000);
  log.add('reset', 1010);
  log.add('jump', 5000);
  log.add('drift', 9999);
  log.add('wrap', 10_000);

  it.each([
    ['a window holding every repair', 0, 20_000, { reset: 2, jump: 1, wrap: 1, start: 0, drift: 1 }],
    ['a window before any', 0, 1000, noRepairs()],
    ['the start is in the window', 1000, 1001, { ...noRepairs(), reset: 1 }],
    ['the end is not: the next part counts it', 5000, 10_000, { ...noRepairs(), jump: 1, drift: 1 }],
    ['the next part', 10_000, 12_000, { ...noRepairs(), wrap: 1 }],
  ])('%s', (_name, from, to, expected) => {
    expect(log.within(from, to)).toEqual(expected);
  });

  it('totals every repair', () => {
    expect(log.totals).toEqual({ reset: 2, jump: 1, wrap: 1, start: 0, drift: 1 });
  });

  it('keeps at most its capacity; a window reaching into what it forgot is unknown, its totals stay exact', () => {
    const small = new RepairLog(2);
    small.add('reset', 100);
    small.add('jump', 200);
    small.add('start', 300);
    expect(small.within(0, 1000)).toBeNull();
    expect(small.within(100, 1000)).toBeNull();
    expect(small.within(101, 1000)).toEqual({ ...noRepairs(), jump: 1, start: 1 });
    expect(small.totals).toEqual({ ...noRepairs(), reset: 1, jump: 1, start: 1 });
  });
});

describe('OffsetLog', () => {
  it.each([
    ['before the first measure', 999, undefined],
    ['at the first', 1000, 3],
    ['between two', 4999, 3],
    ['after the last', 99_999, 41],
  ])('the largest offset by a file’s end: %s', (_name, at, expected) => {
    const log = new OffsetLog();
    log.add(3, 1000);
    log.add(12, 5000);
    log.add(41, 9000);
    expect(log.at(at)).toBe(expected);
    expect(log.max).toBe(41);
  });

  it('keeps at most its capacity; before what it forgot is unknown, after it is exact', () => {
    const log = new OffsetLog(2);
    log.add(1, 100);
    log.add(2, 200);
    log.add(3, 300);
    expect(log.at(50)).toBeUndefined();
    expect(log.at(150)).toBe(1);
    expect(log.at(250)).toBe(2);
    expect(log.at(300)).toBe(3);
  });
});

describe('avOffsetOf', () => {
  const both = { video: { codec: 'h264' as const }, audio: { codec: 'aac' as const } };
  it.each([
    ['mp4 with both tracks', 'mp4', both, 12, 12],
    ['hls with both tracks, measured 0', 'hls', both, 0, 0],
    ['not measured (a push shorter than the warm-up)', 'flv', both, undefined, null],
    ['aac: no video', 'aac', both, 12, null],
    ['audio only', 'mp4', { audio: both.audio }, 12, null],
    ['video only', 'hls', { video: both.video }, 12, null],
    ['tracks unknown', 'mp4', undefined, 12, null],
  ] as const)('%s', (_name, format, tracks, measured, expected) => {
    expect(avOffsetOf(format, tracks, measured)).toBe(expected);
  });
});

describe('addRepairs', () => {
  it.each([
    [
      'sums by kind',
      { ...noRepairs(), reset: 1 },
      { ...noRepairs(), reset: 2, jump: 1 },
      { ...noRepairs(), reset: 3, jump: 1 },
    ],
    ['unknown with unknown', null, noRepairs(), null],
    ['unknown stays unknown', noRepairs(), null, null],
  ])('%s', (_name, a, b, expected) => {
    expect(addRepairs(a, b)).toEqual(expected);
  });
});

describe('buildFileHealth', () => {
  const base: HealthInput = {
    sha256: A,
    durationSeconds: 9.9876,
    startMs: 1_000_000.5,
    endMs: 1_010_000.5,
    facts: { timestampRepairs: { ...noRepairs(), reset: 2 }, maxAvOffsetMs: 12.4 },
    cut: false,
  };

  it.each([
    [
      'a part',
      base,
      {
        sha256: A,
        duration: 9.988,
        wall_seconds: 10,
        max_av_offset_ms: 12,
        timestamp_repairs: { reset: 2, jump: 0, wrap: 0, start: 0, drift: 0 },
        cut: false,
      },
    ],
    [
      'an HLS playlist: segments_sha256 too',
      { ...base, segmentDigests: [A, B] },
      {
        sha256: A,
        segments_sha256: sha(`${A}\n${B}`),
        duration: 9.988,
        wall_seconds: 10,
        max_av_offset_ms: 12,
        timestamp_repairs: { reset: 2, jump: 0, wrap: 0, start: 0, drift: 0 },
        cut: false,
      },
    ],
    [
      'a cut part recovered after a crash: nothing known of its media',
      { ...base, facts: undefined, cut: true, durationSeconds: undefined },
      {
        sha256: A,
        duration: null,
        wall_seconds: 10,
        max_av_offset_ms: null,
        timestamp_repairs: null,
        cut: true,
      },
    ],
    [
      'numbers that are not finite are unknown',
      {
        ...base,
        durationSeconds: Number.NaN,
        facts: { timestampRepairs: { ...noRepairs(), jump: Infinity }, maxAvOffsetMs: Infinity },
      },
      {
        sha256: A,
        duration: null,
        wall_seconds: 10,
        max_av_offset_ms: null,
        timestamp_repairs: null,
        cut: false,
      },
    ],
  ])('%s', (_name, input, expected) => {
    const health = buildFileHealth(input);
    expect(health).toEqual(expected);
    // What the receiver parses is the same.
    expect(JSON.parse(JSON.stringify(health))).toEqual(expected);
  });

  it('does not share the counts it was given', () => {
    const facts = { timestampRepairs: noRepairs(), maxAvOffsetMs: null };
    const health = buildFileHealth({ ...base, facts });
    facts.timestampRepairs.reset = 5;
    expect(health.timestamp_repairs?.reset).toBe(0);
  });
});
