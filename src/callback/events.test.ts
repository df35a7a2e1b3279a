import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RECORD_FORMATS } from '../config/schema.js';
import {
  RECORD_STATUSES,
  buildRecordEvent,
  buildRecordStatusEvent,
  buildStreamBeginEvent,
  buildStreamEndEvent,
  newFileId,
  newSequence,
  newVideoId,
  notifyUrls,
  splitUnixMs,
  type RecordFileFacts,
  type RecordFileHealth,
  type RecordStatusFacts,
  type StreamFacts,
} from './events.js';
import { signed } from './sign.js';
import { EVENT_100_FIELD_TYPES } from '../../test/helpers/event-100.js';

const facts: RecordFileFacts = {
  appid: 1253488539,
  domain: 'push.example.com',
  appName: 'live',
  streamId: '1400188888_room1_user1_main',
  fileId: '5285890799710173650',
  format: 'hls',
  taskId: 'rec-7f3a',
  templateId: '',
  startMs: 1581826332123.456,
  endMs: 1581829993000.5,
  durationSeconds: 3660.87654,
  fileSize: 123456789,
  streamParam: 'txSecret=abc&txTime=5E48F1D0&userid=dXNlcjE=&userdefinerecordid=abc',
  videoUrl: 'http://127.0.0.1:8080/live/s.m3u8',
  videoId: '1253488539_0123456789abcdef0123456789abcdef',
  mediaStartMs: 1581826331999.7,
  videoCodec: 'h264',
  resolution: '1280x720',
  sessionId: 'sess-1',
};

// Section 1 of tencent-compat.md, without sign and t (those are added per attempt).
const FIELD_TYPES = EVENT_100_FIELD_TYPES;

describe('buildRecordEvent', () => {
  const body = buildRecordEvent(facts);
  // What a receiver sees: the body after a JSON round trip.
  const wire = JSON.parse(JSON.stringify(signed(body, 'k', Date.now()))) as Record<string, unknown>;

  it('has exactly the fields of the table, plus sign and t when signed', () => {
    expect(Object.keys(body).sort()).toEqual(Object.keys(FIELD_TYPES).sort());
    expect(Object.keys(wire).sort()).toEqual([...Object.keys(FIELD_TYPES), 'sign', 't'].sort());
  });

  it.each(Object.entries(FIELD_TYPES))('sends %s as a JSON %s', (field, type) => {
    expect(typeof wire[field]).toBe(type);
  });

  it('sends sign as a string and t as a number', () => {
    expect(typeof wire.sign).toBe('string');
    expect(typeof wire.t).toBe('number');
  });

  it('maps the facts to Tencent fields', () => {
    expect(body).toMatchObject({
      event_type: 100,
      appid: 1253488539,
      app: 'push.example.com',
      appname: 'live',
      stream_id: facts.streamId,
      channel_id: facts.streamId,
      file_id: facts.fileId,
      record_file_id: facts.fileId,
      record_temp_id: '',
      file_format: 'hls',
      task_id: 'rec-7f3a',
      file_size: 123456789,
      stream_param: facts.streamParam,
      video_url: facts.videoUrl,
      video_id: facts.videoId,
      record_bps: 0,
    });
  });

  it('splits start and end into whole seconds and microseconds', () => {
    expect(body.start_time).toBe(1581826332);
    expect(body.start_time_usec).toBe(123456);
    expect(body.end_time).toBe(1581829993);
    expect(body.end_time_usec).toBe(500);
    for (const v of [body.start_time, body.end_time, body.start_time_usec, body.end_time_usec]) {
      expect(Number.isInteger(v)).toBe(true);
    }
  });

  it('sends media_start_time in whole milliseconds and duration to 3 decimals', () => {
    expect(body.media_start_time).toBe(1581826331999);
    expect(body.duration).toBe(3660.877);
  });

  it('sends callback_ext as a JSON string with codec, resolution and session id', () => {
    expect(JSON.parse(body.callback_ext)).toEqual({
      video_codec: 'h264',
      resolution: '1280x720',
      session_id: 'sess-1',
    });
  });

  it.each(RECORD_FORMATS)('sends file_format %s as given', (format) => {
    expect(buildRecordEvent({ ...facts, format }).file_format).toBe(format);
  });

  it('refuses a number that JSON would turn into null', () => {
    expect(() => buildRecordEvent({ ...facts, durationSeconds: Number.NaN })).toThrow(/durationSeconds/);
    expect(() => buildRecordEvent({ ...facts, endMs: Number.POSITIVE_INFINITY })).toThrow(/endMs/);
  });

  it('adds file_health, outside Tencent’s fields, only when it is given', () => {
    const fileHealth: RecordFileHealth = {
      sha256: 'a'.repeat(64),
      segments_sha256: null,
      duration: 3660.876,
      wall_seconds: 3660.877,
      max_av_offset_ms: 12,
      timestamp_repairs: { reset: 1, jump: 0, wrap: 0, start: 0, drift: 2 },
      cut: false,
    };
    const withHealth = buildRecordEvent({ ...facts, fileHealth });
    const received = JSON.parse(JSON.stringify(signed(withHealth, 'k', Date.now()))) as Record<
      string,
      unknown
    >;
    expect(received.file_health).toEqual(fileHealth);
    expect(Object.keys(withHealth).sort()).toEqual([...Object.keys(FIELD_TYPES), 'file_health'].sort());
    expect('file_health' in buildRecordEvent(facts)).toBe(false);
  });
});

