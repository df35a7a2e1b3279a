import { describe, it, expect } from 'vitest';
import { DEFAULT_FILE_NAME_TEMPLATE, RECORD_FORMATS, type RecordFormat } from '../config/schema.js';
import { AppError, InvalidNameError } from '../shared/errors.js';
import {
  assertSafeComponent,
  extensionOf,
  firstFree,
  objectKey,
  parseFileName,
  renderFileName,
  renderHead,
  segmentFileName,
  type NameOptions,
  tencentTimeText,
} from './names.js';

const MS_TEMPLATE =
  '{StreamID}_{StartYear}{StartMonth}{StartDay}{StartHour}{StartMinute}{StartSecond}{StartMillisecond}' +
  '_{EndYear}{EndMonth}{EndDay}{EndHour}{EndMinute}{EndSecond}{EndMillisecond}';
const NO_END_TEMPLATE =
  'rec-{StreamID}-{StartYear}{StartMonth}{StartDay}T{StartHour}{StartMinute}{StartSecond}';
const PARTIAL_END_TEMPLATE =
  '{StreamID}.{StartYear}-{StartMonth}-{StartDay}.{StartHour}{StartMinute}{StartSecond}' +
  '--{EndHour}{EndMinute}{EndSecond}';

const shanghai: NameOptions = { template: DEFAULT_FILE_NAME_TEMPLATE, timeZone: 'Asia/Shanghai' };
const at = (iso: string) => new Date(iso);
// The compat doc's example: 2020-02-16 12:12:12 to 13:13:13 in Asia/Shanghai (UTC+8).
const docStart = at('2020-02-16T04:12:12Z');
const docEnd = at('2020-02-16T05:13:13Z');

const BAD_COMPONENTS: [string, string][] = [
  ['parent traversal', '../x'],
  ['dot-dot', '..'],
  ['dot', '.'],
  ['hidden', '.hidden'],
  ['slash', 'a/b'],
  ['backslash', 'a\\b'],
  ['empty', ''],
  ['too long', 'x'.repeat(129)],
  ['NUL', 'a\0b'],
  ['space', 'a b'],
  ['non-ASCII', 'stréam'],
];

describe('assertSafeComponent', () => {
  it.each(['stream1001', '1400188366_1234_user_a_main', 'a.b~c%2Fd-e', 'x'.repeat(128), 'trailing.'])(
    'accepts %j and returns it',
    (value) => {
      expect(assertSafeComponent('stream id', value)).toBe(value);
    },
  );

  it.each(BAD_COMPONENTS)('rejects %s with an InvalidNameError naming the value', (_label, value) => {
    let thrown: unknown;
    try {
      assertSafeComponent('stream id', value);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidNameError);
    expect((thrown as InvalidNameError).code).toBe('INVALID_NAME');
    expect((thrown as Error).message).toContain('stream id');
    expect((thrown as Error).message).toContain(JSON.stringify(value).slice(0, 40));
  });
});

describe('objectKey', () => {
  it.each([
    [
      'live',
      'stream1001_2020-02-16-12-12-12_2020-02-16-13-13-13.m3u8',
      'live/stream1001_2020-02-16-12-12-12_2020-02-16-13-13-13.m3u8',
    ],
    ['app.v2', 'seg_000001.ts', 'app.v2/seg_000001.ts'],
    ['live', 'x'.repeat(255), `live/${'x'.repeat(255)}`],
    ['live', 'a..b', 'live/a..b'],
  ])('joins %j and %j', (app, file, key) => {
    expect(objectKey(app, file)).toBe(key);
  });

  it.each(BAD_COMPONENTS)('rejects an app that is %s', (_label, app) => {
    expect(() => objectKey(app, 'file.flv')).toThrow(InvalidNameError);
  });

  it.each([
    ['parent traversal', '../x'],
    ['dot-dot', '..'],
    ['hidden', '.hidden'],
    ['slash', 'a/b'],
    ['backslash', 'a\\b'],
    ['empty', ''],
    ['NUL', 'a\0b'],
    ['newline', 'a\nb'],
    ['256 bytes', 'x'.repeat(256)],
    ['over 255 bytes of UTF-8 in 86 characters', '录'.repeat(86)],
  ])('rejects a file name that is %s', (_label, file) => {
    expect(() => objectKey('live', file)).toThrow(InvalidNameError);
  });
});

