import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { checkImSign, IM_OK, ImWebhookError } from '../timeline/im-webhook.js';
import type { Timeline } from '../timeline/timeline.js';
import { parseTencentParams, type TencentParams } from './tencent-api.js';

export interface TimelineRoutesOptions {
  timeline: Pick<Timeline, 'ingest' | 'addMarker' | 'markers' | 'removeMarker' | 'removeAccount'>;
  /** IM's webhook authentication token; unset: webhooks are taken unsigned, as IM sends them then. */
  callbackToken?: string | undefined;
  /** The IM app whose webhooks are taken; unset: any. */
  sdkAppId?: number | undefined;
  /** A webhook refused for its sign or body. */
  onRefused?: (reason: string) => void;
  /** How long a webhook took from its arrival to its answer, ms. */
  onAnswered?: (ms: number) => void;
  logger: Logger;
  now?: () => number;
}

const name = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9_.~%-]{1,200}$/, { error: 'must be 1..200 letters, digits or _ . ~ % -' });
const streamQuery = z.object({ app: name, stream: name });
const markerBody = z.strictObject({
  app: name,
  stream: name,
  label: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must be 1..200 characters' })
    .max(200, { error: 'must be 1..200 characters' }),
  at: z
    .number({ error: 'must be Unix ms' })
    .int({ error: 'must be whole Unix ms' })
    .min(0, { error: 'must be Unix ms' })
    .optional(),
});
const accountQuery = z.object({
  groupId: z.string({ error: 'is required' }).min(1, { error: 'is required' }).max(128),
  account: z.string({ error: 'is required' }).min(1, { error: 'is required' }).max(128),
});
const imQuery = z.object({
  SdkAppid: z.string().regex(/^\d+$/),
  CallbackCommand: z.string().min(1).max(100),
  RequestTime: z.string().optional(),
  Sign: z.string().optional(),
});

/**
 * `POST /im/callback`: Tencent IM's webhooks, unchanged (its own authentication, not the /api/ guard), answered
 * once their events are durable. Under /api/: markers, and removing one account's messages.
 */
export function registerTimelineRoutes(app: FastifyInstance, options: TimelineRoutesOptions): void {
  const log = options.logger.child({ component: 'im-webhook' });
  const now = options.now ?? Date.now;

  app.post('/im/callback', async (request, reply) => {
    const started = performance.now();
    try {
      return await imCallback(request, reply);
    } finally {
      options.onAnswered?.(performance.now() - started);
    }
  });

  const imCallback = async (request: FastifyRequest, reply: FastifyReply) => {
    const fail = (status: number, reason: string, message: string) => {
      options.onRefused?.(reason);
      log.warn({ reason, err: message }, 'IM webhook refused');
      return reply.code(status).send({ ActionStatus: 'FAIL', ErrorInfo: message, ErrorCode: 1 });
    };
    const query = imQuery.safeParse(request.query);
    if (!query.success) return fail(400, 'query', 'SdkAppid and CallbackCommand are required');
    if (options.sdkAppId !== undefined && Number(query.data.SdkAppid) !== options.sdkAppId) {
      return fail(403, 'sdkappid', `SdkAppid ${query.data.SdkAppid} is not this recorder's IM app`);
    }
    try {
      if (options.callbackToken) checkImSign(options.callbackToken, query.data, now());
      await options.timeline.ingest(query.data.CallbackCommand, request.body);
    } catch (err) {
      if (err instanceof ImWebhookError)
        return fail(err.reason === 'sign' ? 401 : 400, err.reason, err.message);
      // Not stored: IM sends it again.
      log.error({ err: errorMessage(err) }, 'cannot store an IM webhook');
      return reply.code(500).send({ ActionStatus: 'FAIL', ErrorInfo: 'cannot store it now', ErrorCode: 1 });
    }
    return IM_OK;
  };

  app.post('/api/markers', async (request, reply) => {
    const body = parseTencentParams(markerBody, (request.body ?? {}) as TencentParams);
    const marker = await options.timeline.addMarker(body.app, body.stream, body.label, body.at);
    return reply.code(201).send(marker);
  });

  app.get('/api/markers', async (request) => {
    const { app: appName, stream } = parseTencentParams(streamQuery, request.query as TencentParams);
    return { markers: await options.timeline.markers(appName, stream) };
  });

  app.delete('/api/markers/:id', async (request) => {
    const { app: appName, stream } = parseTencentParams(streamQuery, request.query as TencentParams);
    const { id } = request.params as { id: string };
    if (!(await options.timeline.removeMarker(appName, stream, id))) {
      throw new AppError('NOT_FOUND', `no marker ${id} on ${appName}/${stream}`);
    }
    return { id, deleted: true };
  });

  app.delete('/api/timeline/events', async (request) => {
    const { groupId, account } = parseTencentParams(accountQuery, request.query as TencentParams);
    return { groupId, account, ...(await options.timeline.removeAccount(groupId, account)) };
  });
}
