import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMediamtxPath } from './targets/mediamtx.js';
import { DEBIAN_RTMP_MODULE } from './targets/nginx-rtmp.js';
import { TARGET_NAMES, type TargetName } from './targets/target.js';

const FORMATS = ['hls', 'flv', 'mp4', 'aac'] as const;

/** Everything one bench run needs, checked. */
export interface BenchOptions {
  slots: number;
  durationSeconds: number;
  bitrateKbps: number;
  /** The recorder's formats (nginx-rtmp records FLV + HLS, MediaMTX fMP4, whatever this says). */
  formats: string[];
  targets: TargetName[];
  ramp: boolean;
  /** First N of a ramp; it doubles up to `slots`. */
  rampFrom: number;
  out: string;
  segmentSeconds: number;
  /** Seconds after the last connect before sampling starts. */
  warmupSeconds: number;
  /** Merged over the recorder's generated config (e.g. {"ffmpegPath": "..."}). */
  recorderConfig: Record<string, unknown>;
  /** Node flags for the recorder's process (e.g. `--cpu-prof --cpu-prof-dir=DIR`, which NODE_OPTIONS refuses). */
  recorderNodeArgs: string[];
  nginx: string;
  nginxModule: string;
  mediamtx: string;
  /** ffmpeg that encodes the load fixture. */
  ffmpeg: string;
  ffprobe: string;
  fixtureDir: string;
  /** Keep each step's files (configs, logs, recordings). */
  keep: boolean;
}

/** The options as commander hands them over (strings, except the flags). */
export interface RawBenchOptions {
  slots?: string;
  duration?: string;
  bitrate?: string;
  formats?: string;
  target?: string;
  ramp?: boolean;
  rampFrom?: string;
  out?: string;
  segmentSeconds?: string;
  warmup?: string;
  recorderConfig?: string;
  recorderNodeArgs?: string;
  nginx?: string;
  nginxModule?: string;
  mediamtx?: string;
  ffmpeg?: string;
  ffprobe?: string;
  fixtureDir?: string;
  keep?: boolean;
}

/** A bench option out of its range. */
export class BenchOptionError extends Error {}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new BenchOptionError(`--${name} must be an integer in ${min}..${max}, not ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Checks and completes the options (pure: env is passed in). */
export function parseBenchOptions(raw: RawBenchOptions, env: NodeJS.ProcessEnv = {}): BenchOptions {
  const slots = integer('slots', raw.slots, 10, 1, 5000);
  const durationSeconds = integer('duration', raw.duration, 60, 5, 86_400);
  const segmentSeconds = integer('segment-seconds', raw.segmentSeconds, 4, 1, 60);
  const formats = (raw.formats ?? 'hls,mp4').split(',').map((f) => f.trim());
  for (const f of formats) {
    if (!(FORMATS as readonly string[]).includes(f)) {
      throw new BenchOptionError(`--formats takes ${FORMATS.join(', ')}, not ${JSON.stringify(f)}`);
    }
  }
  if (new Set(formats).size !== formats.length) throw new BenchOptionError('--formats has a format twice');
  const target = raw.target ?? 'recorder';
  let targets: TargetName[];
  if (target === 'all') targets = [...TARGET_NAMES];
  else {
    targets = target.split(',').map((t) => t.trim()) as TargetName[];
    for (const t of targets) {
      if (!(TARGET_NAMES as readonly string[]).includes(t)) {
        throw new BenchOptionError(
          `--target takes ${TARGET_NAMES.join(', ')} or all, not ${JSON.stringify(t)}`,
        );
      }
    }
  }
  let recorderConfig: Record<string, unknown> = {};
  if (raw.recorderConfig !== undefined) {
    try {
      recorderConfig = JSON.parse(raw.recorderConfig) as Record<string, unknown>;
    } catch {
      throw new BenchOptionError('--recorder-config must be a JSON object');
    }
    if (recorderConfig === null || typeof recorderConfig !== 'object' || Array.isArray(recorderConfig)) {
      throw new BenchOptionError('--recorder-config must be a JSON object');
    }
  }
  return {
    slots,
    durationSeconds,
    bitrateKbps: integer('bitrate', raw.bitrate, 1000, 50, 50_000),
    formats,
    targets,
    ramp: raw.ramp ?? false,
    rampFrom: integer('ramp-from', raw.rampFrom, Math.max(1, Math.ceil(slots / 8)), 1, slots),
    out: raw.out ?? join('docs', 'bench'),
    segmentSeconds,
    warmupSeconds: integer(
      'warmup',
      raw.warmup,
      Math.min(10, Math.floor(durationSeconds / 5)),
      0,
      durationSeconds - 2,
    ),
    recorderConfig,
    recorderNodeArgs: (raw.recorderNodeArgs ?? '').split(/\s+/).filter((a) => a !== ''),
    nginx: raw.nginx ?? 'nginx',
    nginxModule: raw.nginxModule ?? DEBIAN_RTMP_MODULE,
    mediamtx: raw.mediamtx ?? env.MEDIAMTX_PATH ?? defaultMediamtxPath(env),
    ffmpeg: raw.ffmpeg ?? env.PUBLISHER_FFMPEG ?? 'ffmpeg',
    ffprobe: raw.ffprobe ?? env.FFPROBE ?? 'ffprobe',
    fixtureDir: raw.fixtureDir ?? join(tmpdir(), 'recorder-load-fixtures'),
    keep: raw.keep ?? false,
  };
}
