import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ListenError } from '../shared/errors.js';
import { silentLogger } from '../shared/logger.js';
import { createHttpServer, type HttpServer, type HttpServerOptions } from './server.js';

const SECRET = 'TOP-SECRET-OUTSIDE-DATADIR';

let root: string;
let dataDir: string;
const servers: HttpServer[] = [];

function makeServer(overrides: Partial<HttpServerOptions> = {}): HttpServer {
  const server = createHttpServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    logger: silentLogger(),
    ...overrides,
  });
  servers.push(server);
  return server;
}

async function put(relative: string, content: string | Buffer): Promise<void> {
  const file = join(dataDir, relative);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, content);
}

/** Sends the request line exactly as written, so no client normalises the path first. */
function rawGet(port: number, path: string): Promise<{ status: number; raw: string }> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
      if (!match?.[1]) reject(new Error(`no status line in ${JSON.stringify(raw.slice(0, 80))}`));
      else resolvePromise({ status: Number(match[1]), raw });
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'recorder-api-'));
  // Not created: the server must create it.
  dataDir = join(root, 'data');
  await writeFile(join(root, 'secret.txt'), SECRET);
  await mkdir(join(root, 'data-secret'));
  await writeFile(join(root, 'data-secret', 'secret.txt'), SECRET);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await rm(root, { recursive: true, force: true });
});

