import type { FastifyInstance } from 'fastify';
import type { NodeWork } from '../cluster/index.js';

export interface ClusterRoutesOptions {
  mode: 'single' | 'cluster';
  nodeId: string;
  work: { list(): Promise<NodeWork[]> };
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
}
