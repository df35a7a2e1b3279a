import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { OutboxRecord } from '../callback/outbox.js';
import { postCallback, type PostOutcome } from '../callback/post.js';
import { callbackFields } from '../callback/events.js';
import { CallbackRejectedError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import type { RedisLink } from './redis-link.js';

const QUEUE = 'callbacks';
/** A hand-off that Redis does not take within this long has failed (the node's outbox tries it again). */
const HAND_OFF_TIMEOUT_MS = 2000;
/** Delivered callbacks kept this long in Redis, so a hand-off repeated after a crash is still recognised. */
const KEEP_DELIVERED_SECONDS = 7 * 24 * 3600;

export interface ClusterCallbacksOptions {
  nodeId: string;
  keyPrefix: string;
  /** callback.key: signs every attempt. */
  key: string;
  intervalMs: number;
  maxAttempts: number;
  timeoutMs: number;
  /** A callback held by a node that stopped (it died mid-delivery) goes to another node this long after. */
  leaseMs: number;
  logger: Logger;
  concurrency?: number;
}

/** Events of the shared queue, as the node's outbox has them: each carries the record and attempt time. */
export type ClusterCallbackEvents = {
  delivered: [OutboxRecord, attemptMs: number];
  failed: [OutboxRecord, reason: string, attemptMs: number];
  dead: [OutboxRecord];
};

interface JobData {
  id: string;
  url: string;
  body: Record<string, unknown>;
  createdAt: number;
}

/**
 * The cluster's callback queue (BullMQ on the cluster's Redis): every node hands its callbacks in, from its own
 * durable outbox, and every node delivers from it. A callback is one job whose id is its event id, so a hand-off
 * repeated (a node that crashed between the hand-off and forgetting it) adds nothing. One node at a time holds a
 * job, under a lock it renews; the job of a node that dies goes to another node once the lock lapses. Retries
 * follow `callback.retryIntervalSeconds` and `maxAttempts`; a job whose every attempt failed stays in the
 * queue's failed set: the cluster's dead letters.
 */
export class ClusterCallbacks extends TypedEmitter<ClusterCallbackEvents> {
  readonly #o: ClusterCallbacksOptions;
  readonly #log: Logger;
  readonly #queue: Queue<JobData>;
  readonly #worker: Worker<JobData>;
  readonly #connections: Redis[];
  readonly #closing = new AbortController();

  constructor(link: RedisLink, options: ClusterCallbacksOptions) {
    super();
    this.#o = options;
    this.#log = options.logger.child({ component: 'cluster-callbacks' });
    // BullMQ's blocking reads want connections of their own that wait through an outage.
    this.#connections = [link.duplicate(), link.duplicate()];
    for (const connection of this.#connections) connection.on('error', () => undefined);
    const prefix = `${options.keyPrefix}bull`;
    this.#queue = new Queue<JobData>(QUEUE, { connection: this.#connections[0]!, prefix });
    this.#queue.on('error', (err) => this.#log.warn({ err: errorMessage(err) }, 'callback queue error'));
    this.#worker = new Worker<JobData>(QUEUE, (job) => this.#deliver(job), {
      connection: this.#connections[1]!,
      prefix,
      autorun: false,
      concurrency: options.concurrency ?? 16,
      // The worker renews its lock every half lease while an attempt runs; a dead node's lapses, and the
      // stalled check hands its job to another node.
      lockDuration: options.leaseMs,
      stalledInterval: options.leaseMs,
      maxStalledCount: 1_000_000,
    });
    this.#worker.on('error', (err) => this.#log.warn({ err: errorMessage(err) }, 'callback worker error'));
    this.#worker.on('failed', (job, err) => {
      if (!job) return;
      const record = recordOf(job);
      const attemptMs = job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : 0;
      this.emit('failed', record, err.message, attemptMs);
      if (job.attemptsMade >= (job.opts.attempts ?? 1)) {
        this.#log.error(
          { eventId: job.id, ...callbackFields(record.body), url: record.url, attempts: job.attemptsMade },
          'callback dead',
        );
        this.emit('dead', record);
      }
    });
  }

  /** Starts delivering (this node takes its share of the queue). */
  start(): void {
    void this.#worker
      .run()
      .catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, 'callback worker stopped'));
  }

  /**
   * Hands a node's callback to the cluster: the outbox's `send`. Delivered here means "in the queue": its
   * delivery, retries and dead letter are the queue's from then on.
   */
  handOff = async (record: OutboxRecord): Promise<PostOutcome> => {
    const data: JobData = { id: record.id, url: record.url, body: record.body, createdAt: record.createdAt };
    try {
      await withTimeout(
        this.#queue.add('callback', data, {
          jobId: record.id,
          attempts: this.#o.maxAttempts,
          backoff: { type: 'fixed', delay: this.#o.intervalMs },
          removeOnComplete: { age: KEEP_DELIVERED_SECONDS },
          removeOnFail: false,
        }),
        HAND_OFF_TIMEOUT_MS,
      );
      this.#log.debug({ eventId: record.id }, 'callback handed to the cluster');
      return { ok: true, status: 0 };
    } catch (err) {
      return { ok: false, error: new CallbackRejectedError(`cluster queue: ${errorMessage(err)}`, null) };
    }
  };

  async #deliver(job: Job<JobData>): Promise<void> {
    const started = performance.now();
    const outcome = await postCallback({
      url: job.data.url,
      body: job.data.body,
      eventId: job.data.id,
      key: this.#o.key,
      timeoutMs: this.#o.timeoutMs,
      nowMs: Date.now(),
      signal: this.#closing.signal,
    });
    const attemptMs = performance.now() - started;
    if (outcome === 'aborted') throw new Error('the node is stopping');
    if (!outcome.ok) {
      this.#log.warn(
        {
          eventId: job.id,
          ...callbackFields(job.data.body),
          url: job.data.url,
          attempt: job.attemptsMade + 1,
          reason: outcome.error.message,
        },
        'callback attempt failed',
      );
      throw outcome.error;
    }
    const record = { ...recordOf(job), attempts: job.attemptsMade + 1 };
    this.#log.info(
      { eventId: job.id, ...callbackFields(job.data.body), url: job.data.url, node: this.#o.nodeId },
      'callback sent',
    );
    this.emit('delivered', record, attemptMs);
  }

  /** Callbacks in the queue not yet delivered, oldest first. */
  async pending(): Promise<OutboxRecord[]> {
    const jobs = await this.#queue.getJobs(['waiting', 'delayed', 'active', 'prioritized']);
    return jobs
      .filter(Boolean)
      .map(recordOf)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** The cluster's dead letters, oldest first. */
  async dead(): Promise<OutboxRecord[]> {
    const jobs = await this.#queue.getFailed();
    return jobs
      .filter(Boolean)
      .map(recordOf)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Sends a dead letter again with its attempts reset; false when no dead letter has this id. */
  async redeliver(id: string): Promise<boolean> {
    const job = await this.#queue.getJob(id);
    if (!job || !(await job.isFailed())) return false;
    await job.retry('failed', { resetAttemptsMade: true });
    return true;
  }

  /** Stops taking jobs and waits for those in flight (up to timeoutMs, then they are cut and go to others). */
  async close(timeoutMs = 30_000): Promise<void> {
    const closing = this.#worker.close();
    const timer = setTimeout(() => this.#closing.abort(), timeoutMs);
    await closing.catch(() => undefined);
    clearTimeout(timer);
    await this.#queue.close().catch(() => undefined);
    for (const connection of this.#connections) connection.disconnect();
  }
}

function recordOf(job: Job<JobData>): OutboxRecord {
  return {
    id: job.data.id,
    url: job.data.url,
    body: job.data.body,
    createdAt: job.data.createdAt,
    attempts: job.attemptsMade,
    ...(job.failedReason ? { lastError: job.failedReason } : {}),
    nextAttemptAt: job.timestamp + (job.opts.delay ?? 0),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`Redis did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
