import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCallbackReceiver } from '../helpers/callback-receiver.js';
import { decode } from '../helpers/media.js';
import { eventually, publish } from '../helpers/recorder.js';

const ROOT = resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type LogLine = Record<string, unknown> & { msg?: string };

interface Cli {
  child: ChildProcess;
  /** Parsed JSON log lines from stdout, as they arrive. */
  logs: LogLine[];
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line that matches. */
  log(predicate: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
}

/** Runs the built CLI (`node dist/src/cli.js ...`) from the repository root. */
function cli(args: string[]): Cli {
  const child = spawn(process.execPath, ['dist/src/cli.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const logs: LogLine[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // Not a log line (help or version text).
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('close', (code, signal) => done({ code, signal })),
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return {
    child,
    logs,
    stdout: () => out,
    stderr: () => err,
    exited,
    log: (predicate, what, timeoutMs = 30_000) =>
      Promise.race([
        eventually(() => logs.find(predicate), timeoutMs, what),
        exited.then(({ code }) => {
          throw new Error(`the CLI exited (${code}) before ${what}; stderr: ${err}`);
        }),
      ]),
  };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recorder-cli-test-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a config file into a temp dir and returns its path. */
async function configFile(text: string, name = 'config.yaml'): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, text);
  return path;
}

/** A TCP port held by another server on 127.0.0.1. */
async function occupiedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  cleanups.push(() => new Promise((done) => server.close(done)));
  return (server.address() as net.AddressInfo).port;
}

const isReady = (line: LogLine) => line.msg === 'recorder ready';

describe('cli', () => {
  it('invalid config exits 2 and names the key', async () => {
    const outOfRange = cli([
      'serve',
      '--config',
      await configFile('record: { maxFileDurationSeconds: 9000 }\n'),
    ]);
    expect((await outOfRange.exited).code).toBe(2);
    expect(outOfRange.stderr()).toContain('record.maxFileDurationSeconds');
    expect(outOfRange.stderr()).toContain('9000');
    expect(outOfRange.stderr()).toContain('10..7200');

    const unknownKey = cli(['serve', '--config', await configFile('record: { formatz: [hls] }\n')]);
    expect((await unknownKey.exited).code).toBe(2);
    expect(unknownKey.stderr()).toContain('record.formatz');

    const malformedPath = await configFile('record: { formats: [hls\n  maxFile: : ]\n');
    const malformed = cli(['serve', '--config', malformedPath]);
    expect((await malformed.exited).code).toBe(2);
    expect(malformed.stderr()).toContain(malformedPath);
    // None of them got as far as starting.
    for (const run of [outOfRange, unknownKey, malformed]) expect(run.logs.some(isReady)).toBe(false);
  });

  it('--help and --version', async () => {
    const version = cli(['--version']);
    expect((await version.exited).code).toBe(0);
    expect(version.stdout().trim()).toBe(VERSION);

    const help = cli(['--help']);
    expect((await help.exited).code).toBe(0);
    expect(help.stdout()).toMatch(/\bserve\b/);

    const serveHelp = cli(['serve', '--help']);
    expect((await serveHelp.exited).code).toBe(0);
    expect(serveHelp.stdout()).toContain('--config');
  });

  it('a taken port is a clear error with exit 1', async () => {
    for (const taken of ['rtmp', 'http'] as const) {
      const port = await occupiedPort();
      const dataDir = await tempDir();
      const free = taken === 'rtmp' ? 'http' : 'rtmp';
      const config = await configFile(
        JSON.stringify({
          [taken]: { host: '127.0.0.1', port },
          [free]: { host: '127.0.0.1', port: 0 },
          dataDir,
        }),
        'config.json',
      );
      const startedAt = Date.now();
      const run = cli(['serve', '--config', config]);
      const { code } = await run.exited;
      expect(code, `${taken} port taken`).toBe(1);
      expect((Date.now() - startedAt) / 1000).toBeLessThan(10);
      expect(run.stderr()).toContain('in use');
      expect(run.stderr()).toContain(String(port));
      expect(run.stderr().toLowerCase()).toContain(taken);
    }
  });

  it('SIGTERM during a recording gives complete files and their callbacks before exit', async () => {
    const callbacks = await startCallbackReceiver();
    cleanups.push(() => callbacks.close());
    const dataDir = await tempDir();
    const config = await configFile(
      [
        'rtmp: { host: 127.0.0.1, port: 0 }',
        'http: { host: 127.0.0.1, port: 0 }',
        `dataDir: ${JSON.stringify(dataDir)}`,
        'record: { formats: [hls, mp4], timeZone: UTC }',
        `callback: { url: ${JSON.stringify(callbacks.url)}, retryIntervalSeconds: 0.2 }`,
        '',
      ].join('\n'),
    );
    const run = cli(['serve', '--config', config]);
    const ready = await run.log(isReady, 'recorder ready');
    const rtmpPort = Number(ready.rtmpPort);
    expect(rtmpPort).toBeGreaterThan(0);

    const publishedAt = Date.now();
    const publisher = publish(`rtmp://127.0.0.1:${rtmpPort}/live/term`, { seconds: 20 });
    let publisherExitedAt: number | undefined;
    void publisher.exited.then(() => (publisherExitedAt = Date.now()));
    const recording = await run.log(
      (l) => l.msg === 'recording state' && l.to === 'recording',
      'recording state to recording',
    );
    const recordingAt = Number(recording.time);
    // A deliberate span of recording, long enough for a stored HLS segment and a few MP4 fragments.
    await eventually(() => Date.now() - recordingAt >= 6000, 30_000, '6 s of recording');
    expect((await readdir(join(dataDir, 'live'))).some((f) => f.endsWith('.ts'))).toBe(true);
    const termAt = Date.now();
    run.child.kill('SIGTERM');

    const exit = await run.exited;
    // Taken at exit, before anything else can arrive.
    const atExit = [...callbacks.bodies];
    expect(exit).toEqual({ code: 0, signal: null });
    // The publisher was cut off, well before its 20 s push would have ended.
    await publisher.exited;
    expect((publisherExitedAt! - publishedAt) / 1000).toBeLessThan(15);

    const recordedSeconds = (termAt - recordingAt) / 1000;
    const hls = atExit.filter((b) => b.stream_id === 'term' && b.file_format === 'hls');
    const mp4 = atExit.filter((b) => b.stream_id === 'term' && b.file_format === 'mp4');
    expect(hls).toHaveLength(1);
    expect(mp4).toHaveLength(1);
    for (const body of [...hls, ...mp4]) {
      const file = join(dataDir, decodeURIComponent(new URL(String(body.video_url)).pathname));
      const { errors, seconds } = await decode(file);
      expect(errors, file).toEqual([]);
      expect(seconds, file).toBeGreaterThan(3);
      expect(
        Math.abs(seconds - recordedSeconds),
        `${file}: ${seconds} s of ${recordedSeconds} s`,
      ).toBeLessThan(2.5);
      if (file.endsWith('.m3u8')) expect(await readFile(file, 'utf8')).toMatch(/^#EXT-X-ENDLIST$/m);
    }
  });

  it('one recorder per dataDir: a second exits 1 naming the holder; a holder killed with -9 is taken over', async () => {
    const dataDir = await tempDir();
    const config = await configFile(
      `rtmp: { host: 127.0.0.1, port: 0 }\nhttp: { host: 127.0.0.1, port: 0 }\ndataDir: ${JSON.stringify(dataDir)}\n`,
    );
    const first = cli(['serve', '--config', config]);
    await first.log(isReady, 'recorder ready');

    const second = cli(['serve', '--config', config]);
    const { code } = await second.exited;
    expect(code).toBe(1);
    expect(second.stderr()).toContain(`in use by another recorder: pid ${first.child.pid}`);
    // It failed before touching the data dir: the first one's outbox and books are its own.
    expect(second.logs.some((l) => l.msg === 'task book started')).toBe(false);

    first.child.kill('SIGKILL');
    await first.exited;
    const third = cli(['serve', '--config', config]);
    await third.log(isReady, 'recorder ready after a takeover');
    const takeover = third.logs.find((l) => l.msg === 'stale lock taken over');
    expect((takeover?.holder as { pid?: number } | undefined)?.pid).toBe(first.child.pid);
    third.child.kill('SIGINT');
    expect(await third.exited).toEqual({ code: 0, signal: null });
    // A clean stop leaves no lock behind.
    expect(await readdir(dataDir)).not.toContain('.recorder.lock');
  });

  it('serve with a minimal config answers /healthz and exits 0 on SIGINT', async () => {
    const dataDir = await tempDir();
    const config = await configFile(
      `rtmp: { port: 0 }\nhttp: { port: 0 }\ndataDir: ${JSON.stringify(dataDir)}\n`,
    );
    const run = cli(['serve', '--config', config]);
    const ready = await run.log(isReady, 'recorder ready');
    const httpPort = Number(ready.httpPort);
    expect(httpPort).toBeGreaterThan(0);

    const response = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });

    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.logs.some((l) => l.msg === 'recorder stopped')).toBe(true);
  });
});
