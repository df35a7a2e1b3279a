import { join } from 'node:path';
import type { RecordEngine, RecordFormat } from '../config/schema.js';
import { FfmpegProcess, type FfmpegExit } from '../ffmpeg/process.js';
import { flvFileHeader, type MediaPacket } from '../ingest/index.js';
import {
  NATIVE_AUDIO,
  NATIVE_AUDIO_IN,
  NATIVE_FORMATS,
  NATIVE_VIDEO,
  NativeMuxer,
  type NativeFormat,
} from '../mux/index.js';
import type { Logger } from '../shared/logger.js';
import { OUTPUTS, listFileName, workFileName, type OutputSpec } from './outputs/index.js';
import { buildRunArgs } from './run-args.js';
import { ReportedFiles, type ClosedFileSource } from './segment-list.js';
import type { Tracks } from './tracks.js';

/** What writes one run's work files: an ffmpeg process, or the native muxer in this process. */
export interface RunEngine {
  readonly pid: number | undefined;
  /** Bytes taken and not yet written (ffmpeg's stdin, or the muxer's batch). */
  readonly pendingInputBytes: number;
  readonly exited: Promise<FfmpegExit>;
  write(packet: MediaPacket): void;
  stop(graceMs: number): Promise<unknown>;
  kill(signal?: NodeJS.Signals): void;
  /** The formats whose closed files the engine reports itself (the native muxer's); the rest are read from lists. */
  readonly reported: ReadonlyMap<RecordFormat, ClosedFileSource>;
}

/** Which of a run's formats the native muxer writes, and which ffmpeg does, with why (pure). */
export interface EngineSplit {
  native: RecordFormat[];
  ffmpeg: RecordFormat[];
  /** Why ffmpeg writes what it does, when the native engine was asked for. */
  reason?: string;
}

/**
 * With the native engine, it writes the formats it knows when it carries the run's codecs in them; ffmpeg writes
 * the others (HLS as fMP4 for AV1, MP4 with MP3 audio) in the same run (pure).
 */
export function splitFormats(
  engine: RecordEngine,
  formats: readonly RecordFormat[],
  tracks: Tracks,
): EngineSplit {
  if (engine === 'ffmpeg') return { native: [], ffmpeg: [...formats] };
  const codec =
    tracks.video && !(NATIVE_VIDEO as readonly string[]).includes(tracks.video.codec)
      ? `${tracks.video.codec} video`
      : tracks.audio && !(NATIVE_AUDIO as readonly string[]).includes(tracks.audio.codec)
        ? `${tracks.audio.codec} audio`
        : undefined;
  if (codec) return { native: [], ffmpeg: [...formats], reason: `the native engine does not carry ${codec}` };
  const carries = (format: RecordFormat) =>
    (NATIVE_FORMATS as readonly string[]).includes(format) &&
    (!tracks.audio ||
      (NATIVE_AUDIO_IN[format as NativeFormat] as readonly string[]).includes(tracks.audio.codec));
  const native = formats.filter(carries);
  const ffmpeg = formats.filter((format) => !native.includes(format));
  // Only an audio codec a format does not carry leaves a format to ffmpeg here.
  const reason =
    ffmpeg.length && tracks.audio
      ? `the native engine does not write ${ffmpeg.join(', ')} with ${tracks.audio.codec} audio`
      : undefined;
  return { native, ffmpeg, ...(reason ? { reason } : {}) };
}

export interface EngineStart {
  engine: RecordEngine;
  tracks: Tracks;
  specs: readonly OutputSpec[];
  ffmpegPath: string;
  videoLeadMs: number;
  writeBatchMs: number;
  logger: Logger;
}

/** Starts what writes a run: ffmpeg, the native muxer, or both, each for its share of the formats. */
export function startEngine(start: EngineStart): { engine: RunEngine; split: EngineSplit } {
  const split = splitFormats(
    start.engine,
    start.specs.map((spec) => spec.format),
    start.tracks,
  );
  const specsOf = (formats: RecordFormat[]) => start.specs.filter((spec) => formats.includes(spec.format));
  const parts = [
    ...(split.native.length ? [nativeEngine(start, specsOf(split.native))] : []),
    ...(split.ffmpeg.length ? [ffmpegEngine(start, specsOf(split.ffmpeg))] : []),
  ];
  return { engine: parts.length === 1 ? parts[0]! : bothEngines(parts[0]!, parts[1]!), split };
}

