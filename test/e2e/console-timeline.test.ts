import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, launchChromium } from '../helpers/browser.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { groupFieldChange, groupMessage, sendImWebhook, type EventsSidecar } from '../helpers/im.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { pushColourClock } from '../helpers/pattern.js';
import { eventually, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const ADMIN = 'timeline-admin-token-0123456789';
const SDK_APP_ID = 1400000123;
const ROOM = '1001';
// A TRTC stream id: its room's IM group (GroupId = roomId) feeds its timeline by default.
const STREAM = `${SDK_APP_ID}_${ROOM}_alice_main`;
const BUCKET = 'timeline';
const PUSH_SECONDS = 8;
// A screenshot of the player, when set (as console.test.ts does with CONSOLE_SCREENS_DIR).
const SCREENS = process.env.CONSOLE_SCREENS_DIR;

let minio: TestMinio;
let receiver: CallbackReceiver;
let rec: TestRecorder;
let browser: Browser;
const base = () => `http://127.0.0.1:${rec.recorder.httpPort}`;
const auth = { authorization: `Bearer ${ADMIN}` };

beforeAll(async () => {
  [minio, receiver] = await Promise.all([startMinio(), startCallbackReceiver()]);
  // A private MinIO bucket: the recording and its sidecars come through the playback route.
  rec = await startRecorder({
    record: { formats: ['hls'], hlsSegmentSeconds: 1, storageDays: 30 },
    callback: { url: receiver.url },
    api: { tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] },
    storage: minio.storage(BUCKET, { videoUrl: 'playback' }),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rec?.stop();
  await minio?.destroy();
  await receiver?.close();
});

const loggedIn = (token: string) => consoleLogin(browser, base(), token);

/** What the in-page functions use of the player's video (they run in Chromium: no DOM types in the tests' build). */
interface PlayerVideo {
  currentTime: number;
  duration: number;
  seeking: boolean;
  readyState: number;
  textTracks: ArrayLike<{
    label: string;
    kind: string;
    mode: string;
    cues: ArrayLike<{ text: string }> | null;
    activeCues: ArrayLike<{ text: string }> | null;
  }>;
}
interface PlayerWindow {
  document: { querySelector(selector: 'video'): PlayerVideo };
}

const mediaTime = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as PlayerWindow).document.querySelector('video').currentTime);

/** Sets the video's time, as a seek from anywhere would, and waits for the seek to land. */
async function seekTo(page: Page, seconds: number): Promise<void> {
  await page.evaluate((to) => {
    (globalThis as unknown as PlayerWindow).document.querySelector('video').currentTime = to;
  }, seconds);
  await page.waitForFunction(
    (to) => {
      const video = (globalThis as unknown as PlayerWindow).document.querySelector('video');
      return Math.abs(video.currentTime - to) < 0.1 && !video.seeking && video.readyState >= 2;
    },
    seconds,
    { timeout: 15_000 },
  );
}

/** The text of the danmaku track's cues showing now. */
const danmakuShown = (page: Page) =>
  page.evaluate(() => {
    const tracks = (globalThis as unknown as PlayerWindow).document.querySelector('video').textTracks;
    const track = Array.from(tracks).find((t) => t.label === 'Danmaku');
    return Array.from(track?.activeCues ?? []).map((c) => c.text);
  });

/** One Tencent IM webhook, as IM sends it (unsigned: no im.callbackToken in this config); it must be taken. */
async function imWebhook(body: Record<string, unknown>): Promise<void> {
  const { status, answer } = await sendImWebhook({ base: base(), sdkAppId: SDK_APP_ID }, body);
  expect(status).toBe(200);
  expect(answer).toEqual({ ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0 });
}

let seq = 100;
async function say(account: string, text: string): Promise<number> {
  const at = Date.now();
  seq++;
  await imWebhook(groupMessage({ groupId: ROOM, account, seq, atMs: at, text }));
  return at;
}

