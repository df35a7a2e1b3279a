import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { z } from 'zod';
import { exponentialDelay } from '../shared/backoff.js';
import { writeFileDurably } from '../shared/durable-file.js';
import { AppError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import type { ObjectStore, StoredObject } from './object-store.js';

const stepSchema = z.discriminatedUnion('kind', [
  /** A staged local file; removed by the store once the stored copy is confirmed. */
  z.object({
    kind: z.literal('file'),
    path: z.string(),
    key: z.string(),
    retentionDays: z.number(),
    /** Where the file was before it was staged; a crash between the record and the move leaves it there. */
    source: z.string().optional(),
    /** The file's SHA-256, when its maker hashed it (it goes to the audit trail with the stored object). */
    sha256: z.string().optional(),
  }),
  /** Small text (a playlist), kept in the job record itself. */
  z.object({ kind: z.literal('text'), text: z.string(), key: z.string(), retentionDays: z.number() }),
  z.object({ kind: z.literal('delete'), key: z.string() }),
]);
export type UploadStep = z.infer<typeof stepSchema>;

const jobSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/),
  lane: z.string(),
  seq: z.number().int(),
  steps: z.array(stepSchema),
  /** Steps already done; a restart goes on from here. */
  done: z.number().int().min(0),
  /** Opaque to the queue: handed to onDone once every step is done (the event 100 to send). */
  announce: z.unknown().optional(),
  createdAt: z.number(),
  attempts: z.number().int().min(0),
  lastError: z.string().optional(),
  nextAttemptAt: z.number(),
});
export type UploadJob = z.infer<typeof jobSchema>;

export interface UploadQueueOptions {
  /** Holds `jobs/` (one JSON record per job) and `files/` (staged files). */
  dir: string;
  store: ObjectStore;
  /** Jobs running at once, across lanes. */
  concurrency: number;
  logger: Logger;
  /** Runs after the last step of a job and before its record is removed; a rejection retries the job. */
  onDone?: (job: UploadJob, stored: StoredObject[]) => Promise<void>;
  retryBaseMs?: number;
  retryMaxMs?: number;
  now?: () => number;
}

// A type alias: TypedEmitter's constraint needs an index signature, which an interface lacks.
/** Events of an UploadQueue. */
export type UploadQueueEvents = {
  /** A job is on disk and waits its turn: a new one, or one a previous run left. */
  queued: [UploadJob];
  /** One object is stored and confirmed. */
  stored: [UploadJob, StoredObject];
  /** An attempt failed; the job stays on disk and is retried. The error's code tells the cause. */
  failed: [UploadJob, AppError | Error];
  /** Every step is done and onDone returned. */
  done: [UploadJob];
};

// setTimeout fires at once for longer delays.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A durable upload queue. Each job is on disk (its files staged, its record fsynced) before enqueue() returns,
 * and stays there until every step is confirmed. Jobs of one lane (one HLS playlist) run in order; lanes run
 * side by side, at most `concurrency` jobs at once.
 */