/**
 * The native muxer and ffmpeg fed the same packets. They end together: when one fails the other is killed, so
 * the run ends as died (its open files salvaged) and the recording restarts both, as after an ffmpeg death.
 */
function bothEngines(native: RunEngine, ffmpeg: RunEngine): RunEngine {
  const exited = new Promise<FfmpegExit>((resolve) => {
    let first: FfmpegExit | undefined;
    const settle = (exit: FfmpegExit, other: RunEngine) => {
      if (first) {
        const clean = (e: FfmpegExit) => e.code === 0 && e.requested;
        resolve(clean(first) ? exit : first);
        return;
      }
      first = exit;
      if (!(exit.code === 0 && exit.requested)) other.kill('SIGKILL');
    };
    void native.exited.then((exit) => settle(exit, ffmpeg));
    void ffmpeg.exited.then((exit) => settle(exit, native));
  });
  return {
    get pid() {
      return ffmpeg.pid;
    },
    get pendingInputBytes() {
      return native.pendingInputBytes + ffmpeg.pendingInputBytes;
    },
    exited,
    write: (packet) => {
      native.write(packet);
      ffmpeg.write(packet);
    },
    stop: (graceMs) => Promise.all([native.stop(graceMs), ffmpeg.stop(graceMs)]),
    kill: (signal) => {
      native.kill(signal);
      ffmpeg.kill(signal);
    },
    reported: native.reported,
  };
}

function ffmpegEngine(start: EngineStart, specs: readonly OutputSpec[]): RunEngine {
  const { tracks } = start;
  const proc = new FfmpegProcess(start.ffmpegPath, buildRunArgs(tracks, specs, start.videoLeadMs), {
    logger: start.logger.child({ component: 'ffmpeg' }),
    writeBatchMs: start.writeBatchMs,
  });
  proc.write(flvFileHeader(Boolean(tracks.audio), Boolean(tracks.video)));
  return {
    get pid() {
      return proc.pid;
    },
    get pendingInputBytes() {
      return proc.pendingInputBytes;
    },
    exited: proc.exited,
    write: (packet) => void proc.write(packet.tag),
    stop: (graceMs) => proc.stop(graceMs),
    kill: (signal) => proc.kill(signal),
    reported: new Map(),
  };
}

function nativeEngine(start: EngineStart, specs: readonly OutputSpec[]): RunEngine {
  const { tracks } = start;
  const reported = new Map(specs.map((spec) => [spec.format, new ReportedFiles()]));
  const muxer = new NativeMuxer({
    outputs: specs.map((spec) => {
      const { pattern } = OUTPUTS[spec.format];
      const files = reported.get(spec.format)!;
      return {
        format: spec.format as NativeFormat,
        filePath: (n: number) => join(spec.dir, workFileName(pattern, n)),
        fileName: (n: number) => workFileName(pattern, n),
        listPath: join(spec.dir, listFileName(spec.format)),
        segmentSeconds: spec.segmentSeconds,
        startNumber: spec.startNumber,
        onListed: (file) => files.report(file),
      };
    }),
    ...(tracks.video ? { video: tracks.video.codec as NativeMuxerVideo } : {}),
    ...(tracks.audio ? { audio: tracks.audio.codec as NativeMuxerAudio } : {}),
    writeBatchMs: start.writeBatchMs,
    logger: start.logger.child({ component: 'native-muxer' }),
  });
  return {
    pid: undefined,
    get pendingInputBytes() {
      return muxer.pendingInputBytes;
    },
    exited: muxer.exited,
    write: (packet) => muxer.write(packet),
    stop: () => muxer.stop(),
    kill: (signal) => muxer.kill(signal),
    reported,
  };
}

type NativeMuxerVideo = (typeof NATIVE_VIDEO)[number];
type NativeMuxerAudio = (typeof NATIVE_AUDIO)[number];