describe('splitUnixMs', () => {
  it.each([
    [0, 0, 0],
    [1000, 1, 0],
    [1581826332123.456, 1581826332, 123456],
    [1581826332999 + 0.9999, 1581826333, 0],
    [1700000000000.001, 1700000000, 1],
  ])('%s ms is %s s + %s us', (ms, seconds, usec) => {
    expect(splitUnixMs(ms)).toEqual({ seconds, usec });
  });
});

describe('ids', () => {
  it('newFileId is 19 decimal digits without a leading 0, below 2^63', () => {
    const ids = Array.from({ length: 2000 }, () => newFileId());
    for (const id of ids) {
      expect(id).toMatch(/^[1-9][0-9]{18}$/);
      expect(BigInt(id) < 2n ** 63n).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('newVideoId is <appid>_<32 lowercase hex>', () => {
    expect(newVideoId(1253488539)).toMatch(/^1253488539_[0-9a-f]{32}$/);
    expect(newVideoId(1)).not.toBe(newVideoId(1));
  });
});

/** A fixture's field → JSON type table. */
function fieldTypes(name: string): Record<string, 'number' | 'string'> {
  return JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    'number' | 'string'
  >;
}

/** What a receiver sees: the signed body after a JSON round trip. */
const onWire = (body: object) =>
  JSON.parse(JSON.stringify(signed(body, 'k', Date.now()))) as Record<string, unknown>;

const NOW = 1_700_000_123_456;

const stream: StreamFacts = {
  appid: 1253488539,
  domain: 'push.example.com',
  appName: 'live',
  streamId: 'stream1001',
  sequence: '7037777160241646428',
  node: '10.0.0.5',
  userIp: '61.135.194.200',
  streamParam: 'txSecret=abc&txTime=5E48F1D0&userid=MQ==',
  width: 0,
  height: 0,
};

const status: RecordStatusFacts = {
  appid: 1253488539,
  domain: 'push.example.com',
  appName: 'live',
  streamId: 'stream1001',
  status: 'record_paused',
  sessionId: 'a1b2c3d4e5f60718',
  seq: 2,
  formats: ['hls', 'mp4'],
  reason: 'publisher disconnected',
};

describe.each([
  ['event 1', 'event-1-fields.json', buildStreamBeginEvent(stream, NOW)],
  [
    'event 0',
    'event-0-fields.json',
    buildStreamEndEvent(stream, NOW - 4_321.4, { errcode: 0, errmsg: '' }, NOW),
  ],
  ['event 332', 'event-332-fields.json', buildRecordStatusEvent(status, NOW)],
] as const)('%s body', (_name, fixture, body) => {
  const types = fieldTypes(fixture);
  const wire = onWire(body);

  it('has exactly the fields of its table, plus sign and t when signed', () => {
    expect(Object.keys(body).sort()).toEqual(Object.keys(types).sort());
    expect(Object.keys(wire).sort()).toEqual([...Object.keys(types), 'sign', 't'].sort());
  });

  it.each(Object.entries(types))('sends %s as a JSON %s', (field, type) => {
    expect(typeof wire[field]).toBe(type);
  });

  it('sends event_time in whole Unix seconds', () => {
    expect(wire.event_time).toBe(1_700_000_123);
  });
});

describe('buildStreamBeginEvent and buildStreamEndEvent', () => {
  it('map the facts to Tencent fields', () => {
    expect(buildStreamBeginEvent(stream, NOW)).toEqual({
      event_type: 1,
      appid: 1253488539,
      app: 'push.example.com',
      appname: 'live',
      stream_id: 'stream1001',
      channel_id: 'stream1001',
      event_time: 1_700_000_123,
      sequence: stream.sequence,
      node: '10.0.0.5',
      user_ip: '61.135.194.200',
      stream_param: stream.streamParam,
      errcode: 0,
      errmsg: '',
      width: 0,
      height: 0,
      set_id: 1,
    });
  });

  it('keep the sequence of the push in both events', () => {
    const begin = buildStreamBeginEvent(stream, NOW);
    const end = buildStreamEndEvent(stream, NOW, { errcode: 3, errmsg: 'recv() return 0' }, NOW + 5000);
    expect(end.sequence).toBe(begin.sequence);
    expect(end).toMatchObject({ event_type: 0, errcode: 3, errmsg: 'recv() return 0' });
  });

  it.each([
    [0, '0'],
    [4_321.4, '4321'],
    [4_321.6, '4322'],
    [3_600_000, '3600000'],
    [-5, '0'],
  ])('sends a push of %s ms as push_duration %j', (ms, text) => {
    expect(buildStreamEndEvent(stream, NOW - ms, { errcode: 0, errmsg: '' }, NOW).push_duration).toBe(text);
  });

  it('sends the video size it was given', () => {
    const end = buildStreamEndEvent(
      { ...stream, width: 1280, height: 720 },
      NOW,
      { errcode: 0, errmsg: '' },
      NOW,
    );
    expect([end.width, end.height]).toEqual([1280, 720]);
  });
});

describe('buildRecordStatusEvent', () => {
  it.each(RECORD_STATUSES)('sends record_event %s as given', (recordEvent) => {
    expect(buildRecordStatusEvent({ ...status, status: recordEvent }, NOW).record_event).toBe(recordEvent);
  });

  it('maps the facts to Tencent fields, seq as a string', () => {
    expect(buildRecordStatusEvent(status, NOW)).toMatchObject({
      event_type: 332,
      appid: 1253488539,
      domain: 'push.example.com',
      appname: 'live',
      stream_id: 'stream1001',
      session_id: 'a1b2c3d4e5f60718',
      seq: '2',
    });
  });

  it.each([
    [['hls'], [2]],
    [
      ['flv', 'hls', 'mp4', 'aac'],
      [1, 2, 3, 4],
    ],
  ] as const)('sends record_detail for %j as a JSON string with Tencent codes %j', (formats, codes) => {
    const detail = JSON.parse(buildRecordStatusEvent({ ...status, formats }, NOW).record_detail) as unknown;
    expect(detail).toEqual({
      file_format: codes,
      record_bps: 0,
      start_model: 1,
      record_content: 1,
      source_type: 1,
      reason: 'publisher disconnected',
    });
  });
});

describe('notifyUrls', () => {
  const A = 'http://a.example/cb';
  const B = 'http://b.example/cb';
  it.each([
    ['nothing set', {}, [undefined, undefined, undefined, undefined]],
    ['url alone', { url: A }, [A, A, A, A]],
    ['one specific URL', { RecordStatusNotifyUrl: B }, [undefined, undefined, undefined, B]],
    ['url and a specific URL', { url: A, StreamEndNotifyUrl: B }, [A, B, A, A]],
    [
      'every specific URL',
      {
        url: A,
        StreamBeginNotifyUrl: 'http://1/',
        StreamEndNotifyUrl: 'http://0/',
        RecordNotifyUrl: 'http://100/',
        RecordStatusNotifyUrl: 'http://332/',
      },
      ['http://1/', 'http://0/', 'http://100/', 'http://332/'],
    ],
  ] as const)('%s', (_name, callback, [streamBegin, streamEnd, record, recordStatus]) => {
    expect(notifyUrls(callback)).toEqual({ streamBegin, streamEnd, record, recordStatus });
  });
});

describe('newSequence', () => {
  it('is 19 decimal digits and fresh each time', () => {
    expect(newSequence()).toMatch(/^[1-9][0-9]{18}$/);
    expect(newSequence()).not.toBe(newSequence());
  });
});
