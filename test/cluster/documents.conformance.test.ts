import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { RedisChangeFeed, RedisDocumentStore } from '../../src/cluster/redis-documents.js';
import { FileDocumentStore, type DocumentStore } from '../../src/shared/document-store.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const logger = silentLogger();
let redis: TestRedis;
let dir: string;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'recorder-docs-'));
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await redis?.destroy();
  await rm(dir, { recursive: true, force: true });
});

/** A node's view of the cluster's Redis: its own connection and change feed. */
async function redisNode(nodeId: string): Promise<RedisChangeFeed> {
  const link = await RedisLink.connect({ url: redis.url, logger });
  const feed = new RedisChangeFeed(link, nodeId, 'conf:', logger);
  await feed.start();
  closers.push(async () => {
    await feed.close();
    await link.close();
  });
  return feed;
}

const backends: { name: string; make(): Promise<DocumentStore> }[] = [
  {
    name: 'file',
    make: async () => new FileDocumentStore(join(dir, `${randomBytes(4).toString('hex')}.json`)),
  },
  {
    name: 'redis',
    make: async () => new RedisDocumentStore(await redisNode('a'), randomBytes(4).toString('hex'), 'conf:'),
  },
];

describe.each(backends)('DocumentStore conformance: $name', ({ make }) => {
  it('reads nothing before the first update, then what was stored', async () => {
    const store = await make();
    expect(await store.read()).toBeUndefined();
    expect(await store.update((current) => `${current ?? ''}one`)).toBe('one');
    expect(await store.read()).toBe('one');
    expect(await store.update((current) => `${current}+two`)).toBe('one+two');
    expect(await store.read()).toBe('one+two');
  });

  it('stores nothing when the change throws, and passes the error on', async () => {
    const store = await make();
    await store.update(() => 'kept');
    await expect(
      store.update(() => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await store.read()).toBe('kept');
  });

  it('loses no update among many at once', async () => {
    const store = await make();
    await Promise.all(
      Array.from({ length: 25 }, () => store.update((current) => String(Number(current ?? '0') + 1))),
    );
    expect(await store.read()).toBe('25');
  });

  it('sets an unreadable document aside, says where, and starts empty', async () => {
    const store = await make();
    await store.update(() => '{not json');
    const aside = await store.setAside();
    expect(aside).toContain(store.where);
    expect(await store.read()).toBeUndefined();
  });

  it('never tells a store of its own updates', async () => {
    const store = await make();
    let told = 0;
    const unwatch = store.watch(() => told++);
    await store.update(() => 'mine');
    await new Promise((wake) => setTimeout(wake, 200));
    expect(told).toBe(0);
    unwatch();
  });
});

describe('RedisDocumentStore across nodes', () => {
  it('two nodes on one document: each sees the other’s change, and is told of it', async () => {
    const name = randomBytes(4).toString('hex');
    const a = new RedisDocumentStore(await redisNode('a'), name, 'conf:');
    const b = new RedisDocumentStore(await redisNode('b'), name, 'conf:');
    let told = 0;
    b.watch(() => told++);
    await a.update(() => 'from a');
    expect(await b.read()).toBe('from a');
    await expect.poll(() => told, { timeout: 2000 }).toBe(1);
  });

  it('updates racing from two nodes are all kept (compare-and-set, tried again on a race)', async () => {
    const name = randomBytes(4).toString('hex');
    const stores = [
      new RedisDocumentStore(await redisNode('a'), name, 'conf:'),
      new RedisDocumentStore(await redisNode('b'), name, 'conf:'),
    ];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        stores[i % 2]!.update((current) => JSON.stringify([...(JSON.parse(current ?? '[]') as number[]), i])),
      ),
    );
    const all = JSON.parse((await stores[0]!.read())!) as number[];
    expect([...all].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('tells its watchers to read again after Redis was down (the notes of that time are lost)', async () => {
    const feed = await redisNode('c');
    const store = new RedisDocumentStore(feed, randomBytes(4).toString('hex'), 'conf:');
    let told = 0;
    store.watch(() => told++);
    await redis.stop();
    await expect.poll(() => feed.link.state, { timeout: 5000 }).toBe('down');
    await redis.restart();
    await expect.poll(() => told, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
