import { performance } from 'node:perf_hooks';

/** Milliseconds spent in each named phase of a piece of work, for a debug log of where its time went. */
export class PhaseClock {
  readonly laps: Record<string, number> = {};
  #last = performance.now();

  /** Ends the phase running since the last lap (or the start) under `name`. */
  lap(name: string): void {
    const now = performance.now();
    this.laps[`${name}Ms`] = Math.round(now - this.#last);
    this.#last = now;
  }
}
