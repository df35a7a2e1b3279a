import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import { afterAll, describe, expect, it } from 'vitest';
import { startMinio, type TestMinio } from '../helpers/minio.js';

const servers: TestMinio[] = [];

afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.destroy()));
});

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('the MinIO test server (scripts/minio.sh)', () => {
  it('stores objects that survive a stop and a restart on the same port', async () => {
    const minio = await startMinio();
    servers.push(minio);
    expect(minio.useSSL).toBe(false);
    const client = new Client({
      endPoint: minio.endPoint,
      port: minio.port,
      useSSL: minio.useSSL,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
    });

    await client.makeBucket('recordings');
    await client.putObject('recordings', 'live/a.txt', Buffer.from('hello minio'));
    expect(await readAll(await client.getObject('recordings', 'live/a.txt'))).toBe('hello minio');

    await minio.stop();
    await expect(client.statObject('recordings', 'live/a.txt')).rejects.toThrow();
    await minio.restart();

    expect(await readAll(await client.getObject('recordings', 'live/a.txt'))).toBe('hello minio');
  });

  it('serves TLS with a certificate the client can trust, and SSE-S3 with the KMS key', async () => {
    const minio = await startMinio({ tls: true, kms: true });
    servers.push(minio);
    expect(minio.useSSL).toBe(true);
    expect(minio.caFile).toBeDefined();
    const client = new Client({
      endPoint: minio.endPoint,
      port: minio.port,
      useSSL: minio.useSSL,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      transportAgent: new https.Agent({ ca: readFileSync(minio.caFile!) }),
    });

    await client.makeBucket('secure');
    await client.putObject('secure', 'live/b.txt', Buffer.from('secret bytes'), undefined, {
      'X-Amz-Server-Side-Encryption': 'AES256',
    });
    const stat = await client.statObject('secure', 'live/b.txt');
    expect(stat.metaData['x-amz-server-side-encryption']).toBe('AES256');
    expect(await readAll(await client.getObject('secure', 'live/b.txt'))).toBe('secret bytes');

    // The key is kept in dir: objects encrypted before a restart are still readable after it.
    await minio.restart();
    expect(await readAll(await client.getObject('secure', 'live/b.txt'))).toBe('secret bytes');
  });
});
