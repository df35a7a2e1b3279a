import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { z } from 'zod';
import { syncDir, writeFileDurably } from '../shared/durable-file.js';
import { AppError, CallbackRejectedError, errorMessage, InvalidStateError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { nextAttemptDelay, type RetryPolicy } from '../shared/backoff.js';
import { postCallback, type PostOutcome } from './post.js';
import { callbackFields } from './events.js';

/** One callback to deliver, as stored in `pending/<id>.json` or `dead/<id>.json`. */
export interface OutboxRecord {
  id: string;
  url: string;
  body: Record<string, unknown>;
  createdAt: number;
  attempts: number;
  lastError?: string;
  nextAttemptAt: number;
}

export interface OutboxOptions {
  /** Holds `pending/` and `dead/`. */
  dir: string;
  /** Callback key that signs every attempt. */
  key: string;
  intervalMs: number;
  maxAttempts: number;
  /** An attempt without an answer within this time has failed. */
  timeoutMs: number;
  logger: Logger;
  now?: () => number;
  /** Attempts in flight at once; default 16. */
  concurrency?: number;
  /**
   * What an attempt does, in place of the POST: in a cluster, handing the record to the shared queue (its
   * delivery is then the queue's). A failure is retried as a failed POST is.
   */
  send?: (record: OutboxRecord, signal: AbortSignal) => Promise<PostOutcome>;
}

// A type alias: TypedEmitter's constraint needs an index signature, which an interface lacks.
/** Events of a CallbackOutbox; each carries a copy of the record, and attempts their duration. */
export type OutboxEvents = {
  delivered: [OutboxRecord, attemptMs: number];
  /** An attempt failed; the reason is the status or the error. */
  failed: [OutboxRecord, reason: string, attemptMs: number];
  /** Every attempt failed; the record is in `dead/`. */
  dead: [OutboxRecord];
};

export { EVENT_ID_FIELD, EVENT_ID_HEADER } from './post.js';

const recordSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  url: z.string(),
  body: z.record(z.string(), z.unknown()),
  createdAt: z.number(),
  attempts: z.number().int().min(0),
  lastError: z.string().optional(),
  nextAttemptAt: z.number(),
});

// setTimeout fires at once for longer delays.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A durable callback queue: each callback is on disk before its first attempt and until it is delivered. */
export class CallbackOutbox extends TypedEmitter<OutboxEvents> {
  readonly #opts: Required<Omit<OutboxOptions, 'logger' | 'send'>> & Pick<OutboxOptions, 'send'>;
  readonly #log: Logger;
  readonly #policy: RetryPolicy;
  readonly #pendingDir: string;
  readonly #deadDir: string;
  readonly #queue: PQueue;
  readonly #pending = new Map<string, OutboxRecord>();
  readonly #dead = new Map<string, OutboxRecord>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #attempting = new Set<string>();
  /** Everything still touching the network or the disk; close() and drain() wait for it. */
  readonly #work = new Set<Promise<unknown>>();
  // Aborts attempts in flight on close(); such an attempt is neither a failure nor a delivery.
  readonly #closeController = new AbortController();
  #dirsReady: Promise<void> | undefined;
  #starting: Promise<void> | undefined;
  #started = false;
  #closing: Promise<void> | undefined;

  constructor(opts: OutboxOptions) {
    super();
    const { logger, ...rest } = opts;
    this.#opts = { ...rest, now: opts.now ?? Date.now, concurrency: opts.concurrency ?? 16 };
    this.#log = logger.child({ component: 'callback-outbox' });
    this.#policy = { intervalMs: opts.intervalMs, maxAttempts: opts.maxAttempts };
    this.#pendingDir = join(opts.dir, 'pending');
    this.#deadDir = join(opts.dir, 'dead');
    this.#queue = new PQueue({ concurrency: this.#opts.concurrency });
  }

