import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { RedisSessionStore } from '../../src/cluster/redis-sessions.js';
import { MemorySessionStore, type SessionStore } from '../../src/console/sessions.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis;
let link: RedisLink;
beforeAll(async () => {
  redis = await startRedis();
  link = await RedisLink.connect({ url: redis.url, logger: silentLogger() });
});
afterAll(async () => {
  await link?.close();
  await redis?.destroy();
});

/** Two handles on one store: the same process for memory, two nodes' stores on one Redis for Redis. */
const backends: { name: string; open(): { a: SessionStore; b: SessionStore } }[] = [
  {
    name: 'memory',
    open: () => {
      const store = new MemorySessionStore();
      return { a: store, b: store };
    },
  },
  {
    name: 'redis',
    open: () => {
      const prefix = `s-${randomBytes(3).toString('hex')}:`;
      return { a: new RedisSessionStore(link.client, prefix), b: new RedisSessionStore(link.client, prefix) };
    },
  },
];

describe.each(backends)('SessionStore conformance: $name', ({ open }) => {
  it('a session made by one is read by the other, with its name, role and CSRF token; deleting ends it for both', async () => {
    const { a, b } = open();
    const made = await a.create({ name: 'ops', role: 'admin' }, 60_000);
    expect(made.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(made.csrf).not.toBe(made.id);
    expect(await b.get(made.id)).toEqual(made);
    await b.delete(made.id);
    expect(await a.get(made.id)).toBeUndefined();
  });

  it('ends by itself after its time, and an unknown id is no session', async () => {
    const { a, b } = open();
    const made = await a.create({ name: 'wall', role: 'viewer' }, 150);
    expect((await b.get(made.id))?.role).toBe('viewer');
    await new Promise((r) => setTimeout(r, 300));
    expect(await b.get(made.id)).toBeUndefined();
    expect(await a.get('no-such-session')).toBeUndefined();
  });

  it('gives every login its own ids', async () => {
    const { a } = open();
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await a.create({ name: 'ops', role: 'admin' }, 60_000)).id);
    expect(ids.size).toBe(20);
  });
});
