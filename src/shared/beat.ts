import type { Socket } from 'node:net';

/**
 * The native side of a socket or pipe: libuv's read start and stop, which Node's streams call themselves, and
 * their flag for whether the stream wants to read (false while its reader has paused it).
 */
interface StreamHandle {
  readStart(): number;
  readStop(): number;
  reading?: boolean;
}

function handleOf(socket: Socket): StreamHandle | undefined {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  return !socket.destroyed && handle && typeof handle.readStart === 'function' ? handle : undefined;
}

/**
 * One clock for the process's streaming I/O. Each wake-up of the event loop costs about 0.1 ms on a small
 * virtual machine, far more than parsing what one packet brings. On a beat:
 * - every gated socket (a mix ffmpeg's output) reads what its kernel buffer holds, then stops until the next beat;
 * - what those reads wrote into corked pipes is flushed (`afterReads`), in the same turn of the loop.
 * So gated streams and batched writes wake the loop once a beat, not at every write, and a byte waits at most one
 * beat more.
 */
export class Beat {
  readonly ms: number;
  readonly #gated = new Set<Socket>();
  readonly #after = new Set<() => void>();
  readonly #every = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.ms = ms;
  }

  /** Sockets read on beats now. */
  get gatedCount(): number {
    return this.#gated.size;
  }

  /** Reads `socket` on beats from now on; it leaves the gate when it closes. */
  gate(socket: Socket): void {
    const handle = handleOf(socket);
    if (!handle || this.#gated.has(socket)) return;
    this.#gated.add(socket);
    socket.once('close', () => this.#gated.delete(socket));
    handle.readStop();
    this.#arm();
  }

  /** Runs `fn` on every beat, before its reads, until the returned function is called. */
  every(fn: () => void): () => void {
    this.#every.add(fn);
    this.#arm();
    return () => this.#every.delete(fn);
  }

  /** Runs `fn` once, after the next beat's reads. */
  afterReads(fn: () => void): void {
    this.#after.add(fn);
    this.#arm();
  }

  #arm(): void {
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.#beat(), this.ms);
  }

  #beat(): void {
    this.#timer = undefined;
    for (const fn of this.#every) fn();
    // A stream its reader has paused stays stopped: the gate only delays reads, it never adds one.
    const started = [...this.#gated].filter((socket) => {
      const handle = handleOf(socket);
      return handle?.reading === true && handle.readStart() === 0;
    });
    // Immediates run after the loop's poll phase: the sockets started here have read what was waiting.
    setImmediate(() => {
      for (const socket of started) handleOf(socket)?.readStop();
      const after = [...this.#after];
      this.#after.clear();
      for (const fn of after) fn();
    });
    if (this.#gated.size || this.#every.size) this.#arm();
  }
}

/**
 * The process's beat: a mix's write batches, its placeholder ticks and its output share it. A publish's RTMP socket
 * is not gated: the timestamp repairer judges A/V drift from each packet's arrival, which a beat would blur by up
 * to 40 ms (docs/bench/beat.md).
 */
export const beat = new Beat(40);
