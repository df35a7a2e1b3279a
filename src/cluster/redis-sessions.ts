import type { Redis } from 'ioredis';
import { newSession, type ConsoleSession, type SessionStore } from '../console/sessions.js';

/**
 * Console sessions in Redis, so a login made on one node is honoured by every node behind the balancer, and a
 * logout ends it everywhere. Each session is one key that expires with it (`session:<id>`).
 */
export class RedisSessionStore implements SessionStore {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(client: Redis, keyPrefix: string, now: () => number = Date.now) {
    this.#client = client;
    this.#prefix = `${keyPrefix}session:`;
    this.#now = now;
  }

  async create(who: { name: string; role: ConsoleSession['role'] }, ttlMs: number): Promise<ConsoleSession> {
    const session = newSession(who, ttlMs, this.#now());
    await this.#client.set(this.#prefix + session.id, JSON.stringify(session), 'PX', ttlMs);
    return session;
  }

  async get(id: string): Promise<ConsoleSession | undefined> {
    const raw = await this.#client.get(this.#prefix + id);
    if (!raw) return undefined;
    const session = JSON.parse(raw) as ConsoleSession;
    return session.expiresAt > this.#now() ? session : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.#client.del(this.#prefix + id);
  }
}
