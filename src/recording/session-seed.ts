import { z } from 'zod';
import type { RecordConfig } from '../config/schema.js';
import type { RecordingIdentity } from './file-finisher.js';
import type { PlaylistSegment } from './hls-playlist.js';

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
