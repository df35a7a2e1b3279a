import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { setMediaExpiry, mediaKeys } from '../recording/media.js';
import type { ObjectStore } from '../storage/object-store.js';
import { parseTencentParams, TencentApiError, type TencentParams } from './tencent-api.js';

export interface MediaRoutesOptions {
  store: ObjectStore;
  /** The media index, whose ExpireTime follows a change here. */
  index?: { setExpiry(key: string, expireTimeMs: number | null): Promise<boolean> };
}

const keySchema = z.string().regex(/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/, { error: 'must be app/file' });
const expiryQuery = z.object({ key: keySchema });
const expiryBody = z.strictObject({
  key: keySchema,
  // ISO 8601; null keeps the media forever (pinning).
  expiresAt: z.iso.datetime({ offset: true }).nullable(),
});

/** A JSON object body as Tencent parameters; anything else (a string, an array, nothing) is refused. */
function bodyParams(body: unknown): TencentParams {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as TencentParams;
  throw new TencentApiError(
    'InvalidParameter',
    'the body must be a JSON object (Content-Type: application/json)',
  );
}

/** Retention of one media: read its expiry, move it, or clear it (pin). */
export function registerMediaRoutes(app: FastifyInstance, options: MediaRoutesOptions): void {
  const { store } = options;

  app.get('/api/media/expiry', async (request) => {
    const { key } = parseTencentParams(expiryQuery, request.query as TencentParams);
    const keys = await mediaKeys(store, key);
    const info = await store.stat(key);
    return { key, keys, expiresAt: info?.expiresAt?.toISOString() ?? null };
  });

  app.put('/api/media/expiry', async (request) => {
    const body = parseTencentParams(expiryBody, bodyParams(request.body));
    const result = await setMediaExpiry(
      store,
      body.key,
      body.expiresAt ? new Date(body.expiresAt) : undefined,
    );
    await options.index?.setExpiry(body.key, result.expiresAt?.getTime() ?? null);
    return { key: body.key, keys: result.keys, expiresAt: result.expiresAt?.toISOString() ?? null };
  });
}
