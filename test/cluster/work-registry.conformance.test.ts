import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../../src/cluster/redis-link.js';
import {
  LocalWorkRegistry,
  RedisWorkRegistry,
  type WorkItem,
  type WorkRegistry,
} from '../../src/cluster/work-registry.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const logger = silentLogger();
let redis: TestRedis;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await redis?.destroy();
});

async function redisRegistry(
  node: string,
  prefix: string,
  timing: { leaseMs?: number; heartbeatMs?: number } = {},
): Promise<RedisWorkRegistry> {
  const link = await RedisLink.connect({ url: redis.url, logger });
  const registry = new RedisWorkRegistry(link, {
    node,
    advertise: `${node}.local:1935`,
    keyPrefix: prefix,
    leaseMs: timing.leaseMs ?? 10_000,
    heartbeatMs: timing.heartbeatMs ?? 200,
    logger,
  });
  closers.push(async () => {
    await registry.close();
    await link.close();
  });
  return registry;
}

const recording = (id: string, state: string, since = 1000): WorkItem => ({
  kind: 'recording',
  id,
  subject: `live/${id}`,
  state,
  since,
});
const upload = (id: string): WorkItem => ({
  kind: 'upload',
  id,
  subject: `live/s/${id}.mp4`,
  state: 'queued',
  since: 5,
});

/** What the registry says, once its writes have landed. */
const settled = (registry: WorkRegistry, want: (items: WorkItem[]) => boolean) =>
  expect
    .poll(async () => want((await registry.list())[0]!.items), { timeout: 5000, interval: 50 })
    .toBe(true);

const backends: { name: string; make(): Promise<WorkRegistry> }[] = [
  { name: 'local', make: async () => new LocalWorkRegistry({ node: 'a', advertise: 'a.local:1935' }) },
  { name: 'redis', make: () => redisRegistry('a', `work-${randomBytes(3).toString('hex')}:`) },
];

describe.each(backends)('WorkRegistry conformance: $name', ({ make }) => {
  it('lists this node first, alive, with what it put; a put of the same id replaces; remove takes it out', async () => {
    const registry = await make();
    registry.put(recording('r1', 'starting'));
    registry.put(upload('u1'));
    registry.put(recording('r1', 'recording', 2000));
    await settled(registry, (items) => items.length === 2 && items[0]!.state === 'recording');
    const [self] = await registry.list();
    expect(self).toMatchObject({ node: 'a', advertise: 'a.local:1935', alive: true });
    expect(self!.items).toEqual([recording('r1', 'recording', 2000), upload('u1')]);
    registry.remove('recording', 'r1');
    registry.remove('upload', 'nope');
    await settled(registry, (items) => items.length === 1);
    expect((await registry.list())[0]!.items).toEqual([upload('u1')]);
  });

  it('a node with no work is listed all the same', async () => {
    const registry = await make();
    const nodes = await registry.list();
    expect(nodes).toEqual([expect.objectContaining({ node: 'a', alive: true, items: [] })]);
  });
});

describe('RedisWorkRegistry across nodes', () => {
  it("every node reads every node's work; a node that stops heartbeating is listed as not alive, its work kept", async () => {
    const prefix = `n-${randomBytes(3).toString('hex')}:`;
    const a = await redisRegistry('a', prefix, { leaseMs: 600, heartbeatMs: 150 });
    const silent = await redisRegistry('c', prefix, { leaseMs: 600, heartbeatMs: 60_000 });
    const b = await redisRegistry('b', prefix);
    a.put(recording('ra', 'interrupted'));
    silent.put(upload('uc'));
    await expect
      .poll(async () => (await b.list()).map((n) => n.node), { timeout: 5000 })
      .toEqual(['b', 'a', 'c']);
    await new Promise((wake) => setTimeout(wake, 1200));
    const nodes = await b.list();
    expect(nodes.find((n) => n.node === 'a')).toMatchObject({
      alive: true,
      advertise: 'a.local:1935',
      items: [recording('ra', 'interrupted')],
    });
    // Its lease lapsed: the upload it owned is still there for another node to see.
    expect(nodes.find((n) => n.node === 'c')).toMatchObject({ alive: false, items: [upload('uc')] });
  });

  it('what a node did while Redis was away is in Redis once it returns', async () => {
    const prefix = `o-${randomBytes(3).toString('hex')}:`;
    const a = await redisRegistry('a', prefix, { leaseMs: 2000, heartbeatMs: 200 });
    a.put(recording('before', 'recording'));
    await settled(a, (items) => items.length === 1);
    await redis.stop();
    a.remove('recording', 'before');
    a.put(recording('during', 'interrupted'));
    await new Promise((wake) => setTimeout(wake, 1000));
    await redis.restart();
    const b = await redisRegistry('b', prefix);
    await expect
      .poll(
        async () => (await b.list().catch(() => [])).find((n) => n.node === 'a')?.items.map((i) => i.id),
        {
          timeout: 10_000,
        },
      )
      .toEqual(['during']);
  }, 30_000);

  it('a node that stops cleanly leaves no work behind', async () => {
    const prefix = `c-${randomBytes(3).toString('hex')}:`;
    const a = await redisRegistry('a', prefix);
    const b = await redisRegistry('b', prefix);
    a.put(upload('u'));
    await expect.poll(async () => (await b.list()).length, { timeout: 5000 }).toBe(2);
    await a.close();
    expect((await b.list()).map((n) => n.node)).toEqual(['b']);
  });
});
