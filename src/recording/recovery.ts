import { kill } from 'node:process';
import { readFile, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RECORD_FORMATS, type RecordFormat } from '../config/schema.js';
import { measureDuration } from '../ffmpeg/process.js';
import { segmentFileName } from '../naming/names.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { finalPathOf, type FileFinisher, type RecordingIdentity } from './file-finisher.js';
import { sha256File } from './file-digest.js';
import { renderLivePlaylist, type PlaylistSegment } from './hls-playlist.js';
import { RecordingJournal, readJournal, type JournalContents, type JournaledSegment } from './journal.js';
import { hlsSegmentKind, segmentExtension, segmentShape } from './outputs/hls.js';
import { OUTPUTS, listFileName, workFileName, workFileNumber, workFileRegExp } from './outputs/index.js';
import { SegmentListReader, type ClosedFile } from './segment-list.js';

/** What one run's work dir held when the recorder restarted. */
export interface RunListing {
  index: number;
  dir: string;
  /** Wall-clock time of the run's output time 0, from the journal; undefined: the run never spawned ffmpeg. */
  firstMediaWallMs: number | undefined;
  files: readonly { name: string; size: number }[];
  /** Files ffmpeg closed, per format, from its segment lists. */
  lists: Partial<Record<RecordFormat, readonly ClosedFile[]>>;
}

/** An FLV, MP4 or AAC part to finish; `endMs` undefined: ffmpeg never closed it, its media is measured. */
export interface PlannedPart {
  format: RecordFormat;
  path: string;
  startMs: number;
  endMs: number | undefined;
  /** `path` is the remuxed file already (the crash came between the remux and the queueing). */
  finalized: boolean;
}

/** One HLS segment of the rebuilt playlist, in order. */
export interface PlannedSegment {
  run: number;
  seq: number;
  /** The local segment to queue; undefined when it is queued or stored already. */
  path: string | undefined;
  startMs: number;
  /** Undefined: ffmpeg never closed the segment, its media is measured. */
  durationSeconds: number | undefined;
  discontinuity: boolean;
  size: number;
  journaled: boolean;
  /** A journaled fMP4 segment's init section length. */
  initLength?: number;
  /** A journaled segment's SHA-256, taken when it was queued. */
  sha256?: string;
}

export interface RecoveryPlan {
  /** Empty files, and remuxes a crash cut short (their work file is still there). */
  remove: string[];
  parts: PlannedPart[];
  segments: PlannedSegment[];
}

/**
 * Decides how to finish a recording a crash cut, from its journal and what its run dirs hold. Files a pending
 * upload job already names (`isQueued`) are left to the upload queue.
 */
