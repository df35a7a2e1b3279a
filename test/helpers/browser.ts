import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH names another. Playwright's own download is not used. */
export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    throw new Error(
      'chromium is required by the browser tests (apt-get install chromium; .ci/run installs it)',
    );
  }
}

/** A headless Chromium that may play media without a gesture. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-gpu',
      '--disable-dev-shm-usage',
    ],
  });
}

/** What the tests' in-page functions use of a page (they run in Chromium: no DOM types in the tests' build). */
export interface PageVideo {
  currentTime: number;
  duration: number;
  readyState: number;
  seeking: boolean;
  videoWidth: number;
  videoHeight: number;
  pause(): void;
}
export interface PageWindow {
  document: {
    querySelector(selector: 'video'): PageVideo;
    createElement(tag: 'canvas'): {
      width: number;
      height: number;
      getContext(kind: '2d'): {
        drawImage(video: PageVideo, x: number, y: number): void;
        getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
      };
    };
    documentElement: { scrollWidth: number; clientWidth: number };
  };
  location: { hash: string };
}

/** A new browser context at 1280×800, logged in to the console at `base` with `token`. */
export async function consoleLogin(
  browser: Browser,
  base: string,
  token: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/console/login.html`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/console/`);
  await page.waitForSelector('header.bar');
  return { context, page };
}