  /** Loads the records left in `dir` (a restart resumes them) and starts delivering. */
  start(): Promise<void> {
    if (this.#closing) return Promise.reject(new InvalidStateError('callback outbox is closed'));
    return (this.#starting ??= this.#track(this.#load()));
  }

  /** Stores a callback durably, then attempts it at once (or when start() runs). */
  async enqueue(url: string, body: Record<string, unknown>): Promise<OutboxRecord> {
    if (this.#closing) throw new InvalidStateError('callback outbox is closed');
    const now = this.#opts.now();
    const record: OutboxRecord = {
      id: randomUUID(),
      url,
      // A JSON copy: what is kept in memory is exactly what is on disk and what is sent.
      body: JSON.parse(JSON.stringify(body)) as Record<string, unknown>,
      createdAt: now,
      attempts: 0,
      nextAttemptAt: now,
    };
    await this.#track(this.#ensureDirs().then(() => writeDurably(this.#pendingDir, record)));
    this.#pending.set(record.id, record);
    this.#log.debug({ eventId: record.id, url }, 'callback queued');
    this.#schedule(record);
    return structuredClone(record);
  }

  /** Records not yet delivered, oldest first. */
  pending(): OutboxRecord[] {
    return sortedCopies(this.#pending);
  }

  /** Records whose every attempt failed, oldest first. */
  dead(): OutboxRecord[] {
    return sortedCopies(this.#dead);
  }

  /** Moves a dead record back to pending with its attempts reset; false when no dead record has this id. */
  async redeliver(id: string): Promise<boolean> {
    if (this.#closing) throw new InvalidStateError('callback outbox is closed');
    const record = this.#dead.get(id);
    if (!record) return false;
    this.#dead.delete(id);
    const revived: OutboxRecord = { ...record, attempts: 0, nextAttemptAt: this.#opts.now() };
    delete revived.lastError;
    try {
      // Pending first: a crash in between leaves both files, and load() then keeps it dead, never lost.
      await this.#track(
        (async () => {
          await writeDurably(this.#pendingDir, revived);
          await removeDurably(this.#deadDir, id);
        })(),
      );
    } catch (err) {
      this.#dead.set(id, record);
      throw err;
    }
    this.#pending.set(id, revived);
    this.#log.info({ eventId: id, url: revived.url }, 'callback redelivery requested');
    this.#schedule(revived);
    return true;
  }

  /** Waits until every attempt in flight or due has finished, or `timeoutMs` passed; later retries stay on disk. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), timeoutMs);
      timer.unref();
    });
    try {
      while (this.#work.size > 0) {
        if ((await Promise.race([Promise.allSettled([...this.#work]), expired])) === 'expired') {
          this.#log.warn({ inFlight: this.#attempting.size }, 'callback drain timed out');
          return;
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops timers and aborts attempts in flight; pending records stay on disk. Returns the same promise each time. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#closeController.abort();
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }

  #ensureDirs(): Promise<void> {
    this.#dirsReady ??= (async () => {
      await mkdir(this.#pendingDir, { recursive: true });
      await mkdir(this.#deadDir, { recursive: true });
    })().catch((err: unknown) => {
      this.#dirsReady = undefined; // let the next call try again
      throw err;
    });
    return this.#dirsReady;
  }

  async #load(): Promise<void> {
    await this.#ensureDirs();
    for (const record of await this.#readDir(this.#deadDir)) {
      if (!this.#dead.has(record.id)) this.#dead.set(record.id, record);
    }
    const resumed: OutboxRecord[] = [];
    for (const record of await this.#readDir(this.#pendingDir)) {
      if (this.#dead.has(record.id)) {
        // A move to dead/ that a crash interrupted: finish it.
        await removeDurably(this.#pendingDir, record.id);
      } else if (!this.#pending.has(record.id)) {
        this.#pending.set(record.id, record);
        resumed.push(record);
      }
    }
    this.#started = true;
    this.#log.info({ pending: this.#pending.size, dead: this.#dead.size }, 'callback outbox started');
    if (this.#closing) return;
    // Records enqueued before start() were only stored; schedule them now too.
    for (const record of this.#pending.values()) this.#schedule(record);
    if (resumed.length > 0) this.#log.info({ count: resumed.length }, 'callback delivery resumed');
  }

  /** Valid records in a directory; removes temp files and sets corrupt files aside. */
  async #readDir(dir: string): Promise<OutboxRecord[]> {
    const records: OutboxRecord[] = [];
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if (name.endsWith('.tmp')) {
        // A write that a crash interrupted; the rename never happened, so the old file (if any) is whole.
        await unlink(path).catch(() => undefined);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const record: OutboxRecord = recordSchema.parse(JSON.parse(await readFile(path, 'utf8')));
        if (`${record.id}.json` !== name) throw new Error(`id ${record.id} does not match the file name`);
        records.push(record);
      } catch (err) {
        this.#log.error({ file: path, err: errorMessage(err) }, 'callback record unreadable, set aside');
        await rename(path, `${path}.corrupt`).catch(() => undefined);
      }
    }
    return records.sort((a, b) => a.createdAt - b.createdAt);
  }

  #schedule(record: OutboxRecord): void {
    if (!this.#started || this.#closing) return;
    const { id } = record;
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    const delay = Math.min(Math.max(0, record.nextAttemptAt - this.#opts.now()), MAX_TIMER_MS);
    if (delay === 0) {
      this.#submit(id);
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      this.#submit(id);
    }, delay);
    timer.unref();
    this.#timers.set(id, timer);
  }

  #submit(id: string): void {
    // #attempt never rejects; the catch only keeps a bug from becoming an unhandled rejection.
    this.#track(this.#queue.add(() => this.#attempt(id))).catch((err: unknown) =>
      this.#log.error({ eventId: id, err: errorMessage(err) }, 'callback attempt crashed'),
    );
  }

  async #attempt(id: string): Promise<void> {
    const record = this.#pending.get(id);
    if (!record || this.#closing || this.#attempting.has(id)) return;
    this.#attempting.add(id);
    let retry = false;
    try {
      const attempt = record.attempts + 1;
      // A monotonic clock: `now` is the wall clock, which tests may fix.
      const started = performance.now();
      const outcome = await this.#post(record);
      const attemptMs = performance.now() - started;
      if (outcome === 'aborted') return;
      if (outcome.ok) {
        await this.#delivered(record, attempt, outcome.status, attemptMs);
      } else {
        retry = await this.#failed(record, attempt, outcome.error, attemptMs);
      }
    } finally {
      this.#attempting.delete(id);
    }
    // Only now: a retry already due (its write outlasted the interval) would find this attempt still running
    // and be dropped, leaving the record pending with no timer until a restart.
    if (retry) this.#schedule(record);
  }

  #post(record: OutboxRecord): Promise<PostOutcome> {
    if (this.#opts.send) return this.#opts.send(record, this.#closeController.signal);
    return postCallback({
      url: record.url,
      body: record.body,
      eventId: record.id,
      key: this.#opts.key,
      timeoutMs: this.#opts.timeoutMs,
      nowMs: this.#opts.now(),
      signal: this.#closeController.signal,
    });
  }

  async #delivered(record: OutboxRecord, attempt: number, status: number, attemptMs: number): Promise<void> {
    record.attempts = attempt;
    // With `send`, the record went to the cluster's queue, whose delivery logs the POST.
    this.#log.info(
      { eventId: record.id, ...callbackFields(record.body), url: record.url, status, attempt },
      this.#opts.send ? 'callback handed to the cluster' : 'callback sent',
    );
    try {
      await removeDurably(this.#pendingDir, record.id);
    } catch (err) {
      // The receiver has it; a leftover file is sent again after a restart, with the same event id.
      this.#log.error({ eventId: record.id, err: errorMessage(err) }, 'callback record not removed');
    }
    // Out of pending() when it is counted delivered, not before: a reader of both never sees it in neither.
    this.#pending.delete(record.id);
    this.emit('delivered', structuredClone(record), attemptMs);
  }

  /** Records a failed attempt; true when the record is to be attempted again (the caller schedules it). */
  async #failed(
    record: OutboxRecord,
    attempt: number,
    error: CallbackRejectedError,
    attemptMs: number,
  ): Promise<boolean> {
    const reason = error.message;
    record.attempts = attempt;
    record.lastError = reason;
    this.#log.warn(
      {
        eventId: record.id,
        ...callbackFields(record.body),
        url: record.url,
        attempt,
        status: error.status,
        reason,
      },
      'callback attempt failed',
    );
    const delay = nextAttemptDelay(this.#policy, attempt);
    if (delay === null) {
      await this.#moveToDead(record);
      this.emit('failed', structuredClone(record), reason, attemptMs);
      this.emit('dead', structuredClone(record));
      return false;
    }
    record.nextAttemptAt = this.#opts.now() + delay;
    try {
      await writeDurably(this.#pendingDir, record);
    } catch (err) {
      // The older copy on disk still holds the record; only its attempt count lags.
      this.#log.error({ eventId: record.id, err: errorMessage(err) }, 'callback record not updated');
    }
    this.emit('failed', structuredClone(record), reason, attemptMs);
    return true;
  }

  async #moveToDead(record: OutboxRecord): Promise<void> {
    try {
      // Dead first: a crash in between leaves both files, and load() finishes the move.
      await writeDurably(this.#deadDir, record);
      await removeDurably(this.#pendingDir, record.id);
    } catch (err) {
      // Still on disk as pending, so the next start() retries it rather than losing it.
      this.#log.error({ eventId: record.id, err: errorMessage(err) }, 'callback record not moved to dead');
    }
    this.#pending.delete(record.id);
    this.#dead.set(record.id, record);
    this.#log.error(
      {
        eventId: record.id,
        ...callbackFields(record.body),
        url: record.url,
        attempts: record.attempts,
        lastError: record.lastError,
      },
      'callback dead',
    );
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#work.add(promise);
    const forget = () => this.#work.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

function sortedCopies(records: Map<string, OutboxRecord>): OutboxRecord[] {
  return [...records.values()].sort((a, b) => a.createdAt - b.createdAt).map((r) => structuredClone(r));
}

/** Writes `<dir>/<id>.json` so that a crash leaves either the old or the new file, whole. */
async function writeDurably(dir: string, record: OutboxRecord): Promise<void> {
  const path = join(dir, `${record.id}.json`);
  try {
    await writeFileDurably(path, `${JSON.stringify(record)}\n`);
  } catch (err) {
    throw new AppError('CALLBACK_STORE_FAILED', `cannot write ${path}`, { cause: err });
  }
}

/** Removes `<dir>/<id>.json`; a file already gone is fine. */
async function removeDurably(dir: string, id: string): Promise<void> {
  try {
    await unlink(join(dir, `${id}.json`));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await syncDir(dir);
}
