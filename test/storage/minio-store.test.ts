import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { Client } from 'minio';
import { AssumeRoleProvider } from 'minio/dist/esm/AssumeRoleProvider.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { MinioStorageConfig } from '../../src/config/schema.js';
import { EXPIRE_TAG, MinioStore } from '../../src/storage/minio-store.js';
import { DAY_MS } from '../../src/storage/object-store.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';

const MIB = 1024 * 1024;
const servers: TestMinio[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const server of servers) await server.destroy();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function server(options: Parameters<typeof startMinio>[0] = {}): Promise<TestMinio> {
  const started = await startMinio(options);
  servers.push(started);
  return started;
}

function config(
  minio: TestMinio,
  overrides: Record<string, unknown> = {},
  storageDays = 0,
): MinioStorageConfig {
  return parseConfig({
    record: { storageDays },
    storage: {
      type: 'minio',
      endPoint: minio.endPoint,
      port: minio.port,
      useSSL: minio.useSSL,
      ...(minio.caFile ? { caFile: minio.caFile } : {}),
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      bucket: `t-${randomBytes(4).toString('hex')}`,
      partSize: 5 * MIB,
      ...overrides,
    },
  }).storage as MinioStorageConfig;
}

function rawClient(minio: TestMinio): Client {
  return new Client({
    endPoint: minio.endPoint,
    port: minio.port,
    useSSL: minio.useSSL,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    ...(minio.caFile ? { transportAgent: new Agent({ ca: readFileSync(minio.caFile) }) } : {}),
  });
}

async function localFile(bytes: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recorder-minio-'));
  dirs.push(dir);
  const path = join(dir, 'file.bin');
  await writeFile(path, bytes);
  return path;
}

describe('MinIO store', () => {
  let plain: TestMinio;
  beforeAll(async () => {
    plain = await server();
  });

  it('creates a missing bucket, and retention is a tagged lifecycle rule that keeps other rules', async () => {
    const c = config(plain);
    const raw = rawClient(plain);
    await raw.makeBucket(c.bucket);
    await raw.setBucketLifecycle(c.bucket, {
      Rule: [{ ID: 'operator-rule', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 9 } }],
    } as never);
    const store = new MinioStore(c);
    await store.init();
    await store.putBuffer(Buffer.from('x'), 'live/a.flv', { retentionDays: 7 });
    const tags = await raw.getObjectTagging(c.bucket, 'live/a.flv');
    expect(tags.map((t) => [t.Key, String(t.Value)])).toEqual([[EXPIRE_TAG, '7']]);
    const created = (await store.stat('live/a.flv'))!.lastModified.getTime();
    await store.setExpiry('live/a.flv', new Date(created + 40 * DAY_MS));
    const rules = await store.expiryRules();
    expect(rules.map((r) => [r.days, r.tagValue]).sort()).toEqual([
      [40, '40'],
      [7, '7'],
    ]);
    const all = (await raw.getBucketLifecycle(c.bucket))?.Rule as unknown as { ID: string }[];
    expect(all.map((r) => r.ID)).toContain('operator-rule');

    const fresh = new MinioStore(config(plain));
    await fresh.init();
    expect(await rawClient(plain).bucketExists(fresh.bucket)).toBe(true);
  });

  it('nodes that start at once all prepare the same missing bucket (a cluster), none fails', async () => {
    const c = config(plain);
    const stores = Array.from({ length: 6 }, () => new MinioStore(c));
    const results = await Promise.allSettled(stores.map((store) => store.init()));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill('fulfilled'));
    expect(await rawClient(plain).bucketExists(c.bucket)).toBe(true);
  });

  it('puts under the configured prefix and builds public URLs from publicBaseUrl', async () => {
    const c = config(plain, { prefix: 'recordings/', publicBaseUrl: 'https://cdn.example.com/media' });
    const store = new MinioStore(c);
    await store.init();
    await store.putBuffer(Buffer.from('y'), 'live/b c.mp4');
    expect((await rawClient(plain).statObject(c.bucket, 'recordings/live/b c.mp4')).size).toBe(1);
    expect(await store.urlFor('live/b c.mp4')).toBe(
      'https://cdn.example.com/media/recordings/live/b%20c.mp4',
    );
    expect((await store.list('live/')).map((o) => o.key)).toEqual(['live/b c.mp4']);
  });

  it('a presigned video_url expires after presignSeconds', async () => {
    // X-Amz-Date is whole seconds, so a URL may lose up to a second of its life: 3 s leaves 2 for the first read.
    const store = new MinioStore(config(plain, { presignSeconds: 3 }));
    await store.init();
    await store.putBuffer(Buffer.from('z'), 'live/p.aac');
    const url = await store.urlFor('live/p.aac');
    expect(url).toContain('X-Amz-Expires=3');
    expect((await fetch(url)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3100));
    expect((await fetch(url)).status).toBe(403);
  });

  it('a wrong secret is STORAGE_AUTH and the local file stays', async () => {
    const store = new MinioStore(config(plain, { secretKey: 'wrong-secret-key' }));
    await expect(store.init()).rejects.toMatchObject({ code: 'STORAGE_AUTH' });
    const path = await localFile(Buffer.from('kept'));
    await expect(store.putFile(path, 'live/x.flv')).rejects.toMatchObject({ code: 'STORAGE_AUTH' });
    expect(await readFile(path, 'utf8')).toBe('kept');
  });

  it('credentials without PutObject permission are STORAGE_AUTH and the local file stays', async () => {
    const c = config(plain);
    await rawClient(plain).makeBucket(c.bucket);
    // Temporary credentials whose session policy allows reading only.
    const sts = new AssumeRoleProvider({
      stsEndpoint: `http://${plain.endPoint}:${plain.port}`,
      accessKey: plain.accessKey,
      secretKey: plain.secretKey,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:ListBucket', 's3:GetBucketLocation'],
            Resource: ['arn:aws:s3:::*'],
          },
        ],
      }),
    });
    const creds = await sts.getCredentials();
    const store = new MinioStore({
      ...c,
      accessKey: creds.getAccessKey(),
      secretKey: creds.getSecretKey(),
      sessionToken: creds.getSessionToken(),
    });
    const path = await localFile(Buffer.from('kept too'));
    const err = await store.putFile(path, 'live/y.flv').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORAGE_AUTH' });
    expect(String((err as Error).message)).toMatch(/AccessDenied/);
    expect(await readFile(path, 'utf8')).toBe('kept too');
  });
});

