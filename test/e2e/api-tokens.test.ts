import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Recorder } from '../../src/main.js';
import { createLogger } from '../../src/shared/logger.js';

const OPS = 'ops-token-0123456789abcdef';
const WALL = 'wall-token-0123456789abcdef';
const ADMIN = 'legacy-admin-token-0123456789';
let recorder: Recorder;
let dataDir: string;
const lines: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'recorder-tokens-'));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  recorder = await Recorder.start(
    parseConfig({
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      dataDir,
      api: {
        adminToken: ADMIN,
        tokens: [
          { name: 'ops', token: OPS, role: 'admin' },
          { name: 'wall', token: WALL, role: 'viewer' },
        ],
      },
    }),
    { logger: createLogger({ level: 'info' }, sink) },
  );
});
afterAll(async () => {
  await recorder?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const call = (method: string, path: string, token?: string) =>
  fetch(`http://127.0.0.1:${recorder.httpPort}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(method === 'PUT' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'PUT' ? { body: JSON.stringify({ key: 'live/nothing.mp4', expiresAt: null }) } : {}),
  });

describe('named API tokens with roles', () => {
  it('a viewer lists; it may not change anything', async () => {
    expect((await call('GET', '/api/streams', WALL)).status).toBe(200);
    const refused = await call('PUT', '/api/media/expiry', WALL);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(await refused.json())).toContain('token wall is a viewer');
    expect((await call('POST', '/api/callbacks/dead/abc/redeliver', WALL)).status).toBe(403);
  });

  it('an admin passes the guard (the route answers for itself), and the change is logged under its name', async () => {
    const answer = await call('POST', '/api/callbacks/dead/no-such-callback/redeliver', OPS);
    expect(answer.status).toBe(404);
    const logged = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'api change');
    expect(logged).toContainEqual(expect.objectContaining({ user: 'ops', method: 'POST' }));
  });

  it('api.adminToken still works, as an admin named admin', async () => {
    expect((await call('POST', '/api/callbacks/dead/x/redeliver', ADMIN)).status).toBe(404);
    const logged = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'api change');
    expect(logged).toContainEqual(expect.objectContaining({ user: 'admin' }));
  });

  it('no token or a wrong one: 401, even from loopback once tokens are set', async () => {
    expect((await call('GET', '/api/streams')).status).toBe(401);
    expect((await call('GET', '/api/streams', 'not-a-token-0123456789')).status).toBe(401);
  });

  it('a config with two tokens of one name exits 2, naming the key', () => {
    expect(() =>
      parseConfig({
        api: {
          tokens: [
            { name: 'x', token: 'a'.repeat(16), role: 'admin' },
            { name: 'x', token: 'b'.repeat(16), role: 'viewer' },
          ],
        },
      }),
    ).toThrow(/api\.tokens.*names must be unique/s);
  });
});
