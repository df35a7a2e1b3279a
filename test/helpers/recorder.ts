import type { RecordingRun } from '../../src/recording/recording-run.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { Recorder } from '../../src/main.js';
import { createLogger } from '../../src/shared/logger.js';
import { PUBLISHER_FFMPEG, fixturePath } from './fixtures.js';

export interface TestRecorder {
  recorder: Recorder;
  dataDir: string;
  rtmpUrl(stream: string, query?: string): string;
  /**
   * Media files under dataDir/app (not the work or outbox dirs), sorted, once pending uploads and thumbnails
   * are done; thumbnails (`.jpg`, `.vtt`) and timeline sidecars (`.vtt`, `.json`) are left out.
   */
  files(app?: string): Promise<string[]>;
  stop(): Promise<void>;
}

function engineOverride(): { engine?: 'ffmpeg' | 'native' } {
  const engine = process.env.RECORDER_RECORD__ENGINE;
  if (engine === undefined) return {};
  if (engine !== 'ffmpeg' && engine !== 'native')
    throw new Error(`RECORDER_RECORD__ENGINE=${engine}: not ffmpeg or native`);
  return { engine };
}

/** Starts an in-process recorder on free loopback ports with a temp data dir (or the given one) and short timings. */
export async function startRecorder(
  overrides: ConfigInput = {},
  options: { drainTimeoutMs?: number } = {},
): Promise<TestRecorder> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'recorder-test-')));
  const config = parseConfig({
    ...overrides,
    rtmp: { host: '127.0.0.1', port: 0, ...overrides.rtmp },
    http: { host: '127.0.0.1', port: 0, ...overrides.http },
    dataDir,
    // RECORDER_RECORD__ENGINE=native runs a suite against the native muxer (the vitest project `native`).
    record: { timeZone: 'Asia/Shanghai', ...engineOverride(), ...overrides.record },
    callback: { retryIntervalSeconds: 0.2, timeoutSeconds: 5, ...overrides.callback },
  });
  const recorder = await Recorder.start(config, {
    logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    timings: { pollMs: 100, stopGraceMs: 5000, restartDelayMs: 50 },
    uploadRetry: { retryBaseMs: 100, retryMaxMs: 1000 },
    ...(options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
  });
  return {
    recorder,
    dataDir,
    rtmpUrl: (stream, query) =>
      `rtmp://127.0.0.1:${recorder.rtmpPort}/live/${stream}${query ? `?${query}` : ''}`,
    files: async (app = 'live') => {
      // Finished files reach the store through the upload queue; list them once it is idle.
      await recorder.uploads.drain(60_000);
      await recorder.thumbnails.idle();
      const all = await readdir(join(dataDir, app)).catch(() => [] as string[]);
      return all.filter((f) => !/\.(jpg|vtt|json)$/.test(f)).sort();
    },
    async stop() {
      await recorder.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Publisher {
  child: ChildProcess;
  /** Resolves with ffmpeg's exit code. */
  exited: Promise<number | null>;
}

/** Pushes a fixture in real time with a real ffmpeg publisher, stream copy. */
export function publish(
  url: string,
  options: { fixture?: 'av.flv' | 'audio.flv' | 'video.flv'; seconds: number; seekSeconds?: number },
): Publisher {
  return pushFile(fixturePath(options.fixture ?? 'av.flv'), url, options);
}

/** Pushes an FLV file in real time for `seconds`, stream copy; `loop` replays it for as long as that takes. */
export function pushFile(
  file: string,
  url: string,
  options: { seconds: number; seekSeconds?: number; loop?: boolean },
): Publisher {
  const child = spawn(
    PUBLISHER_FFMPEG,
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      ...(options.seekSeconds ? ['-ss', String(options.seekSeconds)] : []),
      ...(options.loop ? ['-stream_loop', '-1'] : []),
      '-i',
      file,
      '-t',
      String(options.seconds),
      '-c',
      'copy',
      '-f',
      'flv',
      url,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited };
}

/** Resolves when `check` returns a truthy value, polling every 50 ms; rejects after timeoutMs. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Kills a run's engine as a crash would: its ffmpeg by SIGKILL, or, when the native muxer writes every format and
 * there is no process, the muxer through the run (it ends as killed: its held bytes lost, its open files unlisted).
 */
export function killEngine(run: RecordingRun): void {
  if (run.pid !== undefined) process.kill(run.pid, 'SIGKILL');
  else run.kill('SIGKILL');
}
