import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink, redactedUrl } from '../../src/cluster/redis-link.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const logger = silentLogger();

describe('RedisLink', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis({ password: 'link-secret' });
  });
  afterAll(() => redis?.destroy());

  it('connects with the password in the URL, and refuses a wrong one with Redis’s reason', async () => {
    const link = await RedisLink.connect({ url: redis.url, logger });
    expect(link.state).toBe('ready');
    expect(await link.client.ping()).toBe('PONG');
    await link.close();
    const wrong = redis.url.replace('link-secret', 'nope');
    await expect(RedisLink.connect({ url: wrong, logger })).rejects.toThrow(
      /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+.*(WRONGPASS|invalid)/,
    );
  });

  it('fails commands at once while Redis is down, says so, and is up again when it returns', async () => {
    const link = await RedisLink.connect({ url: redis.url, logger });
    const events: string[] = [];
    link.on('down', () => events.push('down'));
    link.on('up', () => events.push('up'));
    await link.client.set('k', 'v');
    await redis.stop();
    await expect.poll(() => link.state, { timeout: 5000 }).toBe('down');
    const started = Date.now();
    await expect(link.client.get('k')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(link.problem).toBeTruthy();
    await redis.restart();
    await expect.poll(() => link.state, { timeout: 10_000 }).toBe('ready');
    // The AOF brought the key back.
    expect(await link.client.get('k')).toBe('v');
    expect(events).toEqual(['down', 'up']);
    expect(link.problem).toBeUndefined();
    await link.close();
  }, 30_000);

  it('hides the password when it names the server', () => {
    expect(redactedUrl('rediss://user:pw@h:6380/2')).toBe('rediss://user:***@h:6380/2');
    expect(redactedUrl('redis://h:6379')).toBe('redis://h:6379');
  });
});

describe('RedisLink over TLS', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis({ tls: true, password: 'tls-secret' });
  });
  afterAll(() => redis?.destroy());

  it('connects to rediss:// trusting the given CA, and refuses a server it cannot verify', async () => {
    expect(redis.url).toMatch(/^rediss:\/\//);
    const link = await RedisLink.connect({ url: redis.url, tlsCaFile: redis.caFile!, logger });
    expect(await link.client.ping()).toBe('PONG');
    await link.close();
    await expect(RedisLink.connect({ url: redis.url, logger, connectTimeoutMs: 2000 })).rejects.toThrow(
      /cannot reach Redis.*(self.signed|certificate)/i,
    );
  });
});
