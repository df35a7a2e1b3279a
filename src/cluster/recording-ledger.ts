import type { Redis } from 'ioredis';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { RedisLink } from './redis-link.js';

/** A recording as the ledger holds it: its header and its segments, each JSON the recording path wrote. */
export interface LedgerRecording {
  key: string;
  recordingId: string;
  header: string;
  segments: string[];
}

/**
 * Every open HLS recording's header and segment list, outside the node that records it: when that node dies,
 * another node continues the recording (a reconnect inside the resume window) or closes its playlist from the
 * segments stored (after the window). The playlists stored live are not needed for it.
 */
export interface RecordingLedger {
  /** The recording's first segment here: its header and every segment so far (a continued recording has some). */
  start(
    key: string,
    recordingId: string,
    header: string,
    resumeMs: number,
    segments: readonly string[],
  ): void;
  /** One more segment queued for storage. */
  segment(recordingId: string, segment: string): void;
  /** The header again (its event 332 count moved). */
  header(key: string, recordingId: string, header: string): void;
  /** It ended here, or went to another node: forgotten, unless another node holds it now. */
  forget(key: string, recordingId: string): void;
  /** The recording of `key` a dead node held, now this node's to continue; undefined if there is none. */
  takeDead(key: string): Promise<LedgerRecording | undefined>;
  /**
   * Claims each recording whose node died more than its resume window ago and gives it to `close`; once that
   * resolves, the recording is marked closed (with the segments it had) and forgotten. Returns how many.
   */
  sweep(close: (recording: LedgerRecording) => Promise<void>): Promise<number>;
  /** The segments another node closed this recording with, when it did. */
  closedElsewhere(recordingId: string): Promise<string[] | undefined>;
  /** Marks a push's event 0 as sent by another node than its own (its node died). */
  pushEnded(sequence: string): Promise<void>;
  /** Whether another node sent this push's event 0. */
  pushEndedElsewhere(sequence: string): Promise<boolean>;
  close(): Promise<void>;
}

/** One node: nobody else can continue or close its recordings. */
export class LocalRecordingLedger implements RecordingLedger {
  start(): void {}
  segment(): void {}
  header(): void {}
  forget(): void {}
  async takeDead(): Promise<undefined> {
    return undefined;
  }
  async sweep(): Promise<number> {
    return 0;
  }
  async closedElsewhere(): Promise<undefined> {
    return undefined;
  }
  async pushEnded(): Promise<void> {}
  async pushEndedElsewhere(): Promise<boolean> {
    return false;
  }
  async close(): Promise<void> {}
}

/** Moves a recording to a new owner only while it is still the old owner's. */
const CLAIM = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
redis.call('HDEL', KEYS[1], 'deadSince')
return 1
`;

/** Deletes a recording's entry and segments only while this node owns it and it is that recording. */
const FORGET = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'recordingId') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`;

