import type { Redis } from 'ioredis';
import type { TimelineEvent } from '../timeline/events.js';
import type { SidecarRender, TimelineStore } from '../timeline/timeline-store.js';

/**
 * For each event (KEYS: its ids set, its events zset; ARGV: its id, atMs, JSON): adds it unless its id was
 * seen on its timeline before. 1 for each one added, 0 for each one already there.
 */
const APPEND = `
local added = {}
for i = 1, #KEYS / 2 do
  local fresh = redis.call('SADD', KEYS[2 * i - 1], ARGV[3 * i - 2])
  if fresh == 1 then redis.call('ZADD', KEYS[2 * i], ARGV[3 * i - 1], ARGV[3 * i]) end
  added[i] = fresh
end
return added
`;

/**
 * Timeline events in Redis, so a webhook or a marker reaching any node is on the timeline of the node that
 * closes the recording. Per timeline: a sorted set of its events (score atMs, member its JSON), a set of the ids
 * it has stored (the dedup, kept when an event is removed: a retried webhook does not bring it back), and a hash
 * of the media rendered from it (`timeline:{<key>}:events`, `…:ids`, `…:renders`).
 */
export class RedisTimelineStore implements TimelineStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(client: Redis, keyPrefix: string) {
    this.#client = client;
    this.#prefix = `${keyPrefix}timeline:`;
  }

  async append(events: readonly TimelineEvent[]): Promise<TimelineEvent[]> {
    if (events.length === 0) return [];
    const keys = events.flatMap((e) => [this.#ids(e.key), this.#events(e.key)]);
    const args = events.flatMap((e) => [e.id, e.atMs, JSON.stringify(e)]);
    const added = (await this.#client.eval(APPEND, keys.length, ...keys, ...args)) as number[];
    return events.filter((_, i) => added[i] === 1);
  }

  async range(keys: readonly string[], fromMs: number, toMs: number): Promise<TimelineEvent[]> {
    const pipeline = this.#client.pipeline();
    for (const key of new Set(keys)) pipeline.zrangebyscore(this.#events(key), fromMs, toMs);
    const replies = results(await pipeline.exec()) as string[][];
    const events = replies.flat().map((m) => JSON.parse(m) as TimelineEvent);
    return events.sort((a, b) => a.atMs - b.atMs);
  }

  async remove(key: string, id: string): Promise<TimelineEvent | undefined> {
    const [removed] = await this.#removeWhere(key, (e) => e.id === id);
    return removed;
  }

  removeAccount(key: string, account: string): Promise<TimelineEvent[]> {
    return this.#removeWhere(key, (e) => e.kind === 'message' && e.account === account);
  }

  async addRender(render: SidecarRender): Promise<void> {
    const multi = this.#client.multi();
    for (const key of render.keys) multi.hset(this.#renders(key), render.mediaKey, JSON.stringify(render));
    results(await multi.exec());
  }

  async rendersOf(key: string): Promise<SidecarRender[]> {
    const raws = await this.#client.hvals(this.#renders(key));
    return raws.map((raw) => JSON.parse(raw) as SidecarRender);
  }

  async close(): Promise<void> {
    // The client is the caller's.
  }

  #events(key: string): string {
    return `${this.#prefix}{${key}}:events`;
  }

  #ids(key: string): string {
    return `${this.#prefix}{${key}}:ids`;
  }

  #renders(key: string): string {
    return `${this.#prefix}{${key}}:renders`;
  }

  /** Removes the timeline's events that match; those this call removed (not another at the same time), by time. */
  async #removeWhere(key: string, drop: (e: TimelineEvent) => boolean): Promise<TimelineEvent[]> {
    const zset = this.#events(key);
    // ZSCAN may return a member twice: a map keeps one.
    const matches = new Map<string, TimelineEvent>();
    let cursor = '0';
    do {
      const [next, flat] = await this.#client.zscan(zset, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) {
        const event = JSON.parse(flat[i]!) as TimelineEvent;
        if (drop(event)) matches.set(flat[i]!, event);
      }
    } while (cursor !== '0');
    if (matches.size === 0) return [];
    const multi = this.#client.multi();
    for (const member of matches.keys()) multi.zrem(zset, member);
    const removed = results(await multi.exec());
    return [...matches.values()].filter((_, i) => removed[i] === 1).sort((a, b) => a.atMs - b.atMs);
  }
}

/** A pipeline's or transaction's replies; the first error, if one failed. */
function results(replies: [error: Error | null, result: unknown][] | null): unknown[] {
  if (!replies) throw new Error('the Redis transaction was aborted');
  return replies.map(([err, result]) => {
    if (err) throw err;
    return result;
  });
}
