import { describe, expect, it } from 'vitest';
import { RECORD_FORMATS } from '../config/schema.js';
import { buildRecordEvent, newFileId, newVideoId, splitUnixMs, type RecordFileFacts } from './events.js';
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
