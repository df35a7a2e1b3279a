import { describe, expect, it } from 'vitest';
import { parseSeed, seedFromParts, seedJson, type SessionSeed } from './session-seed.js';

const seed = {
  recordingId: 'ab12',
  nameId: 's1',
  record: { formats: ['hls'] },
  identity: { recordingId: 'ab12', app: 'live', stream: 's1', nameId: 's1' },
  head: { head: 's1_20261201', disambiguator: 0 },
  segments: [
    {
      uri: 's1_20261201_0.ts',
      seq: 0,
      durationSeconds: 2,
      programDateTime: new Date(1_000),
      discontinuity: false,
    },
    {
      uri: 's1_20261201_1.ts',
      seq: 1,
      durationSeconds: 1.5,
      programDateTime: new Date(3_000),
      discontinuity: false,
      sha256: 'cd'.repeat(32),
    },
  ],
  segmentsSize: 1234,
  nextSeq: 2,
  statusSeq: 2,
  from: 'node-a',
  facts: { timestampRepairs: { reset: 2, jump: 0, wrap: 0, start: 1, drift: 0 }, maxAvOffsetMs: 14 },
} as unknown as SessionSeed;

describe('session seeds', () => {
  it('read back what was written, dates as dates', () => {
    const back = parseSeed(seedJson(seed));
    expect(back).toEqual(seed);
    expect(back.segments[1]!.programDateTime).toBeInstanceOf(Date);
    // What file_health needs of the node before: each segment's digest, the repairs and the A/V offset.
    expect(back.segments[1]!.sha256).toBe('cd'.repeat(32));
    expect(back.facts).toEqual(seed.facts);
  });

  it.each([
    [{ ...seed, nextSeq: -1 }, 'nextSeq'],
    [{ ...seed, recordingId: '../x' }, 'recordingId'],
    [
      { ...seed, segments: [{ ...seed.segments[0]!, programDateTime: 'never' }] },
      'segments.0.programDateTime',
    ],
    [{ ...seed, head: undefined }, 'head'],
    [{ ...seed, segments: [{ ...seed.segments[0]!, sha256: 'not hex' }] }, 'segments.0.sha256'],
    [{ ...seed, facts: { timestampRepairs: { reset: -1 } } }, 'facts.timestampRepairs.reset'],
  ])('refuses a broken one, naming the field (%#)', (broken, field) => {
    expect(() => parseSeed(JSON.stringify(broken))).toThrow(`not a recording seed: ${field}`);
  });
});

describe('seedFromParts', () => {
  it('names only the stored segments, sums their sizes and numbers on from the last one', async () => {
    const { segments, segmentsSize: _s, nextSeq: _n, ...header } = seed;
    const parts = segments.map((x) => JSON.stringify(x));
    const sizes: Record<string, number> = { 's1_20261201_0.ts': 100 };
    const { seed: built, missing } = await seedFromParts(JSON.stringify(header), parts, async (app, uri) => {
      expect(app).toBe('live');
      return sizes[uri];
    });
    expect(missing).toBe(1);
    expect(built.segments.map((x) => x.uri)).toEqual(['s1_20261201_0.ts']);
    expect(built.segmentsSize).toBe(100);
    expect(built.nextSeq).toBe(2);
    expect(built.recordingId).toBe('ab12');
    expect(built.segments[0]!.sha256).toBeUndefined();
  });

  it("refuses a header that is not a recording's", async () => {
    await expect(seedFromParts('{"recordingId":"zz"}', [], async () => 1)).rejects.toThrow(
      'not a recording seed',
    );
  });
});
