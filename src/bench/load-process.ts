import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StreamLoadStats } from '../load/generator.js';

/** The live totals the load worker prints once a second. */
export interface LoadProgress {
  t: number;
  connected: number;
  publishing: number;
  errors: number;
  videoFrames: number;
  audioFrames: number;
  bytes: number;
}

/** The worker's entry point: built JS beside this module's build, else the TypeScript source through tsx. */
function workerCommand(): string[] {
  const built = fileURLToPath(new URL('../../workers/load.js', import.meta.url));
  if (import.meta.url.endsWith('.js') && existsSync(built)) return [built];
  return ['--import', 'tsx', fileURLToPath(new URL('../../workers/load.ts', import.meta.url))];
}

/** The load generator in a process of its own (workers/load.ts), so its CPU is apart from the target's. */
export class LoadProcess {
  readonly child: ChildProcess;
  latest: LoadProgress | undefined;
  readonly final: Promise<StreamLoadStats[]>;
  #stderr = '';

  constructor(o: {
    url: string;
    streams: number;
    prefix: string;
    fixture: string;
    durationSeconds: number;
    rampMs: number;
    /** A refused connection is tried again until this long (servers that start listening late). */
    connectWaitMs?: number;
  }) {
    this.child = spawn(
      process.execPath,
      [
        ...workerCommand(),
        '--url',
        o.url,
        '--streams',
        String(o.streams),
        '--prefix',
        o.prefix,
        '--fixture',
        o.fixture,
        '--duration',
        String(o.durationSeconds),
        '--ramp-ms',
        String(o.rampMs),
        '--connect-wait-ms',
        String(o.connectWaitMs ?? 0),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child
      .stderr!.setEncoding('utf8')
      .on('data', (d: string) => (this.#stderr = (this.#stderr + d).slice(-4000)));
    let final: StreamLoadStats[] | undefined;
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line) as LoadProgress | { final: StreamLoadStats[] };
          if ('final' in parsed) final = parsed.final;
          else this.latest = parsed;
        } catch {
          // Not a JSON line.
        }
      }
    });
    this.final = new Promise((done, fail) => {
      this.child.on('error', fail);
      this.child.on('close', (code) => {
        if (final) done(final);
        else
          fail(
            new Error(`the load worker exited (${code}) without its final counts: ${this.#stderr.trim()}`),
          );
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Unpublishes every stream now; `final` then resolves. */
  stop(): void {
    this.child.kill('SIGTERM');
  }

  /** What the worker printed on stderr (errors of single publishers). */
  stderr(): string {
    return this.#stderr;
  }
}
