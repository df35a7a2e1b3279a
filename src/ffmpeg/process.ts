import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { beat } from '../shared/beat.js';
import { FfmpegExitError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';

/** How an ffmpeg process ended. */
export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop (input ended, stop() or kill()); false when it died on its own. */
  requested: boolean;
  /** The spawn itself failed (binary missing, not executable). */
  spawnError?: string;
  stderrTail: string[];
}

export interface FfmpegProcessEvents {
  exit: [FfmpegExit];
}

export interface FfmpegStartOptions {
  logger: Logger;
  /** Lines of stderr kept for error reports. */
  stderrLines?: number;
  /** Extra input pipes, read by ffmpeg as `pipe:3`, `pipe:4`, ... (a mix's inputs). */
  inputPipes?: number;
  /** Keep stdout as a stream (`output`), read on the process's beat, for an ffmpeg that writes to `pipe:1`. */
  readOutput?: boolean;
  /** How long writes are gathered before they leave as one writev (DEFAULT_WRITE_BATCH_MS). */
  writeBatchMs?: number;
}

/** Whether an exit is a clean end of work. */
export function isCleanExit(exit: FfmpegExit): boolean {
  return exit.code === 0 && !exit.spawnError;
}

/**
 * Stdin (and input pipe) writes are gathered for a while and leave as one writev: a syscall and an ffmpeg wake-up
 * per batch instead of per packet (about 70 a second for 25 fps video with AAC). The cost is that much more latency
 * into ffmpeg, and that much more media in flight if the recorder dies. By default a batch is the process's beat,
 * flushed on it just after the beat's reads.
 */
export const DEFAULT_WRITE_BATCH_MS = beat.ms;

/** The pipes corked since their interval's last flush; one timer (or the beat) per interval uncorks them all. */
interface WriteBatch {
  corked: Set<Writable>;
  timer: NodeJS.Timeout | undefined;
  flush: () => void;
}
const batches = new Map<number, WriteBatch>();

function batchOf(ms: number): WriteBatch {
  let batch = batches.get(ms);
  if (!batch) {
    const made: WriteBatch = { corked: new Set(), timer: undefined, flush: () => flushCorked(made) };
    batches.set(ms, (batch = made));
  }
  return batch;
}

function flushCorked(batch: WriteBatch): void {
  batch.timer = undefined;
  for (const pipe of batch.corked) pipe.uncork();
  batch.corked.clear();
}

/** One ffmpeg child, fed through stdin. Spawned with no shell; stop() escalates to SIGKILL. */
export class FfmpegProcess extends TypedEmitter<FfmpegProcessEvents> {
  readonly #child: ChildProcess;
  readonly #tail: string[] = [];
  readonly #maxLines: number;
  readonly #log: Logger;
  readonly #batchMs: number;
  readonly #batch: WriteBatch;
  #requested = false;
  #exit: FfmpegExit | undefined;
  readonly exited: Promise<FfmpegExit>;

