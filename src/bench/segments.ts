import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SegmentClosing } from './targets/target.js';

/** Lists dirs (recursively) at an interval and keeps when each file was first seen. */
export class FileWatcher {
  readonly #dirs: readonly string[];
  readonly #intervalMs: number;
  readonly #firstSeen = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(dirs: readonly string[], intervalMs = 250) {
    this.#dirs = dirs;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
  }

  /** Stops listing after one last pass. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#list();
  }

  /** path → epoch ms it was first seen. */
  firstSeen(): ReadonlyMap<string, number> {
    return this.#firstSeen;
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      await this.#list();
    } finally {
      this.#busy = false;
    }
  }

  async #list(): Promise<void> {
    const now = Date.now();
    for (const dir of this.#dirs) {
      let names: string[];
      try {
        names = await readdir(dir, { recursive: true });
      } catch {
        continue;
      }
      for (const name of names) {
        const path = join(dir, name);
        if (!this.#firstSeen.has(path)) this.#firstSeen.set(path, now);
      }
    }
  }
}

/**
 * Lag of each closed segment of one stream, in ms: when it was seen closed, minus when the publisher sent the end of
 * its media. A segment k of S seconds ends at media time (k+1)·S: the load's keyframes come every second and S is a
 * whole number of seconds, so every target cuts there. `files` are the stream's segment files in order, with when
 * each was first seen.
 */
export function segmentLags(o: {
  files: readonly { path: string; seenAtMs: number }[];
  closing: SegmentClosing;
  publishStartedAtMs: number;
  segmentSeconds: number;
}): number[] {
  const lags: number[] = [];
  // The last segment is cut short by the unpublish (and with 'next-opens' no later file shows it closed): left out.
  const closedCount = Math.max(0, o.files.length - 1);
  for (let k = 0; k < closedCount; k++) {
    const closedAt = o.closing === 'appears-closed' ? o.files[k]!.seenAtMs : o.files[k + 1]!.seenAtMs;
    const mediaEndAt = o.publishStartedAtMs + (k + 1) * o.segmentSeconds * 1000;
    lags.push(closedAt - mediaEndAt);
  }
  return lags;
}
