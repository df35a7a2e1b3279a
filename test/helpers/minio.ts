import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const SCRIPT = resolve(import.meta.dirname, '../../scripts/minio.sh');

/** A real MinIO server (scripts/minio.sh) on a loopback port, with its data, log and certificates under dir. */
export interface TestMinio {
  dir: string;
  endPoint: '127.0.0.1';
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  /** The self-signed certificate to trust, with tls. */
  caFile?: string;
  /** Stops the server only; dir (and the data) stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port, dir and options. */
  restart(): Promise<void>;
  /** Stops the server and removes dir. */
  destroy(): Promise<void>;
  /** The recorder's `storage` section for a bucket of this server (plain HTTP), with `extra` keys. */
  storage<const T extends Record<string, unknown>>(bucket: string, extra?: T): MinioStorageSection & T;
}

export interface MinioStorageSection {
  type: 'minio';
  endPoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
  bucket: string;
}

export interface StartMinioOptions {
  /** Default: a free loopback port. */
  port?: number;
  /** Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost. */
  tls?: boolean;
  /** Start with a static KMS key, so that SSE-S3 works. */
  kms?: boolean;
  /** Default: a new temp dir. */
  dir?: string;
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: Buffer | string }).stderr;
  const text = stderr === undefined ? '' : String(stderr).trim();
  return text || (error instanceof Error ? error.message : String(error));
}

/** Builds the pinned MinIO once (cached outside the clone) and returns the binary's path; throws on failure. */
export function installMinio(): string {
  try {
    return execFileSync(SCRIPT, ['install'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    throw new Error(`scripts/minio.sh install failed:\n${stderrOf(error)}`, { cause: error });
  }
}

async function script(args: string[]): Promise<string> {
  try {
    return (await execFileAsync(SCRIPT, args, { encoding: 'utf8' })).stdout;
  } catch (error) {
    throw new Error(`scripts/minio.sh ${args.join(' ')} failed:\n${stderrOf(error)}`, { cause: error });
  }
}

/** Parses the KEY=value lines of DIR/env (values shell-quoted with printf %q). */
function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!.replace(/\\(.)/g, '$1');
  }
  return env;
}

async function selfSignedCert(certsDir: string): Promise<string> {
  await mkdir(certsDir, { recursive: true });
  const publicCrt = join(certsDir, 'public.crt');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    join(certsDir, 'private.key'),
    '-out',
    publicCrt,
  ]);
  return publicCrt;
}

/** Starts a MinIO server with scripts/minio.sh; resolves once it answers its readiness check. */
export async function startMinio(options: StartMinioOptions = {}): Promise<TestMinio> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'recorder-minio-')));
  const certsDir = join(dir, 'certs');
  const args = (port: number | undefined) => [
    'start',
    dir,
    ...(port === undefined ? [] : ['--port', String(port)]),
    ...(options.tls ? ['--certs-dir', certsDir] : []),
    ...(options.kms ? ['--kms-key'] : []),
  ];
  const stop = async () => {
    await script(['stop', dir]);
  };
  let caFile: string | undefined;
  let env: Record<string, string>;
  try {
    if (options.tls) caFile = await selfSignedCert(certsDir);
    env = parseEnv(await script(args(options.port)));
  } catch (error) {
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const port = Number(env.MINIO_PORT);
  if (!Number.isInteger(port) || !env.MINIO_ACCESS_KEY || !env.MINIO_SECRET_KEY) {
    await stop();
    throw new Error(`scripts/minio.sh start printed no usable env:\n${JSON.stringify(env)}`);
  }
  return {
    dir,
    endPoint: '127.0.0.1',
    port,
    useSSL: env.MINIO_USE_SSL === 'true',
    accessKey: env.MINIO_ACCESS_KEY,
    secretKey: env.MINIO_SECRET_KEY,
    ...(caFile === undefined ? {} : { caFile }),
    stop,
    async restart() {
      await stop();
      await script(args(port));
    },
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
    storage<const T extends Record<string, unknown>>(bucket: string, extra?: T) {
      const section = {
        type: 'minio' as const,
        endPoint: '127.0.0.1',
        port,
        accessKey: env.MINIO_ACCESS_KEY!,
        secretKey: env.MINIO_SECRET_KEY!,
        bucket,
      };
      return { ...section, ...(extra as T) };
    },
  };
}
