import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { NodeWork } from '../cluster/index.js';
import type { StreamView } from '../recording/stream-view.js';
import { parseTencentParams, type TencentParams } from './tencent-api.js';

const drainBody = z.strictObject({
  timeoutSeconds: z
    .number({ error: 'must be a number of seconds' })
    .int({ error: 'must be a whole number of seconds' })
    .min(0, { error: 'must be 0..86400' })
    .max(86_400, { error: 'must be 0..86400' })
    .default(600),
});

export interface ClusterRoutesOptions {
  mode: 'single' | 'cluster';
  nodeId: string;
  work: { list(): Promise<NodeWork[]> };
  /** Starts draining this node (it stops, then the process exits, once its pushes ended or the timeout). */
  drain(timeoutMs: number): void;
  live(): number;
  /** This node's open recordings, as `GET /api/streams` shows them. */
  streams(): readonly StreamView[];
  /** Where a stored object plays on the playback route (signed with playback.key): the live previews. */
  playUrl?: (key: string) => string;
}

/**
 * `GET /api/cluster`: every node, whether it lives, and its open recordings (live, interrupted, finishing) and
 * upload jobs. On one node, that node alone.
 */
export function registerClusterRoutes(app: FastifyInstance, options: ClusterRoutesOptions): void {
  app.get('/api/cluster', async () => {
    const nodes = await options.work.list();
    return {
      mode: options.mode,
      node: options.nodeId,
      nodes: nodes.map((n) => ({
        ...n,
        items: n.items.map((item) => ({ ...item, since: new Date(item.since).toISOString() })),
      })),
    };
  });

  // This node's live and interrupted recordings in full, and the other nodes' from the registry.
  app.get('/api/streams', async () => {
    const here = options.streams().map((view) => ({
      ...view,
      previewUrl: view.livePlaylist && options.playUrl ? options.playUrl(view.livePlaylist) : null,
    }));
    const elsewhere = (await options.work.list())
      .filter((n) => n.node !== options.nodeId)
      .flatMap((n) =>
        n.items
          .filter((i) => i.kind === 'recording')
          .map((i) => {
            const [app, ...stream] = i.subject.split('/');
            return {
              stream: stream.join('/'),
              app,
              recordingId: i.id,
              state: i.state,
              since: new Date(i.since).toISOString(),
              node: n.node,
              nodeAlive: n.alive,
            };
          }),
      );
    return { streams: [...here, ...elsewhere] };
  });

  // `recorder drain` calls this; 202: the drain has begun, /readyz fails from now on.
  app.post('/api/drain', async (request, reply) => {
    const body = request.body === undefined || request.body === null ? {} : request.body;
    const { timeoutSeconds } = parseTencentParams(drainBody, body as TencentParams);
    options.drain(timeoutSeconds * 1000);
    return reply
      .code(202)
      .send({ status: 'draining', node: options.nodeId, live: options.live(), timeoutSeconds });
  });
}
