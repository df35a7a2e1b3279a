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

const stopRecordTaskSchema = z.object({ TaskId: z.string().min(1) });

// The codes Tencent documents for CreateRecordTask: InvalidParameter, UnsupportedOperation, LimitExceeded.MaximumRunningTask.
const REJECTION_CODES: Record<TaskRejectionKind, TencentApiErrorCode> = {
  invalid: 'InvalidParameter',
  unsupported: 'UnsupportedOperation',
  limit: 'LimitExceeded.MaximumRunningTask',
};

/** Registers CreateRecordTask and StopRecordTask (Live API 2018-08-01) on the Tencent action registry. */
export function registerTaskActions(
  registry: TencentActionRegistry,
  book: TaskBook,
  now: () => number = Date.now,
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

  registry.register('live', 'StopRecordTask', async (params, ctx) => {
    const { TaskId } = parseTencentParams(stopRecordTaskSchema, params);
    try {
      await book.stop(TaskId, now());
    } catch (err) {
      // Tencent's live API names an unknown task ResourceNotFound.TaskId (StopLiveRecord, DeleteLiveRecord).
      if (err instanceof TaskNotFoundError) {
        throw new TencentApiError('ResourceNotFound.TaskId', err.message, { cause: err });
      }
      throw err;
    }
    ctx.log.info({ taskId: TaskId, secretId: ctx.secretId }, 'record task stopped');
    return {};
  });
}
