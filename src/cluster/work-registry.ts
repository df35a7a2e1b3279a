import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { RedisLink } from './redis-link.js';

/** A node's open work: a recording (live, interrupted in its resume window, finishing) or an upload job. */
export interface WorkItem {
  kind: 'recording' | 'upload' | 'push';
  /** The recording's id, or the upload job's. */
  id: string;
  /** `app/stream` of a recording or push; the lane (playlist or file) of an upload. */
  subject: string;
  /** A recording's SessionState; an upload's `queued` or `retrying`. */
  state: string;
  /** Unix ms since it is in this state. */
  since: number;
  /** Why (a retried upload's last error); a push's facts for its event 0, as JSON. */
  detail?: string;
}

/** One node and its work, as the registry last heard of it. */
export interface NodeWork {
  node: string;
  advertise: string;
  /** The node renews its lease every heartbeat; false once the lease lapsed (it died, or lost Redis). */
  alive: boolean;
  items: WorkItem[];
}

/**
 * Who holds which recording and which upload: each node writes its own, every node reads all. The owner of
 * every interrupted recording and of every upload not yet confirmed is known, and so is whether it still lives.
 */
export interface WorkRegistry {
  /** Records the item as this node's (replacing one of its kind and id); never throws. */
  put(item: WorkItem): void;
  remove(kind: WorkItem['kind'], id: string): void;
  /** Every node's work; this node's first. */
  list(): Promise<NodeWork[]>;
  /** Takes an item out of another node's work; true for the one node that took it. */
  claimItem(node: string, kind: WorkItem['kind'], id: string): Promise<boolean>;
  close(): Promise<void>;
}

const itemKey = (kind: string, id: string) => `${kind}:${id}`;

/** One node: its work is what it holds in memory. */
export class LocalWorkRegistry implements WorkRegistry {
  readonly #items = new Map<string, WorkItem>();

  constructor(readonly self: { node: string; advertise: string }) {}

  put(item: WorkItem): void {
    this.#items.set(itemKey(item.kind, item.id), { ...item });
  }

  remove(kind: WorkItem['kind'], id: string): void {
    this.#items.delete(itemKey(kind, id));
  }

