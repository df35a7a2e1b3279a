import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf, exportAudit, type AuditLog, type AuditStore } from '../audit/index.js';
import { AppError } from '../shared/errors.js';
import { instant } from './recording-routes.js';
import { parseTencentParams, type TencentParams } from './tencent-api.js';

export interface AuditRoutesOptions {
  audit: AuditLog;
  store: AuditStore;
  /** The console user of a request (its session cookie), for the files served to it. */
  consoleUser?: (request: FastifyRequest) => Promise<string | undefined>;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
// Tencent actions that change nothing: not audited as changes.
const TENCENT_READS = /^(Describe|Search|Get|List|Query)/;
// A stored media file (not a segment): one of these served from its start is a viewing.
const MEDIA = /\.(m3u8|mp4|flv|aac)$/;
const auditQuery = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  stream: z.string().min(1).max(300).optional(),
  limit: z.coerce
    .number({ error: 'must be 1..10000' })
    .int({ error: 'must be 1..10000' })
    .min(1, { error: 'must be 1..10000' })
    .max(10_000, { error: 'must be 1..10000' })
    .default(1000),
});

/**
 * What the HTTP edge tells the audit trail: every change through /api/ and every changing Tencent action (with
 * the caller the guard or the TC3 check named), and each stored media file served from its start (through the
 * playback route or the local disk's own). And
 * `GET /api/audit` (admin): the trail itself.
 */
export function registerAuditRoutes(app: FastifyInstance, options: AuditRoutesOptions): void {
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const actor = actorOf(request);
    if (path.startsWith('/api/') && !READS.has(request.method)) {
      void options.audit.record({
        who: actor?.who,
        from: actor?.from ?? request.ip,
        action: 'api.change',
        subject: path,
        detail: { method: request.method, status: reply.statusCode },
      });
      return;
    }
    const action = request.headers['x-tc-action'];
    if (
      path === '/' &&
      request.method === 'POST' &&
      typeof action === 'string' &&
      !TENCENT_READS.test(action)
    ) {
      void options.audit.record({
        who: actor?.who,
        from: actor?.from ?? request.ip,
        action: 'api.tencent',
        subject: action,
        detail: { service: request.headers.host ?? null, status: reply.statusCode },
      });
      return;
    }
    if (
      request.method === 'GET' &&
      !/^\/(api|console|im)\//.test(path) &&
      (reply.statusCode === 200 || reply.statusCode === 206)
    ) {
      // The playback route, or the local disk's own (/<app>/<file>).
      const key = decodeURIComponent(path.startsWith('/play/') ? path.slice('/play/'.length) : path.slice(1));
      const range = request.headers.range;
      if (!MEDIA.test(key) || (typeof range === 'string' && !/^bytes=0-/.test(range))) return;
      const user = await options.consoleUser?.(request);
      void options.audit.record({
        action: 'playback.served',
        who: user ?? 'viewer',
        from: request.ip,
        subject: key,
        detail: {
          console: user !== undefined,
          signed: typeof (request.query as { sign?: unknown }).sign === 'string',
          agent: request.headers['user-agent'] ?? null,
        },
      });
    }
  });

  app.get('/api/audit', async (request) => {
    if (actorOf(request)?.role !== 'admin')
      throw new AppError('FORBIDDEN', 'the audit trail is for admin tokens');
    const query = parseTencentParams(auditQuery, request.query as TencentParams);
    await options.audit.flush();
    const entries = await exportAudit(options.store, {
      ...(query.from !== undefined ? { fromMs: query.from } : {}),
      ...(query.to !== undefined ? { toMs: query.to } : {}),
      ...(query.stream ? { subject: query.stream } : {}),
      limit: query.limit,
    });
    return { entries };
  });
}
