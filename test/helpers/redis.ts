import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const SCRIPT = resolve(import.meta.dirname, '../../scripts/redis.sh');

/** A real Redis (scripts/redis.sh) on a loopback port, with its AOF and log under dir. */
export interface TestRedis {
  dir: string;
  port: number;
  /** redis:// (or rediss://) URL, the password in it. */
  url: string;
  /** The self-signed certificate to trust, with tls. */
  caFile?: string;
  /** Stops the server (SIGTERM: the AOF is flushed); dir stays. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and dir: it reads its AOF back. */
  restart(): Promise<void>;
  /** Stops the server and removes dir. */
  destroy(): Promise<void>;
}

async function script(args: string[]): Promise<string> {
  try {
    return (await execFileAsync(SCRIPT, args, { encoding: 'utf8' })).stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`scripts/redis.sh ${args[0]} failed:\n${stderr || String(error)}`, { cause: error });
  }
}

async function selfSignedCert(dir: string): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true });
  const cert = join(dir, 'redis.crt');
  const key = join(dir, 'redis.key');
  await execFileAsync('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost'],
    ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert],
  ]);
  return { cert, key };
}

export async function startRedis(options: { password?: string; tls?: boolean } = {}): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'recorder-redis-'));
  const tls = options.tls ? await selfSignedCert(join(dir, 'certs')) : undefined;
  const args = (port?: number) => [
    'start',
    join(dir, 'data'),
    ...(port === undefined ? [] : ['--port', String(port)]),
    ...(options.password ? ['--password', options.password] : []),
    ...(tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : []),
  ];
  let out: string;
  try {
    out = await script(args());
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const port = Number(/^REDIS_PORT=(\d+)$/m.exec(out)?.[1]);
  const url = /^REDIS_URL=(\S+)$/m.exec(out)?.[1] ?? '';
  const stop = async () => {
    await script(['stop', join(dir, 'data')]);
  };
  return {
    dir,
    port,
    url,
    ...(tls ? { caFile: tls.cert } : {}),
    stop,
    async kill() {
      await script(['kill', join(dir, 'data')]);
    },
    async restart() {
      await stop();
      await script(args(port));
    },
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
