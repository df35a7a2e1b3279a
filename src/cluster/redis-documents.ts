import type { Redis } from 'ioredis';
import type { DocumentStore } from '../shared/document-store.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { RedisLink, RedisSubscription } from './redis-link.js';

/**
 * Compare-and-set of a document kept as a hash {v, doc}: stores ARGV[2] only if the version is still ARGV[1]
 * ('' when there was none), and tells the other nodes on KEYS[2]. Atomic, so no WATCH on a shared connection.
 */
const CAS = `
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', (tonumber(v) or 0) + 1, 'doc', ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1
`;

/** A change another node would miss is retried this often before the update fails. */
const MAX_RACES = 50;

/**
 * The cluster's note of changed documents: one Redis channel, one subscriber connection per node. After Redis
 * was down every watcher is told, since the notes of that time are lost.
 */
export class RedisChangeFeed {
  readonly channel: string;
  #subscription: RedisSubscription | undefined;
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #log: Logger;

  constructor(
    readonly link: RedisLink,
    readonly nodeId: string,
    keyPrefix: string,
    logger: Logger,
  ) {
    this.channel = `${keyPrefix}changes`;
    this.#log = logger.child({ component: 'redis-feed' });
    link.on('up', () => {
      for (const name of this.#watchers.keys()) this.#notify(name);
    });
  }

  async start(): Promise<void> {
    this.#subscription = await this.link.subscribe(this.channel, (message) => this.#onMessage(message));
  }

  /** The message an update publishes: which document, and which node changed it. */
  message(name: string): string {
    return JSON.stringify({ doc: name, node: this.nodeId });
  }

  watch(name: string, onChange: () => void): () => void {
    let set = this.#watchers.get(name);
    if (!set) this.#watchers.set(name, (set = new Set()));
    set.add(onChange);
    return () => set.delete(onChange);
  }

  #onMessage(message: string): void {
    try {
      const { doc, node } = JSON.parse(message) as { doc: string; node: string };
      if (node !== this.nodeId) this.#notify(doc);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'unreadable change note');
    }
  }

  #notify(name: string): void {
    for (const onChange of this.#watchers.get(name) ?? []) {
      try {
        onChange();
      } catch (err) {
        this.#log.error({ doc: name, err: errorMessage(err) }, 'change watcher failed');
      }
    }
  }

  async close(): Promise<void> {
    this.#watchers.clear();
    await this.#subscription?.close();
  }
}

/** A book's document in Redis, shared by every node: the authoritative copy in cluster mode. */
export class RedisDocumentStore implements DocumentStore {
  readonly where: string;

  constructor(
    readonly feed: RedisChangeFeed,
    readonly name: string,
    keyPrefix: string,
  ) {
    this.where = `${keyPrefix}doc:${name}`;
  }

  get #client(): Redis {
    return this.feed.link.client;
  }

  async read(): Promise<string | undefined> {
    return (await this.#client.hget(this.where, 'doc')) ?? undefined;
  }

  async update(change: (current: string | undefined) => string): Promise<string> {
    for (let race = 0; race < MAX_RACES; race++) {
      const [version, doc] = await this.#client.hmget(this.where, 'v', 'doc');
      const next = change(doc ?? undefined);
      const stored = await this.#client.eval(
        CAS,
        2,
        this.where,
        this.feed.channel,
        version ?? '',
        next,
        this.feed.message(this.name),
      );
      if (stored === 1) return next;
    }
    throw new Error(`${this.where} kept changing under ${MAX_RACES} updates in a row`);
  }

  async setAside(): Promise<string> {
    const aside = `${this.where}:corrupt:${Date.now()}`;
    await this.#client.rename(this.where, aside);
    return aside;
  }

  watch(onChange: () => void): () => void {
    return this.feed.watch(this.name, onChange);
  }
}
