import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { assertSafeComponent } from '../naming/names.js';
import type { DocumentStore } from '../shared/document-store.js';
import { readJsonBook, updateJsonBook } from '../shared/json-book.js';
import { AppError, errorMessage } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';

/** Tencent's limits for CreateRecordTask (Live API 2018-08-01). */
export const TASK_LIMITS = Object.freeze({
  /** EndTime − StartTime, seconds. */
  maxWindowS: 24 * 3600,
  /** How far ahead of now EndTime may lie, seconds. */
  maxAheadS: 7 * 24 * 3600,
  /** Tasks of one stream that may run at the same instant. */
  maxOverlapping: 3,
});

/** How long an ended task is kept for StopRecordTask answers and DescribeRecordTask, by default: Tencent keeps 3 months. */
export const DEFAULT_RETAIN_ENDED_MS = 90 * 24 * 3600 * 1000;

// setTimeout fires at once for delays above 2^31-1 ms; longer waits are re-armed in steps.
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What CreateRecordTask asks for, in the recorder's spelling; times are Unix seconds. */
export interface RecordTaskParams {
  domainName: string;
  appName: string;
  streamName: string;
  endTime: number;
  /** Absent or 0 means now. */
  startTime?: number | undefined;
  /** 0: a live push (default); 1: a mix output, which the recorder does not produce. */
  streamType?: number | undefined;
  templateId?: number | undefined;
  extension?: string | undefined;
}

/** One on-demand recording task; immutable, replaced on change. Times in seconds except `createdAt`/`stoppedAt` (ms). */
export interface RecordTask {
  readonly taskId: string;
  readonly domainName: string;
  readonly appName: string;
  readonly streamName: string;
  readonly startTime: number;
  readonly endTime: number;
  /** 0: a live push; 1: a mix's output (CreateCommonMixStream). */
  readonly streamType: 0 | 1;
  /** As given; an unknown id means the default template, as Tencent does. */
  readonly templateId?: number;
  readonly extension?: string;
  readonly createdAt: number;
  /** Set by StopRecordTask; a stopped task never opens again. */
  readonly stoppedAt?: number;
  /**
   * Set by DeleteRecordTask: the task is gone for every caller and records no new push, but a recording it has
   * running goes on to the end of the window (Tencent: the deletion does not affect running tasks).
   */
  readonly deletedAt?: number;
}

export type TaskEndReason = 'expired' | 'stopped';

/** `start` when a task's window opens (again after a restart); `end` closes a window that `start` opened. */
export interface TaskBookEvents {
  start: [task: RecordTask];
  end: [task: RecordTask, reason: TaskEndReason];
}

/** Why a task was refused: `invalid` parameters, an `unsupported` feature, or the overlap `limit`. */
export type TaskRejectionKind = 'invalid' | 'unsupported' | 'limit';

export type TaskValidation =
  | { ok: true; startTime: number; endTime: number; streamType: 0 | 1 }
  | { ok: false; kind: TaskRejectionKind; field: string; message: string };

/** CreateRecordTask refused: the parameters break Tencent's rules. */
export class TaskRejectedError extends AppError {
  constructor(
    readonly kind: TaskRejectionKind,
    readonly field: string,
    message: string,
  ) {
    super(
      kind === 'limit' ? 'TASK_LIMIT_EXCEEDED' : kind === 'unsupported' ? 'TASK_UNSUPPORTED' : 'TASK_INVALID',
      message,
    );
  }
}

/** StopRecordTask named a task the book does not know (never created, or pruned). */
export class TaskNotFoundError extends AppError {
  constructor(readonly taskId: string) {
    super('TASK_NOT_FOUND', `the task ${taskId} does not exist`);
  }
}

/** [start, end) of a task in ms. */
export function taskWindowMs(task: Pick<RecordTask, 'startTime' | 'endTime'>): {
  startMs: number;
  endMs: number;
} {
  return { startMs: task.startTime * 1000, endMs: task.endTime * 1000 };
}

