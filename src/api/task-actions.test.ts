import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  TENCENT_API_VERSIONS,
  TencentActionRegistry,
  TencentApiError,
  type TencentActionContext,
  type TencentParams,
} from './tencent-api.js';
import { silentLogger } from '../shared/logger.js';
import { registerTaskActions } from './task-actions.js';
import { TaskBook } from '../tasks/task-book.js';

const T0 = 1_700_000_000_000;
const T0_S = T0 / 1000;

describe('CreateRecordTask and StopRecordTask', () => {
  let dir: string;
  let book: TaskBook;
  let registry: TencentActionRegistry;
  let now = T0;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'task-actions-'));
    now = T0;
    book = new TaskBook({ file: join(dir, 'tasks.json'), now: () => now, setTimer: () => ({ cancel() {} }) });
    await book.start();
    registry = new TencentActionRegistry();
    registerTaskActions(registry, book, () => now);
  });

  afterEach(async () => {
    await book.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Calls an action as the endpoint would: the answer, or the Tencent error code it throws. */
  async function call(action: string, params: TencentParams): Promise<{ ok: object } | { code: string }> {
    const found = registry.resolve('live', TENCENT_API_VERSIONS.live, action);
    if (!found.ok) throw new Error(found.message);
    const ctx: TencentActionContext = {
      requestId: 'req-1',
      secretId: 'AKIDtest',
      service: 'live',
      action,
      region: 'ap-guangzhou',
      log: silentLogger(),
    };
    try {
      return { ok: await found.handler(params, ctx) };
    } catch (err) {
      if (err instanceof TencentApiError) return { code: err.code };
      throw err;
    }
  }

  const create = (overrides: Record<string, unknown> = {}) =>
    call('CreateRecordTask', {
      StreamName: 's1',
      DomainName: 'push.example.com',
      AppName: 'live',
      EndTime: T0_S + 3600,
      ...overrides,
    });

  it('answers a TaskId and stores the task', async () => {
    const answer = await create({ StartTime: T0_S, TemplateId: 7, Extension: '' });
    expect(answer).toEqual({ ok: { TaskId: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) } });
    const taskId = (answer as { ok: { TaskId: string } }).ok.TaskId;
    expect(book.get(taskId)).toMatchObject({
      streamName: 's1',
      templateId: 7,
      extension: '',
      startTime: T0_S,
    });
  });

  it.each([
    ['a missing StreamName', { StreamName: undefined }, 'MissingParameter'],
    ['a missing DomainName', { DomainName: undefined }, 'MissingParameter'],
    ['a missing AppName', { AppName: undefined }, 'MissingParameter'],
    ['a missing EndTime', { EndTime: undefined }, 'MissingParameter'],
    ['EndTime as a string', { EndTime: String(T0_S + 3600) }, 'InvalidParameter'],
    ['a fractional StartTime', { StartTime: T0_S + 0.5 }, 'InvalidParameter'],
    ['EndTime in the past', { EndTime: T0_S - 1 }, 'InvalidParameter'],
    ['EndTime before StartTime', { StartTime: T0_S + 600, EndTime: T0_S + 300 }, 'InvalidParameter'],
    [
      'EndTime beyond 7 days',
      { StartTime: T0_S + 8 * 86400 - 60, EndTime: T0_S + 8 * 86400 },
      'InvalidParameter',
    ],
    ['a window over 24 h', { EndTime: T0_S + 86400 + 1 }, 'InvalidParameter'],
    ['StreamType 2', { StreamType: 2 }, 'InvalidParameter'],
    ['StreamType 1 (mix output)', { StreamType: 1 }, 'UnsupportedOperation'],
    ['an unsafe StreamName', { StreamName: '../x' }, 'InvalidParameter'],
  ])('refuses %s with %s', async (_name, overrides, code) => {
    expect(await create(overrides)).toEqual({ code });
    expect(book.list()).toEqual([]);
  });

  it('refuses a fourth overlapping task of a stream with LimitExceeded.MaximumRunningTask', async () => {
    for (let i = 0; i < 3; i++) expect(await create()).toHaveProperty('ok');
    expect(await create()).toEqual({ code: 'LimitExceeded.MaximumRunningTask' });
    expect(await create({ StreamName: 's2' })).toHaveProperty('ok');
  });

  it('StopRecordTask answers an empty Response, also for a task already ended', async () => {
    const created = (await create()) as { ok: { TaskId: string } };
    expect(await call('StopRecordTask', { TaskId: created.ok.TaskId })).toEqual({ ok: {} });
    expect(book.get(created.ok.TaskId)?.stoppedAt).toBe(T0);
    now += 1000;
    expect(await call('StopRecordTask', { TaskId: created.ok.TaskId })).toEqual({ ok: {} });
  });

  it('StopRecordTask refuses an unknown TaskId with ResourceNotFound.TaskId', async () => {
    expect(
      await call('StopRecordTask', {
        TaskId: 'UZZUVbQ1FSQFlvKxYBxUVGzwcBB00UETZU5QRlNURlhR1FDUVBFUWpCUkbUUBKb',
      }),
    ).toEqual({
      code: 'ResourceNotFound.TaskId',
    });
  });

  it('StopRecordTask refuses a missing TaskId with MissingParameter', async () => {
    expect(await call('StopRecordTask', {})).toEqual({ code: 'MissingParameter' });
    expect(await call('StopRecordTask', { TaskId: 5 })).toEqual({ code: 'InvalidParameter' });
  });
});
