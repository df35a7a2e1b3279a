import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTencentSign } from '../../src/callback/index.js';
import { EVENT_100_FIELD_TYPES } from '../helpers/event-100.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { decode, probe } from '../helpers/media.js';
import { publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const PUSH_SECONDS = 8;
const KEY = 'callback-key-123';
const QUERY = 'txSecret=0123abcd&txTime=5C271099&userid=MQ==';

/** The event 100 table with the signature fields. */
const EVENT_100_FIELDS: Record<string, 'number' | 'string'> = {
  ...EVENT_100_FIELD_TYPES,
  sign: 'string',
  t: 'number',
};

describe('one push recorded to every format', () => {
  let rec: TestRecorder;
  let receiver: CallbackReceiver;
  let bodies: Record<string, unknown>[];
  let pushStart = 0;
  let pushEnd = 0;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: ['hls', 'flv', 'mp4', 'aac'], hlsSegmentSeconds: 2 },
      callback: { url: receiver.url, key: KEY, appid: 1253001, domain: 'push.example.com' },
    });
    pushStart = Date.now();
    const publisher = publish(rec.rtmpUrl('stream1001', QUERY), { seconds: PUSH_SECONDS });
    expect(await publisher.exited).toBe(0);
    pushEnd = Date.now();
    // callback.url also receives events 1, 0 and 332 (test/e2e/events.test.ts); these tests are about 100.
    bodies = await receiver.waitFor((b) => b.event_type === 100, 4);
  }, 90_000);

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it.each(['hls', 'flv', 'mp4', 'aac'])('%s is playable and as long as the push', async (format) => {
    const body = bodies.find((b) => b.file_format === format)!;
    expect(body).toBeDefined();
    const path = join(rec.dataDir, new URL(String(body.video_url)).pathname);
    const { errors, seconds } = await decode(path);
    expect(errors).toEqual([]);
    expect(Math.abs(seconds - PUSH_SECONDS)).toBeLessThanOrEqual(1);
    const info = await probe(path);
    const kinds = info.streams.map((s) => s.codec_type).sort();
    expect(kinds).toEqual(format === 'aac' ? ['audio'] : ['audio', 'video']);
  });

  it('stored files are served over HTTP with the right content type and Range', async () => {
    const types: Record<string, string> = {
      hls: 'application/vnd.apple.mpegurl',
      flv: 'video/x-flv',
      mp4: 'video/mp4',
      aac: 'audio/aac',
    };
    for (const body of bodies) {
      const response = await fetch(String(body.video_url), { headers: { range: 'bytes=0-9' } });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-type')).toContain(types[String(body.file_format)]);
      expect((await response.arrayBuffer()).byteLength).toBe(10);
    }
  });

  it('the mp4 has its moov before its mdat (faststart)', async () => {
    const body = bodies.find((b) => b.file_format === 'mp4')!;
    const bytes = Buffer.from(await (await fetch(String(body.video_url))).arrayBuffer());
    const moov = bytes.indexOf('moov');
    const mdat = bytes.indexOf('mdat');
    expect(moov).toBeGreaterThan(0);
    expect(moov).toBeLessThan(mdat);
  });

  it('the playlist has a program date-time on each segment and ends with ENDLIST', async () => {
    const body = bodies.find((b) => b.file_format === 'hls')!;
    const text = await (await fetch(String(body.video_url))).text();
    const segments = text.split('\n').filter((l) => l.endsWith('.ts'));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(text.match(/#EXT-X-PROGRAM-DATE-TIME/g)?.length).toBe(segments.length);
    expect(text.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  it('each callback carries every field of event 100 with its JSON type', () => {
    for (const body of bodies) {
      for (const [field, type] of Object.entries(EVENT_100_FIELDS)) {
        expect(typeof body[field], `${field} of ${String(body.file_format)}`).toBe(type);
      }
      expect(body.event_type).toBe(100);
      expect(body.appid).toBe(1253001);
      expect(body.app).toBe('push.example.com');
      expect(body.appname).toBe('live');
      expect(body.stream_id).toBe('stream1001');
      expect(body.channel_id).toBe('stream1001');
      expect(body.record_file_id).toBe(body.file_id);
      expect(body.stream_param).toBe(QUERY);
      expect(body.record_bps).toBe(0);
      expect(String(body.video_id)).toMatch(/^1253001_[0-9a-f]{32}$/);
      expect(Number.isInteger(body.start_time_usec) && Number(body.start_time_usec) < 1_000_000).toBe(true);
      const ext = JSON.parse(String(body.callback_ext)) as Record<string, string>;
      expect(ext.video_codec).toBe('h264');
      expect(ext.resolution).toBe('320x240');
      expect(ext.session_id).toBe(body.task_id);
      const start = Number(body.start_time) * 1000;
      expect(start).toBeGreaterThanOrEqual(pushStart - 1000);
      expect(Number(body.end_time) * 1000).toBeLessThanOrEqual(pushEnd + 1000);
      expect(Number(body.file_size)).toBeGreaterThan(0);
    }
    expect(new Set(bodies.map((b) => b.file_id)).size).toBe(bodies.length);
  });

  it('sign is md5(key + t) and t is about ten minutes ahead', () => {
    for (const body of bodies) {
      const expected = createHash('md5')
        .update(`${KEY}${String(body.t)}`)
        .digest('hex');
      expect(body.sign).toBe(expected);
      expect(verifyTencentSign(body, KEY, Date.now())).toBe(true);
      expect(verifyTencentSign(body, 'wrong-key')).toBe(false);
      const ahead = Number(body.t) - Date.now() / 1000;
      expect(ahead).toBeGreaterThan(500);
      expect(ahead).toBeLessThanOrEqual(600);
    }
  });
});
