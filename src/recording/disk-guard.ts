import { statfs } from 'node:fs/promises';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';

/** Whether the data dir has room for new recordings. */
export type DiskState = 'ok' | 'full';

/** The free-space limits: full below `minFreeBytes`, ok again only at `resumeFreeBytes`. */
export interface DiskLimits {
  minFreeBytes: number;
  resumeFreeBytes: number;
}

/** Limits for a reserve: ok again at 1.5 × the reserve, so a disk hovering at the reserve does not flap. */
export function diskLimits(minFreeBytes: number): DiskLimits {
  return { minFreeBytes, resumeFreeBytes: Math.ceil(minFreeBytes * 1.5) };
}

/** The disk state after measuring `freeBytes`, with hysteresis between the two limits. */
export function nextDiskState(previous: DiskState, freeBytes: number, limits: DiskLimits): DiskState {
  if (freeBytes < limits.minFreeBytes) return 'full';
  if (previous === 'full' && freeBytes < limits.resumeFreeBytes) return 'full';
  return 'ok';
}

/** Why a publish is refused, or a recording cut, on a full disk. */
export function diskFullReason(freeBytes: number, limits: DiskLimits): string {
  return (
    `disk full: ${freeBytes} bytes free in dataDir, below record.minFreeBytes (${limits.minFreeBytes}); ` +
    `publishes are accepted again from ${limits.resumeFreeBytes} bytes free`
  );
}

/** Free bytes of the file system holding `dir`, as an unprivileged writer may use them. */
export async function freeBytesOf(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

export interface DiskGuardOptions {
  dir: string;
  minFreeBytes: number;
  /** How often free space is measured; a check can also be asked for at any time. */
  pollMs?: number;
  logger: Logger;
  /** Measures free bytes; the real file system unless a caller measures otherwise. */
  measure?: (dir: string) => Promise<number>;
}

export interface DiskGuardEvents {
  /** The state changed (and once at start): `full` means new publishes are refused and recordings are cut. */
  disk: [state: DiskState, freeBytes: number, reason: string];
  /** A publish was refused for lack of space. */
  refused: [app: string, stream: string, reason: string];
}

/** Watches the free space of the data dir: refuses publishes below the reserve and reports each change. */
export class DiskGuard extends TypedEmitter<DiskGuardEvents> {
  readonly limits: DiskLimits;
  readonly #o: DiskGuardOptions;
  readonly #log: Logger;
  readonly #measure: (dir: string) => Promise<number>;
  #state: DiskState = 'ok';
  #freeBytes = Number.NaN;
  #checking: Promise<DiskState> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(options: DiskGuardOptions) {
    super();
    this.#o = options;
    this.limits = diskLimits(options.minFreeBytes);
    this.#log = options.logger.child({ component: 'disk' });
    this.#measure = options.measure ?? freeBytesOf;
  }

  get state(): DiskState {
    return this.#state;
  }

  /** Free bytes at the last check; NaN before the first. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Measures once, then every `pollMs` until `close()`. */
  async start(): Promise<void> {
    await this.check();
    this.#started = true;
    this.#timer = setInterval(() => void this.check(), this.#o.pollMs ?? 1000);
    this.#timer.unref();
  }

  /** Measures free space now; checks asked for while one runs share it. */
  check(): Promise<DiskState> {
    this.#checking ??= this.#check().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #check(): Promise<DiskState> {
    let free: number;
    try {
      free = await this.#measure(this.#o.dir);
    } catch (err) {
      // Unknown space is not a full disk: the state stands, and the next poll tries again.
      this.#log.error({ dir: this.#o.dir, err: errorMessage(err) }, 'free space not measured');
      return this.#state;
    }
    const previous = this.#state;
    this.#freeBytes = free;
    this.#state = nextDiskState(previous, free, this.limits);
    if (this.#state !== previous || !this.#started) this.#report(previous);
    return this.#state;
  }

  #report(previous: DiskState): void {
    const fields = { dir: this.#o.dir, freeBytes: this.#freeBytes, ...this.limits };
    if (this.#state === 'full') {
      const reason = diskFullReason(this.#freeBytes, this.limits);
      this.#log.error(fields, 'disk full');
      this.emit('disk', 'full', this.#freeBytes, reason);
      return;
    }
    const reason =
      previous === 'full'
        ? `disk space back: ${this.#freeBytes} bytes free in dataDir`
        : `${this.#freeBytes} bytes free in dataDir`;
    if (previous === 'full') this.#log.info(fields, 'disk space back');
    this.emit('disk', 'ok', this.#freeBytes, reason);
  }

  /** Admission's synchronous check on the last measure: the refusal reason on a full disk, else undefined. */
  refusal(app: string, stream: string): string | undefined {
    if (this.#state !== 'full') return undefined;
    const reason = diskFullReason(this.#freeBytes, this.limits);
    this.emit('refused', app, stream, reason);
    return reason;
  }

  /** Stops polling. Idempotent. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
