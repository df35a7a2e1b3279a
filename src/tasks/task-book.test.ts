import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDocumentStore } from '../shared/document-store.js';
import {
  MAX_TIMER_MS,
  TaskBook,
  TaskNotFoundError,
  TaskRejectedError,
  validateTask,
  type RecordTask,
  type RecordTaskParams,
  type SetTimer,
  type TaskEndReason,
} from './task-book.js';

const HOUR = 3600;
const DAY = 24 * HOUR;
// A whole second, so StartTime "now" is exact.
const T0 = 1_700_000_000_000;
const T0_S = T0 / 1000;

/** A clock whose timers run only when the test moves time. */
class FakeClock {
  nowMs = T0;
  readonly delays: number[] = [];
  #timers: { at: number; callback: () => void; cancelled: boolean }[] = [];

  readonly now = (): number => this.nowMs;

  readonly setTimer: SetTimer = (callback, delayMs) => {
    this.delays.push(delayMs);
    const timer = { at: this.nowMs + delayMs, callback, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  };

  /** Moves to `ms`, firing each due timer at its own time, in order. */
  advanceTo(ms: number): void {
    for (;;) {
      const due = this.#timers.filter((t) => !t.cancelled && t.at <= ms).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers.splice(this.#timers.indexOf(due), 1);
      this.nowMs = Math.max(this.nowMs, due.at);
      due.callback();
    }
    this.nowMs = ms;
  }

  advance(ms: number): void {
    this.advanceTo(this.nowMs + ms);
  }

  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }
}

function params(overrides: Partial<RecordTaskParams> = {}): RecordTaskParams {
  return {
    domainName: 'push.example.com',
    appName: 'live',
    streamName: 's1',
    endTime: T0_S + HOUR,
    ...overrides,
  };
}

function task(overrides: Partial<RecordTask> = {}): RecordTask {
  return {
    taskId: `t${Math.random()}`,
    domainName: 'push.example.com',
    appName: 'live',
    streamName: 's1',
    startTime: T0_S,
    endTime: T0_S + HOUR,
    streamType: 0,
    createdAt: T0,
    ...overrides,
  };
}

