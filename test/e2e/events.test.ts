import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTencentSign } from '../../src/callback/index.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = 'callback-key-332';
const APPID = 1253002;
const DOMAIN = 'push.example.com';
const QUERY = 'txSecret=0123abcd&txTime=5C271099&userid=MQ==';
const PUSH_SECONDS = 4;

type Body = Record<string, unknown>;

/** A fixture's field → JSON type table, with the fields every delivered callback adds. */
function fieldsOf(fixture: string): Record<string, 'number' | 'string'> {
  const table = JSON.parse(
    readFileSync(new URL(`../../fixtures/${fixture}`, import.meta.url), 'utf8'),
  ) as Record<string, 'number' | 'string'>;
  return { ...table, sign: 'string', t: 'number', event_id: 'string' };
}

const FIELDS: Record<number, Record<string, 'number' | 'string'>> = {
  1: fieldsOf('event-1-fields.json'),
  0: fieldsOf('event-0-fields.json'),
  332: fieldsOf('event-332-fields.json'),
  100: fieldsOf('event-100-fields.json'),
};

const ofType = (type: number) => (b: Body) => b.event_type === type;
const statusOf = (b: Body) => String(b.record_event);
const bySeq = (a: Body, b: Body) => Number(a.seq) - Number(b.seq);
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Every field of the event's table with its JSON type, nothing else, and a valid signature; event 100 adds
 * file_health, outside Tencent's set.
 */
function expectTencentShape(body: Body): void {
  const fields = FIELDS[Number(body.event_type)];
  expect(fields, `event_type ${String(body.event_type)}`).toBeDefined();
  const { file_health: health, ...tencent } = body;
  expect(typeof health, `file_health of event ${String(body.event_type)}`).toBe(
    body.event_type === 100 ? 'object' : 'undefined',
  );
  expect(Object.keys(tencent).sort()).toEqual(Object.keys(fields!).sort());
  for (const [field, type] of Object.entries(fields!)) {
    expect(typeof body[field], `${field} of event ${String(body.event_type)}`).toBe(type);
  }
  expect(verifyTencentSign(body, KEY, Date.now())).toBe(true);
}

/** Pushes the fixture for `seconds`; resolves with how long the publisher ran, in ms. */
async function pushFor(rec: TestRecorder, stream: string, seconds: number): Promise<number> {
  const started = Date.now();
  const publisher = publish(rec.rtmpUrl(stream, QUERY), { seconds });
  expect(await publisher.exited).toBe(0);
  return Date.now() - started;
}

describe('with callback.url alone', () => {
  let receiver: CallbackReceiver;
  let rec: TestRecorder;
  let pushMs = 0;
  let refusedExit: number | null = 0;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 2 },
      callback: { url: receiver.url, key: KEY, appid: APPID, domain: DOMAIN },
    });
    const push = pushFor(rec, 'events1', PUSH_SECONDS);
    // A second publisher of the live stream is refused, and a refused push sends neither event 1 nor 0.
    await receiver.waitFor(ofType(1), 1, 15_000);
    refusedExit = await publish(rec.rtmpUrl('events1', QUERY), { seconds: 2 }).exited;
    pushMs = await push;
    await receiver.waitFor((b) => b.record_event === 'record_ended', 1, 60_000);
    await receiver.waitFor(ofType(100), 2, 60_000);
    await receiver.waitFor(ofType(0), 1, 10_000);
  }, 120_000);

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('sends events 1, 0, 332 and 100 to the one URL, each with its fields and JSON types', () => {
    const types = new Set(receiver.bodies.map((b) => b.event_type));
    expect([...types].sort()).toEqual([0, 1, 100, 332]);
    for (const body of receiver.bodies) expectTencentShape(body);
  });

  it('sends one event 1 and one event 0 that share the push sequence', () => {
    expect(refusedExit).not.toBe(0);
    const [begin, ...moreBegins] = receiver.bodies.filter(ofType(1));
    const [end, ...moreEnds] = receiver.bodies.filter(ofType(0));
    expect(moreBegins).toHaveLength(0);
    expect(moreEnds).toHaveLength(0);
    expect(String(begin!.sequence)).toMatch(/^[1-9][0-9]{18}$/);
    expect(end!.sequence).toBe(begin!.sequence);
    for (const body of [begin!, end!]) {
      expect(body).toMatchObject({
        appid: APPID,
        app: DOMAIN,
        appname: 'live',
        stream_id: 'events1',
        channel_id: 'events1',
        user_ip: '127.0.0.1',
        stream_param: QUERY,
        set_id: 1,
      });
      expect(Math.abs(Number(body.event_time) * 1000 - Date.now())).toBeLessThan(120_000);
    }
    expect(begin).toMatchObject({ errcode: 0, errmsg: '' });
    expect(end).toMatchObject({ errcode: 0, errmsg: '', width: 320, height: 240 });
    expect(Number(end!.event_time)).toBeGreaterThanOrEqual(Number(begin!.event_time));
  });

  it('sends push_duration as a string of milliseconds close to the push length', () => {
    const end = receiver.bodies.find(ofType(0))!;
    expect(end.push_duration).toMatch(/^[0-9]+$/);
    // The publisher's own run includes its startup, before the RTMP publish is accepted.
    expect(Number(end.push_duration)).toBeGreaterThan(PUSH_SECONDS * 1000 - 1_000);
    expect(Number(end.push_duration)).toBeLessThanOrEqual(pushMs + 500);
  });

  it('sends event 332 at the start and the end of the recording, with its session id', () => {
    const statuses = receiver.bodies.filter(ofType(332)).sort(bySeq);
    expect(statuses.map(statusOf)).toEqual(['record_start_succeeded', 'record_ended']);
    expect(statuses.map((b) => b.seq)).toEqual(['1', '2']);
    const sessionId = statuses[0]!.session_id;
    for (const body of statuses) {
      expect(body).toMatchObject({
        appid: APPID,
        domain: DOMAIN,
        appname: 'live',
        stream_id: 'events1',
        session_id: sessionId,
      });
      const detail = JSON.parse(String(body.record_detail)) as Record<string, unknown>;
      expect(detail).toMatchObject({ file_format: [2, 3], record_bps: 0 });
    }
    for (const file of receiver.bodies.filter(ofType(100))) expect(file.task_id).toBe(sessionId);
  });
});

