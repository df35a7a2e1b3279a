import type { FastifyInstance } from 'fastify';
import type { RecordTask } from '../tasks/task-book.js';
import type { RecordRule, RecordTemplate } from '../templates/model.js';

export interface SetupRoutesOptions {
  templates: { readonly templates: readonly RecordTemplate[]; readonly rules: readonly RecordRule[] };
  tasks: { list(): RecordTask[] };
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * Read-only JSON of what decides what is recorded: the recording templates and rules, and the on-demand tasks
 * (the Tencent actions change them). Under `/api/`, so behind its guard.
 */
export function registerSetupRoutes(app: FastifyInstance, options: SetupRoutesOptions): void {
  app.get('/api/templates', async () => ({ templates: options.templates.templates }));
  app.get('/api/rules', async () => ({
    rules: options.templates.rules.map((r) => ({
      DomainName: r.DomainName,
      AppName: r.AppName,
      StreamName: r.StreamName,
      TemplateId: r.TemplateId,
      createdAt: iso(r.createdMs),
      updatedAt: iso(r.updatedMs),
    })),
  }));
  app.get('/api/tasks', async () => ({
    tasks: options.tasks.list().map((t) => ({
      taskId: t.taskId,
      domainName: t.domainName,
      appName: t.appName,
      streamName: t.streamName,
      // Tencent's task times are Unix seconds.
      startTime: iso(t.startTime * 1000),
      endTime: iso(t.endTime * 1000),
      streamType: t.streamType,
      templateId: t.templateId ?? null,
      state: t.stoppedAt !== undefined ? 'stopped' : Date.now() >= t.endTime * 1000 ? 'ended' : 'scheduled',
    })),
  }));
}
