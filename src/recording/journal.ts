import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { RECORD_FORMATS } from '../config/schema.js';
import { writeFileDurably } from '../shared/durable-file.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * A recording's durable state in its work dir, enough for a restarted recorder to finish what a crash cut:
 * `recording.json` (who it is, its runs and its HLS head) and `segments.jsonl` (every HLS segment, appended
 * before the segment is queued, so a playlist rebuilt after a crash names every segment stored).
 */
export const RECORDING_FILE = 'recording.json';
export const SEGMENTS_FILE = 'segments.jsonl';

const identitySchema = z.object({
  recordingId: z.string(),
  app: z.string(),
  stream: z.string(),
  nameId: z.string(),
  host: z.string(),
  query: z.string(),
  mediaStartMs: z.number(),
  tracks: z
    .object({
      video: z
        .object({
          codec: z.enum(['h264', 'h265', 'av1']),
          width: z.number().optional(),
          height: z.number().optional(),
        })
        .optional(),
      audio: z.object({ codec: z.enum(['aac', 'mp3', 'opus']) }).optional(),
    })
    .optional(),
  retentionDays: z.record(z.string(), z.number()).optional(),
  templateId: z.number().optional(),
  taskId: z.string().optional(),
});

const journalSchema = z.object({
  version: z.literal(1),
  identity: identitySchema,
  formats: z.array(z.enum(RECORD_FORMATS)),
  hlsSegmentSeconds: z.number().positive(),
  runs: z.array(z.object({ index: z.number().int().min(0), firstMediaWallMs: z.number() })),
  /** Event 332s sent so far: a recording recovered after a crash sends its record_ended as the next one. */
  statusSeq: z.number().int().min(0).optional(),
  head: z.object({ head: z.string(), disambiguator: z.number().int().min(0) }).optional(),
});

const segmentSchema = z.object({
  run: z.number().int().min(0),
  seq: z.number().int().min(0),
  uri: z.string(),
  startMs: z.number(),
  durationSeconds: z.number().min(0),
  discontinuity: z.boolean(),
  size: z.number().int().min(0),
  /** fMP4 segments: the length of the segment's init section. */
  initLength: z.number().int().min(1).optional(),
  /** The segment file's SHA-256, lowercase hex (event 100's file_health); absent in journals of older versions. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

export type RecordingJournalData = z.infer<typeof journalSchema>;
export type JournaledSegment = z.infer<typeof segmentSchema>;

/** What a work dir's journal says; `data` is undefined when the recording never got as far as a run. */
export interface JournalContents {
  data: RecordingJournalData | undefined;
  segments: JournaledSegment[];
}

/** Writes one recording's journal. Writes are serialized; a failed write is logged, never thrown. */
export class RecordingJournal {
  readonly #dir: string;
  readonly #log: Logger;
  #chain: Promise<void> = Promise.resolve();

  constructor(dir: string, logger: Logger) {
    this.#dir = dir;
    this.#log = logger;
  }

  /** Replaces recording.json (whole, fsynced). */
  save(data: RecordingJournalData): Promise<void> {
    const text = `${JSON.stringify(data)}\n`;
    return this.#serial(() => writeFileDurably(join(this.#dir, RECORDING_FILE), text), 'recording');
  }

  /** Appends one segment line and fsyncs it before resolving. */
  appendSegment(segment: JournaledSegment): Promise<void> {
    const line = `${JSON.stringify(segment)}\n`;
    return this.#serial(async () => {
      const handle = await open(join(this.#dir, SEGMENTS_FILE), 'a');
      try {
        await handle.writeFile(line);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }, 'segment');
  }

  #serial(write: () => Promise<void>, what: string): Promise<void> {
    this.#chain = this.#chain.then(write).catch((err: unknown) => {
      // The recording goes on; only what a crash could recover is less.
      this.#log.warn({ err: errorMessage(err), journal: what }, 'cannot write the recording journal');
    });
    return this.#chain;
  }
}

/** Reads a work dir's journal; a segment line cut short by a crash (the last one) is dropped. */
export async function readJournal(dir: string): Promise<JournalContents> {
  const text = await readFile(join(dir, RECORDING_FILE), 'utf8').catch(notFound);
  const data = text === undefined ? undefined : journalSchema.parse(JSON.parse(text));
  const lines = (await readFile(join(dir, SEGMENTS_FILE), 'utf8').catch(notFound)) ?? '';
  return { data, segments: parseSegmentLines(lines) };
}

/** Journaled segments in order; a torn line (a crash mid-append) ends the list. */
export function parseSegmentLines(text: string): JournaledSegment[] {
  const segments: JournaledSegment[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      break;
    }
    const segment = segmentSchema.safeParse(parsed);
    if (!segment.success) break;
    segments.push(segment.data);
  }
  return segments;
}

function notFound(err: unknown): undefined {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw err;
}