describe('extensionOf', () => {
  const expected: Record<RecordFormat, string> = { hls: 'm3u8', flv: 'flv', mp4: 'mp4', aac: 'aac' };
  it.each(RECORD_FORMATS.map((f) => [f, expected[f]]))('%s -> %s', (format, ext) => {
    expect(extensionOf(format as RecordFormat)).toBe(ext);
  });
});

describe('renderFileName', () => {
  it.each([
    {
      name: 'the compat doc example',
      opts: shanghai,
      start: docStart,
      end: docEnd,
      n: 0,
      expected: 'stream1001_2020-02-16-12-12-12_2020-02-16-13-13-13',
    },
    {
      name: 'a disambiguator between head and end time',
      opts: shanghai,
      start: docStart,
      end: docEnd,
      n: 1,
      expected: 'stream1001_2020-02-16-12-12-12_1_2020-02-16-13-13-13',
    },
    {
      name: 'the same instants in UTC',
      opts: { template: DEFAULT_FILE_NAME_TEMPLATE, timeZone: 'UTC' },
      start: docStart,
      end: docEnd,
      n: 0,
      expected: 'stream1001_2020-02-16-04-12-12_2020-02-16-05-13-13',
    },
    {
      name: 'a date change in New York',
      opts: { template: DEFAULT_FILE_NAME_TEMPLATE, timeZone: 'America/New_York' },
      start: docStart,
      end: docEnd,
      n: 0,
      expected: 'stream1001_2020-02-15-23-12-12_2020-02-16-00-13-13',
    },
    {
      name: 'milliseconds',
      opts: { template: MS_TEMPLATE, timeZone: 'Asia/Shanghai' },
      start: at('2020-02-16T04:12:12.007Z'),
      end: at('2020-02-16T05:13:13.450Z'),
      n: 0,
      expected: 'stream1001_20200216121212007_20200216131313450',
    },
    {
      name: 'a template without End fields',
      opts: { template: NO_END_TEMPLATE, timeZone: 'Asia/Shanghai' },
      start: docStart,
      end: docEnd,
      n: 0,
      expected: 'rec-stream1001-20200216T121212',
    },
    {
      name: 'a template without End fields and a disambiguator',
      opts: { template: NO_END_TEMPLATE, timeZone: 'Asia/Shanghai' },
      start: docStart,
      end: docEnd,
      n: 3,
      expected: 'rec-stream1001-20200216T121212_3',
    },
    {
      name: 'midnight as hour 00, not 24',
      opts: shanghai,
      start: at('2021-12-31T16:00:00Z'),
      end: at('2021-12-31T16:00:05Z'),
      n: 0,
      expected: 'stream1001_2022-01-01-00-00-00_2022-01-01-00-00-05',
    },
  ])('renders $name', ({ opts, start, end, n, expected }) => {
    expect(renderFileName(opts, 'stream1001', start, end, n)).toBe(expected);
  });

  it.each(BAD_COMPONENTS)('refuses a stream id that is %s', (_label, id) => {
    expect(() => renderFileName(shanghai, id, docStart, docEnd)).toThrow(InvalidNameError);
    expect(() => renderHead(shanghai, id, docStart)).toThrow(InvalidNameError);
  });

  it.each([
    ['an unknown placeholder', '{StreamID}_{StartWeekday}'],
    ['no {StreamID}', '{StartYear}{StartMonth}{StartDay}'],
    ['a slash', '{StreamID}/{StartYear}'],
  ])('refuses a template with %s', (_label, template) => {
    expect(() => renderFileName({ template, timeZone: 'UTC' }, 's', docStart, docEnd)).toThrow(
      InvalidNameError,
    );
  });

  it.each([-1, 1.5, NaN])('refuses the disambiguator %s', (n) => {
    expect(() => renderFileName(shanghai, 's', docStart, docEnd, n)).toThrow(RangeError);
  });

  it('refuses an invalid Date', () => {
    expect(() => renderFileName(shanghai, 's', docStart, new Date(NaN))).toThrow(RangeError);
  });
});