export function planRecovery(
  journal: JournalContents,
  runs: readonly RunListing[],
  isQueued: (path: string) => boolean,
): RecoveryPlan {
  const plan: RecoveryPlan = { remove: [], parts: [], segments: [] };
  const journaled = new Map(journal.segments.map((s) => [s.seq, s]));
  const found: PlannedSegment[] = [];
  for (const run of [...runs].sort((a, b) => a.index - b.index)) {
    if (run.firstMediaWallMs === undefined) continue;
    const base = run.firstMediaWallMs;
    const names = new Map(run.files.map((f) => [f.name, f.size]));
    for (const format of RECORD_FORMATS) {
      const pattern = workFileRegExp(OUTPUTS[format].pattern);
      const listed = new Map((run.lists[format] ?? []).map((f) => [f.file, f]));
      const lastListedEnd = Math.max(0, ...[...listed.values()].map((f) => f.endSeconds));
      const span = (name: string) => {
        const closed = listed.get(name);
        return closed
          ? { startMs: base + closed.startSeconds * 1000, endMs: base + closed.endSeconds * 1000 }
          : { startMs: base + lastListedEnd * 1000, endMs: undefined };
      };
      for (const [name, size] of [...names].sort(([a], [b]) => a.localeCompare(b))) {
        if (!pattern.test(name)) continue;
        const path = join(run.dir, name);
        if (isQueued(path)) continue;
        if (size === 0) {
          plan.remove.push(path);
          continue;
        }
        const seq = workFileNumber(name);
        if (format === 'hls') {
          if (journaled.has(seq)) continue; // placed below, in journal order
          const { startMs, endMs } = span(name);
          found.push({
            run: run.index,
            seq,
            path,
            startMs,
            durationSeconds: endMs === undefined ? undefined : (endMs - startMs) / 1000,
            discontinuity: false,
            size,
            journaled: false,
          });
          continue;
        }
        const finalName = finalPathOf(name, format);
        // The work file is still there, so its remux never finished: redo it.
        if (names.has(finalName)) plan.remove.push(join(run.dir, finalName));
        plan.parts.push({ format, path, ...span(name), finalized: false });
      }
      if (format === 'hls') continue;
      for (const [name, size] of names) {
        const work = name.slice(0, name.indexOf('.final.'));
        if (!name.includes('.final.') || !pattern.test(work) || names.has(work)) continue;
        const path = join(run.dir, name);
        if (isQueued(path) || size === 0) continue;
        plan.parts.push({ format, path, ...span(work), finalized: true });
      }
    }
  }
  const local = (segment: JournaledSegment): string | undefined => {
    const run = runs.find((r) => r.index === segment.run);
    const name = workFileName(OUTPUTS.hls.pattern, segment.seq);
    const path = run?.files.some((f) => f.name === name && f.size > 0) ? join(run.dir, name) : undefined;
    return path && !isQueued(path) ? path : undefined;
  };
  const ordered: PlannedSegment[] = [
    ...journal.segments.map((s) => ({
      run: s.run,
      seq: s.seq,
      path: local(s),
      startMs: s.startMs,
      durationSeconds: s.durationSeconds,
      discontinuity: s.discontinuity,
      size: s.size,
      journaled: true,
      ...(s.initLength ? { initLength: s.initLength } : {}),
      ...(s.sha256 ? { sha256: s.sha256 } : {}),
    })),
    ...found.sort((a, b) => a.seq - b.seq),
  ];
  // A segment not journaled starts a discontinuity where its run differs from the one before it.
  for (let i = 0; i < ordered.length; i++) {
    const segment = ordered[i]!;
    if (!segment.journaled && i > 0) segment.discontinuity = ordered[i - 1]!.run !== segment.run;
  }
  plan.segments = ordered;
  return plan;
}

export interface RecoveryOptions {
  ffmpegPath: string;
  finisher: FileFinisher;
  /** Whether a pending upload job names this local file already (the queue finishes it). */
  isQueued: (path: string) => boolean;
  logger: Logger;
  /** How long ffmpeg processes of the crashed recorder may go on writing a recording before they are killed. */
  writerGraceMs?: number;
  /** Told of each recording once everything of it is queued (e.g. to send its record_ended). */
  onRecovered?: (recording: RecoveredRecording) => void;
  /**
   * The segments (by URI) another node closed this recording's playlist with, when its node was seen dead
   * (cluster); undefined when no other node did.
   */
  closedElsewhere?: (
    recordingId: string,
    app: string,
    stream: string,
  ) => Promise<readonly string[] | undefined>;
}

/** What the recovery of one recording queued. */
export interface RecoveredRecording {
  recordingId: string;
  identity: Pick<RecordingIdentity, 'app' | 'stream' | 'host'>;
  formats: readonly RecordFormat[];
  /** Event 332s the recording had sent before the crash (as far as its journal knows). */
  statusSeq: number;
  parts: number;
  segments: number;
  playlist: boolean;
  /** Another node had closed its playlist: what was left here became a playlist of its own, and the other sent record_ended. */
  closedElsewhere: boolean;
}

/** Work dirs (`dataDir/.work/<recordingId>`) a previous recorder process left behind. */
export async function unfinishedRecordings(dataDir: string): Promise<string[]> {
  const root = join(dataDir, '.work');
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => join(root, e.name));
}

/**
 * Finishes a recording a crash cut: waits for the ffmpeg processes still writing it, then queues every file
 * left (MP4 and FLV remuxed, each named by its real media end) and closes the HLS playlist with ENDLIST. The
 * upload queue stores them and sends their events 100. The work dir goes once everything is queued; a failure
 * leaves it for the next start. Undefined when the dir held no recording that ever started.
 */
