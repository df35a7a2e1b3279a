import { describe, expect, it } from 'vitest';
import { parseSeed, seedJson, type SessionSeed } from './session-seed.js';

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
    },
  ],
  segmentsSize: 1234,
  nextSeq: 2,
  statusSeq: 2,
  from: 'node-a',
} as unknown as SessionSeed;

describe('session seeds', () => {
  it('read back what was written, dates as dates', () => {
    const back = parseSeed(seedJson(seed));
    expect(back).toEqual(seed);
    expect(back.segments[1]!.programDateTime).toBeInstanceOf(Date);
  });

  it.each([
    [{ ...seed, nextSeq: -1 }, 'nextSeq'],
    [{ ...seed, recordingId: '../x' }, 'recordingId'],
    [
      { ...seed, segments: [{ ...seed.segments[0]!, programDateTime: 'never' }] },
      'segments.0.programDateTime',
    ],
    [{ ...seed, head: undefined }, 'head'],
  ])('refuses a broken one, naming the field (%#)', (broken, field) => {
    expect(() => parseSeed(JSON.stringify(broken))).toThrow(`not a recording seed: ${field}`);
  });
});