  constructor(path: string, args: readonly string[], options: FfmpegStartOptions) {
    super();
    this.#maxLines = options.stderrLines ?? 50;
    this.#log = options.logger;
    this.#batchMs = options.writeBatchMs ?? DEFAULT_WRITE_BATCH_MS;
    this.#batch = batchOf(this.#batchMs);
    const extra = Array.from({ length: options.inputPipes ?? 0 }, () => 'pipe' as const);
    this.#child = spawn(path, args, {
      stdio: ['pipe', options.readOutput ? 'pipe' : 'ignore', 'pipe', ...extra],
    });
    for (const pipe of this.#child.stdio.slice(3)) (pipe as Writable | null)?.on('error', () => {});
    // A live output (a mix's FLV, a packet at a time) is read once a beat, not at each of ffmpeg's writes.
    if (this.#child.stdout instanceof Socket) beat.gate(this.#child.stdout);
    let spawnError: string | undefined;
    this.exited = new Promise((resolve) => {
      this.#child.once('error', (err) => {
        spawnError = err.message;
      });
      this.#child.once('close', (code, signal) => {
        this.#exit = {
          code,
          signal,
          requested: this.#requested,
          stderrTail: [...this.#tail],
          ...(spawnError ? { spawnError } : {}),
        };
        resolve(this.#exit);
        this.emit('exit', this.#exit);
      });
    });
    // A child that dies while we write makes stdin fail with EPIPE; the exit event reports it.
    this.#child.stdin?.on('error', () => {});
    let partial = '';
    this.#child.stderr?.setEncoding('utf8');
    this.#child.stderr?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.#keep(line);
    });
  }

  #keep(line: string): void {
    this.#tail.push(line);
    if (this.#tail.length > this.#maxLines) this.#tail.shift();
    this.#log.debug({ line }, 'ffmpeg stderr');
  }

  /** Extra input pipe `n` (0 is `pipe:3`); undefined once ffmpeg has exited. */
  inputPipe(n: number): Writable | undefined {
    const pipe = this.#child.stdio[3 + n] as Writable | null | undefined;
    return pipe && !pipe.destroyed && !this.#exit ? pipe : undefined;
  }

  /** stdout, with `readOutput`. */
  get output(): Readable | undefined {
    return this.#child.stdout ?? undefined;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Bytes written to stdin but not yet taken by ffmpeg. */
  get pendingInputBytes(): number {
    return this.#child.stdin?.writableLength ?? 0;
  }

  /** Writes to stdin; false means ffmpeg is behind (the data is still queued). */
  write(data: Buffer): boolean {
    return this.#batched(this.#child.stdin, data);
  }

  /** Writes to extra input pipe `n`, batched as stdin is; false means ffmpeg is behind or has exited. */
  writeInput(n: number, data: Buffer): boolean {
    return this.#batched(this.inputPipe(n), data);
  }

  #batched(pipe: Writable | null | undefined, data: Buffer): boolean {
    if (!pipe || pipe.destroyed || pipe.writableEnded || this.#exit) return false;
    const batch = this.#batch;
    if (!batch.corked.has(pipe)) {
      pipe.cork();
      batch.corked.add(pipe);
      if (this.#batchMs === beat.ms) beat.afterReads(batch.flush);
      else batch.timer ??= setTimeout(flushCorked, this.#batchMs, batch).unref();
    }
    // Corked bytes count in writableLength, so a false here still means ffmpeg is behind.
    return pipe.write(data);
  }

  /** Ends stdin (and the extra input pipes): ffmpeg flushes its outputs and exits. */
  endInput(): void {
    this.#requested = true;
    for (const pipe of this.#child.stdio.slice(3)) (pipe as Writable | null)?.end();
    const stdin = this.#child.stdin;
    // end() flushes what is corked.
    if (stdin) this.#batch.corked.delete(stdin);
    if (stdin && !stdin.writableEnded) stdin.end();
  }

  /** Ends input and waits for exit; sends SIGKILL if it has not exited after graceMs. */
  async stop(graceMs: number): Promise<FfmpegExit> {
    this.endInput();
    if (this.#exit) return this.#exit;
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal; counts as requested. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#requested = true;
    if (!this.#exit) this.#child.kill(signal);
  }
}

function exitError(exit: FfmpegExit): FfmpegExitError {
  const why = exit.spawnError ?? `code ${exit.code}, signal ${exit.signal}`;
  return new FfmpegExitError(
    `ffmpeg failed (${why}): ${exit.stderrTail.at(-1) ?? ''}`,
    exit.code,
    exit.signal,
    exit.stderrTail,
  );
}

/** Runs ffmpeg to completion (no stdin); rejects with FfmpegExitError on a non-zero exit or timeout. */
export async function runFfmpeg(
  path: string,
  args: readonly string[],
  options: FfmpegStartOptions & { timeoutMs: number },
): Promise<void> {
  const proc = new FfmpegProcess(path, ['-nostdin', ...args], options);
  proc.endInput();
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs);
  const exit = await proc.exited.finally(() => clearTimeout(timer));
  if (!isCleanExit(exit)) throw exitError(exit);
}

/** Media duration of a file in seconds, read by demuxing it with ffmpeg (0: no media); undefined if it cannot be read. */
export async function measureDuration(
  path: string,
  file: string,
  options: FfmpegStartOptions & { timeoutMs: number },
): Promise<number | undefined> {
  const args = [
    '-nostdin',
    '-hide_banner',
    '-v',
    'error',
    '-stats',
    '-i',
    file,
    '-map',
    '0',
    '-c',
    'copy',
    '-f',
    'null',
    '-',
  ];
  const proc = new FfmpegProcess(path, args, options);
  proc.endInput();
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs);
  const exit = await proc.exited.finally(() => clearTimeout(timer));
  const times = exit.stderrTail.flatMap((line) => [...line.matchAll(/time=(\d+):(\d+):([\d.]+)/g)]);
  const last = times.at(-1);
  if (!isCleanExit(exit)) return undefined;
  // Read to the end without a single packet: the file holds no media.
  if (!last) return 0;
  return Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]);
}

/** Runs ffmpeg to completion and returns what it wrote to stdout; rejects like runFfmpeg. */
export async function runFfmpegOutput(
  path: string,
  args: readonly string[],
  options: FfmpegStartOptions & { timeoutMs: number },
): Promise<Buffer> {
  const proc = new FfmpegProcess(path, ['-nostdin', ...args], { ...options, readOutput: true });
  const chunks: Buffer[] = [];
  proc.output?.on('data', (chunk: Buffer) => chunks.push(chunk));
  proc.endInput();
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs);
  const exit = await proc.exited.finally(() => clearTimeout(timer));
  if (!isCleanExit(exit)) throw exitError(exit);
  return Buffer.concat(chunks);
}
