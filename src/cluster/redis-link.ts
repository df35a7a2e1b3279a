import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';

export type RedisState = 'connecting' | 'ready' | 'down';

export interface RedisLinkOptions {
  url: string;
  /** PEM file of the CA of a rediss:// server. */
  tlsCaFile?: string;
  logger: Logger;
  /** How long `connect` waits for the first connection. */
  connectTimeoutMs?: number;
}

export interface RedisLinkEvents {
  up: [];
  down: [reason: string];
}

/** The URL with its password hidden, for logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * One connection to the cluster's Redis, and whether it is up. Commands fail at once while it is down (no
 * offline queue): a caller that can go on without Redis does, and one that cannot says why, rather than hang.
 * It reconnects by itself, every 0.2 s growing to 2 s.
 */
export class RedisLink extends TypedEmitter<RedisLinkEvents> {
  readonly client: Redis;
  readonly #log: Logger;
  #state: RedisState = 'connecting';
  #error: string | undefined;
  #closed = false;

  private constructor(o: RedisLinkOptions) {
    super();
    this.#log = o.logger.child({ component: 'redis' });
    const tls = o.url.startsWith('rediss:') && o.tlsCaFile ? { tls: { ca: readFileSync(o.tlsCaFile) } } : {};
    this.client = new Redis(o.url, {
      ...tls,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: o.connectTimeoutMs ?? 5000,
      retryStrategy: (times) => Math.min(200 * times, 2000),
      connectionName: 'recorder',
    });
    this.client.on('ready', () => {
      const was = this.#state;
      this.#state = 'ready';
      this.#error = undefined;
      if (was === 'down') this.#log.info('redis is back');
      this.emit('up');
    });
    this.client.on('error', (err: Error) => {
      this.#error = errorMessage(err);
    });
    this.client.on('close', () => {
      if (this.#closed || this.#state === 'down') return;
      const reason = this.#error ?? 'connection closed';
      if (this.#state === 'ready') this.#log.error({ reason }, 'redis is down');
      this.#state = 'down';
      this.emit('down', reason);
    });
  }

  /** Connects; rejects with the reason when the first connection fails (wrong host, password or certificate). */
  static async connect(o: RedisLinkOptions): Promise<RedisLink> {
    const link = new RedisLink(o);
    try {
      await link.client.connect();
    } catch (err) {
      link.#closed = true;
      link.client.disconnect();
      throw new Error(`cannot reach Redis at ${redactedUrl(o.url)}: ${link.#error ?? errorMessage(err)}`, {
        cause: err,
      });
    }
    link.#log.info({ url: redactedUrl(o.url) }, 'redis connected');
    return link;
  }

  get state(): RedisState {
    return this.#state;
  }

  /** Why it is down, for /readyz; undefined while it is up. */
  get problem(): string | undefined {
    return this.#state === 'ready' ? undefined : (this.#error ?? this.#state);
  }

  /** A second connection on the same server, that waits through an outage (BullMQ's blocking reads). */
  duplicate(options: RedisOptions = {}): Redis {
    return this.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, ...options });
  }

  /** Hears one channel on a connection of its own (a subscriber cannot send commands). */
  async subscribe(channel: string, onMessage: (message: string) => void): Promise<RedisSubscription> {
    const subscription = new RedisSubscription(this, channel, onMessage, this.#log);
    await subscription.start();
    return subscription;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/**
 * One channel heard on a connection of its own. It subscribes again itself after an outage, its failure caught:
 * ioredis's own resubscription is a promise nobody holds, rejected (and unhandled) when the connection is closed
 * while it reconnects.
 */
export class RedisSubscription {
  readonly #connection: Redis;
  #subscribed = false;

  constructor(
    link: RedisLink,
    readonly channel: string,
    onMessage: (message: string) => void,
    log: Logger,
  ) {
    this.#connection = link.duplicate({ autoResubscribe: false });
    this.#connection.on('error', () => undefined);
    this.#connection.on('message', (_channel: string, message: string) => onMessage(message));
    this.#connection.on('ready', () => {
      if (!this.#subscribed) return;
      this.#connection
        .subscribe(channel)
        .catch((err: unknown) => log.warn({ channel, err: errorMessage(err) }, 'not subscribed again'));
    });
  }

  async start(): Promise<void> {
    await this.#connection.subscribe(this.channel);
    this.#subscribed = true;
  }

  async close(): Promise<void> {
    this.#subscribed = false;
    await this.#connection.quit().catch(() => this.#connection.disconnect());
  }
}