/** Where a task stands at `nowMs`: not yet open, open, or ended (expired or stopped). */
export function taskPhase(task: RecordTask, nowMs: number): 'pending' | 'open' | 'ended' {
  if (task.stoppedAt !== undefined) return 'ended';
  const { startMs, endMs } = taskWindowMs(task);
  if (nowMs >= endMs) return 'ended';
  return nowMs >= startMs ? 'open' : 'pending';
}

/** Whether two tasks record the same stream; push domains compare without case. */
export function sameStream(
  a: Pick<RecordTask, 'domainName' | 'appName' | 'streamName'>,
  b: Pick<RecordTask, 'domainName' | 'appName' | 'streamName'>,
): boolean {
  return (
    a.domainName.toLowerCase() === b.domainName.toLowerCase() &&
    a.appName === b.appName &&
    a.streamName === b.streamName
  );
}

/**
 * Checks CreateRecordTask parameters against Tencent's rules at `nowMs`, and the overlap limit against `existing`.
 * Pure: returns the normalized window (Unix seconds) or the reason for refusal.
 */
export function validateTask(
  params: RecordTaskParams,
  nowMs: number,
  existing: readonly RecordTask[],
): TaskValidation {
  const reject = (kind: TaskRejectionKind, field: string, message: string): TaskValidation => ({
    ok: false,
    kind,
    field,
    message,
  });
  for (const [field, value] of [
    ['StreamName', params.streamName],
    ['AppName', params.appName],
  ] as const) {
    try {
      assertSafeComponent(field, value);
    } catch (err) {
      return reject('invalid', field, errorMessage(err));
    }
  }
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(params.domainName)) {
    return reject('invalid', 'DomainName', 'DomainName must be a host name');
  }

  const streamType = params.streamType ?? 0;
  if (streamType !== 0 && streamType !== 1)
    return reject('invalid', 'StreamType', 'StreamType must be 0 or 1');

  const { endTime } = params;
  const startTime = params.startTime || Math.floor(nowMs / 1000);
  if (!Number.isSafeInteger(endTime) || endTime < 0) {
    return reject('invalid', 'EndTime', 'EndTime must be a Unix time in seconds');
  }
  if (!Number.isSafeInteger(startTime) || startTime < 0) {
    return reject('invalid', 'StartTime', 'StartTime must be a Unix time in seconds');
  }
  if (endTime * 1000 <= nowMs)
    return reject('invalid', 'EndTime', 'EndTime must be later than the current time');
  if (endTime <= startTime) return reject('invalid', 'EndTime', 'EndTime must be later than StartTime');
  if (endTime * 1000 > nowMs + TASK_LIMITS.maxAheadS * 1000) {
    return reject('invalid', 'EndTime', 'EndTime must be within 7 days of the current time');
  }
  if (endTime - startTime > TASK_LIMITS.maxWindowS) {
    return reject('invalid', 'EndTime', 'EndTime - StartTime must not exceed 24 hours');
  }

  const peak = peakOverlap({ ...params, startTime, endTime }, nowMs, existing);
  if (peak >= TASK_LIMITS.maxOverlapping) {
    return reject(
      'limit',
      'StartTime',
      `the stream already has ${peak} recording tasks in this time range; at most ${TASK_LIMITS.maxOverlapping} may overlap`,
    );
  }
  return { ok: true, startTime, endTime, streamType };
}

/**
 * The most live tasks of the same stream that run at one instant of the candidate's window.
 * Only the future counts (windows are clipped to now), and stopped tasks count not at all.
 */
export function peakOverlap(
  candidate: Pick<RecordTask, 'domainName' | 'appName' | 'streamName' | 'startTime' | 'endTime'>,
  nowMs: number,
  existing: readonly RecordTask[],
): number {
  const from = Math.max(candidate.startTime * 1000, nowMs);
  const to = candidate.endTime * 1000;
  const edges: { at: number; delta: 1 | -1 }[] = [];
  for (const task of existing) {
    if (task.stoppedAt !== undefined || !sameStream(task, candidate)) continue;
    const { startMs, endMs } = taskWindowMs(task);
    const s = Math.max(startMs, from);
    const e = Math.min(endMs, to);
    if (s >= e) continue;
    edges.push({ at: s, delta: 1 }, { at: e, delta: -1 });
  }
  // Windows are half-open, so at a shared instant an end comes before a start.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let running = 0;
  let peak = 0;
  for (const edge of edges) {
    running += edge.delta;
    peak = Math.max(peak, running);
  }
  return peak;
}

