import type { Redis } from 'ioredis';
import type { AuditStore } from '../audit/audit-store.js';

/**
 * Every node's audit chain in Redis: a list per node and UTC day (`audit:<node>:<day>`), with the sets of nodes
 * and of each node's days, so `recorder audit verify` run anywhere checks every node's chain.
 */
export class RedisAuditStore implements AuditStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(client: Redis, keyPrefix: string) {
    this.#client = client;
    this.#prefix = `${keyPrefix}audit:`;
  }

  async append(node: string, day: string, lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const result = await this.#client
      .multi()
      .sadd(`${this.#prefix}nodes`, node)
      .sadd(`${this.#prefix}${node}:days`, day)
      .rpush(`${this.#prefix}${node}:${day}`, ...lines)
      .exec();
    const failed = result?.find(([err]) => err);
    if (!result || failed) throw failed?.[0] ?? new Error('the audit append was not executed');
  }

  async nodes(): Promise<string[]> {
    return (await this.#client.smembers(`${this.#prefix}nodes`)).sort();
  }

  async days(node: string): Promise<string[]> {
    return (await this.#client.smembers(`${this.#prefix}${node}:days`)).sort();
  }

  read(node: string, day: string): Promise<string[]> {
    return this.#client.lrange(`${this.#prefix}${node}:${day}`, 0, -1);
  }

  async close(): Promise<void> {}
}