  async list(): Promise<NodeWork[]> {
    return [{ ...this.self, alive: true, items: sortItems([...this.#items.values()]) }];
  }

  async claimItem(node: string, kind: WorkItem['kind'], id: string): Promise<boolean> {
    return node === this.self.node && this.#items.delete(itemKey(kind, id));
  }

  async close(): Promise<void> {
    this.#items.clear();
  }
}

function sortItems(items: WorkItem[]): WorkItem[] {
  return items.sort((a, b) => a.kind.localeCompare(b.kind) || a.since - b.since || a.id.localeCompare(b.id));
}

export interface RedisWorkRegistryOptions {
  node: string;
  advertise: string;
  keyPrefix: string;
  leaseMs: number;
  heartbeatMs: number;
  logger: Logger;
}

/**
 * In Redis: a hash per node (`work:<node>`, a field per item) and a lease key (`node:<node>`) the node renews
 * every heartbeat. The node keeps its items in memory too: a write Redis misses (it was away) is made good
 * when it returns, by writing the whole hash again, so the registry ends up as the node's own view.
 */
export class RedisWorkRegistry implements WorkRegistry {
  readonly #o: RedisWorkRegistryOptions;
  readonly #link: RedisLink;
  readonly #log: Logger;
  readonly #items = new Map<string, WorkItem>();
  readonly #timer: NodeJS.Timeout;
  /** Writes run one after another, so the hash follows the order of the changes. */
  #writing: Promise<void> = Promise.resolve();
  /** A write failed: the next heartbeat (or Redis's return) rewrites the whole hash. */
  #stale = true;

  constructor(link: RedisLink, options: RedisWorkRegistryOptions) {
    this.#link = link;
    this.#o = options;
    this.#log = options.logger.child({ component: 'work-registry' });
    this.#timer = setInterval(() => this.#heartbeat(), options.heartbeatMs);
    this.#timer.unref();
    link.on('up', () => {
      this.#stale = true;
      this.#heartbeat();
    });
    this.#heartbeat();
  }

  get #hash(): string {
    return `${this.#o.keyPrefix}work:${this.#o.node}`;
  }

  get #lease(): string {
    return `${this.#o.keyPrefix}node:${this.#o.node}`;
  }

  put(item: WorkItem): void {
    const field = itemKey(item.kind, item.id);
    this.#items.set(field, { ...item });
    const value = JSON.stringify(item);
    this.#write(() => this.#link.client.hset(this.#hash, field, value));
  }

  remove(kind: WorkItem['kind'], id: string): void {
    const field = itemKey(kind, id);
    this.#items.delete(field);
    this.#write(() => this.#link.client.hdel(this.#hash, field));
  }

  /** Every node with a lease (alive) or with work (alive or not). */
  async list(): Promise<NodeWork[]> {
    const client = this.#link.client;
    const names = new Set<string>([this.#o.node]);
    for (const kind of ['work', 'node']) {
      const prefix = `${this.#o.keyPrefix}${kind}:`;
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
        cursor = next;
        for (const key of keys) names.add(key.slice(prefix.length));
      } while (cursor !== '0');
    }
    const nodes = await Promise.all(
      [...names].map(async (node): Promise<NodeWork> => {
        const [fields, lease] = await Promise.all([
          client.hgetall(`${this.#o.keyPrefix}work:${node}`),
          client.get(`${this.#o.keyPrefix}node:${node}`),
        ]);
        const self = node === this.#o.node;
        return {
          node,
          advertise: lease ?? (self ? this.#o.advertise : ''),
          // This node lives, whatever its lease says a moment after Redis returned.
          alive: self || lease !== null,
          items: sortItems(Object.values(fields).flatMap((v) => parseItem(v))),
        };
      }),
    );
    return nodes.sort((a, b) =>
      a.node === this.#o.node ? -1 : b.node === this.#o.node ? 1 : a.node.localeCompare(b.node),
    );
  }

  async claimItem(node: string, kind: WorkItem['kind'], id: string): Promise<boolean> {
    if (node === this.#o.node) this.#items.delete(itemKey(kind, id));
    return (await this.#link.client.hdel(`${this.#o.keyPrefix}work:${node}`, itemKey(kind, id))) === 1;
  }

  /** Stops the heartbeat and takes this node's work out of the registry (a clean stop leaves none). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writing;
    this.#items.clear();
    if (this.#link.state !== 'ready') return;
    await this.#link.client.del(this.#hash, this.#lease).catch(() => undefined);
  }

  #write(command: () => Promise<unknown>): void {
    // Chained even while stale: run after a rewrite in flight, it is not lost to it.
    this.#writing = this.#writing.then(async () => {
      if (this.#stale || this.#link.state !== 'ready') {
        this.#stale = true;
        return;
      }
      try {
        await command();
      } catch (err) {
        this.#stale = true;
        this.#log.warn(
          { err: errorMessage(err) },
          'work registry write failed; rewritten at the next heartbeat',
        );
      }
    });
  }

  #heartbeat(): void {
    this.#writing = this.#writing.then(async () => {
      if (this.#link.state !== 'ready') return;
      const client = this.#link.client;
      try {
        if (this.#stale) {
          const multi = client.multi().del(this.#hash);
          if (this.#items.size > 0) {
            multi.hset(
              this.#hash,
              Object.fromEntries([...this.#items].map(([field, item]) => [field, JSON.stringify(item)])),
            );
          }
          multi.set(this.#lease, this.#o.advertise, 'PX', this.#o.leaseMs);
          await multi.exec();
          this.#stale = false;
        } else {
          await client.set(this.#lease, this.#o.advertise, 'PX', this.#o.leaseMs);
        }
      } catch (err) {
        this.#stale = true;
        this.#log.warn({ err: errorMessage(err) }, 'work registry heartbeat failed');
      }
    });
  }
}

function parseItem(value: string): WorkItem[] {
  try {
    const item = JSON.parse(value) as WorkItem;
    return typeof item.id === 'string' && typeof item.kind === 'string' ? [item] : [];
  } catch {
    return [];
  }
}
