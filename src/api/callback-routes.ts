import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { OutboxRecord } from '../callback/index.js';
import { AppError } from '../shared/errors.js';
import { parseTencentParams, type TencentParams } from './tencent-api.js';

// The outbox's record ids.
const redeliverParams = z.object({
  id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, { error: 'must be a callback id' }),
});

export interface CallbackRoutesOptions {
  outbox: {
    dead(): OutboxRecord[] | Promise<OutboxRecord[]>;
    pending(): OutboxRecord[] | Promise<OutboxRecord[]>;
    redeliver(id: string): Promise<boolean>;
  };
}

/** One dead letter as the API shows it; the body itself stays on disk. */
function deadView(record: OutboxRecord) {
  const eventType = record.body.event_type;
  return {
    id: record.id,
    url: record.url,
    eventType: typeof eventType === 'number' || typeof eventType === 'string' ? eventType : null,
    attempts: record.attempts,
    lastError: record.lastError ?? null,
    createdAt: new Date(record.createdAt).toISOString(),
  };
}

/** Callbacks not delivered yet (retrying) and dead letters: list them, and send a dead one again. Under `/api/`. */
export function registerCallbackRoutes(app: FastifyInstance, options: CallbackRoutesOptions): void {
  const { outbox } = options;

  app.get('/api/callbacks/dead', async () => ({ dead: (await outbox.dead()).map(deadView) }));
  app.get('/api/callbacks/pending', async () => ({ pending: (await outbox.pending()).map(deadView) }));

  app.post('/api/callbacks/dead/:id/redeliver', async (request) => {
    const { id } = parseTencentParams(redeliverParams, request.params as TencentParams);
    if (!(await outbox.redeliver(id))) throw new AppError('NOT_FOUND', `no dead callback ${id}`);
    return { id, state: 'pending' };
  });
}
