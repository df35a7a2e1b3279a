import { randomBytes } from 'node:crypto';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { RedisLink, RedisSubscription } from './redis-link.js';

/**
 * Interrupted recordings passed between nodes: the node that holds one offers it for its resume window; a
 * publish of that stream on another node takes it, and the holder hands over what continues it (a seed,
 * opaque here: JSON the recording path writes and reads).
 */
export interface RecordingHandover {
  /** This node holds an interrupted recording of `key` (app/stream) for ttlMs more. */
  offer(key: string, recordingId: string, ttlMs: number): void;
  /** It is no longer offered (resumed here, or finished). */
  withdraw(key: string, recordingId: string): void;
  /** The seed of the interrupted recording of `key` another node offers, handed over; undefined if none. */
  take(key: string): Promise<string | undefined>;
  /**
   * How this node answers a take: the seed of its interrupted recording of `key`, if it still has one. A seed
   * the taker never read (it gave up waiting, or died) comes back to `unclaimed`, to be finished here.
   */
  serve(handler: (key: string) => Promise<string | undefined>, unclaimed: (seed: string) => void): void;
  close(): Promise<void>;
}

/** One node: nothing to pass. */
export class LocalHandover implements RecordingHandover {
  offer(): void {}
  withdraw(): void {}
  async take(): Promise<string | undefined> {
    return undefined;
  }
  serve(): void {}
  async close(): Promise<void> {}
}

/** Deletes the offer only while it is still that recording's. */
const WITHDRAW = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, held = pcall(cjson.decode, v)
if ok and held.recordingId == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface RedisHandoverOptions {
  node: string;
  keyPrefix: string;
  /** How long a take waits for the holder's answer. */
  timeoutMs?: number;
  logger: Logger;
}

/**
 * In Redis: `resume:<app/stream>` names the holder (with the resume window as its expiry); a take publishes a
 * request on the holder's channel (`handover:<node>`) and reads the answer from `handover-reply:<request>`.
 */
export class RedisHandover implements RecordingHandover {
  readonly #link: RedisLink;
  readonly #o: RedisHandoverOptions;
  readonly #log: Logger;
  #subscription: RedisSubscription | undefined;
  #handler: ((key: string) => Promise<string | undefined>) | undefined;
  #unclaimed: ((seed: string) => void) | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(link: RedisLink, options: RedisHandoverOptions) {
    this.#link = link;
    this.#o = options;
    this.#log = options.logger.child({ component: 'handover' });
  }

  async start(): Promise<void> {
    this.#subscription = await this.#link.subscribe(
      this.#channel(this.#o.node),
      (message) => void this.#onRequest(message),
    );
  }

  #channel(node: string): string {
    return `${this.#o.keyPrefix}handover:${node}`;
  }

  #offerKey(key: string): string {
    return `${this.#o.keyPrefix}resume:${key}`;
  }

  offer(key: string, recordingId: string, ttlMs: number): void {
    if (ttlMs <= 0) return;
    const value = JSON.stringify({ node: this.#o.node, recordingId });
    this.#link.client
      .set(this.#offerKey(key), value, 'PX', Math.ceil(ttlMs))
      .catch((err: unknown) =>
        this.#log.warn({ stream: key, err: errorMessage(err) }, 'interrupted recording not offered'),
      );
  }

  withdraw(key: string, recordingId: string): void {
    this.#link.client
      .eval(WITHDRAW, 1, this.#offerKey(key), recordingId)
      .catch((err: unknown) =>
        this.#log.warn({ stream: key, err: errorMessage(err) }, 'offer not withdrawn; it expires'),
      );
  }

  async take(key: string): Promise<string | undefined> {
    const client = this.#link.client;
    const offered = await client.get(this.#offerKey(key));
    if (!offered) return undefined;
    let holder: { node?: string; recordingId?: string };
    try {
      holder = JSON.parse(offered) as typeof holder;
    } catch {
      return undefined;
    }
    if (!holder.node || holder.node === this.#o.node) return undefined;
    const request = randomBytes(8).toString('hex');
    const reply = `${this.#o.keyPrefix}handover-reply:${request}`;
    await client.publish(this.#channel(holder.node), JSON.stringify({ key, request }));
    const deadline = Date.now() + this.#timeoutMs;
    while (Date.now() < deadline) {
      const answer = await client.getdel(reply);
      if (answer !== null) {
        if (answer === '') return undefined;
        this.#log.info(
          { stream: key, from: holder.node, recordingId: holder.recordingId },
          'recording handed over',
        );
        return answer;
      }
      await new Promise((wake) => setTimeout(wake, 50));
    }
    this.#log.warn(
      { stream: key, holder: holder.node },
      'no handover answer in time: a new recording starts',
    );
    return undefined;
  }

  get #timeoutMs(): number {
    return this.#o.timeoutMs ?? 15_000;
  }

  serve(handler: (key: string) => Promise<string | undefined>, unclaimed: (seed: string) => void): void {
    this.#handler = handler;
    this.#unclaimed = unclaimed;
  }

  async #onRequest(message: string): Promise<void> {
    let request: { key?: unknown; request?: unknown };
    try {
      request = JSON.parse(message) as typeof request;
    } catch {
      return;
    }
    if (typeof request.key !== 'string' || typeof request.request !== 'string') return;
    let seed: string | undefined;
    try {
      seed = await this.#handler?.(request.key);
    } catch (err) {
      this.#log.error({ stream: request.key, err: errorMessage(err) }, 'handover failed');
    }
    const reply = `${this.#o.keyPrefix}handover-reply:${request.request}`;
    try {
      await this.#link.client.set(reply, seed ?? '', 'PX', 10 * this.#timeoutMs);
    } catch (err) {
      this.#log.error({ stream: request.key, err: errorMessage(err) }, 'handover answer not written');
      if (seed) this.#unclaimed?.(seed);
      return;
    }
    if (!seed) return;
    // The taker reads the answer and deletes it; one still there after the taker's wait was never taken.
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#link.client.getdel(reply).then(
        (left) => {
          if (left) {
            this.#log.warn({ stream: request.key }, 'handed-over recording not taken: finished here');
            this.#unclaimed?.(left);
          }
        },
        (err: unknown) => this.#log.error({ err: errorMessage(err) }, 'handover answer not checked'),
      );
    }, this.#timeoutMs + 2000);
    this.#timers.add(timer);
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    await this.#subscription?.close();
  }
}
