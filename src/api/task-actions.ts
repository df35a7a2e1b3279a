import { z } from 'zod';
import {
  parseTencentParams,
  TencentApiError,
  type TencentActionRegistry,
  type TencentApiErrorCode,
} from './tencent-api.js';
import {
  TaskNotFoundError,
  TaskRejectedError,
  type TaskBook,
  type TaskRejectionKind,
} from '../tasks/task-book.js';
import { describeTasks } from '../tasks/describe.js';

// Unknown keys are ignored rather than refused, so a newer SDK that sends a new optional field still works.
const createRecordTaskSchema = z.object({
  StreamName: z.string(),
  DomainName: z.string(),
  AppName: z.string(),
  EndTime: z.int(),
  StartTime: z.int().optional(),
  StreamType: z.int().optional(),
  TemplateId: z.int().optional(),
  Extension: z.string().optional(),
});

const taskIdSchema = z.object({ TaskId: z.string().min(1) });

const describeRecordTaskSchema = z.object({
  StartTime: z.int(),
  EndTime: z.int(),
  StreamName: z.string().optional(),
  DomainName: z.string().optional(),
  AppName: z.string().optional(),
  ScrollToken: z.string().optional(),
});

// The codes Tencent documents for CreateRecordTask: InvalidParameter, UnsupportedOperation, LimitExceeded.MaximumRunningTask.
const REJECTION_CODES: Record<TaskRejectionKind, TencentApiErrorCode> = {
  invalid: 'InvalidParameter',
  unsupported: 'UnsupportedOperation',
  limit: 'LimitExceeded.MaximumRunningTask',
};

/** Registers CreateRecordTask, StopRecordTask, DescribeRecordTask and DeleteRecordTask (Live API 2018-08-01). */
export function registerTaskActions(
  registry: TencentActionRegistry,
  book: TaskBook,
  now: () => number = Date.now,
  options: { describePageSize?: number } = {},
): void {
  registry.register('live', 'CreateRecordTask', async (params, ctx) => {
    const p = parseTencentParams(createRecordTaskSchema, params);
    try {
      const taskId = await book.create(
        {
          domainName: p.DomainName,
          appName: p.AppName,
          streamName: p.StreamName,
          endTime: p.EndTime,
          startTime: p.StartTime,
          streamType: p.StreamType,
          templateId: p.TemplateId,
          extension: p.Extension,
        },
        now(),
      );
      ctx.log.info({ taskId, secretId: ctx.secretId }, 'record task created');
      return { TaskId: taskId };
    } catch (err) {
      if (err instanceof TaskRejectedError) {
        throw new TencentApiError(REJECTION_CODES[err.kind], err.message, { cause: err });
      }
      throw err;
    }
  });

  // StopRecordTask and DeleteRecordTask take a TaskId and change that one task.
  const byTaskId = (action: string, done: string, change: (taskId: string, nowMs: number) => Promise<void>) =>
    registry.register('live', action, async (params, ctx) => {
      const { TaskId } = parseTencentParams(taskIdSchema, params);
      try {
        await change(TaskId, now());
      } catch (err) {
        // Tencent's live API names an unknown task ResourceNotFound.TaskId (StopLiveRecord, DeleteLiveRecord).
        if (err instanceof TaskNotFoundError) {
          throw new TencentApiError('ResourceNotFound.TaskId', err.message, { cause: err });
        }
        throw err;
      }
      ctx.log.info({ taskId: TaskId, secretId: ctx.secretId }, done);
      return {};
    });

  byTaskId('StopRecordTask', 'record task stopped', (taskId, nowMs) => book.stop(taskId, nowMs));
  // Tencent: the deletion does not affect running tasks and takes effect only for new pushes.
  byTaskId('DeleteRecordTask', 'record task deleted', (taskId, nowMs) => book.delete(taskId, nowMs));

  registry.register('live', 'DescribeRecordTask', async (params) => {
    const p = parseTencentParams(describeRecordTaskSchema, params);
    const result = describeTasks(
      book.list(),
      {
        startTime: p.StartTime,
        endTime: p.EndTime,
        streamName: p.StreamName,
        domainName: p.DomainName,
        appName: p.AppName,
        scrollToken: p.ScrollToken,
      },
      now(),
      options.describePageSize,
    );
    if (!result.ok) throw new TencentApiError('InvalidParameter', `${result.field}: ${result.message}`);
    return { ScrollToken: result.scrollToken, TaskList: result.tasks };
  });
}
