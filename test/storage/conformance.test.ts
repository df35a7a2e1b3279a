import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { MinioStorageConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/shared/logger.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { MinioStore } from '../../src/storage/minio-store.js';
import { DAY_MS, type ObjectStore } from '../../src/storage/object-store.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';

const MIB = 1024 * 1024;

let minio: TestMinio;
let http: HttpServer;
let httpPort = 0;
const work: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recorder-store-'));
  work.push(dir);
  return dir;
}

/** MinIO store config against the test server, in a bucket of its own. */
export function minioConfig(
  server: TestMinio,
  overrides: Partial<MinioStorageConfig> = {},
): MinioStorageConfig {
  const config = parseConfig({
    storage: {
      type: 'minio',
      endPoint: server.endPoint,
      port: server.port,
      useSSL: server.useSSL,
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      bucket: `conf-${randomBytes(4).toString('hex')}`,
      partSize: 5 * MIB,
      ...overrides,
    },
  });
  return config.storage as MinioStorageConfig;
}

interface Backend {
  name: 'local' | 'minio';
  make(): Promise<ObjectStore>;
  /** A store whose writes fail: a data dir that is a file, or a wrong secret. */
  broken(): Promise<ObjectStore>;
}

const backends: Backend[] = [
  {
    name: 'local',
    async make() {
      const dataDir = await tempDir();
      // The recorder's own HTTP server serves local objects; give it this dir.
      await http?.close();
      http = createHttpServer({
        host: '127.0.0.1',
        port: 0,
        dataDir,
        logger: createLogger({ level: 'silent' }),
      });
      httpPort = (await http.listen()).port;
      return new LocalStore({ dataDir, publicBaseUrl: () => `http://127.0.0.1:${httpPort}` });
    },
    async broken() {
      const dataDir = join(await tempDir(), 'not-a-dir');
      await writeFile(dataDir, 'a file where the data dir should be');
      return new LocalStore({ dataDir, publicBaseUrl: () => 'http://127.0.0.1:1' });
    },
  },
  {
    name: 'minio',
    async make() {
      const store = new MinioStore(minioConfig(minio));
      await store.init();
      return store;
    },
    async broken() {
      return new MinioStore(minioConfig(minio, { secretKey: 'not-the-secret' }));
    },
  },
];

beforeAll(async () => {
  minio = await startMinio();
});

afterAll(async () => {
  await http?.close();
  await minio?.destroy();
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

describe.each(backends)('ObjectStore conformance: $name', (backend) => {
  let store: ObjectStore;

  beforeAll(async () => {
    store = await backend.make();
  });

  async function localFile(bytes: Buffer): Promise<string> {
    const path = join(await tempDir(), 'upload.bin');
    await writeFile(path, bytes);
    return path;
  }

  it('putFile stores the bytes and removes the local file only after', async () => {
    const bytes = randomBytes(200_000);
    const path = await localFile(bytes);
    const stored = await store.putFile(path, 'live/small.flv');
    expect(stored).toMatchObject({ key: 'live/small.flv', size: bytes.length });
    expect(existsSync(path)).toBe(false);
    expect(await buffer(await store.get('live/small.flv'))).toEqual(bytes);
    const info = await store.stat('live/small.flv');
    expect(info?.size).toBe(bytes.length);
    expect(info?.expiresAt).toBeUndefined();
  });

  it('putFile of a file larger than one part stores every byte in order', async () => {
    const bytes = randomBytes(12 * MIB + 12345);
    const path = await localFile(bytes);
    const stored = await store.putFile(path, 'live/large.mp4');
    expect(stored.size).toBe(bytes.length);
    // MinIO: three 5 MiB parts, and the ETag says so.
    if (backend.name === 'minio') expect(stored.etag).toMatch(/-3$/);
    expect((await buffer(await store.get('live/large.mp4'))).equals(bytes)).toBe(true);
  });

  it('get of a byte range gives exactly those bytes, across a part boundary too', async () => {
    const bytes = randomBytes(6 * MIB);
    await store.putFile(await localFile(bytes), 'live/ranged.mp4');
    for (const [start, end] of [
      [0, 0],
      [1000, 1999],
      [5 * MIB - 10, 5 * MIB + 10],
      [bytes.length - 100, bytes.length - 1],
    ] as const) {
      const got = await buffer(await store.get('live/ranged.mp4', { start, end }));
      expect(got.equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it('a failed put keeps the local file', async () => {
    const broken = await backend.broken();
    const bytes = randomBytes(1000);
    const path = await localFile(bytes);
    await expect(broken.putFile(path, 'live/kept.flv')).rejects.toThrow();
    expect(await readFile(path)).toEqual(bytes);
  });

  it('putBuffer replaces an object in place', async () => {
    await store.putBuffer(Buffer.from('#EXTM3U\n'), 'live/list.m3u8');
    await store.putBuffer(Buffer.from('#EXTM3U\n#EXT-X-ENDLIST\n'), 'live/list.m3u8');
    expect((await buffer(await store.get('live/list.m3u8'))).toString()).toBe('#EXTM3U\n#EXT-X-ENDLIST\n');
  });

  it('a missing object: stat is undefined, get is NOT_FOUND, delete is fine', async () => {
    expect(await store.stat('live/missing.flv')).toBeUndefined();
    await expect(store.get('live/missing.flv')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.delete('live/missing.flv')).resolves.toBeUndefined();
  });

  it('list returns the keys under a prefix, in order', async () => {
    for (const name of ['b_000001.ts', 'b_000000.ts', 'c_000000.ts']) {
      await store.putBuffer(Buffer.from(name), `other/${name}`);
    }
    const listed = await store.list('other/b_');
    expect(listed.map((o) => o.key)).toEqual(['other/b_000000.ts', 'other/b_000001.ts']);
    expect(listed.every((o) => o.size === 'b_000000.ts'.length)).toBe(true);
  });

  it('delete removes an object', async () => {
    await store.putBuffer(Buffer.from('x'), 'live/gone.aac');
    await store.delete('live/gone.aac');
    expect(await store.stat('live/gone.aac')).toBeUndefined();
  });

  it('urlFor gives a URL that serves the object', async () => {
    const bytes = randomBytes(5000);
    await store.putBuffer(bytes, 'live/url.mp4');
    const res = await fetch(await store.urlFor('live/url.mp4'));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
  });

  it('retention: an expiry from storage days, extended, then cleared (pinned)', async () => {
    const before = Date.now();
    await store.putBuffer(Buffer.from('kept 3 days'), 'live/retained.flv', { retentionDays: 3 });
    const info = await store.stat('live/retained.flv');
    const expires = info?.expiresAt?.getTime() ?? 0;
    expect(expires).toBeGreaterThanOrEqual(before + 3 * DAY_MS - 2000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3 * DAY_MS + 2000);

    const later = new Date(Date.now() + 30 * DAY_MS);
    const extended = await store.setExpiry('live/retained.flv', later);
    // MinIO counts whole days from creation, so the expiry may round up, never down.
    expect(extended!.getTime()).toBeGreaterThanOrEqual(later.getTime() - 1000);
    expect(extended!.getTime()).toBeLessThan(later.getTime() + DAY_MS);
    expect((await store.stat('live/retained.flv'))?.expiresAt?.getTime()).toBe(extended!.getTime());

    expect(await store.setExpiry('live/retained.flv', undefined)).toBeUndefined();
    expect((await store.stat('live/retained.flv'))?.expiresAt).toBeUndefined();
  });

  it('setExpiry of a missing object is NOT_FOUND', async () => {
    await expect(store.setExpiry('live/nothing.flv', new Date())).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
