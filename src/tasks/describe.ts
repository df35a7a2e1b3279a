import { sameStream, type RecordTask } from './task-book.js';

/** Tencent's bounds for DescribeRecordTask: a window of at most a week, within the last 90 days. */
export const DESCRIBE_LIMITS = Object.freeze({ maxSpanS: 7 * 24 * 3600, maxAgeS: 90 * 24 * 3600 });

/** A page of DescribeRecordTask, by default. */
export const DESCRIBE_PAGE_SIZE = 100;

/** DescribeRecordTask's parameters, in the recorder's spelling; times are Unix seconds. */
export interface DescribeQuery {
  startTime: number;
  endTime: number;
  streamName?: string | undefined;
  domainName?: string | undefined;
  appName?: string | undefined;
  scrollToken?: string | undefined;
}

/** One task as DescribeRecordTask lists it (Tencent's RecordTask). */
export interface DescribedTask {
  TaskId: string;
  DomainName: string;
  AppName: string;
  StreamName: string;
  StartTime: number;
  EndTime: number;
  TemplateId: number;
  /** When StopRecordTask stopped it, Unix seconds; 0 if it was never stopped. */
  Stopped: number;
}

export type DescribeResult =
  { ok: true; tasks: DescribedTask[]; scrollToken: string } | { ok: false; field: string; message: string };

/**
 * One page of the tasks that start and end inside [startTime, endTime], in start order, filtered by stream,
 * domain and app when given. Pure: `nowMs` bounds the window. The scroll token names the last task returned.
 * Tasks of one start time are listed in the order they were created.
 */
export function describeTasks(
  tasks: readonly RecordTask[],
  query: DescribeQuery,
  nowMs: number,
  pageSize = DESCRIBE_PAGE_SIZE,
): DescribeResult {
  const fail = (field: string, message: string): DescribeResult => ({ ok: false, field, message });
  const { startTime, endTime } = query;
  if (endTime <= startTime) return fail('EndTime', 'EndTime must be later than StartTime');
  if (endTime - startTime > DESCRIBE_LIMITS.maxSpanS) {
    return fail('EndTime', 'EndTime - StartTime must not exceed one week');
  }
  if (startTime < Math.floor(nowMs / 1000) - DESCRIBE_LIMITS.maxAgeS) {
    return fail('StartTime', 'StartTime must not be earlier than 90 days before the current time');
  }
  let after: Key | undefined;
  if (query.scrollToken) {
    after = parseToken(query.scrollToken);
    if (!after) return fail('ScrollToken', 'ScrollToken is not one this API returned');
  }
  const matching = tasks
    .filter(
      (task) =>
        task.startTime >= startTime &&
        task.endTime <= endTime &&
        (query.streamName === undefined || query.streamName === '' || task.streamName === query.streamName) &&
        (query.appName === undefined || query.appName === '' || task.appName === query.appName) &&
        (query.domainName === undefined ||
          query.domainName === '' ||
          sameStream(task, { ...task, domainName: query.domainName })),
    )
    .sort(byKey)
    .filter((task) => !after || byKey(task, after) > 0);
  const page = matching.slice(0, pageSize);
  const last = page.at(-1);
  return {
    ok: true,
    tasks: page.map(described),
    scrollToken: matching.length > pageSize && last ? token(last) : '',
  };
}

function described(task: RecordTask): DescribedTask {
  return {
    TaskId: task.taskId,
    DomainName: task.domainName,
    AppName: task.appName,
    StreamName: task.streamName,
    StartTime: task.startTime,
    EndTime: task.endTime,
    TemplateId: task.templateId ?? 0,
    Stopped: task.stoppedAt === undefined ? 0 : Math.floor(task.stoppedAt / 1000),
  };
}

type Key = Pick<RecordTask, 'startTime' | 'createdAt' | 'taskId'>;

/** The listing order: start time, then creation. */
function byKey(a: Key, b: Key): number {
  return (
    a.startTime - b.startTime ||
    a.createdAt - b.createdAt ||
    (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0)
  );
}

function token(task: Key): string {
  return Buffer.from(JSON.stringify([task.startTime, task.createdAt, task.taskId])).toString('base64url');
}

function parseToken(text: string): Key | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'number' &&
      typeof value[2] === 'string'
    ) {
      return { startTime: value[0] as number, createdAt: value[1], taskId: value[2] };
    }
  } catch {
    // not ours
  }
  return undefined;
}
