import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import {
  groupFieldChange,
  groupMessage,
  sendImWebhook,
  type EventsSidecar,
  type ImSender,
} from '../helpers/im.js';
import { formatDuration } from '../helpers/media.js';
import { pushColourClock } from '../helpers/pattern.js';
import { eventually, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const SDKAPPID = 1400000123;
const ROOM = '1001';
const STREAM = `${SDKAPPID}_${ROOM}_alice_main`;
const TOKEN = 'im-webhook-token-0123';
const PUSH_SECONDS = 7;
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Cue {
  id: string;
  from: number;
  to: number;
  text: string;
}

/** The cues of a WebVTT file: id, times in seconds, text. */
function cuesOf(vtt: string): Cue[] {
  const seconds = (t: string) => {
    const [h, m, s] = t.split(':').map(Number) as [number, number, number];
    return h * 3600 + m * 60 + s;
  };
  return vtt
    .split('\n\n')
    .slice(1)
    .filter((block) => block.trim())
    .map((block) => {
      const [id, times, ...text] = block.trim().split('\n');
      const [from, to] = times!.split(' --> ') as [string, string];
      return { id: id!, from: seconds(from), to: seconds(to), text: text.join('\n') };
    });
}

/**
 * Where a wall-clock moment is in a stored HLS recording by its own clock (pure of the recorder's code): the
 * program date-time of the segment that holds it, plus the durations of all segments before.
 */
function playlistSecondsAt(playlist: HLS.types.MediaPlaylist, atMs: number): number {
  let before = 0;
  for (const segment of playlist.segments) {
    const start = segment.programDateTime!.getTime();
    if (atMs < start) return before;
    if (atMs <= start + segment.duration * 1000) return before + (atMs - start) / 1000;
    before += segment.duration;
  }
  throw new Error(`${new Date(atMs).toISOString()} is after the recording`);
}

/** The EXT-X-DATERANGE tags of a playlist, each as its attributes (quoted values unquoted). */
function dateRangesOf(text: string): Record<string, string>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('#EXT-X-DATERANGE:'))
    .map((line) =>
      Object.fromEntries(
        [...line.slice('#EXT-X-DATERANGE:'.length).matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)].map((m) => [
          m[1]!,
          m[2]!.replace(/^"|"$/g, ''),
        ]),
      ),
    );
}

let receiver: CallbackReceiver;
let rec: TestRecorder;
let im: ImSender;
const base = () => `http://127.0.0.1:${rec.recorder.httpPort}`;
const at: Record<string, number> = {};

/** What the marker and timeline routes answer, as far as these tests read it. */
interface Answer {
  id: string;
  app: string;
  stream: string;
  label: string;
  at: string;
  seconds: number;
  markers: { label: string }[];
  removed: number;
  media: string[];
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Answer }> {
  const response = await fetch(`${base()}${path}`, {
    method,
    ...(body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : {}),
  });
  return { status: response.status, json: (await response.json()) as Answer };
}

