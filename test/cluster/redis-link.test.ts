import { createServer, connect, type Server, type Socket } from 'node:net';
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

/**
 * A loopback relay to Redis that can cut its connections, and holds Redis's replies back a while: a reply then
 * arrives after the client has begun to close.
 */
class Relay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Called with each chunk a client sends. */
  onClientData: (chunk: Buffer) => void = () => undefined;

  constructor(targetPort: number, replyDelayMs: number) {
    this.#server = createServer({ allowHalfOpen: true }, (client) => {
      const upstream = connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
      this.#sockets.add(client).add(upstream);
      const later = (act: () => void) => setTimeout(act, replyDelayMs);
      client.on('data', (chunk) => {
        this.onClientData(chunk);
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => later(() => client.write(chunk)));
      client.on('end', () => upstream.end());
      upstream.on('end', () => later(() => client.end()));
      for (const socket of [client, upstream]) {
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.#sockets.delete(socket);
          later(() => (socket === client ? upstream : client).destroy());
        });
      }
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((ready) => this.#server.listen(0, '127.0.0.1', ready));
    return (this.#server.address() as { port: number }).port;
  }

  /** Drops every connection, as a network would. */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((closed) => this.#server.close(closed));
  }
}

describe('RedisSubscription', () => {
  let redis: TestRedis;
  let relay: Relay;
  let relayed: string;
  beforeAll(async () => {
    redis = await startRedis();
    relay = new Relay(redis.port, 50);
    relayed = redis.url.replace(`:${redis.port}`, `:${await relay.listen()}`);
  });
  afterAll(async () => {
    await relay?.close();
    await redis?.destroy();
  });

  it('hears its channel again after its connection dropped', async () => {
    const direct = await RedisLink.connect({ url: redis.url, logger });
    const link = await RedisLink.connect({ url: relayed, logger });
    const heard: string[] = [];
    const subscription = await link.subscribe('sub:again', (message) => heard.push(message));
    await direct.client.publish('sub:again', 'before');
    await expect.poll(() => heard).toEqual(['before']);
    relay.cut();
    await expect
      .poll(
        async () => {
          await direct.client.publish('sub:again', 'after');
          return heard.includes('after');
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(true);
    await subscription.close();
    await link.close();
    await direct.close();
  }, 20_000);

  it('closed while it reconnects, leaves no rejection unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const link = await RedisLink.connect({ url: relayed, logger });
      const subscription = await link.subscribe('sub:closed', () => undefined);
      await link.close();
      // Closed once its ready check is sent again: the answer comes as the connection ends.
      let closing: Promise<void> | undefined;
      relay.onClientData = (chunk) => {
        if (closing || !/^\*1\r\n\$4\r\ninfo\r\n/im.test(chunk.toString('latin1'))) return;
        closing = subscription.close();
      };
      relay.cut();
      await expect.poll(() => closing !== undefined, { timeout: 10_000 }).toBe(true);
      await closing;
      await new Promise((settle) => setTimeout(settle, 500));
      expect(unhandled.map(String)).toEqual([]);
    } finally {
      relay.onClientData = () => undefined;
      process.off('unhandledRejection', onUnhandled);
    }
  }, 20_000);
});