async function mark(label: string): Promise<number> {
  const at = Date.now();
  const answer = await fetch(`${base()}/api/markers`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ app: 'live', stream: STREAM, label, at }),
  });
  expect(answer.status, await answer.clone().text()).toBe(201);
  return at;
}

interface RecordingView {
  duration: number;
  timeline: {
    eventsUrl: string;
    danmakuUrl: string;
    chaptersUrl: string;
    markers: { id: string; label: string; seconds: number }[];
    messages: number;
    products: number;
  } | null;
}
type Marker = NonNullable<RecordingView['timeline']>['markers'][number];

describe('the console player with a timeline (Chromium)', () => {
  it('draws markers and product pushes on the track, jumps to them, and plays the danmaku in step with seeks', async () => {
    const push = pushColourClock(rec.rtmpUrl(STREAM), PUSH_SECONDS);
    await eventually(
      () =>
        rec.recorder.manager.sessions.some((s) => s.identity.stream === STREAM && s.state === 'recording'),
      15_000,
      'the recording started',
    );
    // Past the first second of media, so every event falls inside the recording's window.
    await new Promise((r) => setTimeout(r, 1500));
    const sent: { kind: string; label: string; at: number }[] = [];
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    sent.push({ kind: 'marker', label: 'Opening', at: await mark('Opening') });
    sent.push({ kind: 'message', label: 'first danmaku hello', at: await say('bob', 'first danmaku hello') });
    await pause(1000);
    sent.push({ kind: 'message', label: 'second one', at: await say('carol', 'second one') });
    await pause(1000);
    sent.push({ kind: 'marker', label: 'Product demo', at: await mark('Product demo') });
    await imWebhook(
      groupFieldChange({
        groupId: ROOM,
        account: 'host',
        atMs: Date.now(),
        key: 'product',
        value: '{"sku":"A1"}',
      }),
    );
    await pause(800);
    sent.push({ kind: 'message', label: 'third <b>bold</b>', at: await say('dave', 'third <b>bold</b>') });
    expect(await push.exited).toBe(0);

    const [announced] = await receiver.waitFor(
      (b) => b.event_type === 100 && b.stream_id === STREAM && b.file_format === 'hls',
      1,
      60_000,
    );
    const fileId = String(announced!.file_id);
    await rec.files();
    const recording = (await (
      await fetch(`${base()}/api/recordings/${fileId}`, { headers: auth })
    ).json()) as RecordingView;
    const timeline = recording.timeline!;
    expect(timeline, 'the recording has a timeline').not.toBeNull();
    expect(timeline.markers.map((m) => m.label)).toEqual(['Opening', 'Product demo']);
    expect(timeline.messages).toBe(3);
    expect(timeline.products).toBe(1);
    const [opening, demo] = timeline.markers as [Marker, Marker];
    // Media time follows wall-clock time: the markers are as far apart as they were set.
    const [openingAt, demoAt] = sent.filter((s) => s.kind === 'marker').map((s) => s.at) as [number, number];
    expect(Math.abs(demo.seconds - opening.seconds - (demoAt - openingAt) / 1000)).toBeLessThan(0.3);
    // Far enough apart (and from 0, where the player starts) that a seek to the wrong one is told apart.
    expect(opening.seconds).toBeGreaterThan(0.8);
    expect(demo.seconds - opening.seconds).toBeGreaterThan(1.5);
    const sidecar = (await (await fetch(timeline.eventsUrl)).json()) as EventsSidecar;
    const messages = sidecar.events.filter((e) => e.kind === 'message');
    const product = sidecar.events.find((e) => e.kind === 'group')!;
    expect(messages.map((m) => m.text)).toEqual(['first danmaku hello', 'second one', 'third <b>bold</b>']);
    expect(product.value).toBe('{"sku":"A1"}');
    expect(product.seconds - opening.seconds).toBeGreaterThan(1.5);

    const { context, page } = await loggedIn(ADMIN);
    await page.goto(`${base()}/console/#/play/${fileId}`);
    await page.waitForFunction(
      () => (globalThis as unknown as PlayerWindow).document.querySelector('video')?.duration > 0,
      undefined,
      { timeout: 15_000 },
    );
    // The markers, by their labels, and the product push, each a flag at its time.
    const markers = page.locator('.flags .flag.marker');
    await expect.poll(() => markers.count()).toBe(2);
    expect(await markers.evaluateAll((els) => els.map((el) => el.getAttribute('title')))).toEqual([
      'Opening',
      'Product demo',
    ]);
    expect(await markers.nth(1).getAttribute('aria-label')).toContain('Product demo');
    const products = page.locator('.flags .flag.product');
    await expect.poll(() => products.count()).toBe(1);
    expect(await products.getAttribute('title')).toBe('{"sku":"A1"}');
    expect(Number(await products.getAttribute('data-seconds'))).toBeCloseTo(product.seconds, 3);

    // A click on a marker seeks to its media time.
    expect(Math.abs((await mediaTime(page)) - demo.seconds)).toBeGreaterThan(0.6);
    await page.locator('.flag.marker[title="Product demo"]').click();
    await expect.poll(async () => Math.abs((await mediaTime(page)) - demo.seconds)).toBeLessThan(0.6);
    await page.locator('.flag.marker[title="Opening"]').click();
    await expect.poll(async () => Math.abs((await mediaTime(page)) - opening.seconds)).toBeLessThan(0.6);
    // A click on the product push seeks to it too.
    await products.click();
    await expect.poll(async () => Math.abs((await mediaTime(page)) - product.seconds)).toBeLessThan(0.6);
    // So does a marker's entry in the list of markers, which shows the one playing.
    const chapter = page.locator('.chapters button', { hasText: 'Opening' });
    expect(await chapter.getAttribute('aria-current')).toBeNull();
    await chapter.click();
    await expect.poll(async () => Math.abs((await mediaTime(page)) - opening.seconds)).toBeLessThan(0.6);
    await expect.poll(() => chapter.getAttribute('aria-current')).toBe('true');

    // The danmaku: a subtitles track whose cues are the room's messages at their media times.
    await page.waitForFunction(
      () => {
        const tracks = (globalThis as unknown as PlayerWindow).document.querySelector('video').textTracks;
        const track = Array.from(tracks).find((t) => t.label === 'Danmaku');
        return track?.mode === 'showing' && (track.cues?.length ?? 0) === 3;
      },
      undefined,
      { timeout: 15_000 },
    );
    const first = messages[0]!;
    expect(first.seconds + 4.5).toBeLessThan(recording.duration - 0.3);
    await seekTo(page, first.seconds + 0.3);
    await expect
      .poll(() => danmakuShown(page))
      .toContainEqual(expect.stringContaining('first danmaku hello'));
    // Escaped, not markup: the third message's text shows as written.
    const third = messages[2]!;
    await seekTo(page, third.seconds + 0.3);
    await expect
      .poll(() => danmakuShown(page))
      .toContainEqual(expect.stringContaining('third &lt;b&gt;bold'));
    if (SCREENS) {
      await mkdir(SCREENS, { recursive: true });
      await page.screenshot({ path: join(SCREENS, 'player-timeline.png') });
    }
    // Past its 4 s, and before it: not shown.
    await seekTo(page, first.seconds + 4.5);
    await expect
      .poll(() => danmakuShown(page))
      .not.toContainEqual(expect.stringContaining('first danmaku hello'));
    await seekTo(page, Math.max(0, first.seconds - 0.5));
    await expect.poll(() => danmakuShown(page)).toEqual([]);
    // And back to it: shown again.
    await seekTo(page, first.seconds + 1);
    await expect
      .poll(() => danmakuShown(page))
      .toContainEqual(expect.stringContaining('first danmaku hello'));
    await context.close();
  }, 120_000);
});
