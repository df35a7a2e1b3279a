import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** `recorder-native`: the recorder with `record.engine: native` (HLS, FLV and AAC muxed in process). */
export const TARGET_NAMES = ['recorder', 'recorder-native', 'nginx-rtmp', 'mediamtx'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** The recorder under either engine; the others are its peers. */
export function isRecorder(name: TargetName): name is 'recorder' | 'recorder-native' {
  return name === 'recorder' || name === 'recorder-native';
}

/** Recorded files of one stream in one output, to count frames in. */
export interface OutputFiles {
  /** e.g. `hls`, `mp4`, `flv`, `fmp4`. */
  output: string;
  files: string[];
  /** MPEG-TS segments: one ffprobe reads them all, joined (`concat:`); else one ffprobe per file. */
  concat: boolean;
}

/** How a target tells that a segment closed. */
export type SegmentClosing =
  /** The file appears only once closed (the recorder stores a segment after ffmpeg closed it). */
  | 'appears-closed'
  /** The file is opened as soon as the segment begins, so segment k closed when segment k+1 appeared. */
  | 'next-opens';

/** A running target: one server on loopback, recording every publish into its own dir. */
export interface TargetInstance {
  readonly name: TargetName;
  /** Root of the process tree to sample (the server and its ffmpeg children, workers). */
  readonly pid: number;
  /** RTMP URL up to the app, e.g. rtmp://127.0.0.1:1935/live. */
  readonly publishUrl: string;
  /** Dirs the segment watcher lists. */
  readonly segmentDirs: string[];
  readonly segmentClosing: SegmentClosing;
  /** The stream a segment file belongs to, or undefined when it is not a segment. */
  segmentStream(path: string): string | undefined;
  /** Waits for the target's work after the publishers left (finalizing files), then stops it. Idempotent. */
  stop(): Promise<void>;
  /** Recorded files, per output, of one stream; read after stop(). */
  outputs(stream: string): Promise<OutputFiles[]>;
  /** Files of the target's own logs, for the report. */
  readonly logFile: string;
}

export interface TargetStartOptions {
  /** Empty dir the target owns. */
  dir: string;
  formats: readonly string[];
  segmentSeconds: number;
  /** Number of publishers it will get (the recorder waits for that many callbacks before it stops). */
  streams: number;
}

/** Files in dir whose name passes the filter, sorted by name with numbers compared as numbers. */
export async function listFiles(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter(keep)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((name) => join(dir, name));
}
