import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecorder, type TestRecorder } from '../helpers/recorder.js';

let rec: TestRecorder;
beforeAll(async () => {
  rec = await startRecorder({ api: { tokens: [{ name: 'view', token: 'v'.repeat(20), role: 'viewer' }] } });
});
afterAll(async () => rec?.stop());

const get = (path: string, token?: string) =>
  fetch(`http://127.0.0.1:${rec.recorder.httpPort}${path}`, {
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });

interface Operation {
  summary?: string;
  responses?: Record<string, unknown>;
  parameters?: { name: string; in: string }[];
}

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3 document behind the /api/ guard', async () => {
    expect((await get('/api/openapi.json')).status).toBe(401);
    const answer = await get('/api/openapi.json', 'v'.repeat(20));
    expect(answer.status).toBe(200);
    const doc = (await answer.json()) as { openapi: string; info: { title: string } };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('recorder');
  });

  it('describes every /api/ and /play/ route the recorder registers, each with a summary and its answers', async () => {
    const doc = (await (await get('/api/openapi.json', 'v'.repeat(20))).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const routes = rec.recorder.http
      .routes()
      .filter((r) => / \/(api|play)\//.test(r))
      .map((r) => {
        const [method, url] = r.split(' ') as [string, string];
        return { method: method.toLowerCase(), path: url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{key}') };
      });
    expect(routes.length).toBeGreaterThan(12);
    for (const { method, path } of routes) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation!.summary, `${method} ${path}`).toBeTruthy();
      expect(Object.keys(operation!.responses ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
    }
    const listing = doc.paths['/api/recordings']!.get!;
    expect(listing.parameters!.map((p) => p.name).sort()).toEqual(
      ['cursor', 'format', 'from', 'limit', 'order', 'prefix', 'sort', 'to'].sort(),
    );
  });
});
