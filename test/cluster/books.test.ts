import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisChangeFeed, RedisDocumentStore } from '../../src/cluster/redis-documents.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { MixSessionBook } from '../../src/mix/mix-book.js';
import { silentLogger } from '../../src/shared/logger.js';
import { TaskBook, type RecordTask } from '../../src/tasks/task-book.js';
import { TemplateBook } from '../../src/templates/template-book.js';
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

/** Two nodes' stores of one shared document, each on its own connection and change feed. */
async function twoNodes(): Promise<[RedisDocumentStore, RedisDocumentStore]> {
  const name = randomBytes(4).toString('hex');
  const stores = [];
  for (const node of ['a', 'b']) {
    const link = await RedisLink.connect({ url: redis.url, logger });
    const feed = new RedisChangeFeed(link, node, 'books:', logger);
    await feed.start();
    closers.push(async () => {
      await feed.close();
      await link.close();
    });
    stores.push(new RedisDocumentStore(feed, name, 'books:'));
  }
  return stores as [RedisDocumentStore, RedisDocumentStore];
}

describe('templates and rules on Redis, two nodes', () => {
  it('a template and rule made on A are read on B; TemplateIds stay unique when both create at once', async () => {
    const [sa, sb] = await twoNodes();
    const a = new TemplateBook({ store: sa });
    const b = new TemplateBook({ store: sb });
    await a.load();
    await b.load();
    const t = await a.createTemplate({
      TemplateName: 'hls only',
      HlsParam: { Enable: 1, RecordInterval: 1800 },
    });
    await a.createRule({ DomainName: '', AppName: 'live', StreamName: '', TemplateId: t.TemplateId });
    await expect.poll(() => b.rules.length, { timeout: 2000 }).toBe(1);
    expect(b.template(t.TemplateId)?.HlsParam.Enable).toBe(1);

    await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => a.createTemplate({ TemplateName: `a${i}` })),
      ...Array.from({ length: 5 }, (_, i) => b.createTemplate({ TemplateName: `b${i}` })),
    ]);
    await expect.poll(() => a.templates.length, { timeout: 2000 }).toBe(11);
    await expect.poll(() => b.templates.length, { timeout: 2000 }).toBe(11);
    const ids = a.templates.map((x) => x.TemplateId);
    expect(new Set(ids).size).toBe(11);
    expect(b.templates.map((x) => x.TemplateId)).toEqual(ids);

    // A rule deleted on B is gone on A; the template it used can then be deleted on A.
    await b.deleteRule({ DomainName: '', AppName: 'live', StreamName: '' });
    await expect.poll(() => a.rules.length, { timeout: 2000 }).toBe(0);
    await a.deleteTemplate(t.TemplateId);
    await expect.poll(() => b.template(t.TemplateId), { timeout: 2000 }).toBeUndefined();
  });
});

describe('tasks on Redis, two nodes', () => {
  const params = (stream: string) => ({
    domainName: 'push.example.com',
    appName: 'live',
    streamName: stream,
    endTime: Math.floor(Date.now() / 1000) + 3600,
  });

  it('a task made on A starts on B too; stopped on B, it ends on A', async () => {
    const [sa, sb] = await twoNodes();
    const a = new TaskBook({ store: sa });
    const b = new TaskBook({ store: sb });
    const events: string[] = [];
    a.on('start', (t: RecordTask) => events.push(`a start ${t.streamName}`));
    a.on('end', (t: RecordTask, why) => events.push(`a end ${t.streamName} ${why}`));
    b.on('start', (t: RecordTask) => events.push(`b start ${t.streamName}`));
    b.on('end', (t: RecordTask, why) => events.push(`b end ${t.streamName} ${why}`));
    await a.start();
    await b.start();
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    const id = await a.create(params('s1'), Date.now());
    await expect.poll(() => b.get(id)?.streamName, { timeout: 2000 }).toBe('s1');
    await expect.poll(() => events.includes('b start s1'), { timeout: 2000 }).toBe(true);
    expect(b.activeFor('push.example.com', 'live', 's1', Date.now()).map((t) => t.taskId)).toEqual([id]);
    await b.stop(id, Date.now());
    await expect.poll(() => events.includes('a end s1 stopped'), { timeout: 2000 }).toBe(true);
    expect(events.filter((e) => e.startsWith('b end'))).toEqual(['b end s1 stopped']);
  });

  it('a task deleted on B is not listed on A', async () => {
    const [sa, sb] = await twoNodes();
    const a = new TaskBook({ store: sa });
    const b = new TaskBook({ store: sb });
    await a.start();
    await b.start();
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    const id = await a.create(params('s2'), Date.now());
    await expect.poll(() => b.get(id), { timeout: 2000 }).toBeDefined();
    await b.delete(id, Date.now());
    await expect.poll(() => a.get(id), { timeout: 2000 }).toBeUndefined();
  });
});

describe('mix sessions on Redis, two nodes', () => {
  it('a session put on A is read on B, and removed on B is gone on A', async () => {
    const [sa, sb] = await twoNodes();
    const a = new MixSessionBook(sa);
    const b = new MixSessionBook(sb);
    await a.open();
    await b.open();
    const request = {
      MixStreamSessionId: 'room1',
      InputStreamList: [{ InputStreamName: 'host', LayoutParams: { ImageLayer: 1 } }],
      OutputParams: { OutputStreamName: 'room1_mix' },
    };
    await a.put('room1', request, 1000);
    await expect
      .poll(() => b.get('room1')?.request.OutputParams.OutputStreamName, { timeout: 2000 })
      .toBe('room1_mix');
    expect(await b.remove('room1')).toBe(true);
    await expect.poll(() => a.get('room1'), { timeout: 2000 }).toBeUndefined();
    expect(await a.remove('room1')).toBe(false);
    await a.close();
    await b.close();
  });
});
