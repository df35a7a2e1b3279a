import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDocumentStore } from '../shared/document-store.js';
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
    book = new TaskBook({
      store: new FileDocumentStore(join(dir, 'tasks.json')),
      now: () => now,
      setTimer: () => ({ cancel() {} }),
    });
    await book.start();
    registry = new TencentActionRegistry();
    registerTaskActions(registry, book, () => now, { describePageSize: 2 });
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

  const idOf = (answer: unknown) => (answer as { ok: { TaskId: string } }).ok.TaskId;
  const describe_ = (params: Record<string, unknown>) =>
    call('DescribeRecordTask', { StartTime: T0_S, EndTime: T0_S + 86_400, ...params });

  it("DescribeRecordTask lists the tasks inside the window in Tencent's fields, a page at a time", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(idOf(await create({ StreamName: `d${i}`, StartTime: T0_S + i * 60, TemplateId: i })));
    }
    // Ends after the window: not listed (a task's start and end must both lie inside it).
    await create({ StreamName: 'late', StartTime: T0_S + 3600, EndTime: T0_S + 86_401 });
    await call('StopRecordTask', { TaskId: ids[1] });

    const first = (await describe_({})) as { ok: { ScrollToken: string; TaskList: object[] } };
    expect(first.ok.TaskList).toEqual([
      {
        TaskId: ids[0],
        DomainName: 'push.example.com',
        AppName: 'live',
        StreamName: 'd0',
        StartTime: T0_S,
        EndTime: T0_S + 3600,
        TemplateId: 0,
        Stopped: 0,
      },
      expect.objectContaining({ TaskId: ids[1], TemplateId: 1, Stopped: T0_S }),
    ]);
    expect(first.ok.ScrollToken).not.toBe('');
    const seen = [...first.ok.TaskList];
    let token = first.ok.ScrollToken;
    while (token) {
      const page = (await describe_({ ScrollToken: token })) as {
        ok: { ScrollToken: string; TaskList: object[] };
      };
      seen.push(...page.ok.TaskList);
      token = page.ok.ScrollToken;
    }
    expect(seen.map((t) => (t as { TaskId: string }).TaskId)).toEqual(ids);
  });

  it('DescribeRecordTask filters by stream, domain (any case) and app', async () => {
    const a = idOf(await create({ StreamName: 'fa' }));
    const b = idOf(await create({ StreamName: 'fb', DomainName: 'other.example.com', AppName: 'app2' }));
    const ids = async (params: Record<string, unknown>) =>
      ((await describe_(params)) as { ok: { TaskList: { TaskId: string }[] } }).ok.TaskList.map(
        (t) => t.TaskId,
      );
    expect(await ids({ StreamName: 'fa' })).toEqual([a]);
    expect(await ids({ DomainName: 'OTHER.example.com' })).toEqual([b]);
    expect(await ids({ AppName: 'app2', StreamName: 'fa' })).toEqual([]);
  });

  it.each([
    ['EndTime before StartTime', { StartTime: T0_S + 60, EndTime: T0_S }],
    ['a span over a week', { EndTime: T0_S + 7 * 86_400 + 1 }],
    ['a StartTime over 90 days ago', { StartTime: T0_S - 91 * 86_400, EndTime: T0_S - 90 * 86_400 }],
    ['a ScrollToken it never gave', { ScrollToken: 'not-a-token' }],
  ])('DescribeRecordTask refuses %s with InvalidParameter', async (_name, params) => {
    expect(await describe_(params)).toEqual({ code: 'InvalidParameter' });
  });

  it('DescribeRecordTask needs StartTime and EndTime', async () => {
    expect(await call('DescribeRecordTask', { StartTime: T0_S })).toEqual({ code: 'MissingParameter' });
  });

  it('DeleteRecordTask removes a task from every answer; an unknown or deleted TaskId is ResourceNotFound.TaskId', async () => {
    const id = idOf(await create({ StartTime: T0_S + 600 }));
    expect(await call('DeleteRecordTask', { TaskId: id })).toEqual({ ok: {} });
    expect(book.get(id)).toBeUndefined();
    expect((await describe_({})) as object).toEqual({ ok: { ScrollToken: '', TaskList: [] } });
    expect(await call('DeleteRecordTask', { TaskId: id })).toEqual({ code: 'ResourceNotFound.TaskId' });
    expect(await call('StopRecordTask', { TaskId: id })).toEqual({ code: 'ResourceNotFound.TaskId' });
    expect(await call('DeleteRecordTask', {})).toEqual({ code: 'MissingParameter' });
    // A deleted task no longer counts against the overlap limit.
    for (let i = 0; i < 3; i++) expect(await create({ StartTime: T0_S + 600 })).toHaveProperty('ok');
  });
});