/** Rewrites the header only while this node owns that recording. */
const HEADER = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'recordingId') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'header', ARGV[3])
return 1
`;

/** How long a closed recording's mark lasts: its node may restart on its disk any time in that. */
const CLOSED_MARK_SECONDS = 7 * 86_400;

export interface RedisRecordingLedgerOptions {
  node: string;
  keyPrefix: string;
  logger: Logger;
  now?: () => number;
}

/**
 * In Redis: `rec:<app/stream>` is a hash (owner, recordingId, header, resumeMs, deadSince) and `rec-seg:<id>` a
 * list of segments, one RPUSH each. A node is dead when its lease (`node:<id>`, the work registry's) is gone.
 */
export class RedisRecordingLedger implements RecordingLedger {
  readonly #o: RedisRecordingLedgerOptions;
  readonly #link: RedisLink;
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(link: RedisLink, options: RedisRecordingLedgerOptions) {
    this.#link = link;
    this.#o = options;
    this.#log = options.logger.child({ component: 'recording-ledger' });
    this.#now = options.now ?? Date.now;
  }

  get #client(): Redis {
    return this.#link.client;
  }

  #entry(key: string): string {
    return `${this.#o.keyPrefix}rec:${key}`;
  }

  #segments(recordingId: string): string {
    return `${this.#o.keyPrefix}rec-seg:${recordingId}`;
  }

  #closed(recordingId: string): string {
    return `${this.#o.keyPrefix}rec-closed:${recordingId}`;
  }

  #lease(node: string): string {
    return `${this.#o.keyPrefix}node:${node}`;
  }

  #warn(what: string): (err: unknown) => void {
    return (err) => this.#log.warn({ err: errorMessage(err) }, what);
  }

  start(
    key: string,
    recordingId: string,
    header: string,
    resumeMs: number,
    segments: readonly string[],
  ): void {
    const multi = this.#client
      .multi()
      .hset(this.#entry(key), { owner: this.#o.node, recordingId, header, resumeMs: String(resumeMs) })
      .hdel(this.#entry(key), 'deadSince')
      .del(this.#segments(recordingId));
    if (segments.length) multi.rpush(this.#segments(recordingId), ...segments);
    multi.exec().catch(this.#warn('recording not written to the ledger'));
  }

  segment(recordingId: string, segment: string): void {
    this.#client
      .rpush(this.#segments(recordingId), segment)
      .catch(this.#warn('segment not written to the ledger'));
  }

  header(key: string, recordingId: string, header: string): void {
    this.#client
      .eval(HEADER, 1, this.#entry(key), this.#o.node, recordingId, header)
      .catch(this.#warn('recording header not written to the ledger'));
  }

  forget(key: string, recordingId: string): void {
    this.#client
      .eval(FORGET, 2, this.#entry(key), this.#segments(recordingId), this.#o.node, recordingId)
      .catch(this.#warn('recording not forgotten in the ledger'));
  }

  /** Claims the entry from its dead owner; the recording, or undefined when it is not a dead node's. */
  async #claim(key: string, entry: Record<string, string>): Promise<LedgerRecording | undefined> {
    const { owner, recordingId, header } = entry;
    if (!owner || !recordingId || !header || owner === this.#o.node) return undefined;
    if ((await this.#client.exists(this.#lease(owner))) === 1) return undefined;
    const won = await this.#client.eval(CLAIM, 1, this.#entry(key), owner, this.#o.node);
    if (won !== 1) return undefined;
    const segments = await this.#client.lrange(this.#segments(recordingId), 0, -1);
    this.#log.info(
      { stream: key, recordingId, from: owner, segments: segments.length },
      'recording of a dead node taken',
    );
    return { key, recordingId, header, segments };
  }

  async takeDead(key: string): Promise<LedgerRecording | undefined> {
    return this.#claim(key, await this.#client.hgetall(this.#entry(key)));
  }

  async sweep(close: (recording: LedgerRecording) => Promise<void>): Promise<number> {
    const prefix = this.#entry('');
    let cursor = '0';
    let closed = 0;
    do {
      const [next, keys] = await this.#client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
      cursor = next;
      for (const entryKey of keys) {
        const key = entryKey.slice(prefix.length);
        const entry = await this.#client.hgetall(entryKey);
        if (!entry.owner || entry.owner === this.#o.node) continue;
        if ((await this.#client.exists(this.#lease(entry.owner))) === 1) continue;
        // First seen dead now: its resume window runs from here, as if its publisher had just left.
        if (!entry.deadSince) {
          await this.#client.hsetnx(entryKey, 'deadSince', String(this.#now()));
          continue;
        }
        if (this.#now() - Number(entry.deadSince) < Number(entry.resumeMs ?? 0)) continue;
        const recording = await this.#claim(key, entry);
        if (!recording) continue;
        try {
          await close(recording);
        } catch (err) {
          this.#log.error({ stream: key, err: errorMessage(err) }, "closing a dead node's recording failed");
          continue;
        }
        await this.#client
          .multi()
          .set(
            this.#closed(recording.recordingId),
            JSON.stringify(recording.segments),
            'EX',
            CLOSED_MARK_SECONDS,
          )
          .del(entryKey, this.#segments(recording.recordingId))
          .exec();
        closed++;
      }
    } while (cursor !== '0');
    return closed;
  }

  async closedElsewhere(recordingId: string): Promise<string[] | undefined> {
    const value = await this.#client.get(this.#closed(recordingId));
    return value ? (JSON.parse(value) as string[]) : undefined;
  }

  async pushEnded(sequence: string): Promise<void> {
    await this.#client.set(`${this.#o.keyPrefix}push-ended:${sequence}`, '1', 'EX', CLOSED_MARK_SECONDS);
  }

  async pushEndedElsewhere(sequence: string): Promise<boolean> {
    return (await this.#client.exists(`${this.#o.keyPrefix}push-ended:${sequence}`)) === 1;
  }

  async close(): Promise<void> {}
}