describe('MinIO encryption', () => {
  it('SSE-S3: objects are stored encrypted when the server has a KMS', async () => {
    const kms = await server({ kms: true });
    const store = new MinioStore(config(kms, { sse: { type: 'SSE-S3' } }));
    await store.init();
    const bytes = randomBytes(11 * MIB);
    await store.putFile(await localFile(bytes), 'live/enc.mp4');
    const stat = await rawClient(kms).statObject(store.bucket, 'live/enc.mp4');
    expect(stat.metaData).toBeDefined();
    const head = await rawClient(kms).makeRequestAsyncOmit({
      method: 'HEAD',
      bucketName: store.bucket,
      objectName: 'live/enc.mp4',
    });
    expect(head.headers['x-amz-server-side-encryption']).toBe('AES256');
    expect((await buffer(await store.get('live/enc.mp4'))).equals(bytes)).toBe(true);
  });

  it('SSE-C: multipart objects need the customer key to be read', async () => {
    const tls = await server({ tls: true });
    const key = randomBytes(32).toString('base64');
    const store = new MinioStore(config(tls, { sse: { type: 'SSE-C', key } }));
    await store.init();
    const bytes = randomBytes(11 * MIB);
    const stored = await store.putFile(await localFile(bytes), 'live/c.flv');
    expect(stored.size).toBe(bytes.length);
    expect((await buffer(await store.get('live/c.flv'))).equals(bytes)).toBe(true);
    await expect(rawClient(tls).getObject(store.bucket, 'live/c.flv')).rejects.toThrow();
    const wrongKey = new MinioStore({
      ...config(tls, { sse: { type: 'SSE-C', key: randomBytes(32).toString('base64') } }),
      bucket: store.bucket,
    });
    await expect(wrongKey.get('live/c.flv')).rejects.toThrow();
  });
});

describe('MinIO object lock', () => {
  let lockServer: TestMinio;
  beforeAll(async () => {
    lockServer = await server();
  });

  it.each(['GOVERNANCE', 'COMPLIANCE'] as const)(
    '%s: a locked object cannot be deleted before its date, and its lock follows a longer expiry',
    async (mode) => {
      const store = new MinioStore(config(lockServer, { objectLock: { mode } }, 1));
      await store.init();
      const raw = rawClient(lockServer);
      const lock = (await raw.getObjectLockConfig(store.bucket)) as unknown as { objectLockEnabled?: string };
      expect(lock.objectLockEnabled).toBe('Enabled');
      await store.putFile(await localFile(Buffer.from('evidence')), 'live/locked.mp4', { retentionDays: 1 });
      const retention = await raw.getObjectRetention(store.bucket, 'live/locked.mp4');
      expect(retention?.mode).toBe(mode);
      const until = new Date(retention!.retainUntilDate!).getTime();
      expect(until).toBeGreaterThan(Date.now() + DAY_MS - 60_000);

      await expect(store.delete('live/locked.mp4')).rejects.toMatchObject({ code: 'STORAGE_LOCKED' });
      expect((await store.stat('live/locked.mp4'))?.size).toBe(8);

      const extended = await store.setExpiry('live/locked.mp4', new Date(Date.now() + 10 * DAY_MS));
      const after = await raw.getObjectRetention(store.bucket, 'live/locked.mp4');
      expect(new Date(after!.retainUntilDate!).getTime()).toBe(extended!.getTime());
    },
  );

  it('refuses an existing bucket made without locking', async () => {
    const c = config(lockServer, { objectLock: { mode: 'GOVERNANCE' } }, 1);
    await rawClient(lockServer).makeBucket(c.bucket);
    await expect(new MinioStore(c).init()).rejects.toThrow(/without object locking/);
  });
});
