import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackOutbox, type OutboxRecord } from '../../src/callback/index.js';
import { ClusterCallbacks, type ClusterCallbacksOptions } from '../../src/cluster/redis-callbacks.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startHeldReceiver, type HeldReceiver } from '../helpers/held-receiver.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const KEY = 'cluster-callback-key';
const logger = silentLogger();
let redis: TestRedis;
const closers: (() => Promise<void>)[] = [];

async function receiver(): Promise<HeldReceiver> {
  const r = await startHeldReceiver();
  closers.push(() => r.close());
  return r;
}

async function node(
  prefix: string,
  options: Partial<ClusterCallbacksOptions> = {},
  start = true,
): Promise<ClusterCallbacks> {
  const link = await RedisLink.connect({ url: redis.url, logger });
  const callbacks = new ClusterCallbacks(link, {
    nodeId: randomBytes(3).toString('hex'),
    keyPrefix: prefix,
    key: KEY,
    intervalMs: 200,
    maxAttempts: 50,
    timeoutMs: 5000,
    leaseMs: 1000,
    logger,
    ...options,
  });
  if (start) callbacks.start();
  closers.push(async () => {
    await callbacks.close(1000);
    await link.close();
  });
  return callbacks;
}

const record = (url: string, eventType = 100): OutboxRecord => ({
  id: randomUUID(),
  url,
  body: { event_type: eventType, stream_id: 's1' },
  createdAt: Date.now(),
  attempts: 0,
  nextAttemptAt: Date.now(),
});

const prefix = () => `cb-${randomBytes(3).toString('hex')}:`;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await redis?.destroy();
});

describe('callbacks across the cluster (BullMQ on Redis)', () => {
  it('delivers each handed-off callback once, signed at its attempt, whichever node takes it', async () => {
    const r = await receiver();
    const p = prefix();
    const a = await node(p);
    const b = await node(p);
    const records = Array.from({ length: 20 }, () => record(r.url));
    for (const [i, rec] of records.entries())
      expect(await (i % 2 ? a : b).handOff(rec)).toMatchObject({ ok: true });
    // A hand-off repeated (a node that crashed before it forgot the record) adds nothing.
    await a.handOff(records[0]!);
    await expect
      .poll(() => records.every((rec) => r.delivered(rec.id) === 1), { timeout: 10_000 })
      .toBe(true);
    await new Promise((wake) => setTimeout(wake, 500));
    expect(r.requests).toHaveLength(20);
    for (const q of r.requests) {
      const t = Number(q.body.t);
      expect(q.body.sign).toBe(createHash('md5').update(`${KEY}${t}`).digest('hex'));
      expect(q.body.event_id).toBe(q.eventId);
    }
  });

  it('retries a failing receiver at the interval and delivers once it recovers', async () => {
    const r = await receiver();
    r.status = 500;
    const p = prefix();
    const a = await node(p);
    const rec = record(r.url);
    await a.handOff(rec);
    await expect.poll(() => r.requests.length, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
    r.status = 200;
    await expect.poll(() => r.delivered(rec.id), { timeout: 5000 }).toBe(1);
  });

  it('a callback whose every attempt failed is a dead letter any node lists and can send again', async () => {
    const r = await receiver();
    r.status = 503;
    const p = prefix();
    const a = await node(p, { maxAttempts: 2 });
    const b = await node(p, { maxAttempts: 2 }, false);
    const dead: string[] = [];
    a.on('dead', (d) => dead.push(d.id));
    const rec = record(r.url);
    await a.handOff(rec);
    await expect.poll(() => dead, { timeout: 5000 }).toEqual([rec.id]);
    const listed = await b.dead();
    expect(listed.map((d) => [d.id, d.attempts, d.lastError])).toEqual([[rec.id, 2, 'HTTP 503']]);
    r.status = 200;
    expect(await b.redeliver(rec.id)).toBe(true);
    expect(await b.redeliver('no-such-id')).toBe(false);
    await expect.poll(() => r.delivered(rec.id), { timeout: 5000 }).toBe(1);
    expect(await b.dead()).toEqual([]);
  });

  it('a node killed mid-delivery: another node delivers the callback, once, after its lock lapses', async () => {
    const r = await receiver();
    const p = prefix();
    // The doomed node is a process of its own; the survivor hands in the callback but does not deliver yet.
    const doomed = spawn(
      process.execPath,
      ['--import', 'tsx', resolve(import.meta.dirname, '../helpers/callback-node.ts'), redis.url, p, '1000'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((ok) => doomed.stdout!.on('data', (d: Buffer) => d.includes('ready') && ok()));
    const survivor = await node(p, {}, false);
    r.hold = () => true;
    const rec = record(r.url);
    await survivor.handOff(rec);
    await expect.poll(() => r.requests.length, { timeout: 5000 }).toBe(1);
    doomed.kill('SIGKILL');
    await new Promise((done) => doomed.on('close', done));
    // The receiver answers 500 to the dead node's attempt, then recovers.
    r.hold = () => false;
    r.release(500);
    survivor.start();
    await expect.poll(() => r.delivered(rec.id), { timeout: 15_000 }).toBe(1);
    await new Promise((wake) => setTimeout(wake, 1500));
    expect(r.delivered(rec.id)).toBe(1);
  }, 30_000);

  it('while Redis is down the node keeps the callback in its outbox, and hands it in once when Redis returns', async () => {
    const r = await receiver();
    const p = prefix();
    const a = await node(p);
    const dir = await mkdtemp(join(tmpdir(), 'cluster-outbox-'));
    const outbox = new CallbackOutbox({
      dir,
      key: KEY,
      intervalMs: 200,
      maxAttempts: 1_000_000,
      timeoutMs: 5000,
      logger,
      send: a.handOff,
    });
    await outbox.start();
    closers.push(async () => {
      await outbox.close();
      await rm(dir, { recursive: true, force: true });
    });
    await redis.stop();
    const queued = await outbox.enqueue(r.url, { event_type: 1, stream_id: 'down' });
    await new Promise((wake) => setTimeout(wake, 1500));
    expect(outbox.pending().map((x) => x.id)).toEqual([queued.id]);
    expect(await readdir(join(dir, 'pending'))).toEqual([`${queued.id}.json`]);
    expect(r.requests).toEqual([]);
    await redis.restart();
    await expect.poll(() => r.delivered(queued.id), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => outbox.pending().length, { timeout: 5000 }).toBe(0);
    expect(await readdir(join(dir, 'pending'))).toEqual([]);
    await new Promise((wake) => setTimeout(wake, 1000));
    expect(r.requests.filter((q) => q.eventId === queued.id)).toHaveLength(1);
  }, 40_000);
});