describe('recorded files', () => {
  it.each([
    ['m3u8', 'application/vnd.apple.mpegurl'],
    ['ts', 'video/mp2t'],
    ['mp4', 'video/mp4'],
    ['flv', 'video/x-flv'],
    ['aac', 'audio/aac'],
  ])('serves .%s as %s', async (ext, contentType) => {
    const body = `content of ${ext}`;
    await put(`live/a_b.${ext}`, body);
    const { app } = makeServer();

    const res = await app.inject({ method: 'GET', url: `/live/a_b.${ext}` });

    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(contentType);
    expect(res.body).toBe(body);
  });

  it('keeps the media content type on HEAD and ranged responses', async () => {
    await put('live/a.aac', '0123456789');
    const { app } = makeServer();

    const head = await app.inject({ method: 'HEAD', url: '/live/a.aac' });
    const ranged = await app.inject({ method: 'GET', url: '/live/a.aac', headers: { range: 'bytes=0-1' } });

    expect(head.headers['content-type']).toBe('audio/aac');
    expect(ranged.headers['content-type']).toBe('audio/aac');
  });

  it('creates dataDir when it does not exist yet', async () => {
    const { app } = makeServer();

    await app.ready();

    expect((await stat(dataDir)).isDirectory()).toBe(true);
  });

  it('serves files written after startup', async () => {
    const { app } = makeServer();
    await app.ready();
    await put('live/late.m3u8', '#EXTM3U\n');

    const res = await app.inject({ method: 'GET', url: '/live/late.m3u8' });

    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('#EXTM3U\n');
  });

  it('serves long file names (beyond a router parameter limit)', async () => {
    const name = `live/1400123456_${'s'.repeat(120)}_2024-01-01-12-00-00_2024-01-01-12-30-00.m3u8`;
    await put(name, '#EXTM3U\n');
    const { app } = makeServer();

    const res = await app.inject({ method: 'GET', url: `/${name}` });

    expect(res.statusCode).toBe(200);
  });

  it('answers HEAD with headers and no body', async () => {
    await put('live/a.mp4', 'x'.repeat(1234));
    const { app } = makeServer();

    const res = await app.inject({ method: 'HEAD', url: '/live/a.mp4' });

    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('1234');
    expect(res.headers['content-type']).toBe('video/mp4');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['etag']).toEqual(expect.any(String));
    expect(res.headers['last-modified']).toEqual(expect.any(String));
    expect(res.body).toBe('');
  });

  it('answers a satisfiable Range with 206 and exactly those bytes', async () => {
    await put('live/a.ts', '0123456789');
    const { app } = makeServer();

    const res = await app.inject({ method: 'GET', url: '/live/a.ts', headers: { range: 'bytes=2-5' } });

    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 2-5/10');
    expect(res.headers['content-length']).toBe('4');
    expect(res.body).toBe('2345');
  });

  it('answers an unsatisfiable Range with 416 and the full length', async () => {
    await put('live/a.ts', '0123456789');
    const { app } = makeServer();

    const res = await app.inject({ method: 'GET', url: '/live/a.ts', headers: { range: 'bytes=100-200' } });

    expect(res.statusCode).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */10');
    expect(res.json()).toMatchObject({ statusCode: 416 });
  });

  it('answers a matching If-None-Match with 304', async () => {
    await put('live/a.flv', 'flv');
    const { app } = makeServer();
    const first = await app.inject({ method: 'GET', url: '/live/a.flv' });

    const again = await app.inject({
      method: 'GET',
      url: '/live/a.flv',
      headers: { 'if-none-match': String(first.headers['etag']) },
    });

    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it.each(['/.work/run/seg.ts', '/.outbox/event.json', '/live/.hidden.m3u8', '/%2ework/run/seg.ts'])(
    'does not serve dot-files or dot-directories: %s',
    async (url) => {
      await put('.work/run/seg.ts', 'work');
      await put('.outbox/event.json', '{}');
      await put('live/.hidden.m3u8', 'hidden');
      const { app } = makeServer();

      const res = await app.inject({ method: 'GET', url });

      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    },
  );

  it.each(['/', '/live', '/live/'])('does not list directories: %s', async (url) => {
    await put('live/a.m3u8', '#EXTM3U\n');
    await put('index.html', 'index');
    await put('live/index.html', 'index');
    const { app } = makeServer();

    const res = await app.inject({ method: 'GET', url });

    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('a.m3u8');
    expect(res.body).not.toContain('index');
  });
});

describe('probes', () => {
  it('healthz answers ok', async () => {
    const { app } = makeServer();

    const res = await app.inject({ method: 'GET', url: '/healthz' });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('readyz follows isReady on every request', async () => {
    let ready = false;
    const { app } = makeServer({ isReady: () => ready });

    const before = await app.inject({ method: 'GET', url: '/readyz' });
    ready = true;
    const after = await app.inject({ method: 'GET', url: '/readyz' });

    expect(before.statusCode).toBe(503);
    expect(before.json()).toEqual({ status: 'not ready' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ status: 'ready' });
  });

  it('readyz is ready when no isReady is given', async () => {
    const { app } = makeServer();

    const res = await app.inject({ method: 'GET', url: '/readyz' });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
  });
});

describe('errors', () => {
  it.each([
    ['GET', '/no/such/file.m3u8'],
    ['POST', '/'],
    ['DELETE', '/live/a.m3u8'],
  ] as const)('%s %s is a JSON 404', async (method, url) => {
    const { app } = makeServer();

    const res = await app.inject({ method, url });

    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect(res.body).not.toMatch(/stack|\n\s+at /);
  });

  it('hides the message and stack of a 500 from a route added later', async () => {
    const server = makeServer();
    server.app.get('/boom', async () => {
      throw new Error('internal detail /etc/passwd');
    });

    const res = await server.app.inject({ method: 'GET', url: '/boom' });

    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal Server Error',
    });
  });

  it('keeps the message of a 4xx from a route added later', async () => {
    const server = makeServer();
    server.app.get('/teapot', async () => {
      throw Object.assign(new Error('short and stout'), { statusCode: 418 });
    });

    const res = await server.app.inject({ method: 'GET', url: '/teapot' });

    expect(res.statusCode).toBe(418);
    expect(res.json()).toEqual({ statusCode: 418, error: "I'm a Teapot", message: 'short and stout' });
  });
});

describe('listening', () => {
  it('resolves with the bound address and serves over a real socket', async () => {
    await put('live/a.m3u8', '#EXTM3U\nOK\n');
    const server = makeServer();

    const address = await server.listen();
    const res = await rawGet(address.port, '/live/a.m3u8');

    expect(address.host).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    expect(res.status).toBe(200);
    expect(res.raw).toContain('#EXTM3U\nOK\n');
  });

  it.each([
    '/../secret.txt',
    '/live/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e%2fsecret.txt',
    '/live/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/live/..%2F..%2Fsecret.txt',
    '/%252e%252e%252fsecret.txt',
    '/..%5csecret.txt',
    '/..\\secret.txt',
    '//../secret.txt',
    '/%2e%2e/data-secret/secret.txt',
    '/../data-secret/secret.txt',
    '/%00/../secret.txt',
  ])('refuses traversal %s', async (path) => {
    await put('live/a.m3u8', '#EXTM3U\n');
    const server = makeServer();
    const { port } = await server.listen();

    const res = await rawGet(port, path);

    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.raw).not.toContain(SECRET);
  });

  it('rejects with ListenError when the port is already in use', async () => {
    const first = makeServer();
    const { port } = await first.listen();
    const second = makeServer({ port });

    const failure = await second.listen().catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(ListenError);
    expect((failure as ListenError).code).toBe('LISTEN_FAILED');
    expect((failure as ListenError).message).toBe(`HTTP port 127.0.0.1:${port} is already in use`);
  });

  it('rejects with ListenError when the address is not on this machine', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface.
    const server = makeServer({ host: '192.0.2.1' });

    const failure = await server.listen().catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(ListenError);
    expect((failure as ListenError).message).toBe('HTTP address 192.0.2.1 is not an address of this machine');
  });

  it('close() returns the same promise every time', async () => {
    const server = makeServer();
    await server.listen();

    const a = server.close();
    const b = server.close();

    expect(a).toBe(b);
    await a;
    expect(server.app.server.listening).toBe(false);
  });
});