async function metric(outcome: string): Promise<number> {
  const text = await (await fetch(`${base()}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`recorder_im_events_total{outcome="${outcome}"}`));
  return Number(line?.split(' ')[1] ?? NaN);
}

/** Waits until the push's recording has media, then `ms` more. */
async function intoPush(ms: number): Promise<void> {
  await eventually(
    () => (rec.recorder.manager.sessionOf('live', STREAM)?.identity.mediaStartMs ?? 0) > 0,
    15_000,
    'the recording to start',
  );
  await delay(ms);
}

const sidecarOf = async (name: string) =>
  JSON.parse(await readFile(join(rec.dataDir, 'live', `${name}.events.json`), 'utf8')) as EventsSidecar;
const textOf = (name: string) => readFile(join(rec.dataDir, 'live', name), 'utf8');

describe('the timeline: markers and IM room events in a recording', () => {
  let playlistName: string;
  let playlistText: string;
  let playlist: HLS.types.MediaPlaylist;
  let mp4s: string[];

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: ['hls', 'mp4'], hlsResumeTimeoutSeconds: 4, hlsSegmentSeconds: 2 },
      callback: { url: receiver.url },
      im: { sdkAppId: SDKAPPID, callbackToken: TOKEN },
    });
    im = { base: base(), sdkAppId: SDKAPPID, token: TOKEN };
    const send = async (body: Record<string, unknown>) => {
      const answer = await sendImWebhook(im, body);
      expect(answer, JSON.stringify(body)).toMatchObject({
        status: 200,
        answer: { ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0 },
      });
    };

    // The first run: a marker, two danmaku (one sent twice, as IM retries), a gift, a product push.
    const first = pushColourClock(rec.rtmpUrl(STREAM), PUSH_SECONDS);
    await intoPush(2000);
    at.intro = Date.now();
    const intro = await api('POST', '/api/markers', { app: 'live', stream: STREAM, label: 'intro' });
    expect(intro.status).toBe(201);
    expect(intro.json).toMatchObject({ app: 'live', stream: STREAM, label: 'intro' });
    expect(intro.json.seconds).toBeGreaterThan(1);
    at.intro = Date.parse(intro.json.at);
    await delay(700);
    at.hello = Date.now();
    const hello = groupMessage({
      groupId: ROOM,
      account: 'bob',
      seq: 1,
      atMs: at.hello,
      text: 'hello <everyone>',
    });
    await send(hello);
    await send(hello);
    await delay(600);
    at.gift = Date.now();
    await send(
      groupMessage({
        groupId: ROOM,
        account: 'carol',
        seq: 2,
        atMs: at.gift,
        custom: { Data: '{"gift":"rose","count":20}' },
      }),
    );
    at.product = Date.now();
    await send(
      groupFieldChange({
        groupId: ROOM,
        account: 'host',
        atMs: at.product,
        key: 'product',
        value: '{"sku":"A1","name":"Tea"}',
      }),
    );
    // A group no recording belongs to: answered, counted, not stored.
    await send(
      groupMessage({ groupId: '9999', account: 'dave', seq: 1, atMs: Date.now(), text: 'elsewhere' }),
    );
    expect(await first.exited).toBe(0);

    // The publisher comes back inside the resume window: one playlist, a second MP4.
    await delay(1500);
    const second = pushColourClock(rec.rtmpUrl(STREAM), PUSH_SECONDS);
    await eventually(
      () => rec.recorder.manager.sessionOf('live', STREAM)?.state === 'recording',
      15_000,
      'the resume',
    );
    await delay(3000);
    const qa = await api('POST', '/api/markers', { app: 'live', stream: STREAM, label: 'Q&A "live"' });
    expect(qa.status).toBe(201);
    at.qa = Date.parse(qa.json.at);
    at.again = Date.now();
    await send(groupMessage({ groupId: ROOM, account: 'bob', seq: 3, atMs: at.again, text: 'back again' }));
    at.carol = Date.now() + 300;
    await send(groupMessage({ groupId: ROOM, account: 'carol', seq: 4, atMs: at.carol, text: 'hi bob' }));
    expect(await second.exited).toBe(0);

    await eventually(() => rec.recorder.manager.sessions.length === 0, 30_000, 'the recording to close');
    const files = await rec.files();
    playlistName = files.find((f) => f.endsWith('.m3u8'))!;
    mp4s = files.filter((f) => f.endsWith('.mp4'));
    playlistText = await textOf(playlistName);
    playlist = HLS.parse(playlistText) as HLS.types.MediaPlaylist;
  }, 120_000);

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('the HLS sidecar holds each marker and event once, at its media time by the playlist’s own clock (±0.5 s), across the resume', async () => {
    expect(playlistText.match(/#EXT-X-DISCONTINUITY/g)).toHaveLength(1);
    const sidecar = await sidecarOf(playlistName);
    expect(sidecar.media).toBe(`live/${playlistName}`);
    const kinds = sidecar.events.map((e) => [e.kind, e.label ?? e.text ?? e.value]);
    expect(kinds).toEqual([
      ['marker', 'intro'],
      ['message', 'hello <everyone>'],
      ['message', ''],
      ['group', '{"sku":"A1","name":"Tea"}'],
      ['marker', 'Q&A "live"'],
      ['message', 'back again'],
      ['message', 'hi bob'],
    ]);
    const expected = [at.intro!, at.hello!, at.gift!, at.product!, at.qa!, at.again!, at.carol!];
    sidecar.events.forEach((event, i) => {
      const want = playlistSecondsAt(playlist, expected[i]!);
      expect(Math.abs(event.seconds - want), `${event.id}: ${event.seconds} s, want ${want} s`).toBeLessThan(
        0.5,
      );
      expect(Date.parse(event.at)).toBe(expected[i]);
    });
    // The second marker is in the second run: past the whole first run.
    const firstRun = playlist.segments.findIndex((s) => s.discontinuity);
    const firstRunSeconds = playlist.segments.slice(0, firstRun).reduce((sum, s) => sum + s.duration, 0);
    expect(sidecar.events[4]!.seconds).toBeGreaterThan(firstRunSeconds);
  });

  it('the danmaku and chapters tracks, and the playlist’s date ranges, say the same', async () => {
    const sidecar = await sidecarOf(playlistName);
    const seconds = (id: string) => sidecar.events.find((e) => e.id === id)!.seconds;
    const danmaku = cuesOf(await textOf(`${playlistName}.danmaku.vtt`));
    expect(danmaku.map((c) => c.text)).toEqual([
      '<v bob>hello &lt;everyone&gt;</v>',
      '<v bob>back again</v>',
      '<v carol>hi bob</v>',
    ]);
    for (const cue of danmaku) {
      expect(cue.from).toBeCloseTo(seconds(cue.id), 3);
      expect(cue.to - cue.from).toBeCloseTo(4, 3);
    }
    const markers = sidecar.events.filter((e) => e.kind === 'marker');
    const chapters = cuesOf(await textOf(`${playlistName}.chapters.vtt`));
    expect(chapters.map((c) => [c.id, c.text])).toEqual(
      markers.map((m) => [m.id, m.label!.replace('&', '&amp;')]),
    );
    expect(chapters[0]!.from).toBeCloseTo(markers[0]!.seconds, 3);
    expect(chapters[0]!.to).toBeCloseTo(markers[1]!.seconds, 3);

    const ranges = dateRangesOf(playlistText);
    expect(ranges.map((r) => [r.CLASS, r['X-LABEL'] ?? r['X-PRODUCT']])).toEqual([
      ['com.tencent.recorder.marker', 'intro'],
      ['com.tencent.recorder.product', "{'sku':'A1','name':'Tea'}"],
      ['com.tencent.recorder.marker', "Q&A 'live'"],
    ]);
    expect(ranges.map((r) => r.ID)).toEqual([markers[0]!.id, sidecar.events[3]!.id, markers[1]!.id]);
    expect(Date.parse(ranges[0]!['START-DATE']!)).toBe(at.intro);
    expect(Date.parse(ranges[1]!['START-DATE']!)).toBe(at.product);
    // ffprobe takes the playlist, date ranges and all, and reads its media.
    const probed = await formatDuration(join(rec.dataDir, 'live', playlistName));
    expect(probed.stderr).toBe('');
    const total = playlist.segments.reduce((sum, s) => sum + s.duration, 0);
    expect(Math.abs(probed.seconds - total)).toBeLessThan(1);
  });

  it('each MP4 part has its own sidecar, with times from the part’s start', async () => {
    expect(mp4s).toHaveLength(2);
    const [one, two] = await Promise.all(mp4s.map(sidecarOf));
    expect(one!.events.map((e) => e.label ?? e.text ?? e.value)).toEqual([
      'intro',
      'hello <everyone>',
      '',
      '{"sku":"A1","name":"Tea"}',
    ]);
    expect(two!.events.map((e) => e.label ?? e.text)).toEqual(['Q&A "live"', 'back again', 'hi bob']);
    for (const part of [one!, two!]) {
      const start = Date.parse(part.spans[0]!.start);
      for (const e of part.events) expect(e.seconds).toBeCloseTo((Date.parse(e.at) - start) / 1000, 2);
    }
  });

  it('event 100 names the sidecars, and the index says what they hold', async () => {
    const hls = await receiver.waitFor((b) => b.event_type === 100 && b.file_format === 'hls');
    const timeline = hls[0]!.timeline as Record<string, unknown>;
    expect(timeline).toMatchObject({ markers: 2, messages: 4, products: 1 });
    const events = await fetch(String(timeline.events_url));
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await events.json()) as EventsSidecar).events).toHaveLength(7);
    const vtt = await fetch(String(timeline.danmaku_url));
    expect(vtt.headers.get('content-type')).toMatch(/^text\/vtt/);
    const [entry] = await rec.recorder.mediaIndex.get([String(hls[0]!.file_id)]);
    expect(entry!.timeline!.markers.map((m) => m.label)).toEqual(['intro', 'Q&A "live"']);
  });

  it('a retried webhook is stored once; a group without a recording is counted, not stored; a bad Sign is refused', async () => {
    expect(await metric('duplicate')).toBe(1);
    expect(await metric('unmapped')).toBe(1);
    expect(await metric('stored')).toBe(5);
    const sidecar = await sidecarOf(playlistName);
    expect(sidecar.events.filter((e) => e.text === 'hello <everyone>')).toHaveLength(1);
    expect(JSON.stringify(sidecar)).not.toContain('elsewhere');

    const body = groupMessage({
      groupId: ROOM,
      account: 'mallory',
      seq: 99,
      atMs: Date.now(),
      text: 'forged',
    });
    const wrong = await sendImWebhook({ ...im, token: 'not-the-token' }, body);
    expect(wrong.status).toBe(401);
    expect(wrong.answer).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: 1 });
    expect(String(wrong.answer.ErrorInfo)).toContain('Sign');
    const stale = await sendImWebhook(im, body, { requestTime: Math.floor(Date.now() / 1000) - 120 });
    expect(stale.status).toBe(401);
    expect(String(stale.answer.ErrorInfo)).toContain('RequestTime');
    const otherApp = await sendImWebhook({ ...im, sdkAppId: 1400000999 }, body);
    expect(otherApp.status).toBe(403);
    expect(await metric('refused')).toBe(3);
  });

  it('a marker set later at a time inside the stored recording goes to its sidecar and chapters; its playlist stays', async () => {
    const inside = at.gift! + 200;
    const late = await api('POST', '/api/markers', {
      app: 'live',
      stream: STREAM,
      label: 'highlight',
      at: inside,
    });
    expect(late.status).toBe(201);
    expect(Math.abs(late.json.seconds - playlistSecondsAt(playlist, inside))).toBeLessThan(0.5);
    await rec.recorder.uploads.drain(30_000);
    const sidecar = await eventually(
      async () => {
        const s = await sidecarOf(playlistName);
        return s.events.some((e) => e.label === 'highlight') ? s : undefined;
      },
      15_000,
      'the sidecar stored again',
    );
    expect(sidecar.events.filter((e) => e.kind === 'marker').map((e) => e.label)).toEqual([
      'intro',
      'highlight',
      'Q&A "live"',
    ]);
    expect(await textOf(`${playlistName}.chapters.vtt`)).toContain('highlight');
    expect(await textOf(playlistName)).toBe(playlistText);
    const [first] = await Promise.all(mp4s.slice(0, 1).map(sidecarOf));
    expect(first!.events.map((e) => e.label).filter(Boolean)).toEqual(['intro', 'highlight']);
    const listed = await api('GET', `/api/markers?app=live&stream=${STREAM}`);
    expect(listed.json.markers.map((m) => m.label)).toEqual(['intro', 'highlight', 'Q&A "live"']);

    const removed = await api('DELETE', `/api/markers/${late.json.id}?app=live&stream=${STREAM}`);
    expect(removed).toEqual({ status: 200, json: { id: late.json.id, deleted: true } });
    await rec.recorder.uploads.drain(30_000);
    expect((await sidecarOf(playlistName)).events.some((e) => e.label === 'highlight')).toBe(false);
  });

  it('a marker for a stream not being recorded, or a bad one, is refused with the reason', async () => {
    const none = await api('POST', '/api/markers', { app: 'live', stream: 'nobody_here', label: 'x' });
    expect(none.status).toBe(404);
    expect(JSON.stringify(none.json)).toContain('live/nobody_here is not being recorded');
    const before = await api('POST', '/api/markers', {
      app: 'live',
      stream: STREAM,
      label: 'x',
      at: at.intro! - 60_000,
    });
    expect(before.status).toBe(404);
    const empty = await api('POST', '/api/markers', { app: 'live', stream: STREAM, label: '' });
    expect(empty.status).toBe(400);
    expect(JSON.stringify(empty.json)).toContain('label');
  });

  it('removing one account’s messages takes them out of every stored sidecar that held them, and only them', async () => {
    const removed = await api('DELETE', `/api/timeline/events?groupId=${ROOM}&account=bob`);
    expect(removed.status).toBe(200);
    expect(removed.json.removed).toBe(2);
    expect([...removed.json.media].sort()).toEqual(
      [`live/${playlistName}`, ...mp4s.map((m) => `live/${m}`)].sort(),
    );
    await rec.recorder.uploads.drain(30_000);
    const hls = await sidecarOf(playlistName);
    expect(hls.events.filter((e) => e.account === 'bob')).toEqual([]);
    expect(hls.events.filter((e) => e.account === 'carol').map((e) => e.text)).toEqual(['', 'hi bob']);
    expect(hls.events.filter((e) => e.kind === 'marker')).toHaveLength(2);
    for (const mp4 of mp4s)
      expect((await sidecarOf(mp4)).events.some((e) => e.account === 'bob')).toBe(false);
    const danmaku = await textOf(`${playlistName}.danmaku.vtt`);
    expect(danmaku).not.toContain('bob>');
    expect(danmaku).toContain('<v carol>hi bob</v>');
    // Only the stored sidecars: no other file of the recording changed.
    const all = await readdir(join(rec.dataDir, 'live'));
    expect(all.filter((f) => f.endsWith('.events.json'))).toHaveLength(3);
  });
});