export async function recoverRecording(
  dir: string,
  options: RecoveryOptions,
): Promise<RecoveredRecording | undefined> {
  const log = options.logger.child({ component: 'recovery', workDir: dir });
  await waitForWriters(dir, options.writerGraceMs ?? 15_000, log);
  const journal = await readJournal(dir);
  const data = journal.data;
  if (!data) {
    // Cut before its first run was journaled, so before any ffmpeg wrote in it.
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  const identity: RecordingIdentity = { ...data.identity, tracks: data.identity.tracks };
  const recordingLog = log.child({ recordingId: identity.recordingId, streamId: identity.stream });
  const runs = await Promise.all(
    data.runs.map((run) => listRun(join(dir, `run-${run.index}`), run.index, run.firstMediaWallMs)),
  );
  const plan = planRecovery(journal, runs, options.isQueued);
  recordingLog.info(
    { parts: plan.parts.length, segments: plan.segments.length, removed: plan.remove.length },
    'recovering recording',
  );
  for (const path of plan.remove) await unlink(path).catch(() => {});
  for (const part of plan.parts) {
    const closed = part.endMs !== undefined;
    await options.finisher.finishPart(
      identity,
      part.format,
      part.path,
      part.startMs,
      part.endMs ?? part.startMs,
      closed,
      { finalized: part.finalized },
    );
  }
  let playlist = false;
  const closed = data.formats.includes('hls')
    ? await options.closedElsewhere?.(identity.recordingId, identity.app, identity.stream)
    : undefined;
  if (plan.segments.length && data.formats.includes('hls')) {
    // finishPlaylist below skips an empty list; a playlist is made when a segment is listed.
    const writer = new RecordingJournal(dir, recordingLog);
    let head = data.head;
    const closedUris = new Set(closed ?? []);
    if (closed && head) {
      // Its playlist was closed by another node with what was stored: what only this disk had (the segment in
      // progress, uploads not done) becomes a playlist of its own, under a new name of the same prefix.
      const leftover = plan.segments.filter(
        (s) =>
          s.path &&
          !closedUris.has(
            segmentFileName(head!.head, s.seq, segmentExtension(hlsSegmentKind(identity.tracks ?? {}))),
          ),
      );
      plan.segments.splice(0, plan.segments.length, ...leftover);
      recordingLog.info(
        { leftover: leftover.length },
        'playlist closed by another node: storing what was left here',
      );
      head = leftover.length ? await options.finisher.reserveHead(identity, leftover[0]!.startMs) : head;
    }
    if (!head) {
      head = await options.finisher.reserveHead(identity, plan.segments[0]!.startMs);
      await writer.save({ ...data, head });
    }
    const segments: PlaylistSegment[] = [];
    let size = 0;
    let longest = data.hlsSegmentSeconds;
    for (const planned of plan.segments) {
      const durationSeconds =
        planned.durationSeconds ??
        (planned.path
          ? await measureDuration(options.ffmpegPath, planned.path, {
              logger: recordingLog,
              timeoutMs: 60_000,
            })
          : undefined) ??
        0;
      if (planned.path && !planned.journaled && durationSeconds === 0) {
        // A segment cut before its first packet was written through: nothing to list.
        await unlink(planned.path);
        continue;
      }
      const shape =
        planned.initLength || !planned.path
          ? {
              extension: segmentExtension(hlsSegmentKind(identity.tracks ?? {})),
              ...(planned.initLength ? { fmp4: { initLength: planned.initLength, size: planned.size } } : {}),
            }
          : await segmentShape(planned.path, planned.size, identity.tracks).catch((err: unknown) => {
              // An fMP4 segment cut before its first fragment: nothing a player could read.
              recordingLog.warn(
                { err: errorMessage(err), path: planned.path },
                'dropping an unreadable segment',
              );
              return undefined;
            });
      if (!shape) {
        await unlink(planned.path!);
        continue;
      }
      // A segment still here is hashed before it is queued; one stored already has its journaled digest, if any.
      const sha256 = planned.sha256 ?? (planned.path ? await sha256File(planned.path) : undefined);
      const segment: PlaylistSegment = {
        uri: segmentFileName(head.head, planned.seq, shape.extension),
        seq: planned.seq,
        durationSeconds,
        programDateTime: new Date(planned.startMs),
        discontinuity: planned.discontinuity,
        ...(shape.fmp4 ? { fmp4: shape.fmp4 } : {}),
        ...(sha256 ? { sha256 } : {}),
      };
      if (!planned.journaled) {
        await writer.appendSegment({
          run: planned.run,
          seq: planned.seq,
          uri: segment.uri,
          startMs: planned.startMs,
          durationSeconds,
          discontinuity: planned.discontinuity,
          size: planned.size,
          ...(shape.fmp4 ? { initLength: shape.fmp4.initLength } : {}),
          ...(sha256 ? { sha256 } : {}),
        });
      }
      segments.push(segment);
      longest = Math.max(longest, segment.durationSeconds);
      size += planned.size;
      if (planned.path) {
        const live = renderLivePlaylist(segments, longest);
        await options.finisher.queueSegment(identity, planned.path, head.head, segment.uri, live, sha256);
      }
    }
    await options.finisher.finishPlaylist(identity, head, segments, size);
    playlist = segments.length > 0;
  }
  await rm(dir, { recursive: true, force: true });
  const recovered = {
    parts: plan.parts.length,
    segments: plan.segments.filter((s) => s.path).length,
    playlist,
    closedElsewhere: closed !== undefined,
  };
  recordingLog.info(recovered, 'recording recovered');
  const result: RecoveredRecording = {
    recordingId: identity.recordingId,
    identity: { app: identity.app, stream: identity.stream, host: identity.host },
    formats: data.formats,
    statusSeq: data.statusSeq ?? 0,
    ...recovered,
  };
  options.onRecovered?.(result);
  return result;
}

async function listRun(dir: string, index: number, firstMediaWallMs: number): Promise<RunListing> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const files = await Promise.all(
    entries.map(async (name) => ({
      name,
      size: (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0,
    })),
  );
  const lists: RunListing['lists'] = {};
  // The reader keeps back a line the crash cut short (no newline): that file was never closed.
  for (const format of RECORD_FORMATS)
    lists[format] = await new SegmentListReader(join(dir, listFileName(format))).readNew();
  return { index, dir, firstMediaWallMs, files, lists };
}

/**
 * ffmpeg outlives a killed recorder: it reads the end of its input and closes its files. Its pids are found
 * by the work dir in their command line (Linux /proc); past the grace they are killed, leaving what they wrote.
 */
async function waitForWriters(dir: string, graceMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + graceMs;
  let writers = await writersOf(dir);
  if (writers.length) log.info({ pids: writers }, 'waiting for ffmpeg of the previous process');
  while (writers.length && Date.now() < deadline) {
    await sleep(100);
    writers = await writersOf(dir);
  }
  for (const pid of writers) {
    log.warn({ pid }, 'ffmpeg of the previous process still running, killing it');
    try {
      kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  while (writers.length && Date.now() < deadline + 5_000) {
    await sleep(50);
    writers = await writersOf(dir);
  }
}

async function writersOf(dir: string): Promise<number[]> {
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n));
  const needle = `${dir}/`;
  const found: number[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((arg) => arg.includes(needle))) found.push(Number(pid));
  }
  return found;
}

/**
 * Recovers the given work dirs one after another (each may remux), logging each outcome; a dir whose recovery
 * fails stays for the next start.
 */
export async function recoverAll(
  dirs: readonly string[],
  options: RecoveryOptions,
): Promise<RecoveredRecording[]> {
  const recovered: RecoveredRecording[] = [];
  for (const dir of dirs) {
    try {
      const one = await recoverRecording(dir, options);
      if (one) recovered.push(one);
    } catch (err) {
      options.logger.error(
        { component: 'recovery', workDir: dir, err: errorMessage(err) },
        'recovering recording failed, retried at the next start',
      );
    }
  }
  return recovered;
}
