import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaEntry } from '../../src/media/media-index.js';
import { consoleLogin, launchChromium, type PageWindow } from '../helpers/browser.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { clockHue, hueDistance, hueOf, pushColourClock } from '../helpers/pattern.js';
import { eventually, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const ADMIN = 'console-admin-token-0123456789';
const VIEWER = 'console-viewer-token-0123456789';
const STREAM = 'room1_alice';
const BUCKET = 'console';
const PART_SECONDS = 6;
// Screenshots of each page; `npm run docs:screens` points this at docs/console.
const SCREENS = process.env.CONSOLE_SCREENS_DIR;

let minio: TestMinio;
let receiver: CallbackReceiver;
let rec: TestRecorder;
let browser: Browser;
let screens: string;
const base = () => `http://127.0.0.1:${rec.recorder.httpPort}`;

beforeAll(async () => {
  [minio, receiver] = await Promise.all([startMinio(), startCallbackReceiver()]);
  screens = SCREENS ?? (await mkdtemp(join(tmpdir(), 'console-screens-')));
  await mkdir(screens, { recursive: true });
  // A private MinIO bucket: everything the console plays comes through the playback route.
  rec = await startRecorder({
    record: {
      formats: ['hls', 'mp4', 'flv', 'aac'],
      hlsSegmentSeconds: 1,
      hlsResumeTimeoutSeconds: 8,
      storageDays: 30,
      thumbnails: { intervalSeconds: 2 },
    },
    callback: { url: receiver.url },
    api: {
      tokens: [
        { name: 'ops', token: ADMIN, role: 'admin' },
        { name: 'wall', token: VIEWER, role: 'viewer' },
      ],
    },
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

const shot = (page: Page, name: string) => page.screenshot({ path: join(screens, `${name}.png`) });

/** The colour at the middle of the video's current frame. */
const sample = (page: Page) =>
  page.evaluate(() => {
    const video = (globalThis as unknown as PageWindow).document.querySelector('video')!;
    const canvas = (globalThis as unknown as PageWindow).document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const g = canvas.getContext('2d')!;
    g.drawImage(video, 0, 0);
    return [...g.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data.slice(0, 3)];
  });

const mediaTime = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as PageWindow).document.querySelector('video')!.currentTime);

/**
 * Pauses, then seeks to the middle of the second it paused in: the pattern changes colour on each
 * whole second, and the frame painted within a frame's time of a boundary may be either colour.
 */
async function pauseMidSecond(page: Page): Promise<number> {
  const target = await page.evaluate(() => {
    const video = (globalThis as unknown as PageWindow).document.querySelector('video')!;
    video.pause();
    video.currentTime = Math.floor(video.currentTime) + 0.5;
    return video.currentTime;
  });
  await page.waitForFunction(
    (to) => {
      const video = (globalThis as unknown as PageWindow).document.querySelector('video')!;
      return Math.abs(video.currentTime - to) < 0.1 && video.readyState >= 2 && !video.seeking;
    },
    target,
    { timeout: 15_000 },
  );
  await page.waitForTimeout(300);
  return mediaTime(page);
}

/** Seeks by clicking the timeline where `seconds` is, then pauses at the frame it lands on. */
async function seekByTimeline(page: Page, seconds: number, duration: number): Promise<void> {
  const box = (await page.locator('.track').boundingBox())!;
  await page.mouse.click(box.x + (box.width * seconds) / duration, box.y + box.height / 2);
  await page.waitForFunction(
    (target) => {
      const video = (globalThis as unknown as PageWindow).document.querySelector('video')!;
      return Math.abs(video.currentTime - target) < 0.5 && video.readyState >= 2 && !video.seeking;
    },
    seconds,
    { timeout: 15_000 },
  );
  await page.evaluate(() => (globalThis as unknown as PageWindow).document.querySelector('video')!.pause());
  await page.waitForTimeout(300);
}

const fileIds = new Map<string, string>();

describe('the web console (Chromium)', () => {
  it('login: without a session the pages and their data answer 401; a wrong token is refused; logout ends it', async () => {
    for (const path of ['/console/', '/console/app.js', '/api/streams', '/api/recordings']) {
      expect((await fetch(`${base()}${path}`)).status, path).toBe(401);
    }
    expect((await fetch(`${base()}/console/login.html`)).status).toBe(200);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base()}/console/`);
    await page.waitForURL(/login\.html$/);
    await page.fill('#token', 'not-a-token-of-the-config');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('.error')).toContain('not one of api.tokens');
    await shot(page, 'login');
    await context.close();

    const { context: admin, page: signed } = await loggedIn(ADMIN);
    const [cookie] = await admin.cookies();
    expect(cookie).toMatchObject({ name: 'recorder_console', httpOnly: true, sameSite: 'Strict' });
    expect(await signed.textContent('.who')).toContain('ops · admin');
    const withCookie = { headers: { cookie: `${cookie!.name}=${cookie!.value}` } };
    expect((await fetch(`${base()}/api/streams`, withCookie)).status).toBe(200);
    // A change with the cookie alone, as another site's form would send it, lacks the CSRF token.
    const forged = await fetch(`${base()}/api/media/expiry`, {
      method: 'PUT',
      headers: { ...withCookie.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'live/x.mp4', expiresAt: null }),
    });
    expect(forged.status).toBe(403);
    await signed.click('text=Log out');
    await signed.waitForURL(/login\.html$/);
    expect((await fetch(`${base()}/api/streams`, withCookie)).status).toBe(401);
    expect((await fetch(`${base()}/console/`, withCookie)).status).toBe(401);
    await admin.close();
  });

  it('live: a push shows within 2 s of its publish, its duration growing; after it ends it is in Recordings', async () => {
    const { context, page } = await loggedIn(ADMIN);
    await page.goto(`${base()}/console/#/live`);
    const first = pushColourClock(rec.rtmpUrl(STREAM), PART_SECONDS);
    await eventually(
      () => rec.recorder.manager.sessions.some((s) => s.identity.stream === STREAM),
      15_000,
      'the publish taken',
    );
    const item = page.locator(`.live-item[data-stream="${STREAM}"]`);
    await item.waitFor({ timeout: 2000 });
    const duration = item.locator('.duration');
    await duration.waitFor({ timeout: 5000 });
    const seconds = async () => {
      const [m, s] = (await duration.textContent())!.split(':').map(Number);
      return m! * 60 + s!;
    };
    const before = await seconds();
    await page.waitForTimeout(2100);
    expect(await seconds()).toBeGreaterThan(before);
    await shot(page, 'live');
    expect(await first.exited).toBe(0);
    // The publisher dropped: the resume countdown shows, and a second push within it continues the recording.
    await item.locator('.resume').waitFor({ timeout: 10_000 });
    const second = pushColourClock(rec.rtmpUrl(STREAM), PART_SECONDS);
    expect(await second.exited).toBe(0);
    for (const format of ['hls', 'mp4', 'flv', 'aac']) {
      // One HLS recording across the resume; the other formats have a file per push.
      const bodies = await receiver.waitFor(
        (b) => b.event_type === 100 && b.stream_id === STREAM && b.file_format === format,
        format === 'hls' ? 1 : 2,
        60_000,
      );
      fileIds.set(format, String(bodies[0]!.file_id));
    }
    await item.waitFor({ state: 'detached', timeout: 15_000 });
    await page.goto(`${base()}/console/#/recordings?q=${STREAM}`);
    await page.locator(`tr[data-file-id="${fileIds.get('hls')}"]`).waitFor({ timeout: 5000 });
    await context.close();
  }, 120_000);

  it('thumbnails: a cover in the list, a sprite whose WebVTT covers the recording, the tile of the time on hover', async () => {
    await rec.recorder.thumbnails.idle();
    const auth = { headers: { authorization: `Bearer ${ADMIN}` } };
    const hls = (await (await fetch(`${base()}/api/recordings/${fileIds.get('hls')}`, auth)).json()) as {
      coverUrl: string;
      thumbnailsUrl: string;
      duration: number;
    };
    expect((await fetch(hls.coverUrl)).headers.get('content-type')).toBe('image/jpeg');
    const vtt = await (await fetch(hls.thumbnailsUrl)).text();
    const cues = [
      ...vtt.matchAll(/(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})\n(\S+)#xywh=/g),
    ];
    const at = (h: string, m: string, sec: string) => Number(h) * 3600 + Number(m) * 60 + Number(sec);
    expect(at(cues[0]![1]!, cues[0]![2]!, cues[0]![3]!)).toBe(0);
    const end = cues.at(-1)!;
    expect(Math.abs(at(end[4]!, end[5]!, end[6]!) - hls.duration)).toBeLessThan(0.01);
    expect(cues).toHaveLength(Math.ceil(hls.duration / 2));
    const sprite = await fetch(new URL(cues[0]![7]!, hls.thumbnailsUrl));
    expect(sprite.headers.get('content-type')).toBe('image/jpeg');

    const { context, page } = await loggedIn(VIEWER);
    await page.goto(`${base()}/console/#/recordings?q=${STREAM}`);
    const cover = page.locator(`tr[data-file-id="${fileIds.get('hls')}"] img.cover`);
    await cover.waitFor();
    await page.waitForFunction(() => {
      const img = (globalThis as unknown as PageWindow).document.querySelector(
        'img.cover' as 'video',
      ) as unknown as {
        naturalWidth: number;
      };
      return img.naturalWidth > 0;
    });
    await page.goto(`${base()}/console/#/play/${fileIds.get('hls')}`);
    await page.locator('.track').waitFor();
    await page.waitForFunction(
      () => (globalThis as unknown as PageWindow).document.querySelector('video').duration > 0,
    );
    const duration = await page.evaluate(
      () => (globalThis as unknown as PageWindow).document.querySelector('video').duration,
    );
    const box = (await page.locator('.track').boundingBox())!;
    // 4.5 s in: the tile of 4 s, the colour clock's blue.
    await page.mouse.move(box.x + (box.width * 4.5) / duration, box.y + box.height / 2);
    const thumb = page.locator('.tip canvas.thumb');
    await thumb.waitFor();
    await page.waitForTimeout(300);
    const colour = await thumb.evaluate((canvas) => {
      const c = canvas as unknown as {
        width: number;
        height: number;
        getContext(k: '2d'): {
          getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
        };
      };
      return [
        ...c
          .getContext('2d')
          .getImageData(c.width / 2, c.height / 2, 1, 1)
          .data.slice(0, 3),
      ];
    });
    expect(hueDistance(hueOf(colour)!, clockHue(4)), `${colour}`).toBeLessThan(25);
    await shot(page, 'thumbnails');
    await context.close();
  });

  it('search: a name prefix finds exactly the recordings of one room among others', async () => {
    const entry = (room: string, user: string, i: number): MediaEntry => ({
      fileId: `52858907${room.slice(-1)}${user.length}${i}`,
      name: `${room}_${user}_main_2026-12-01-10-0${i}-00_2026-12-01-10-0${i}-30`,
      key: `live/${room}_${user}_main_2026-12-01-10-0${i}-00_2026-12-01-10-0${i}-30.mp4`,
      format: 'mp4',
      streamId: `${room}_${user}_main`,
      app: 'live',
      domain: 'push.example.com',
      createTimeMs: Date.UTC(2026, 11, 1, 10, i),
      expireTimeMs: null,
      startMs: Date.UTC(2026, 11, 1, 10, i),
      endMs: Date.UTC(2026, 11, 1, 10, i, 30),
      size: 1_000_000 + i,
      duration: 30,
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      width: 640,
      height: 360,
      bitrate: 800_000,
      videoStreams: [],
      audioStreams: [],
      vid: '',
      taskId: '',
      sourceContext: '',
    });
    const rooms = ['1400000123_1001', '1400000123_1002', '1400000123_10010'];
    const users = ['rexchang', 'amy', 'bo'];
    await rec.recorder.mediaIndex.addMany(
      rooms.flatMap((room) => users.flatMap((user) => [0, 1].map((i) => entry(room, user, i)))),
    );
    const { context, page } = await loggedIn(VIEWER);
    // The first list arrives only after the name is typed: typing while the page loads must not be lost to it.
    let release!: () => void;
    const typed = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    await page.route('**/api/recordings?*', async (route) => {
      if (held++ === 0) await typed;
      await route.continue();
    });
    await page.goto(`${base()}/console/#/recordings`);
    await page.fill('input[name=q]', '1400000123_1001_');
    await expect.poll(() => held).toBeGreaterThan(0);
    release();
    await page.locator('tbody tr').first().waitFor();
    expect(await page.inputValue('input[name=q]')).toBe('1400000123_1001_');
    await page.click('form[role=search] button[type=submit]');
    await page.waitForFunction(() =>
      (globalThis as unknown as PageWindow).location.hash.includes('q=1400000123_1001_'),
    );
    await page.locator('tbody tr').first().waitFor();
    await expect.poll(async () => (await page.locator('td.name').allTextContents()).length).toBe(6);
    const names = await page.locator('td.name').allTextContents();
    // 1001's six files, and not 1002's, nor those of 10010, whose id merely starts the same.
    for (const name of names) expect(name.startsWith('1400000123_1001_')).toBe(true);
    await shot(page, 'recordings');
    await context.close();
  });

  it('playing HLS: time advances, the frame is the pattern’s colour, a click on the timeline seeks, the resume is marked', async () => {
    const { context, page } = await loggedIn(ADMIN);
    await page.goto(`${base()}/console/#/play/${fileIds.get('hls')}`);
    await page.locator('video').waitFor();
    await page.click('text=Play / pause');
    await page.waitForFunction(
      () => (globalThis as unknown as PageWindow).document.querySelector('video')!.currentTime > 0.5,
      undefined,
      {
        timeout: 15_000,
      },
    );
    const early = await pauseMidSecond(page);
    const colour = await sample(page);
    expect(Math.max(...colour), `a black frame: ${colour}`).toBeGreaterThan(100);
    expect(hueDistance(hueOf(colour)!, clockHue(early)), `${colour} at ${early} s`).toBeLessThan(25);
    const duration = await page.evaluate(
      () => (globalThis as unknown as PageWindow).document.querySelector('video')!.duration,
    );
    expect(duration).toBeGreaterThan(2 * PART_SECONDS - 2);
    // 4.5 s into the first push: its fifth colour, blue.
    await seekByTimeline(page, 4.5, duration);
    const at = await mediaTime(page);
    expect(hueDistance(hueOf(await sample(page))!, clockHue(at)), `at ${at} s`).toBeLessThan(25);
    // The second push restarted the pattern: 1.5 s after the resume mark is its second colour again.
    const marks = await page
      .locator('.mark')
      .evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-seconds'))));
    expect(marks).toHaveLength(1);
    expect(Math.abs(marks[0]! - PART_SECONDS)).toBeLessThan(1.5);
    await seekByTimeline(page, marks[0]! + 1.5, duration);
    const after = (await mediaTime(page)) - marks[0]!;
    expect(
      hueDistance(hueOf(await sample(page))!, clockHue(after)),
      `at ${after} s after the mark`,
    ).toBeLessThan(25);
    // The event 100 that announced it, as the receiver got it (but for what each delivery adds: t, sign, event_id).
    await page.click('text=The event 100 that announced it');
    const shown = JSON.parse((await page.textContent('details.event pre'))!) as Record<string, unknown>;
    const received = receiver.bodies.find((b) => b.event_type === 100 && b.file_id === fileIds.get('hls'))!;
    const { t: _t, sign: _sign, event_id: _id, ...unsigned } = received;
    expect(shown).toEqual(unsigned);
    // The wall-clock time of the point under the pointer, from EXT-X-PROGRAM-DATE-TIME.
    const box = (await page.locator('.track').boundingBox())!;
    await page.mouse.move(box.x + box.width / 4, box.y + box.height / 2);
    await expect.poll(() => page.textContent('.tip .wall')).toMatch(/^2\d{3}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await shot(page, 'player');
    await context.close();
  }, 60_000);

  it('playing an MP4 from the private bucket: the colour of the time it is seeked to', async () => {
    const direct = await fetch(`http://${minio.endPoint}:${minio.port}/${BUCKET}/`);
    expect(direct.status).toBe(403);
    const { context, page } = await loggedIn(VIEWER);
    await page.goto(`${base()}/console/#/play/${fileIds.get('mp4')}`);
    await page.locator('video').waitFor();
    await page.waitForFunction(
      () => (globalThis as unknown as PageWindow).document.querySelector('video')!.readyState >= 1,
      undefined,
      {
        timeout: 15_000,
      },
    );
    const duration = await page.evaluate(
      () => (globalThis as unknown as PageWindow).document.querySelector('video')!.duration,
    );
    await seekByTimeline(page, 2.5, duration);
    const at = await mediaTime(page);
    const colour = await sample(page);
    expect(Math.max(...colour)).toBeGreaterThan(100);
    expect(hueDistance(hueOf(colour)!, clockHue(at)), `${colour} at ${at} s`).toBeLessThan(25);
    await context.close();
  }, 60_000);

  it('resumes HLS playback where it stalled when the network drops and comes back', async () => {
    const { context, page } = await loggedIn(VIEWER);
    // The network drops after the first two segments: every later one fails until it returns.
    let served = 0;
    let dropped = 0;
    await page.route('**/play/**/*.ts*', async (route) => {
      if (served < 2) {
        served++;
        await route.continue();
      } else {
        dropped++;
        await route.abort('internetdisconnected');
      }
    });
    await page.goto(`${base()}/console/#/play/${fileIds.get('hls')}`);
    await page.locator('video').waitFor();
    await page.click('text=Play / pause');
    // It plays what it has, then waits at the edge of it.
    await page.waitForFunction(
      () => (globalThis as unknown as PageWindow).document.querySelector('video').currentTime > 1,
      undefined,
      { timeout: 15_000 },
    );
    await expect.poll(() => dropped, { timeout: 15_000 }).toBeGreaterThan(0);
    await page.waitForTimeout(2500);
    const stalledAt = await page.evaluate(
      () => (globalThis as unknown as PageWindow).document.querySelector('video').currentTime,
    );
    expect(stalledAt).toBeLessThan(2 * PART_SECONDS - 2);
    // The network is back: playback goes on from there, past the stall, without starting over.
    await page.unroute('**/play/**/*.ts*');
    await page.waitForFunction(
      (from) => (globalThis as unknown as PageWindow).document.querySelector('video').currentTime > from + 2,
      stalledAt,
      { timeout: 20_000 },
    );
    await context.close();
  }, 60_000);

  it('plays FLV through mpegts.js and AAC in the page', async () => {
    const { context, page } = await loggedIn(VIEWER);
    await page.goto(`${base()}/console/#/play/${fileIds.get('flv')}`);
    await page.locator('video').waitFor();
    await page.click('text=Play / pause');
    await page.waitForFunction(
      () => (globalThis as unknown as PageWindow).document.querySelector('video').currentTime > 1,
      undefined,
      { timeout: 15_000 },
    );
    const at = await pauseMidSecond(page);
    expect(hueDistance(hueOf(await sample(page))!, clockHue(at)), `FLV at ${at} s`).toBeLessThan(25);
    await page.goto(`${base()}/console/#/play/${fileIds.get('aac')}`);
    await page.locator('audio').waitFor({ state: 'attached' });
    await page.click('text=Play / pause');
    await page.waitForFunction(
      () =>
        (
          globalThis as unknown as { document: { querySelector(s: 'audio'): { currentTime: number } } }
        ).document.querySelector('audio').currentTime > 1,
      undefined,
      { timeout: 15_000 },
    );
    await context.close();
  }, 60_000);

  it('actions: pin changes the expiry shown; a viewer has no delete and its call is refused; an admin deletes', async () => {
    const mp4 = fileIds.get('mp4')!;
    const viewer = await loggedIn(VIEWER);
    await viewer.page.goto(`${base()}/console/#/play/${mp4}`);
    await viewer.page.locator('.actions').waitFor();
    expect(await viewer.page.locator('text=Delete…').count()).toBe(0);
    expect(await viewer.page.locator('text=Pin (keep forever)').count()).toBe(0);
    const refused = await viewer.page.evaluate(async (id) => {
      const session = (await (await fetch('/console/session')).json()) as { csrf: string };
      const answer = await fetch(`/api/recordings/${id}`, {
        method: 'DELETE',
        headers: { 'x-csrf-token': session.csrf },
      });
      return answer.status;
    }, mp4);
    expect(refused).toBe(403);
    await viewer.context.close();

    const { context, page } = await loggedIn(ADMIN);
    await page.goto(`${base()}/console/#/play/${mp4}`);
    await page.locator('.expiry').waitFor();
    expect(await page.textContent('.expiry')).not.toBe('never');
    await page.click('text=Pin (keep forever)');
    await expect.poll(() => page.textContent('.expiry')).toBe('never');
    const recording = (await (
      await fetch(`${base()}/api/recordings/${mp4}`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as {
      key: string;
      name: string;
      expiresAt: string | null;
    };
    expect(recording.expiresAt).toBeNull();

    await page.click('text=Delete…');
    const dialog = page.locator('[role=alertdialog]');
    expect(await dialog.textContent()).toContain(recording.name);
    await shot(page, 'delete');
    await dialog.getByRole('button', { name: `Delete ${recording.name}` }).click();
    await expect.poll(() => page.textContent('.actions .message')).toBe(`Deleted ${recording.name}.`);
    const answer = await fetch(`${base()}/api/recordings/${mp4}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(answer.status).toBe(404);
    const client = new Client({
      endPoint: minio.endPoint,
      port: minio.port,
      useSSL: false,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
    });
    const keys: string[] = [];
    for await (const item of client.listObjectsV2(BUCKET, '', true)) if (item.name) keys.push(item.name);
    expect(keys).not.toContain(recording.key);
    expect(keys.some((k) => k.endsWith('.m3u8'))).toBe(true);
    await context.close();
  }, 60_000);

  it('is usable at phone width: the pages fit, nothing wider than the screen', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(`${base()}/console/login.html`);
    await page.fill('#token', ADMIN);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base()}/console/`);
    for (const hash of ['#/live', '#/recordings', `#/play/${fileIds.get('hls')}`, '#/callbacks', '#/setup']) {
      await page.goto(`${base()}/console/${hash}`);
      await page.locator('main h2').waitFor();
      const overflow = await page.evaluate(
        () =>
          (globalThis as unknown as PageWindow).document.documentElement.scrollWidth -
          (globalThis as unknown as PageWindow).document.documentElement.clientWidth,
      );
      expect(overflow, hash).toBeLessThanOrEqual(0);
    }
    await shot(page, 'phone-player');
    await context.close();
  });
});

describe('the web console with no token configured', () => {
  it('is open to a browser on loopback, with no login, as /api/ is', async () => {
    const open = await startRecorder({});
    try {
      const url = `http://127.0.0.1:${open.recorder.httpPort}`;
      expect((await fetch(`${url}/console/`)).status).toBe(200);
      expect(await (await fetch(`${url}/console/session`)).json()).toMatchObject({
        name: 'loopback',
        open: true,
      });
      // Nobody to log in as: a login is refused with the reason.
      const login = await fetch(`${url}/console/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: 'x'.repeat(20) }),
      });
      expect(login.status).toBe(403);
      const page = await browser.newPage();
      await page.goto(`${url}/console/`);
      await page.locator('main h2').waitFor();
      expect(await page.textContent('.who')).toContain('loopback · admin');
      expect(await page.locator('text=Log out').count()).toBe(0);
      expect(await page.textContent('main')).toContain('No recording in progress');
      await page.close();
    } finally {
      await open.stop();
    }
  });
});
