import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { retryWindowMs, TENCENT_RETRY_POLICY } from '../shared/backoff.js';
import { silentLogger } from '../shared/logger.js';
import { outboxOptionsFromConfig } from './index.js';
import { buildRecordEvent } from './events.js';
import { CallbackOutbox, type OutboxEvents, type OutboxOptions, type OutboxRecord } from './outbox.js';
import { verifyTencentSign } from './sign.js';

const KEY = 'callback-key-9f2c41';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const answer =
  (status: number): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end('{"code":0}');
  };

/** A real HTTP callback receiver on 127.0.0.1 that records what it gets. */
class Receiver {
  readonly requests: { headers: IncomingHttpHeaders; body: Record<string, unknown>; at: number }[] = [];
  handler: Handler = answer(200);
  readonly #waiters: { n: number; resolve: () => void }[] = [];
  readonly #server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        at: Date.now(),
      });
      const n = this.requests.length;
      for (const w of this.#waiters.filter((w) => w.n <= n)) w.resolve();
      this.handler(req, res, n);
    });
  });
  #port = 0;

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject).listen(port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/callback`;
  }

  /** Resolves once `n` requests have arrived. */
  received(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** The next `event` from the outbox, as a promise. */
function next<K extends keyof OutboxEvents & string>(
  outbox: CallbackOutbox,
  event: K,
): Promise<OutboxEvents[K]> {
  return new Promise((resolve) => outbox.once(event, (...args) => resolve(args)));
}

/** A port nothing listens on (connection refused), free to be bound later. */
async function freePort(): Promise<number> {
  const probe = await new Receiver().listen();
  const port = Number(new URL(probe.url).port);
  await probe.close();
  return port;
}

let dir: string;
let receivers: Receiver[];
let outboxes: CallbackOutbox[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recorder-outbox-'));
  receivers = [];
  outboxes = [];
});

afterEach(async () => {
  await Promise.all(outboxes.map((o) => o.close()));
  await Promise.all(receivers.map((r) => r.close()));
  await rm(dir, { recursive: true, force: true });
});

async function receiver(handler?: Handler, port?: number): Promise<Receiver> {
  const r = new Receiver();
  if (handler) r.handler = handler;
  receivers.push(r);
  return r.listen(port);
}

function outbox(overrides: Partial<OutboxOptions> = {}): CallbackOutbox {
  const o = new CallbackOutbox({
    dir,
    key: KEY,
    intervalMs: 50,
    maxAttempts: 5,
    timeoutMs: 2000,
    logger: silentLogger(),
    ...overrides,
  });
  outboxes.push(o);
  return o;
}

const pendingFile = (id: string) => join(dir, 'pending', `${id}.json`);
const deadFile = (id: string) => join(dir, 'dead', `${id}.json`);

const recordEvent = buildRecordEvent({
  appid: 1253488539,
  domain: 'push.example.com',
  appName: 'live',
  streamId: 'stream1001',
  fileId: '5285890799710173650',
  format: 'hls',
  taskId: 'task-1',
  templateId: '',
  startMs: 1581826332123.456,
  endMs: 1581829993000,
  durationSeconds: 3660.877,
  fileSize: 1024,
  streamParam: 'txSecret=abc&txTime=5E48F1D0',
  videoUrl: 'http://127.0.0.1:8080/live/stream1001.m3u8',
  videoId: '1253488539_0123456789abcdef0123456789abcdef',
  mediaStartMs: 1581826332000,
  videoCodec: 'h264',
  resolution: '1280x720',
  sessionId: 'sess-1',
});

describe('CallbackOutbox', () => {
  it('delivers on the first attempt, signed, with the event id in the header and the body', async () => {
    let storedBeforeSend = false;
    const r = await receiver((req, res, n) => {
      storedBeforeSend = existsSync(pendingFile(String(r.requests[n - 1]!.body.event_id)));
      answer(200)(req, res, n);
    });
    const o = outbox();
    await o.start();
    const delivered = next(o, 'delivered');
    const record = await o.enqueue(r.url, recordEvent);
    const [done, attemptMs] = await delivered;

    expect(r.requests).toHaveLength(1);
    const { headers, body } = r.requests[0]!;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-recorder-event-id']).toBe(record.id);
    expect(body.event_id).toBe(record.id);
    expect(verifyTencentSign(body, KEY, Date.now())).toBe(true);
    expect(typeof body.t).toBe('number');
    expect(Math.abs((body.t as number) - (Math.floor(Date.now() / 1000) + 600))).toBeLessThanOrEqual(5);
    expect(body).toMatchObject({ ...recordEvent });
    expect(storedBeforeSend).toBe(true);
    expect(done).toMatchObject({ id: record.id, attempts: 1 });
    expect(attemptMs).toBeGreaterThan(0);
    expect(attemptMs).toBeLessThan(5000);
    expect(o.pending()).toEqual([]);
    expect(await readdir(join(dir, 'pending'))).toEqual([]);
  });

  it('retries after 500s and delivers on the third attempt with the same event id', async () => {
    const r = await receiver((req, res, n) => answer(n <= 2 ? 500 : 200)(req, res, n));
    const o = outbox({ intervalMs: 50 });
    const failures: [OutboxRecord, string][] = [];
    const failedMs: number[] = [];
    o.on('failed', (rec, reason, attemptMs) => {
      failures.push([rec, reason]);
      failedMs.push(attemptMs);
    });
    await o.start();
    const delivered = next(o, 'delivered');
    const record = await o.enqueue(r.url, { event_type: 100, stream_id: 's1' });
    const [done] = await delivered;

    expect(r.requests).toHaveLength(3);
    for (const { headers, body } of r.requests) {
      expect(headers['x-recorder-event-id']).toBe(record.id);
      expect(body.event_id).toBe(record.id);
      expect(verifyTencentSign(body, KEY)).toBe(true);
    }
    expect(failures.map(([rec, reason]) => [rec.attempts, reason])).toEqual([
      [1, 'HTTP 500'],
      [2, 'HTTP 500'],
    ]);
    expect(failedMs.every((ms) => ms > 0)).toBe(true);
    expect(r.requests[1]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(40);
    expect(done).toMatchObject({ id: record.id, attempts: 3, lastError: 'HTTP 500' });
    expect(existsSync(pendingFile(record.id))).toBe(false);
  });

  it('persists the attempt count and next attempt time after a failure', async () => {
    const r = await receiver(answer(503));
    const o = outbox({ intervalMs: 60_000 });
    await o.start();
    const failed = next(o, 'failed');
    const before = Date.now();
    const record = await o.enqueue(r.url, { a: 1 });
    await failed;
    const stored = JSON.parse(await readFile(pendingFile(record.id), 'utf8')) as OutboxRecord;
    expect(stored).toMatchObject({
      id: record.id,
      url: r.url,
      body: { a: 1 },
      attempts: 1,
      lastError: 'HTTP 503',
    });
    expect(stored.nextAttemptAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(o.pending()).toMatchObject([{ id: record.id, attempts: 1 }]);
  });

  it("the default policy is Tencent's: 12 retries after the first attempt, one interval apart, then dead", async () => {
    const r = await receiver(answer(503));
    // The config's defaults, with the interval shortened from 60 s.
    const config = parseConfig({ callback: { retryIntervalSeconds: 0.05 } }).callback;
    expect(config.maxAttempts).toBe(13);
    const o = outbox(outboxOptionsFromConfig(config, dir, silentLogger()));
    await o.start();
    const dead = next(o, 'dead');
    await o.enqueue(r.url, { event_type: 0 });
    const [record] = await dead;
    expect(record.attempts).toBe(13);
    expect(r.requests).toHaveLength(13);
    const gaps = r.requests.slice(1).map((req, i) => req.at - r.requests[i]!.at);
    expect(gaps).toHaveLength(12);
    // Each retry waits the interval (timers may fire a little late, never early).
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(45);
    const window = r.requests.at(-1)!.at - r.requests[0]!.at;
    expect(window).toBeGreaterThanOrEqual(retryWindowMs({ intervalMs: 50, maxAttempts: 13 }) - 60);
    expect(retryWindowMs(TENCENT_RETRY_POLICY)).toBe(12 * 60_000);
  });

  it('moves a record to dead/ after maxAttempts, and redeliver() sends it again', async () => {
    const r = await receiver(answer(500));
    const first = outbox({ maxAttempts: 3, intervalMs: 20 });
    await first.start();
    const dead = next(first, 'dead');
    const record = await first.enqueue(r.url, { event_type: 100 });
    const [deadRecord] = await dead;

    expect(r.requests).toHaveLength(3);
    expect(deadRecord).toMatchObject({ id: record.id, attempts: 3, lastError: 'HTTP 500' });
    expect(first.dead()).toMatchObject([{ id: record.id, attempts: 3 }]);
    expect(first.pending()).toEqual([]);
    expect(existsSync(deadFile(record.id))).toBe(true);
    expect(existsSync(pendingFile(record.id))).toBe(false);
    await first.close();

    // A new outbox on the same dir still knows the dead record.
    const second = outbox({ maxAttempts: 3, intervalMs: 20 });
    await second.start();
    expect(second.dead()).toMatchObject([{ id: record.id, attempts: 3 }]);
    r.handler = answer(200);
    const delivered = next(second, 'delivered');
    expect(await second.redeliver(record.id)).toBe(true);
    const [done] = await delivered;

    expect(r.requests).toHaveLength(4);
    expect(r.requests[3]!.body.event_id).toBe(record.id);
    expect(r.requests[3]!.headers['x-recorder-event-id']).toBe(record.id);
    expect(done).toMatchObject({ id: record.id, attempts: 1 });
    expect(second.dead()).toEqual([]);
    expect(await readdir(join(dir, 'dead'))).toEqual([]);
    expect(await readdir(join(dir, 'pending'))).toEqual([]);
    expect(await second.redeliver('no-such-id')).toBe(false);
  });

  it('counts a receiver that never answers as a failed attempt', async () => {
    const r = await receiver(() => undefined);
    const o = outbox({ timeoutMs: 100, maxAttempts: 2, intervalMs: 20 });
    const reasons: string[] = [];
    o.on('failed', (_rec, reason) => reasons.push(reason));
    await o.start();
    const dead = next(o, 'dead');
    await o.enqueue(r.url, { a: 1 });
    const [rec] = await dead;

    expect(r.requests).toHaveLength(2);
    expect(reasons).toEqual(['no answer within 100 ms', 'no answer within 100 ms']);
    expect(rec.attempts).toBe(2);
  });

  it('counts a redirect as a failed attempt and does not follow it', async () => {
    const r = await receiver((_req, res) => res.writeHead(302, { Location: '/elsewhere' }).end());
    const o = outbox({ maxAttempts: 1 });
    await o.start();
    const dead = next(o, 'dead');
    await o.enqueue(r.url, { a: 1 });
    const [rec] = await dead;
    expect(rec.lastError).toBe('HTTP 302');
    expect(r.requests).toHaveLength(1);
  });

  it('resumes pending records after a restart and delivers them exactly once', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/callback`;
    const first = outbox({ intervalMs: 50, maxAttempts: 10 });
    await first.start();
    const failed = next(first, 'failed');
    const record = await first.enqueue(url, { event_type: 100, stream_id: 'resumed' });
    const [, reason] = await failed;
    expect(reason).toMatch(/ECONNREFUSED/);
    await first.close();
    expect(JSON.parse(await readFile(pendingFile(record.id), 'utf8'))).toMatchObject({ attempts: 1 });

    const r = await receiver(undefined, port);
    const second = outbox({ intervalMs: 50, maxAttempts: 10 });
    const delivered = next(second, 'delivered');
    await second.start();
    const [done] = await delivered;

    expect(done).toMatchObject({ id: record.id, attempts: 2 });
    expect(r.requests.map((q) => q.body.event_id)).toEqual([record.id]);
    expect(r.requests[0]!.body.stream_id).toBe('resumed');
    // Nothing may come later: the closed outbox's retry timer must be gone. Several intervals pass here.
    await second.drain(1000);
    await sleep(300);
    expect(r.requests).toHaveLength(1);
    expect(await readdir(join(dir, 'pending'))).toEqual([]);
  });

  it('stores records enqueued before start() and sends them once start() runs', async () => {
    const r = await receiver();
    const o = outbox();
    const record = await o.enqueue(r.url, { a: 1 });
    expect(existsSync(pendingFile(record.id))).toBe(true);
    expect(o.pending()).toMatchObject([{ id: record.id, attempts: 0 }]);
    const delivered = next(o, 'delivered');
    await o.start();
    await delivered;
    await o.drain(1000);
    expect(r.requests).toHaveLength(1);
  });

  it('close() aborts an attempt in flight without counting it, and keeps the record pending', async () => {
    const r = await receiver(() => undefined);
    const o = outbox({ timeoutMs: 30_000 });
    let failures = 0;
    o.on('failed', () => failures++);
    await o.start();
    const record = await o.enqueue(r.url, { a: 1 });
    await r.received(1);
    const started = Date.now();
    const closing = o.close();
    expect(o.close()).toBe(closing);
    await closing;

    expect(Date.now() - started).toBeLessThan(5000);
    expect(failures).toBe(0);
    expect(JSON.parse(await readFile(pendingFile(record.id), 'utf8'))).toMatchObject({ attempts: 0 });
    await expect(o.enqueue(r.url, { a: 2 })).rejects.toThrow(/closed/);
    await expect(o.start()).rejects.toThrow(/closed/);
  });

  it('drain() waits for the attempt in flight', async () => {
    const r = await receiver((req, res, n) => {
      setTimeout(() => answer(200)(req, res, n), 200);
    });
    const o = outbox();
    let delivered = false;
    o.on('delivered', () => (delivered = true));
    await o.start();
    await o.enqueue(r.url, { a: 1 });
    await o.drain(5000);
    expect(delivered).toBe(true);
    expect(o.pending()).toEqual([]);
  });

  it('drain() gives up after its timeout and leaves the record pending', async () => {
    const r = await receiver(() => undefined);
    const o = outbox({ timeoutMs: 30_000 });
    await o.start();
    const record = await o.enqueue(r.url, { a: 1 });
    const started = Date.now();
    await o.drain(100);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(o.pending()).toMatchObject([{ id: record.id }]);
    expect(existsSync(pendingFile(record.id))).toBe(true);
  });

  it('sets aside unreadable files and removes interrupted writes at start', async () => {
    await mkdir(join(dir, 'pending'), { recursive: true });
    await writeFile(join(dir, 'pending', 'broken.json'), '{"id": "broken", ');
    await writeFile(join(dir, 'pending', 'x.json.1234.tmp'), '{');
    const o = outbox();
    await o.start();
    expect(o.pending()).toEqual([]);
    expect((await readdir(join(dir, 'pending'))).sort()).toEqual(['broken.json.corrupt']);
  });

  it('logs each delivery and never logs the key or the sign', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    const r = await receiver((req, res, n) => answer(n === 1 ? 500 : 200)(req, res, n));
    const o = outbox({ logger });
    await o.start();
    const delivered = next(o, 'delivered');
    const record = await o.enqueue(r.url, { event_type: 100, stream_id: 's9' });
    await delivered;

    const logs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'callback sent',
        eventId: record.id,
        eventType: 100,
        stream: 's9',
        url: r.url,
        status: 200,
        attempt: 2,
      }),
    );
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 40, eventId: record.id, reason: 'HTTP 500', attempt: 1 }),
    );
    const text = lines.join('');
    expect(text).not.toContain(KEY);
    for (const { body } of r.requests) expect(text).not.toContain(String(body.sign));
  });
});