describe('validateTask', () => {
  const rejected = (p: Partial<RecordTaskParams>, existing: RecordTask[] = []) => {
    const verdict = validateTask(params(p), T0, existing);
    return verdict.ok ? undefined : { kind: verdict.kind, field: verdict.field };
  };

  it.each([
    ['EndTime in the past', { endTime: T0_S - 1 }],
    ['EndTime equal to now', { endTime: T0_S }],
    ['EndTime equal to StartTime', { startTime: T0_S + HOUR, endTime: T0_S + HOUR }],
    ['EndTime before StartTime', { startTime: T0_S + 2 * HOUR, endTime: T0_S + HOUR }],
    ['EndTime beyond now + 7 days', { startTime: T0_S + 7 * DAY - HOUR, endTime: T0_S + 7 * DAY + 1 }],
    ['a window over 24 h', { startTime: T0_S + HOUR, endTime: T0_S + HOUR + DAY + 1 }],
    ['a window over 24 h with StartTime empty', { endTime: T0_S + DAY + 1 }],
    [
      'a window over 24 h that started in the past',
      { startTime: T0_S - 2 * HOUR, endTime: T0_S + DAY - HOUR },
    ],
    ['a fractional EndTime', { endTime: T0_S + 0.5 }],
    ['StreamType 2', { streamType: 2 }],
    ['an empty StreamName', { streamName: '' }],
    ['a StreamName with a slash', { streamName: '../etc' }],
    ['an AppName with a space', { appName: 'my app' }],
    ['a DomainName with a path', { domainName: 'push.example.com/x' }],
  ])('refuses %s as invalid', (_name, p) => {
    expect(rejected(p)?.kind).toBe('invalid');
  });

  it.each([
    ['exactly 24 h', { startTime: T0_S + HOUR, endTime: T0_S + HOUR + DAY }],
    ['exactly 24 h from now with StartTime empty', { endTime: T0_S + DAY }],
    ['EndTime exactly now + 7 days', { startTime: T0_S + 7 * DAY - HOUR, endTime: T0_S + 7 * DAY }],
    ['a StartTime in the past', { startTime: T0_S - HOUR, endTime: T0_S + HOUR }],
    ['StreamType 0', { streamType: 0 }],
    ['a TRTC stream id', { streamName: '1400188888_room1_user%40a_main' }],
  ])('accepts %s', (_name, p) => {
    expect(rejected(p)).toBeUndefined();
  });

  it('takes an empty or zero StartTime as now', () => {
    expect(validateTask(params(), T0 + 400, [])).toMatchObject({
      ok: true,
      startTime: T0_S,
      endTime: T0_S + HOUR,
    });
    expect(validateTask(params({ startTime: 0 }), T0, [])).toMatchObject({ ok: true, startTime: T0_S });
  });

  it('takes StreamType 1 (a mix output)', () => {
    expect(validateTask(params({ streamType: 1 }), T0, [])).toMatchObject({ ok: true, streamType: 1 });
  });

  describe('at most 3 overlapping tasks per stream', () => {
    const three = [task(), task({ startTime: T0_S + 600 }), task({ endTime: T0_S + 2 * HOUR })];

    it('accepts the third and refuses the fourth', () => {
      expect(rejected({}, three.slice(0, 2))).toBeUndefined();
      expect(rejected({}, three)).toEqual({ kind: 'limit', field: 'StartTime' });
    });

    it('accepts a fourth that does not overlap in time', () => {
      expect(rejected({ startTime: T0_S + 2 * HOUR, endTime: T0_S + 3 * HOUR }, three)).toBeUndefined();
      // Half-open windows: one that starts as the others end does not overlap them.
      expect(
        rejected({ startTime: T0_S + HOUR, endTime: T0_S + 2 * HOUR }, three.slice(0, 2)),
      ).toBeUndefined();
    });

    it('counts other streams, apps and domains apart', () => {
      expect(rejected({ streamName: 's2' }, three)).toBeUndefined();
      expect(rejected({ appName: 'live2' }, three)).toBeUndefined();
      expect(rejected({ domainName: 'other.example.com' }, three)).toBeUndefined();
      expect(rejected({ domainName: 'PUSH.example.com' }, three)?.kind).toBe('limit');
    });

    it('ignores stopped tasks and the past part of windows', () => {
      const stopped = [...three.slice(0, 2), task({ stoppedAt: T0 - 1000 })];
      expect(rejected({}, stopped)).toBeUndefined();
      const expired = [...three.slice(0, 2), task({ startTime: T0_S - 2 * HOUR, endTime: T0_S - HOUR })];
      expect(rejected({ startTime: T0_S - 3 * HOUR, endTime: T0_S + HOUR }, expired)).toBeUndefined();
    });

    it('counts tasks running at the same instant, not every task the window touches', () => {
      const disjoint = [
        task({ startTime: T0_S, endTime: T0_S + 600 }),
        task({ startTime: T0_S + 600, endTime: T0_S + 1200 }),
        task({ startTime: T0_S + 1200, endTime: T0_S + 1800 }),
      ];
      expect(rejected({}, disjoint)).toBeUndefined();
      // Two end exactly where the third starts: never three at once.
      const handover = [
        task({ startTime: T0_S + HOUR, endTime: T0_S + 2 * HOUR }),
        task({ startTime: T0_S, endTime: T0_S + HOUR }),
        task({ startTime: T0_S, endTime: T0_S + HOUR }),
      ];
      expect(rejected({ endTime: T0_S + 2 * HOUR }, handover)).toBeUndefined();
      expect(rejected({ endTime: T0_S + 2 * HOUR }, [...handover, task()])?.kind).toBe('limit');
    });
  });
});