/** A cancellable timer; tests pass a fake one. */
export type SetTimer = (callback: () => void, delayMs: number) => { cancel(): void };

const realSetTimer: SetTimer = (callback, delayMs) => {
  const timer = setTimeout(callback, delayMs);
  // The book's schedule alone must not keep the process alive.
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
};

export interface TaskBookOptions {
  /** Where the book is kept: `<dataDir>/.state/tasks.json`, or the cluster's Redis. */
  store: DocumentStore;
  now?: () => number;
  setTimer?: SetTimer;
  /** How long an ended task is kept; StopRecordTask on it answers success until then. */
  retainEndedMs?: number;
  log?: Logger;
}

const taskSchema = z.object({
  taskId: z.string().min(1),
  domainName: z.string(),
  appName: z.string(),
  streamName: z.string(),
  startTime: z.number().int(),
  endTime: z.number().int(),
  streamType: z.union([z.literal(0), z.literal(1)]),
  templateId: z.number().int().optional(),
  extension: z.string().optional(),
  createdAt: z.number(),
  stoppedAt: z.number().optional(),
  deletedAt: z.number().optional(),
});

/**
 * The on-demand recording tasks (CreateRecordTask / StopRecordTask): validation, the overlap limit, a durable file,
 * and a timer schedule that emits `start` when a window opens and `end` when it closes.
 * Listeners attach before start(); they must not throw.
 */