describe('renderHead', () => {
  it.each([
    { template: DEFAULT_FILE_NAME_TEMPLATE, n: 0, expected: 'stream1001_2020-02-16-12-12-12' },
    { template: DEFAULT_FILE_NAME_TEMPLATE, n: 2, expected: 'stream1001_2020-02-16-12-12-12_2' },
    { template: MS_TEMPLATE, n: 0, expected: 'stream1001_20200216121212000' },
    { template: NO_END_TEMPLATE, n: 0, expected: 'rec-stream1001-20200216T121212' },
    { template: PARTIAL_END_TEMPLATE, n: 0, expected: 'stream1001.2020-02-16.121212' },
    { template: '{StreamID}__-{EndYear}', n: 1, expected: 'stream1001_1' },
  ])('renders $template with disambiguator $n as $expected', ({ template, n, expected }) => {
    expect(renderHead({ template, timeZone: 'Asia/Shanghai' }, 'stream1001', docStart, n)).toBe(expected);
  });

  it.each([DEFAULT_FILE_NAME_TEMPLATE, MS_TEMPLATE, NO_END_TEMPLATE, PARTIAL_END_TEMPLATE])(
    'is the prefix of every file name of the recording for %s',
    (template) => {
      const opts = { template, timeZone: 'Europe/Berlin' };
      for (const n of [0, 1, 12]) {
        for (const minutes of [1, 59, 600]) {
          const end = new Date(docStart.getTime() + minutes * 60_000);
          expect(
            renderFileName(opts, 'a_b-c', docStart, end, n).startsWith(
              renderHead(opts, 'a_b-c', docStart, n),
            ),
          ).toBe(true);
        }
      }
    },
  );
});

describe('segmentFileName', () => {
  it.each([
    [0, 'stream1001_2020-02-16-12-12-12_000000.ts'],
    [42, 'stream1001_2020-02-16-12-12-12_000042.ts'],
    [999_999, 'stream1001_2020-02-16-12-12-12_999999.ts'],
    [1_234_567, 'stream1001_2020-02-16-12-12-12_1234567.ts'],
  ])('numbers segment %d', (seq, expected) => {
    expect(segmentFileName('stream1001_2020-02-16-12-12-12', seq)).toBe(expected);
  });

  it.each([-1, 0.5, NaN])('refuses segment number %s', (seq) => {
    expect(() => segmentFileName('h', seq)).toThrow(RangeError);
  });
});

