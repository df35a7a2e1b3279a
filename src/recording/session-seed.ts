import { z } from 'zod';
import type { RecordConfig } from '../config/schema.js';
import type { RecordingIdentity } from './file-finisher.js';
import type { RepairCounts } from './file-health.js';
import type { PlaylistSegment } from './hls-playlist.js';

/** What a recording knew of its media when it was handed over (file_health): its repairs, its largest A/V offset. */
export interface SeedFacts {
  timestampRepairs: RepairCounts;
  /** Absent: none measured yet. */
  maxAvOffsetMs?: number;
}

/**
 * What another recorder needs to continue an interrupted HLS recording: its identity and config, its reserved
 * file-name head, every segment stored so far, the next segment number and the event 332 count. A node hands
 * it over when a publish of the stream reaches another node inside the resume window.
 */
export interface SessionSeed {
  recordingId: string;
  nameId: string;
  record: RecordConfig;
  taskId?: string;
  identity: RecordingIdentity;
  head: { head: string; disambiguator: number };
  segments: PlaylistSegment[];
  segmentsSize: number;
  nextSeq: number;
  statusSeq: number;
  /** The node that handed it over (set by the cluster). */
  from?: string;
  /** Absent (a seed from a dead node's ledger, or of an older version): what came before is not known. */
  facts?: SeedFacts;
}

/** The seed as JSON (dates as ISO strings). */
export function seedJson(seed: SessionSeed): string {
  return JSON.stringify(seed);
}

const segmentSchema = z.object({
  uri: z.string().min(1),
  seq: z.number().int().min(0),
  durationSeconds: z.number().min(0),
  programDateTime: z.string().transform((s, ctx) => {
    const date = new Date(s);
    if (Number.isNaN(date.getTime())) ctx.addIssue({ code: 'custom', message: 'must be a date' });
    return date;
  }),
  discontinuity: z.boolean(),
  fmp4: z.object({ initLength: z.number().int(), size: z.number().int() }).optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

const seedSchema = z.object({
  recordingId: z.string().regex(/^[0-9a-f]{1,64}$/),
  nameId: z.string().min(1),
  record: z.looseObject({ formats: z.array(z.string()) }),
  taskId: z.string().optional(),
  identity: z.looseObject({
    recordingId: z.string(),
    app: z.string(),
    stream: z.string(),
    nameId: z.string(),
  }),
  head: z.object({ head: z.string().min(1), disambiguator: z.number().int() }),
  segments: z.array(segmentSchema),
  segmentsSize: z.number().min(0),
  nextSeq: z.number().int().min(0),
  statusSeq: z.number().int().min(0),
  from: z.string().optional(),
  facts: z
    .object({
      timestampRepairs: z.object({
        reset: z.number().int().min(0),
        jump: z.number().int().min(0),
        wrap: z.number().int().min(0),
        start: z.number().int().min(0),
        drift: z.number().int().min(0),
      }),
      maxAvOffsetMs: z.number().min(0).optional(),
    })
    .optional(),
});

/** Reads a seed another node wrote; throws, naming the field, when it is not one. */
export function parseSeed(text: string): SessionSeed {
  const parsed = seedSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`not a recording seed: ${issue.path.join('.')} ${issue.message}`);
  }
  // The config and identity are this recorder's own types, written by a node of the same version.
  return parsed.data as unknown as SessionSeed;
}

/**
 * A seed from a ledger's parts (the header and each segment as JSON), naming only the segments that are
 * stored: `sizeOf` answers a stored segment's size, undefined for one that is not there (its node died before
 * its upload). Throws, naming the field, when a part is not what a recorder writes.
 */
export async function seedFromParts(
  header: string,
  segments: readonly string[],
  sizeOf: (app: string, uri: string) => Promise<number | undefined>,
): Promise<{ seed: SessionSeed; missing: number }> {
  const base = JSON.parse(header) as Record<string, unknown>;
  const all = segments.map((text) => JSON.parse(text) as { uri: string; seq: number });
  const draft = parseSeed(
    JSON.stringify({
      ...base,
      segments: all,
      segmentsSize: 0,
      nextSeq: Math.max(-1, ...all.map((x) => x.seq)) + 1,
    }),
  );
  const stored: PlaylistSegment[] = [];
  let size = 0;
  for (const segment of draft.segments) {
    const bytes = await sizeOf(draft.identity.app, segment.uri);
    if (bytes === undefined) continue;
    stored.push(segment);
    size += bytes;
  }
  return {
    seed: { ...draft, segments: stored, segmentsSize: size },
    missing: draft.segments.length - stored.length,
  };
}