describe('TaskBook', () => {
  let dir: string;
  let file: string;
  let clock: FakeClock;
  const books: TaskBook[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'task-book-'));
    file = join(dir, '.state', 'tasks.json');
    clock = new FakeClock();
  });

  afterEach(async () => {
    await Promise.all(books.splice(0).map((b) => b.close()));
    await rm(dir, { recursive: true, force: true });
  });

  /** A started book on the shared file, with its events recorded as `[event, taskId, reason?, at]`. */
  async function openBook(options: { retainEndedMs?: number } = {}) {
    const book = new TaskBook({
      store: new FileDocumentStore(file),
      now: clock.now,
      setTimer: clock.setTimer,
      ...options,
    });
    books.push(book);
    const events: [string, string, TaskEndReason | undefined, number][] = [];
    book.on('start', (t) => events.push(['start', t.taskId, undefined, clock.nowMs]));
    book.on('end', (t, reason) => events.push(['end', t.taskId, reason, clock.nowMs]));
    await book.start();
    return { book, events };
  }

  it('starts a task at once when StartTime is empty and ends it at EndTime', async () => {
    const { book, events } = await openBook();
    const id = await book.create(params(), clock.nowMs);
    expect(events).toEqual([['start', id, undefined, T0]]);
    expect(book.activeFor('push.example.com', 'live', 's1', clock.nowMs).map((t) => t.taskId)).toEqual([id]);

    clock.advanceTo(T0 + HOUR * 1000 - 1);
    expect(events).toHaveLength(1);
    clock.advanceTo(T0 + HOUR * 1000);
    expect(events).toEqual([
      ['start', id, undefined, T0],
      ['end', id, 'expired', T0 + HOUR * 1000],
    ]);
    expect(book.activeFor('push.example.com', 'live', 's1', clock.nowMs)).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('starts a future task exactly at StartTime', async () => {
    const { book, events } = await openBook();
    const id = await book.create(params({ startTime: T0_S + 600, endTime: T0_S + 1200 }), clock.nowMs);
    expect(events).toEqual([]);
    expect(book.activeFor('push.example.com', 'live', 's1', clock.nowMs)).toEqual([]);
    clock.advanceTo(T0 + 600_000 - 1);
    expect(events).toEqual([]);
    clock.advanceTo(T0 + 3_600_000);
    expect(events).toEqual([
      ['start', id, undefined, T0 + 600_000],
      ['end', id, 'expired', T0 + 1_200_000],
    ]);
  });

  it('activeFor matches the domain without case and the app and stream exactly', async () => {
    const { book } = await openBook();
    const id = await book.create(params(), clock.nowMs);
    expect(book.activeFor('Push.Example.COM', 'live', 's1', clock.nowMs).map((t) => t.taskId)).toEqual([id]);
    expect(book.activeFor('push.example.com', 'live', 'S1', clock.nowMs)).toEqual([]);
    expect(book.activeFor('push.example.com', 'other', 's1', clock.nowMs)).toEqual([]);
  });

  it('stores the template and extension as given', async () => {
    const { book } = await openBook();
    const id = await book.create(params({ templateId: 42, extension: '{"k":1}' }), clock.nowMs);
    expect(book.get(id)).toMatchObject({
      templateId: 42,
      extension: '{"k":1}',
      streamType: 0,
      createdAt: T0,
    });
  });

  it('refuses the fourth overlapping task of a stream with a limit rejection', async () => {
    const { book } = await openBook();
    for (let i = 0; i < 3; i++) await book.create(params(), clock.nowMs);
    const err = await book.create(params(), clock.nowMs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskRejectedError);
    expect(err).toMatchObject({ kind: 'limit', code: 'TASK_LIMIT_EXCEEDED' });
    await book.create(params({ streamName: 's2' }), clock.nowMs);
    await book.create(params({ startTime: T0_S + HOUR, endTime: T0_S + 2 * HOUR }), clock.nowMs);
    expect(book.list()).toHaveLength(5);
  });

  it('counts concurrent creates against the limit', async () => {
    const { book } = await openBook();
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => book.create(params(), clock.nowMs)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
  });

  it('StopRecordTask ends an open task early, once', async () => {
    const { book, events } = await openBook();
    const id = await book.create(params(), clock.nowMs);
    clock.advance(60_000);
    await book.stop(id, clock.nowMs);
    expect(events).toEqual([
      ['start', id, undefined, T0],
      ['end', id, 'stopped', T0 + 60_000],
    ]);
    expect(book.get(id)?.stoppedAt).toBe(T0 + 60_000);
    expect(book.activeFor('push.example.com', 'live', 's1', clock.nowMs)).toEqual([]);
    clock.advance(2 * HOUR * 1000);
    await book.stop(id, clock.nowMs);
    expect(events).toHaveLength(2);
  });

  it('StopRecordTask on a task not yet open means it never opens', async () => {
    const { book, events } = await openBook();
    const id = await book.create(params({ startTime: T0_S + 600, endTime: T0_S + 1200 }), clock.nowMs);
    await book.stop(id, clock.nowMs);
    clock.advance(HOUR * 1000);
    expect(events).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('StopRecordTask on an expired task succeeds without an event', async () => {
    const { book, events } = await openBook();
    const id = await book.create(params(), clock.nowMs);
    clock.advance(2 * HOUR * 1000);
    await book.stop(id, clock.nowMs);
    expect(events.map((e) => e[2])).toEqual([undefined, 'expired']);
    expect(book.get(id)?.stoppedAt).toBeUndefined();
  });

  it('StopRecordTask on an unknown task throws TaskNotFoundError', async () => {
    const { book } = await openBook();
    await expect(book.stop('nope', clock.nowMs)).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('a stopped task frees its slot for a new one', async () => {
    const { book } = await openBook();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await book.create(params(), clock.nowMs));
    await book.stop(ids[0]!, clock.nowMs);
    await book.create(params(), clock.nowMs);
  });

  it('returns opaque URL-safe TaskIds', async () => {
    const { book } = await openBook();
    const a = await book.create(params(), clock.nowMs);
    const b = await book.create(params(), clock.nowMs);
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a).not.toBe(b);
  });

  it('keeps tasks across a restart and emits start again for open windows', async () => {
    const first = await openBook();
    const open = await first.book.create(params(), clock.nowMs);
    const later = await first.book.create(
      params({ startTime: T0_S + 2 * HOUR, endTime: T0_S + 3 * HOUR }),
      clock.nowMs,
    );
    const stopped = await first.book.create(params({ streamName: 's2' }), clock.nowMs);
    await first.book.stop(stopped, clock.nowMs);
    await first.book.close();

    clock.advance(600_000);
    const second = await openBook();
    expect(
      second.book
        .list()
        .map((t) => t.taskId)
        .sort(),
    ).toEqual([open, later, stopped].sort());
    expect(second.book.get(open)).toEqual(first.book.get(open));
    expect(second.events).toEqual([['start', open, undefined, T0 + 600_000]]);

    clock.advanceTo(T0 + 3 * HOUR * 1000);
    expect(second.events).toEqual([
      ['start', open, undefined, T0 + 600_000],
      ['end', open, 'expired', T0 + HOUR * 1000],
      ['start', later, undefined, T0 + 2 * HOUR * 1000],
      ['end', later, 'expired', T0 + 3 * HOUR * 1000],
    ]);
    // A stop after the restart is durable too.
    await second.book.stop(stopped, clock.nowMs);
  });

  it('DeleteRecordTask on an open task: gone for every caller and new publishes, its running window still ends', async () => {
    const { book, events } = await openBook();
    const id = await book.create(params(), clock.nowMs);
    await book.delete(id, clock.nowMs);
    expect(book.get(id)).toBeUndefined();
    expect(book.list()).toEqual([]);
    expect(book.activeFor('push.example.com', 'live', 's1', clock.nowMs)).toEqual([]);
    await expect(book.stop(id, clock.nowMs)).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(book.delete(id, clock.nowMs)).rejects.toBeInstanceOf(TaskNotFoundError);
    // The recording it started is not cut: `end` still comes at EndTime.
    clock.advanceTo(T0 + HOUR * 1000);
    expect(events).toEqual([
      ['start', id, undefined, T0],
      ['end', id, 'expired', T0 + HOUR * 1000],
    ]);
    await book.close();
    const stored = JSON.parse(await readFile(file, 'utf8')) as { tasks: unknown[] };
    expect(stored.tasks).toEqual([]);
  });

  it('a deleted task never opens again, not even after a restart inside its window', async () => {
    const first = await openBook();
    const open = await first.book.create(params(), clock.nowMs);
    const later = await first.book.create(
      params({ startTime: T0_S + 2 * HOUR, endTime: T0_S + 3 * HOUR }),
      clock.nowMs,
    );
    await first.book.delete(open, clock.nowMs);
    await first.book.delete(later, clock.nowMs);
    expect(clock.pending).toBe(1); // the open one's end, for its running recording
    await first.book.close();
    const second = await openBook();
    clock.advanceTo(T0 + 3 * HOUR * 1000);
    expect(second.events).toEqual([]);
    expect(second.book.list()).toEqual([]);
  });

  it('writes the file atomically as versioned JSON', async () => {
    const { book } = await openBook();
    const id = await book.create(params({ extension: 'x' }), clock.nowMs);
    const stored = JSON.parse(await readFile(file, 'utf8')) as { version: number; tasks: RecordTask[] };
    expect(stored.version).toBe(1);
    expect(stored.tasks).toEqual([book.get(id)]);
    expect(await readdir(join(dir, '.state'))).toEqual(['tasks.json']);
  });

  it('prunes ended tasks after the retention, and answers StopRecordTask for them until then', async () => {
    const retainEndedMs = DAY * 1000;
    const first = await openBook({ retainEndedMs });
    const id = await first.book.create(params(), clock.nowMs);
    await first.book.close();

    clock.advanceTo(T0 + HOUR * 1000 + retainEndedMs - 1);
    const second = await openBook({ retainEndedMs });
    await second.book.stop(id, clock.nowMs);
    expect(second.events).toEqual([]);
    await second.book.close();

    clock.advanceTo(T0 + HOUR * 1000 + retainEndedMs);
    const third = await openBook({ retainEndedMs });
    expect(third.book.list()).toEqual([]);
    await expect(third.book.stop(id, clock.nowMs)).rejects.toBeInstanceOf(TaskNotFoundError);
    const stored = JSON.parse(await readFile(file, 'utf8')) as { tasks: unknown[] };
    expect(stored.tasks).toEqual([]);
  });

  it('re-arms waits longer than a timer can hold', async () => {
    // Only a hand-written or old file holds a task this far ahead; the book must still wait for it.
    const far = task({ taskId: 'far', startTime: T0_S + 30 * DAY, endTime: T0_S + 30 * DAY + HOUR });
    await mkdir(join(dir, '.state'));
    await writeFile(file, JSON.stringify({ version: 1, tasks: [far] }));
    const { events } = await openBook();
    clock.advanceTo(T0 + 30 * DAY * 1000 - 1);
    expect(events).toEqual([]);
    clock.advanceTo(T0 + 31 * DAY * 1000);
    expect(events).toEqual([
      ['start', 'far', undefined, T0 + 30 * DAY * 1000],
      ['end', 'far', 'expired', T0 + (30 * DAY + HOUR) * 1000],
    ]);
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(clock.delays.length).toBeGreaterThan(2);
  });

  it('sets an unreadable file aside and starts empty', async () => {
    await mkdir(join(dir, '.state'));
    await writeFile(file, '{"version":1,"tasks":[');
    const { book } = await openBook();
    expect(book.list()).toEqual([]);
    expect((await readdir(join(dir, '.state'))).sort()).toEqual(['tasks.json.corrupt']);
  });

  it('drops an invalid record and keeps the others', async () => {
    await mkdir(join(dir, '.state'));
    const good = task({ taskId: 'good', endTime: T0_S + HOUR });
    await writeFile(file, JSON.stringify({ version: 1, tasks: [good, { taskId: 'bad' }] }));
    const { book, events } = await openBook();
    expect(book.list().map((t) => t.taskId)).toEqual(['good']);
    expect(events).toEqual([['start', 'good', undefined, T0]]);
  });

  it('a create that cannot be written fails, leaves no task and emits nothing', async () => {
    const { book, events } = await openBook();
    // The state directory cannot be made: a file holds its name.
    await writeFile(join(dir, '.state'), '');
    const err = await book.create(params(), clock.nowMs).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TASK_STORE_FAILED' });
    expect(book.list()).toEqual([]);
    expect(events).toEqual([]);
  });

  it('close() cancels the schedule, returns the same promise, and refuses later calls', async () => {
    const { book, events } = await openBook();
    await book.create(params(), clock.nowMs);
    const closing = book.close();
    expect(book.close()).toBe(closing);
    await closing;
    expect(clock.pending).toBe(0);
    clock.advance(2 * HOUR * 1000);
    expect(events.map((e) => e[0])).toEqual(['start']);
    await expect(book.create(params(), clock.nowMs)).rejects.toMatchObject({ code: 'TASK_BOOK_CLOSED' });
  });
});