describe('parseFileName', () => {
  it('decodes the compat doc example in Asia/Shanghai', () => {
    expect(parseFileName(shanghai, 'stream1001_2020-02-16-12-12-12_2020-02-16-13-13-13')).toEqual({
      streamId: 'stream1001',
      start: docStart,
      end: docEnd,
      disambiguator: 0,
    });
  });

  it('decodes a disambiguator', () => {
    expect(parseFileName(shanghai, 'stream1001_2020-02-16-12-12-12_7_2020-02-16-13-13-13')).toEqual({
      streamId: 'stream1001',
      start: docStart,
      end: docEnd,
      disambiguator: 7,
    });
  });

  it('keeps milliseconds when the template has them', () => {
    const parsed = parseFileName(
      { template: MS_TEMPLATE, timeZone: 'Asia/Shanghai' },
      'x_20200216121212007_20200216131313450',
    );
    expect(parsed?.start.toISOString()).toBe('2020-02-16T04:12:12.007Z');
    expect(parsed?.end.toISOString()).toBe('2020-02-16T05:13:13.450Z');
  });

  it('takes the end to be the start when the template has no End fields', () => {
    const parsed = parseFileName(
      { template: NO_END_TEMPLATE, timeZone: 'Asia/Shanghai' },
      'rec-s_1-20200216T121212_4',
    );
    expect(parsed).toEqual({ streamId: 's_1', start: docStart, end: docStart, disambiguator: 4 });
  });

  const ZONES = [
    'Asia/Shanghai',
    'UTC',
    'America/New_York',
    'Europe/Berlin',
    'Asia/Kolkata',
    'America/St_Johns',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
  ];
  const STREAM_IDS = [
    'stream1001',
    '1400188366_1234_user_a_main',
    '1400188366_room1_user-a_main',
    '1400188366_1234_user_a_aux',
    'a-_-b',
    '_1',
    '9',
    'u%E4%BD%A0~x.y',
    's_2020-01-01-00-00-00',
    'x'.repeat(128),
  ];
  const TEMPLATES = [DEFAULT_FILE_NAME_TEMPLATE, MS_TEMPLATE, NO_END_TEMPLATE, PARTIAL_END_TEMPLATE];
  const hasMs = (template: string, side: string) => template.includes(`{${side}Millisecond}`);
  const truncate = (d: Date) => new Date(d.getTime() - (d.getTime() % 1000));

  describe.each(TEMPLATES)('round-trips template %s', (template) => {
    it.each(ZONES)('in %s', (timeZone) => {
      const opts = { template, timeZone };
      const start = at('2024-07-09T22:58:31.123Z');
      // Partial End fields borrow the start's date, so keep the end on the same local day there.
      const end = at(
        template === PARTIAL_END_TEMPLATE ? '2024-07-09T22:59:59.877Z' : '2024-07-10T01:03:04.877Z',
      );
      const expectedStart = hasMs(template, 'Start') ? start : truncate(start);
      const expectedEnd =
        template === NO_END_TEMPLATE ? expectedStart : hasMs(template, 'End') ? end : truncate(end);
      for (const streamId of STREAM_IDS) {
        for (const n of [0, 1, 10, 9999]) {
          const name = renderFileName(opts, streamId, start, end, n);
          expect(parseFileName(opts, name), name).toEqual({
            streamId,
            start: expectedStart,
            end: expectedEnd,
            disambiguator: n,
          });
        }
      }
    });
  });

  it('round-trips a TRTC stream id with the default template', () => {
    const opts = { template: DEFAULT_FILE_NAME_TEMPLATE, timeZone: 'Asia/Shanghai' };
    const name = renderFileName(opts, '1400188366_1234_user_a_main', docStart, docEnd, 1);
    expect(name).toBe('1400188366_1234_user_a_main_2020-02-16-12-12-12_1_2020-02-16-13-13-13');
    expect(parseFileName(opts, name)).toEqual({
      streamId: '1400188366_1234_user_a_main',
      start: docStart,
      end: docEnd,
      disambiguator: 1,
    });
  });

  // Every 10 minutes across each DST change; a time in a repeated hour decodes to its first occurrence.
  it.each([
    ['America/New_York', '2024-03-10T03:00:00Z'],
    ['America/New_York', '2024-11-03T03:00:00Z'],
    ['Europe/Berlin', '2024-03-30T22:00:00Z'],
    ['Europe/Berlin', '2024-10-26T22:00:00Z'],
    ['Australia/Lord_Howe', '2024-04-06T12:00:00Z'],
    ['Australia/Lord_Howe', '2024-10-05T12:00:00Z'],
  ])('round-trips across the DST change in %s near %s', (timeZone, from) => {
    const opts = { template: DEFAULT_FILE_NAME_TEMPLATE, timeZone };
    const hour = 3_600_000;
    // The earlier instant showing the same wall time, if t is a repeat of it (DST of 1 h or 30 min).
    const firstOccurrence = (t: number) =>
      [t - hour, t - hour / 2].find(
        (e) => renderHead(opts, 's', new Date(e)) === renderHead(opts, 's', new Date(t)),
      ) ?? t;
    let repeats = 0;
    for (let t = Date.parse(from); t < Date.parse(from) + 10 * hour; t += 600_000) {
      const start = t;
      const end = t + 25 * 60_000;
      const expectedStart = firstOccurrence(start);
      const endFirst = firstOccurrence(end);
      const expectedEnd = endFirst >= expectedStart ? endFirst : end;
      if (expectedStart !== start || expectedEnd !== end) repeats++;
      const name = renderFileName(opts, 'stream1001', new Date(start), new Date(end));
      expect(parseFileName(opts, name), name).toEqual({
        streamId: 'stream1001',
        start: new Date(expectedStart),
        end: new Date(expectedEnd),
        disambiguator: 0,
      });
    }
    const fallBack = from.includes('-11-') || from.includes('-10-26') || from.includes('-04-06');
    expect(repeats > 0).toBe(fallBack);
  });

  it('decodes an end in the second pass of a repeated hour after a start in the first', () => {
    const opts = { template: DEFAULT_FILE_NAME_TEMPLATE, timeZone: 'America/New_York' };
    // 01:30 EDT to 01:15 EST on 2024-11-03.
    const start = at('2024-11-03T05:30:00Z');
    const end = at('2024-11-03T06:15:00Z');
    const name = renderFileName(opts, 'stream1001', start, end);
    expect(name).toBe('stream1001_2024-11-03-01-30-00_2024-11-03-01-15-00');
    expect(parseFileName(opts, name)).toEqual({ streamId: 'stream1001', start, end, disambiguator: 0 });
  });

  it('requires a repeated placeholder to repeat the same text', () => {
    const opts = {
      template: '{StreamID}_{StartYear}{StartMonth}{StartDay}_{EndHour}{EndMinute}{EndSecond}@{StreamID}',
      timeZone: 'UTC',
    };
    const name = renderFileName(opts, 'a_b', docStart, docEnd, 2);
    expect(name).toBe('a_b_20200216_2_051313@a_b');
    expect(parseFileName(opts, name)).toEqual({
      streamId: 'a_b',
      // The start has no time of day in this template, so it takes the end's.
      start: at('2020-02-16T05:13:13Z'),
      end: at('2020-02-16T05:13:13Z'),
      disambiguator: 2,
    });
    expect(parseFileName(opts, 'a_b_20200216_2_051313@a_c')).toBeNull();
  });

  // With {StreamID} last in the head, `room` + `_1` and `room_1` + nothing render alike; the longer id wins.
  it('reads a trailing _n as part of the stream id when {StreamID} ends the head', () => {
    const opts = { template: '{StartYear}{StartMonth}{StartDay}-{StreamID}', timeZone: 'UTC' };
    expect(renderFileName(opts, 'room', docStart, docEnd, 1)).toBe(
      renderFileName(opts, 'room_1', docStart, docEnd, 0),
    );
    expect(parseFileName(opts, '20200216-room_1')).toEqual({
      streamId: 'room_1',
      start: at('2020-02-16T00:00:00Z'),
      end: at('2020-02-16T00:00:00Z'),
      disambiguator: 0,
    });
  });

  it.each([
    [
      'a date only',
      '{StreamID}_{StartYear}{StartMonth}{StartDay}',
      'ab_20200216',
      '2020-02-15T16:00:00Z',
      '2020-02-15T16:00:00Z',
    ],
    [
      'an end date only',
      '{StreamID}_{EndYear}{EndMonth}{EndDay}',
      'ab_20200216',
      '2020-02-15T16:00:00Z',
      '2020-02-15T16:00:00Z',
    ],
    ['no date', '{StreamID}_{StartHour}{StartMinute}{StartSecond}', 'ab_121212', null, null],
  ])('decodes a template with %s', (_label, template, name, start, end) => {
    const parsed = parseFileName({ template, timeZone: 'Asia/Shanghai' }, name);
    expect(parsed && { start: parsed.start.toISOString(), end: parsed.end.toISOString() }).toEqual(
      start === null ? null : { start: new Date(start).toISOString(), end: new Date(end!).toISOString() },
    );
  });

  it.each([
    ['another stream layout', 'stream1001_20200216121212_20200216131313'],
    ['an extension', 'stream1001_2020-02-16-12-12-12_2020-02-16-13-13-13.m3u8'],
    ['a segment name', 'stream1001_2020-02-16-12-12-12_000001'],
    ['a zero disambiguator', 'stream1001_2020-02-16-12-12-12_0_2020-02-16-13-13-13'],
    ['a padded disambiguator', 'stream1001_2020-02-16-12-12-12_01_2020-02-16-13-13-13'],
    ['February 30', 'stream1001_2020-02-30-12-12-12_2020-03-01-13-13-13'],
    ['month 13', 'stream1001_2020-13-16-12-12-12_2020-02-16-13-13-13'],
    ['hour 24', 'stream1001_2020-02-16-24-00-00_2020-02-16-13-13-13'],
    ['a hidden stream id', '.hidden_2020-02-16-12-12-12_2020-02-16-13-13-13'],
    ['an empty stream id', '_2020-02-16-12-12-12_2020-02-16-13-13-13'],
    ['a slash in the stream id', 'a/b_2020-02-16-12-12-12_2020-02-16-13-13-13'],
    ['nothing', ''],
  ])('rejects %s', (_label, name) => {
    expect(parseFileName(shanghai, name)).toBeNull();
  });

  it('rejects a wall time that a DST gap skips', () => {
    const opts = { template: DEFAULT_FILE_NAME_TEMPLATE, timeZone: 'America/New_York' };
    expect(parseFileName(opts, 'stream1001_2024-03-10-02-30-00_2024-03-10-03-30-00')).toBeNull();
    expect(parseFileName(opts, 'stream1001_2024-03-10-01-30-00_2024-03-10-03-30-00')).not.toBeNull();
  });
});

