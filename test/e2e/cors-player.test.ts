import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
const PUSH_SECONDS = 8;

/** A business server's page on an origin of its own: an empty page and hls.js. */
async function startPageServer(): Promise<{ origin: string; server: Server }> {
  const script = await readFile(HLS_JS);
  const server = createServer((request, response) => {
    if (request.url === '/hls.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      return;
    }
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><video id="v" muted playsinline></video><script src="/hls.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface PlayResult {
  currentTime: number;
  error: string | null;
}

// What the page functions use of the page (they run in Chromium, not in Node).
interface PageVideo {
  currentTime: number;
  play(): Promise<void>;
  addEventListener(type: string, listener: () => void): void;
}
interface PageGlobals {
  document: { getElementById(id: string): PageVideo };
  Hls: {
    new (): {
      on(event: string, listener: (event: unknown, data: { fatal: boolean; details: string }) => void): void;
      loadSource(url: string): void;
      attachMedia(video: PageVideo): void;
    };
    Events: { ERROR: string; MANIFEST_PARSED: string };
  };
}

/** In the page: hls.js plays `url` until currentTime passes `seconds`, or reports its fatal error. */
function playInPage(args: { url: string; seconds: number }): Promise<PlayResult> {
  return new Promise((resolve) => {
    const page = globalThis as unknown as PageGlobals;
    const video = page.document.getElementById('v');
    // hls.js, as its script tag left it on the page.
    const Hls = page.Hls;
    const hls = new Hls();
    const timer = setTimeout(() => resolve({ currentTime: video.currentTime, error: 'timed out' }), 20_000);
    hls.on(Hls.Events.ERROR, (_event: unknown, data: { fatal: boolean; details: string }) => {
      if (!data.fatal) return;
      clearTimeout(timer);
      resolve({ currentTime: video.currentTime, error: data.details });
    });
    video.addEventListener('timeupdate', () => {
      if (video.currentTime < args.seconds) return;
      clearTimeout(timer);
      resolve({ currentTime: video.currentTime, error: null });
    });
    hls.loadSource(args.url);
    hls.attachMedia(video);
    hls.on(Hls.Events.MANIFEST_PARSED, () => void video.play());
  });
}

/** In the page: a ranged fetch, which needs a preflight (Range is not a simple header). */
async function rangedFetch(
  url: string,
): Promise<{ status: number; bytes: number; contentRange: string | null }> {
  const answer = await fetch(url, { headers: { range: 'bytes=0-99' } });
  return {
    status: answer.status,
    bytes: (await answer.arrayBuffer()).byteLength,
    contentRange: answer.headers.get('content-range'),
  };
}

let receiver: CallbackReceiver;
let minio: TestMinio;
let rec: TestRecorder;
let browser: Browser;
let allowed: { origin: string; server: Server };
let other: { origin: string; server: Server };
const urls = new Map<string, string>();

beforeAll(async () => {
  [allowed, other, receiver, minio] = await Promise.all([
    startPageServer(),
    startPageServer(),
    startCallbackReceiver(),
    startMinio(),
  ]);
  // A private MinIO bucket, as the compose file has it: video_url is the recorder's playback route.
  rec = await startRecorder({
    record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 1 },
    callback: { url: receiver.url },
    http: { cors: { origins: [allowed.origin] } },
    storage: minio.storage('business', { videoUrl: 'playback' }),
  });
  browser = await launchChromium();
  expect(await publish(rec.rtmpUrl('corsplay'), { seconds: PUSH_SECONDS }).exited).toBe(0);
  for (const format of ['hls', 'mp4']) {
    const [body] = await receiver.waitFor(
      (b) => b.event_type === 100 && b.stream_id === 'corsplay' && b.file_format === format,
      1,
      60_000,
    );
    const url = String(body!.video_url);
    expect(url).toContain(`http://127.0.0.1:${rec.recorder.httpPort}/play/live/corsplay_`);
    urls.set(format, url);
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await rec?.stop();
  await minio?.destroy();
  await receiver?.close();
  for (const page of [allowed, other]) page?.server.close();
});

describe('a player on another origin (Chromium, hls.js), a MinIO recording through the recorder', () => {
  it('plays the HLS recording from an allowed origin: currentTime advances', async () => {
    const page = await browser.newPage();
    await page.goto(allowed.origin);
    const result = await page.evaluate(playInPage, { url: urls.get('hls')!, seconds: 2 });
    expect(result.error).toBeNull();
    expect(result.currentTime).toBeGreaterThanOrEqual(2);
    await page.close();
  }, 60_000);

  it('a ranged fetch of the MP4 passes its preflight and reads the exposed Content-Range', async () => {
    const page = await browser.newPage();
    await page.goto(allowed.origin);
    const result = await page.evaluate(rangedFetch, urls.get('mp4')!);
    expect(result.status).toBe(206);
    expect(result.bytes).toBe(100);
    expect(result.contentRange).toMatch(/^bytes 0-99\/\d+$/);
    await page.close();
  });

  it('is refused from an origin that is not allowed: the manifest cannot load, nothing plays', async () => {
    const page = await browser.newPage();
    const refusals: string[] = [];
    page.on('console', (message) => {
      if (/CORS/i.test(message.text())) refusals.push(message.text());
    });
    await page.goto(other.origin);
    const result = await page.evaluate(playInPage, { url: urls.get('hls')!, seconds: 2 });
    expect(result.error).toBe('manifestLoadError');
    expect(result.currentTime).toBe(0);
    expect(refusals.join('\n')).toMatch(/blocked by CORS policy/);
    await page.close();
  }, 60_000);
});