export class TaskBook extends TypedEmitter<TaskBookEvents> {
  readonly #store: DocumentStore;
  readonly #now: () => number;
  readonly #setTimer: SetTimer;
  readonly #retainEndedMs: number;
  readonly #log: Logger;
  readonly #tasks = new Map<string, RecordTask>();
  readonly #timers = new Map<string, { cancel(): void }>();
  // Tasks whose `start` was emitted and whose `end` was not yet.
  readonly #open = new Set<string>();
  /** Writes and reloads, one at a time. */
  #writing: Promise<unknown> = Promise.resolve();
  #started: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: TaskBookOptions) {
    super();
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#setTimer = options.setTimer ?? realSetTimer;
    this.#retainEndedMs = options.retainEndedMs ?? DEFAULT_RETAIN_ENDED_MS;
    this.#log = (options.log ?? silentLogger()).child({ component: 'task-book' });
  }

  /** Loads the file, prunes old tasks, and arms the schedule; emits `start` for every window open now. Idempotent. */
  start(): Promise<void> {
    this.#started ??= this.#load();
    return this.#started;
  }

  /**
   * Validates (against the stored book: another node's tasks count toward the limits), stores durably, and
   * schedules a task; emits `start` at once when its window is open. Returns its TaskId.
   */
  async create(params: RecordTaskParams, nowMs: number): Promise<string> {
    this.#assertRunning();
    let task: RecordTask | undefined;
    await this.#commit((tasks) => {
      const verdict = validateTask(params, nowMs, kept(tasks));
      if (!verdict.ok) throw new TaskRejectedError(verdict.kind, verdict.field, verdict.message);
      task = {
        taskId: newTaskId(),
        domainName: params.domainName,
        appName: params.appName,
        streamName: params.streamName,
        startTime: verdict.startTime,
        endTime: verdict.endTime,
        streamType: verdict.streamType,
        ...(params.templateId !== undefined ? { templateId: params.templateId } : {}),
        ...(params.extension !== undefined ? { extension: params.extension } : {}),
        createdAt: nowMs,
      };
      tasks.set(task.taskId, task);
    });
    const created = task!;
    this.#log.info(
      { taskId: created.taskId, stream: created.streamName, start: created.startTime, end: created.endTime },
      'task created',
    );
    return created.taskId;
  }

  /**
   * Ends a task early (StopRecordTask): it never opens again, and `end` (stopped) follows if it was open.
   * A task already ended answers success; an unknown one throws TaskNotFoundError.
   */
  async stop(taskId: string, nowMs: number): Promise<void> {
    this.#assertRunning();
    const task = this.get(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    if (taskPhase(task, nowMs) === 'ended') return;
    // No timer may report this task while the stop is being written.
    this.#cancelTimer(taskId);
    try {
      await this.#commit((tasks) => {
        const stored = tasks.get(taskId);
        if (!stored || stored.deletedAt !== undefined) throw new TaskNotFoundError(taskId);
        if (taskPhase(stored, nowMs) !== 'ended') tasks.set(taskId, { ...stored, stoppedAt: nowMs });
      });
    } catch (err) {
      if (this.#closed === undefined) this.#arm(taskId);
      throw err;
    }
    this.#log.info({ taskId }, 'task stopped');
  }

  /**
   * Deletes a task (DeleteRecordTask): no caller sees it again and no new push is recorded for it. A recording it
   * has running is not cut: `end` still follows when its window closes. An unknown id throws TaskNotFoundError.
   */
  async delete(taskId: string, nowMs: number): Promise<void> {
    this.#assertRunning();
    if (!this.get(taskId)) throw new TaskNotFoundError(taskId);
    await this.#commit((tasks) => {
      const stored = tasks.get(taskId);
      if (!stored || stored.deletedAt !== undefined) throw new TaskNotFoundError(taskId);
      tasks.set(taskId, { ...stored, deletedAt: nowMs });
    });
    this.#log.info({ taskId, open: this.#open.has(taskId) }, 'task deleted');
  }

  /** The task with this id, while it is kept and not deleted. */
  get(taskId: string): RecordTask | undefined {
    const task = this.#tasks.get(taskId);
    return task?.deletedAt === undefined ? task : undefined;
  }

  /** Every kept task not deleted, oldest first. */
  list(): RecordTask[] {
    return this.#all().filter((task) => task.deletedAt === undefined);
  }

  /** Tasks of this stream whose window contains `nowMs` and that were not stopped; what a new publish records for. */
  activeFor(domainName: string, appName: string, streamName: string, nowMs: number): RecordTask[] {
    const stream = { domainName, appName, streamName };
    return this.list().filter((task) => sameStream(task, stream) && taskPhase(task, nowMs) === 'open');
  }

  #all(): RecordTask[] {
    return byAge(this.#tasks);
  }

  /** Cancels the schedule and waits for the last write; emits nothing. Returns the same promise each time. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const timer of this.#timers.values()) timer.cancel();
      this.#timers.clear();
      this.#open.clear();
      await this.#writing.catch(() => undefined);
    })();
    return this.#closed;
  }

  #assertRunning(): void {
    if (this.#started === undefined)
      throw new AppError('TASK_BOOK_NOT_STARTED', 'the task book is not started');
    if (this.#closed !== undefined) throw new AppError('TASK_BOOK_CLOSED', 'the task book is closed');
  }

  async #load(): Promise<void> {
    const stored = await this.#readStored();
    for (const task of stored.values()) this.#tasks.set(task.taskId, task);
    const before = this.#tasks.size;
    this.#prune(this.#tasks, this.#now());
    if (this.#tasks.size !== before) await this.#commit(() => undefined);
    this.#log.info({ tasks: this.#tasks.size, pruned: before - this.#tasks.size }, 'task book started');
    if (this.#closed !== undefined) return;
    for (const task of this.list()) this.#arm(task.taskId);
    // Another node's creates, stops and deletes are scheduled here too: its pushes may land on this node.
    this.#store.watch(() => {
      this.#writing = this.#writing
        .catch(() => undefined)
        .then(async () => this.#adopt(await this.#readStored()))
        .catch((err: unknown) =>
          this.#log.error({ err: errorMessage(err) }, 'reading the changed task book failed'),
        );
    });
  }

  /** The stored tasks; an unreadable book is set aside for an operator and read as empty. */
  async #readStored(): Promise<Map<string, RecordTask>> {
    return byId(await readJsonBook(this.#store, { ...this.#shape, errorCode: 'TASK_STORE_FAILED' }));
  }

  get #shape() {
    return { key: 'tasks', record: taskSchema, log: this.#log, what: 'task' };
  }

  /**
   * Applies a change to the stored book (not to this node's copy: another node may have changed it), prunes it,
   * stores it, then takes it as this node's copy. One at a time.
   */
  #commit(change: (tasks: Map<string, RecordTask>) => void): Promise<void> {
    const run = this.#writing
      .catch(() => undefined)
      .then(async () => {
        const stored = await updateJsonBook(
          this.#store,
          { ...this.#shape, errorCode: 'TASK_STORE_FAILED' },
          (records) => {
            const tasks = byId(records);
            change(tasks);
            this.#prune(tasks, this.#now());
            return byAge(tasks);
          },
        );
        this.#adopt(byId(stored));
      });
    this.#writing = run;
    return run;
  }

  /** Takes the stored book as this node's copy, and schedules what changed. */
  #adopt(stored: Map<string, RecordTask>): void {
    for (const [taskId, task] of stored) {
      const mine = this.#tasks.get(taskId);
      this.#tasks.set(taskId, task);
      if (this.#closed === undefined && JSON.stringify(mine) !== JSON.stringify(task)) this.#arm(taskId);
    }
    for (const taskId of [...this.#tasks.keys()]) {
      // Pruned elsewhere: a window open here keeps its copy, so its recording still ends on time.
      if (stored.has(taskId) || this.#open.has(taskId)) continue;
      this.#tasks.delete(taskId);
      this.#cancelTimer(taskId);
    }
  }

  /** Emits what the phase at now calls for, then waits for the next edge of the window. */
  #arm(taskId: string): void {
    this.#cancelTimer(taskId);
    const task = this.#tasks.get(taskId);
    if (!task) return;
    const now = this.#now();
    const phase = taskPhase(task, now);
    if (phase === 'ended') {
      if (this.#open.delete(taskId))
        this.emit('end', task, task.stoppedAt === undefined ? 'expired' : 'stopped');
      // A deleted task whose recording has ended is pruned by the next write.
      if (task.deletedAt !== undefined) void this.#commit(() => undefined).catch(() => undefined);
      return;
    }
    // A deleted task never opens again; one open here still ends at its window's end.
    if (task.deletedAt !== undefined && !this.#open.has(taskId)) return;
    if (phase === 'open' && !this.#open.has(taskId)) {
      this.#open.add(taskId);
      this.emit('start', task);
    }
    // A listener may have stopped the task or closed the book meanwhile.
    if (this.#closed !== undefined || this.#tasks.get(taskId) !== task || this.#timers.has(taskId)) return;
    const { startMs, endMs } = taskWindowMs(task);
    const edge = phase === 'pending' ? startMs : endMs;
    const delay = Math.min(Math.max(0, edge - now), MAX_TIMER_MS);
    this.#timers.set(
      taskId,
      this.#setTimer(() => {
        this.#timers.delete(taskId);
        this.#arm(taskId);
      }, delay),
    );
  }

  #cancelTimer(taskId: string): void {
    this.#timers.get(taskId)?.cancel();
    this.#timers.delete(taskId);
  }

  /** Forgets ended tasks older than the retention, and deleted ones no recording waits on; open or pending tasks stay. */
  #prune(tasks: Map<string, RecordTask>, nowMs: number): void {
    for (const [taskId, task] of tasks) {
      if (this.#open.has(taskId)) continue;
      const endedAt = task.stoppedAt ?? task.endTime * 1000;
      // A deleted task is kept only while a recording of its open window runs (and never past a restart).
      if (task.deletedAt !== undefined || endedAt + this.#retainEndedMs <= nowMs) tasks.delete(taskId);
    }
  }
}

function byId(tasks: readonly RecordTask[]): Map<string, RecordTask> {
  return new Map(tasks.map((task) => [task.taskId, task]));
}

/** Tasks oldest first. */
function byAge(tasks: ReadonlyMap<string, RecordTask>): RecordTask[] {
  return [...tasks.values()].sort((a, b) => a.createdAt - b.createdAt);
}

/** Tasks not deleted, oldest first: what the limits count. */
function kept(tasks: ReadonlyMap<string, RecordTask>): RecordTask[] {
  return byAge(tasks).filter((task) => task.deletedAt === undefined);
}

/** An opaque TaskId like Tencent's: 32 URL-safe characters. */
function newTaskId(): string {
  return randomBytes(24).toString('base64url');
}