describe('firstFree', () => {
  const candidate = (n: number) => (n === 0 ? 'rec' : `rec_${n}`);

  it.each([
    { taken: [], expected: 'rec' },
    { taken: ['rec'], expected: 'rec_1' },
    { taken: ['rec', 'rec_1', 'rec_2'], expected: 'rec_3' },
    { taken: ['rec_1'], expected: 'rec' },
    { taken: ['rec', 'rec_2'], expected: 'rec_1' },
  ])('picks $expected when $taken are taken', ({ taken, expected }) => {
    const asked: string[] = [];
    const result = firstFree(candidate, (name) => {
      asked.push(name);
      return (taken as string[]).includes(name);
    });
    expect(result).toBe(expected);
    expect(asked.at(-1)).toBe(expected);
    expect(new Set(asked).size).toBe(asked.length);
  });

  it('gives up after 10000 candidates', () => {
    let tries = 0;
    let thrown: unknown;
    try {
      firstFree(candidate, () => {
        tries++;
        return true;
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe('NAME_EXHAUSTED');
    expect(tries).toBe(10_000);
  });
});

describe('tencentTimeText', () => {
  it.each([
    // 2020-02-16T04:12:12Z is 12:12:12 in Shanghai (UTC+8).
    [Date.UTC(2020, 1, 16, 4, 12, 12), 'Asia/Shanghai', '2020-02-16 12:12:12'],
    // Midnight prints as 00, never 24.
    [Date.UTC(2020, 1, 15, 16, 0, 0), 'Asia/Shanghai', '2020-02-16 00:00:00'],
    [Date.UTC(2020, 11, 31, 23, 59, 59, 999), 'UTC', '2020-12-31 23:59:59'],
  ])('%d in %s is %s', (ms, zone, text) => {
    expect(tencentTimeText(ms, zone)).toBe(text);
  });
});