export class UploadQueue extends TypedEmitter<UploadQueueEvents> {
  readonly #o: UploadQueueOptions;
  readonly #log: Logger;
  readonly #jobsDir: string;
  readonly #filesDir: string;
  readonly #queue: PQueue;
  readonly #backoff: (attempts: number) => number;
  readonly #now: () => number;
  /** Pending jobs per lane, in seq order; the head is the only one that may run. */
  readonly #lanes = new Map<string, UploadJob[]>();
  readonly #running = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #seq = 0;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(options: UploadQueueOptions) {
    super();
    this.#o = options;
    this.#log = options.logger;
    this.#jobsDir = join(options.dir, 'jobs');
    this.#filesDir = join(options.dir, 'files');
    this.#queue = new PQueue({ concurrency: options.concurrency });
    this.#backoff = exponentialDelay(options.retryBaseMs ?? 1000, options.retryMaxMs ?? 60_000);
    this.#now = options.now ?? Date.now;
  }

  /** Loads the jobs a previous run left and starts them. */
  async start(): Promise<void> {
    await mkdir(this.#jobsDir, { recursive: true });
    await mkdir(this.#filesDir, { recursive: true });
    const jobs: UploadJob[] = [];
    for (const name of await readdir(this.#jobsDir)) {
      if (!name.endsWith('.json')) continue;
      try {
        jobs.push(jobSchema.parse(JSON.parse(await readFile(join(this.#jobsDir, name), 'utf8'))));
      } catch (err) {
        // A record cut short by a crash before its rename is never a whole job; leave it for an operator.
        this.#log.error({ file: name, err: errorMessage(err) }, 'unreadable upload job record');
      }
    }
    jobs.sort((a, b) => a.seq - b.seq);
    for (const job of jobs) {
      this.#seq = Math.max(this.#seq, job.seq + 1);
      // A restart is the moment a fixed config or a recovered server shows: try at once.
      job.nextAttemptAt = Math.min(job.nextAttemptAt, this.#now());
      this.#addToLane(job);
    }
    if (jobs.length) this.#log.info({ jobs: jobs.length }, 'resuming uploads');
    for (const lane of this.#lanes.keys()) this.#schedule(lane);
  }

  /** Jobs not done yet, in order. */
  pending(): UploadJob[] {
    return [...this.#lanes.values()].flat().sort((a, b) => a.seq - b.seq);
  }

  /** Whether a key is the target of a pending job (so no new file takes its name). */
  isPendingKey(key: string): boolean {
    for (const jobs of this.#lanes.values()) {
      if (jobs.some((job) => job.steps.some((step) => step.kind !== 'delete' && step.key === key)))
        return true;
    }
    return false;
  }

  /** Whether a pending job was given this local file (its record may name it before the file moved). */
  isQueuedSource(path: string): boolean {
    for (const jobs of this.#lanes.values()) {
      if (jobs.some((job) => job.steps.some((step) => step.kind === 'file' && step.source === path)))
        return true;
    }
    return false;
  }

  /**
   * Stages the job's files (a rename into the queue's dir), writes its record durably, and schedules it.
   * Resolves once the job would survive a crash; the upload itself happens later.
   */
  async enqueue(lane: string, steps: UploadStep[], announce?: unknown): Promise<UploadJob> {
    if (this.#closed) throw new AppError('QUEUE_CLOSED', 'upload queue is closed');
    const id = randomUUID();
    // The record is written before the files move, naming both places: a crash in between loses nothing.
    const staged = steps.map((step, i) =>
      step.kind === 'file' ? { ...step, source: step.path, path: join(this.#filesDir, `${id}-${i}`) } : step,
    );
    const job: UploadJob = {
      id,
      lane,
      seq: this.#seq++,
      steps: staged,
      done: 0,
      ...(announce !== undefined ? { announce } : {}),
      createdAt: this.#now(),
      attempts: 0,
      nextAttemptAt: this.#now(),
    };
    await this.#persist(job);
    try {
      for (const step of staged)
        if (step.kind === 'file' && step.source) await rename(step.source, step.path);
    } catch (err) {
      await rm(join(this.#jobsDir, `${job.id}.json`), { force: true });
      throw err;
    }
    this.#addToLane(job);
    this.#schedule(lane);
    return job;
  }

  #addToLane(job: UploadJob): void {
    const jobs = this.#lanes.get(job.lane) ?? [];
    jobs.push(job);
    this.emit('queued', job);
    this.#lanes.set(job.lane, jobs);
  }

  async #persist(job: UploadJob): Promise<void> {
    await writeFileDurably(join(this.#jobsDir, `${job.id}.json`), JSON.stringify(job));
  }

  #schedule(lane: string): void {
    const job = this.#lanes.get(lane)?.[0];
    if (!job || this.#closed || this.#running.has(job.id) || this.#timers.has(job.id)) return;
    const wait = Math.min(Math.max(0, job.nextAttemptAt - this.#now()), MAX_TIMER_MS);
    if (wait > 0) {
      const timer = setTimeout(() => {
        this.#timers.delete(job.id);
        this.#schedule(lane);
      }, wait);
      timer.unref();
      this.#timers.set(job.id, timer);
      return;
    }
    this.#running.add(job.id);
    void this.#queue
      .add(() => this.#attempt(job))
      .finally(() => {
        this.#running.delete(job.id);
        this.#schedule(lane);
        this.#checkIdle();
      });
  }

  async #attempt(job: UploadJob): Promise<void> {
    if (this.#closed) return;
    const stored: StoredObject[] = [];
    try {
      for (; job.done < job.steps.length; job.done++) {
        const step = job.steps[job.done]!;
        if (step.kind === 'delete') {
          await this.#o.store.delete(step.key);
        } else {
          const object =
            step.kind === 'file'
              ? await this.#putFile(step)
              : await this.#o.store.putBuffer(Buffer.from(step.text), step.key, {
                  retentionDays: step.retentionDays,
                });
          stored.push(object);
          this.emit('stored', job, object);
        }
        // Progress is not fsynced between steps: each step is safe to redo, and a file step whose local file is
        // gone finds its stored copy (#putFile). A failure persists the progress below.
      }
      await this.#o.onDone?.(job, stored);
      await rm(join(this.#jobsDir, `${job.id}.json`), { force: true });
      const jobs = this.#lanes.get(job.lane) ?? [];
      jobs.shift();
      if (jobs.length === 0) this.#lanes.delete(job.lane);
      this.emit('done', job);
    } catch (err) {
      job.attempts++;
      job.lastError = errorMessage(err);
      job.nextAttemptAt = this.#now() + this.#backoff(job.attempts);
      const code = err instanceof AppError ? err.code : undefined;
      this.#log.error(
        { job: job.id, lane: job.lane, step: job.done, code, attempts: job.attempts, err: job.lastError },
        'upload failed, will retry',
      );
      await this.#persist(job).catch((e: unknown) =>
        this.#log.error({ job: job.id, err: errorMessage(e) }, 'cannot persist upload job'),
      );
      this.emit('failed', job, err instanceof Error ? err : new Error(String(err)));
    }
  }

  async #putFile(step: Extract<UploadStep, { kind: 'file' }>): Promise<StoredObject> {
    let local = await stat(step.path).catch(() => undefined);
    if (!local && step.source && (await stat(step.source).catch(() => undefined))) {
      // The record was written but the move was not: finish the move now.
      await rename(step.source, step.path);
      local = await stat(step.path);
    }
    if (!local) {
      // Stored and removed just before a crash cut the record's update short: the stored copy is the file.
      const stored = await this.#o.store.stat(step.key);
      if (stored) return stored;
      throw new AppError(
        'UPLOAD_LOST',
        `staged file ${step.path} for ${step.key} is missing and was never stored`,
      );
    }
    return this.#o.store.putFile(step.path, step.key, {
      retentionDays: step.retentionDays,
      ...(step.sha256 ? { sha256: step.sha256 } : {}),
    });
  }

  #checkIdle(): void {
    if (this.#lanes.size > 0 && !this.#closed) return;
    if (this.#running.size > 0) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when every job is done, or after timeoutMs; true if nothing is left. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.#lanes.size === 0 && this.#running.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#idle.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.#lanes.size === 0;
  }

  /** Stops scheduling; attempts in flight finish. Pending jobs stay on disk for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await this.#queue.onIdle();
    this.#checkIdle();
  }
}
