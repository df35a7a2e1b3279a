import { randomBytes } from 'node:crypto';

/** A console login: who (the token's name and role), until when, and the CSRF token its changes carry. */
export interface ConsoleSession {
  id: string;
  name: string;
  role: 'admin' | 'viewer';
  csrf: string;
  expiresAt: number;
}

/**
 * Where console sessions are kept: in this process on one node (the memory store), in Redis in a cluster
 * (src/cluster), so that a login holds on every node behind the balancer.
 */
export interface SessionStore {
  create(who: { name: string; role: ConsoleSession['role'] }, ttlMs: number): Promise<ConsoleSession>;
  /** The session of this id while it lasts; undefined once it expired or was ended. */
  get(id: string): Promise<ConsoleSession | undefined>;
  delete(id: string): Promise<void>;
}

const token = () => randomBytes(32).toString('base64url');

/** A new session for `who`, lasting ttlMs from now: random ids, one for the cookie and one against CSRF. */
export function newSession(
  who: { name: string; role: ConsoleSession['role'] },
  ttlMs: number,
  now: number,
): ConsoleSession {
  return { id: token(), csrf: token(), ...who, expiresAt: now + ttlMs };
}

export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async create(who: { name: string; role: ConsoleSession['role'] }, ttlMs: number): Promise<ConsoleSession> {
    this.#sweep();
    const session = newSession(who, ttlMs, this.#now());
    this.#sessions.set(session.id, session);
    return session;
  }

  async get(id: string): Promise<ConsoleSession | undefined> {
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  async delete(id: string): Promise<void> {
    this.#sessions.delete(id);
  }

  /** Drops expired sessions, so abandoned logins do not pile up. */
  #sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(id);
  }
}
