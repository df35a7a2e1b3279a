import { createHash } from 'node:crypto';
import type { RecordFileHealth, RecordFileRepairs } from '../callback/events.js';
import type { RecordFormat } from '../config/schema.js';
import { REPAIR_KINDS, type RepairKind } from '../ingest/timestamps.js';
import type { Tracks } from './tracks.js';

/**
 * Event 100's `file_health` (pure): the file's digests, its measured and wall-clock durations, and what the ingest
 * found in its media (timestamp repairs, the largest A/V offset), collected per recording with wall times.
 */

/** Repairs by kind. */
export type RepairCounts = RecordFileRepairs;

/** What the recording knows of a file's media beyond its bytes; null where it does not know. */
export interface MediaFacts {
  timestampRepairs: RepairCounts | null;
  maxAvOffsetMs: number | null;
}

/** Zero of every kind. */
export function noRepairs(): RepairCounts {
  return { reset: 0, jump: 0, wrap: 0, start: 0, drift: 0 };
}

/** The sum of two counts; null (unknown) when either is. */
export function addRepairs(a: RepairCounts | null, b: RepairCounts | null): RepairCounts | null {
  if (!a || !b) return null;
  const sum = noRepairs();
  for (const kind of REPAIR_KINDS) sum[kind] = a[kind] + b[kind];
  return sum;
}

/** Lowercase hex SHA-256 of a playlist's text, as stored (UTF-8). */
export function textSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * `segments_sha256`: the SHA-256 (lowercase hex) of the segments' SHA-256 digests, each lowercase hex, joined by
 * "\n" with no trailing newline, in playlist order. Null when any digest is unknown, or there is no segment.
 */
export function segmentsSha256(digests: readonly (string | undefined)[]): string | null {
  if (!digests.length || digests.some((d) => d === undefined)) return null;
  return textSha256(digests.map((d) => d!.toLowerCase()).join('\n'));
}

/** The A/V offset a file reports: only a file with both tracks has one; null also when none was measured. */
export function avOffsetOf(
  format: RecordFormat,
  tracks: Tracks | undefined,
  measuredMs: number | undefined,
): number | null {
  if (format === 'aac' || !tracks?.audio || !tracks.video) return null;
  return measuredMs === undefined ? null : measuredMs;
}

/** The repairs of one recording, with their wall times, for the files cut from it; at most `capacity` kept. */
export class RepairLog {
  readonly #capacity: number;
  readonly #entries: { atMs: number; kind: RepairKind }[] = [];
  readonly #totals = noRepairs();
  /** Wall time of the newest repair forgotten for room; a window that starts at or before it is unknown. */
  #forgottenMs = -Infinity;

  constructor(capacity = 4096) {
    this.#capacity = capacity;
  }

  add(kind: RepairKind, atMs: number): void {
    this.#totals[kind]++;
    this.#entries.push({ atMs, kind });
    if (this.#entries.length > this.#capacity) this.#forgottenMs = this.#entries.shift()!.atMs;
  }

  /** Every repair since the log began (an HLS playlist's). */
  get totals(): RepairCounts {
    return { ...this.#totals };
  }

  /** Repairs at wall times in [fromMs, toMs): parts that follow each other count each repair once. */
  within(fromMs: number, toMs: number): RepairCounts | null {
    if (fromMs <= this.#forgottenMs) return null;
    const counts = noRepairs();
    for (const { atMs, kind } of this.#entries) if (atMs >= fromMs && atMs < toMs) counts[kind]++;
    return counts;
  }
}

/** The largest A/V offset of one publish as it grew, with wall times; at most `capacity` steps kept. */
export class OffsetLog {
  readonly #capacity: number;
  readonly #steps: { atMs: number; ms: number }[] = [];
  /** The newest step forgotten for room. */
  #forgotten: { atMs: number; ms: number } | undefined;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  /** The offset grew to `ms` at `atMs`. */
  add(ms: number, atMs: number): void {
    this.#steps.push({ atMs, ms });
    if (this.#steps.length > this.#capacity) this.#forgotten = this.#steps.shift();
  }

  /** The largest offset measured so far. */
  get max(): number | undefined {
    return this.#steps.at(-1)?.ms;
  }

  /** The largest offset measured by `atMs` (a file's, up to its end); undefined when none was, or it is forgotten. */
  at(atMs: number): number | undefined {
    let found = this.#forgotten && this.#forgotten.atMs <= atMs ? this.#forgotten.ms : undefined;
    for (const step of this.#steps) {
      if (step.atMs > atMs) break;
      found = step.ms;
    }
    return found;
  }
}

/** What the file health of one file is made of. */
export interface HealthInput {
  /** The file's digest; HLS: the playlist's. */
  sha256: string;
  /** HLS only: each segment's digest in playlist order (undefined: not known). */
  segmentDigests?: readonly (string | undefined)[];
  /** Measured media seconds; undefined when not measured. */
  durationSeconds: number | undefined;
  startMs: number;
  endMs: number;
  facts: MediaFacts | undefined;
  cut: boolean;
}

/** Event 100's `file_health`; a number that is not finite is reported as unknown (null). */
export function buildFileHealth(input: HealthInput): RecordFileHealth {
  const finite = (n: number | null | undefined) =>
    n !== null && n !== undefined && Number.isFinite(n) ? n : null;
  const round = (n: number | null, digits: number) =>
    n === null ? null : Math.round(n * 10 ** digits) / 10 ** digits;
  const repairs = input.facts?.timestampRepairs ?? null;
  return {
    sha256: input.sha256,
    ...(input.segmentDigests ? { segments_sha256: segmentsSha256(input.segmentDigests) } : {}),
    duration: round(finite(input.durationSeconds), 3),
    wall_seconds: round(finite((input.endMs - input.startMs) / 1000), 3) ?? 0,
    max_av_offset_ms: round(finite(input.facts?.maxAvOffsetMs), 0),
    timestamp_repairs:
      repairs && REPAIR_KINDS.every((kind) => Number.isFinite(repairs[kind])) ? { ...repairs } : null,
    cut: input.cut,
  };
}