describe('with a notify URL per event and a resume window', () => {
  const receivers: Record<'begin' | 'end' | 'record' | 'status', CallbackReceiver> = {} as never;
  let rec: TestRecorder;

  beforeAll(async () => {
    for (const name of ['begin', 'end', 'record', 'status'] as const) {
      receivers[name] = await startCallbackReceiver();
    }
    rec = await startRecorder({
      record: { formats: ['hls'], hlsSegmentSeconds: 2, hlsResumeTimeoutSeconds: 10 },
      callback: {
        key: KEY,
        appid: APPID,
        StreamBeginNotifyUrl: receivers.begin.url,
        StreamEndNotifyUrl: receivers.end.url,
        RecordNotifyUrl: receivers.record.url,
        RecordStatusNotifyUrl: receivers.status.url,
      },
    });
    await pushFor(rec, 'events2', PUSH_SECONDS);
    // The publisher's absence: the scenario itself, well inside the window.
    await delay(1_000);
    await pushFor(rec, 'events2', PUSH_SECONDS);
    await receivers.status.waitFor((b) => b.record_event === 'record_ended', 1, 60_000);
    await receivers.record.waitFor(ofType(100), 1, 30_000);
    await receivers.end.waitFor(ofType(0), 2, 10_000);
  }, 120_000);

  afterAll(async () => {
    await rec?.stop();
    for (const receiver of Object.values(receivers)) await receiver?.close();
  });

  it('sends each event only to its own URL', () => {
    const typesAt = (r: CallbackReceiver) => [...new Set(r.bodies.map((b) => b.event_type))];
    expect(typesAt(receivers.begin)).toEqual([1]);
    expect(typesAt(receivers.end)).toEqual([0]);
    expect(typesAt(receivers.record)).toEqual([100]);
    expect(typesAt(receivers.status)).toEqual([332]);
    for (const receiver of Object.values(receivers)) {
      for (const body of receiver.bodies) expectTencentShape(body);
    }
  });

  it('pairs the events 1 and 0 of each push by sequence, one sequence per push', () => {
    const begins = receivers.begin.bodies;
    const ends = receivers.end.bodies;
    expect(begins).toHaveLength(2);
    expect(ends).toHaveLength(2);
    expect(new Set(begins.map((b) => b.sequence)).size).toBe(2);
    expect(new Set(ends.map((b) => b.sequence))).toEqual(new Set(begins.map((b) => b.sequence)));
    for (const body of [...begins, ...ends]) expect(body.app).toBe('127.0.0.1');
  });

  it('reports the interruption as paused then resumed, all under one session id', () => {
    const statuses = receivers.status.bodies.slice().sort(bySeq);
    // The second publisher's leaving pauses the recording too; it ends when that window expires.
    expect(statuses.map(statusOf)).toEqual([
      'record_start_succeeded',
      'record_paused',
      'record_resumed',
      'record_paused',
      'record_ended',
    ]);
    expect(statuses.map((b) => b.seq)).toEqual(['1', '2', '3', '4', '5']);
    expect(JSON.parse(String(statuses.at(-1)!.record_detail))).toMatchObject({
      // Said when the recording ends, before its files are stored: event 100 says that.
      reason: 'recording ended; 1 file queued for storage',
    });
    const times = statuses.map((b) => Number(b.event_time));
    expect(times).toEqual(times.slice().sort((a, b) => a - b));
    const sessionIds = new Set(statuses.map((b) => b.session_id));
    expect(sessionIds.size).toBe(1);
    expect(receivers.record.bodies).toHaveLength(1);
    expect(receivers.record.bodies[0]!.task_id).toBe([...sessionIds][0]);
  });
});
