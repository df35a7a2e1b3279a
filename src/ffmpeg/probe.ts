import { spawn } from 'node:child_process';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { AppError } from '../shared/errors.js';

/** One video stream, as Tencent's MediaVideoStreamItem wants it. */
export interface VideoStreamInfo {
  codec: string;
  /** bps; 0 when the container does not say (MPEG-TS). */
  bitrate: number;
  width: number;
  height: number;
  fps: number;
}

/** One audio stream, as Tencent's MediaAudioStreamItem wants it. */
export interface AudioStreamInfo {
  codec: string;
  bitrate: number;
  samplingRate: number;
}

/** What ffprobe tells of one media file: Tencent's MediaMetaData. */
export interface MediaProbe {
  size: number;
  /** Seconds. */
  duration: number;
  /** ffprobe's format name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `flv`, `aac`, `mpegts`. */
  container: string;
  /** bps of the whole file. */
  bitrate: number;
  /** The largest of the video streams; 0 for audio only. */
  width: number;
  height: number;
  videoStreams: VideoStreamInfo[];
  audioStreams: AudioStreamInfo[];
}

export interface ProbeOptions {
  timeoutMs?: number;
}

/** Probes a local file with `ffprobe -show_format -show_streams -of json`. */
export function probeMedia(
  ffprobePath: string,
  file: string,
  options: ProbeOptions = {},
): Promise<MediaProbe> {
  return runProbe(ffprobePath, file, undefined, options);
}

/**
 * Probes an MPEG-TS stream (an HLS segment) fed through stdin. Its SDT packets are dropped on the way: static
 * ffprobe builds (@ffprobe-installer's among them) crash converting the SDT's service-name charset, and the SDT
 * holds no media facts.
 */
export function probeMpegTs(
  ffprobePath: string,
  input: Readable,
  options: ProbeOptions = {},
): Promise<MediaProbe> {
  return runProbe(ffprobePath, 'pipe:0', input.pipe(new DropTsPid(SDT_PID)), options);
}

const SDT_PID = 0x11;
const TS_PACKET = 188;

/** Drops the 188-byte MPEG-TS packets of one PID; bytes out of sync pass through untouched. */
export class DropTsPid extends Transform {
  readonly #pid: number;
  #rest = Buffer.alloc(0);

  constructor(pid: number) {
    super();
    this.#pid = pid;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const data = this.#rest.length ? Buffer.concat([this.#rest, chunk]) : chunk;
    const whole = data.length - (data.length % TS_PACKET);
    const kept: Buffer[] = [];
    for (let i = 0; i < whole; i += TS_PACKET) {
      const pid = ((data[i + 1]! & 0x1f) << 8) | data[i + 2]!;
      if (data[i] !== 0x47 || pid !== this.#pid) kept.push(data.subarray(i, i + TS_PACKET));
    }
    this.#rest = Buffer.from(data.subarray(whole));
    done(null, kept.length ? Buffer.concat(kept) : undefined);
  }

  override _flush(done: TransformCallback): void {
    done(null, this.#rest.length ? this.#rest : undefined);
  }
}

/** Packets read per track type (video and audio) in one input, with `ffprobe -count_packets`. */
export interface PacketCount {
  video: number;
  audio: number;
}

/**
 * Counts the packets of an input by reading it whole (not estimated). The input may be a file or an ffmpeg URL
 * such as `concat:a.ts|b.ts` (an HLS recording's segments read as one stream). No timeout unless given.
 */
export async function countPackets(
  ffprobePath: string,
  input: string,
  options: ProbeOptions = {},
): Promise<PacketCount> {
  const args = ['-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,nb_read_packets'];
  const json = (await runFfprobe(ffprobePath, [...args, '-of', 'json', input], undefined, {
    timeoutMs: options.timeoutMs ?? 0,
  })) as { streams?: { codec_type?: string; nb_read_packets?: string }[] };
  const count: PacketCount = { video: 0, audio: 0 };
  for (const stream of json.streams ?? []) {
    if (stream.codec_type === 'video' || stream.codec_type === 'audio')
      count[stream.codec_type] += Number(stream.nb_read_packets ?? 0);
  }
  return count;
}

/** The presentation times (s) of an input's video packets, in file order (not estimated: read whole). */
export async function videoPacketTimes(
  ffprobePath: string,
  input: string,
  options: ProbeOptions = {},
): Promise<number[]> {
  const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'json'];
  const json = (await runFfprobe(ffprobePath, [...args, input], undefined, {
    timeoutMs: options.timeoutMs ?? 0,
  })) as { packets?: { pts_time?: string }[] };
  return (json.packets ?? []).map((p) => Number(p.pts_time)).filter(Number.isFinite);
}

async function runProbe(
  ffprobePath: string,
  target: string,
  stdin: Readable | undefined,
  options: ProbeOptions,
): Promise<MediaProbe> {
  const args = ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', '-i', target];
  return parseProbeOutput(await runFfprobe(ffprobePath, args, stdin, options));
}

/** Runs ffprobe with JSON output; `timeoutMs` 0 waits as long as it takes (default 30 s). */
async function runFfprobe(
  ffprobePath: string,
  args: string[],
  stdin: Readable | undefined,
  options: ProbeOptions,
): Promise<unknown> {
  const child = spawn(ffprobePath, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-2000)));
  if (stdin && child.stdin) {
    // ffprobe may stop reading once it knows enough: a broken pipe then is expected.
    child.stdin.on('error', () => {});
    stdin.on('error', () => child.kill('SIGKILL'));
    stdin.pipe(child.stdin);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timer = timeoutMs > 0 ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined;
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: string }>(
    (resolve) => {
      child.on('error', (e) => resolve({ code: null, signal: null, spawnError: e.message }));
      child.on('close', (code, signal) => resolve({ code, signal }));
    },
  ).finally(() => {
    clearTimeout(timer);
    stdin?.unpipe();
    stdin?.destroy();
  });
  if (exit.code !== 0) {
    const why = exit.spawnError ?? `code ${exit.code}, signal ${exit.signal}`;
    throw new AppError('PROBE_FAILED', `ffprobe failed (${why}): ${err.trim().split('\n').at(-1) ?? ''}`);
  }
  return JSON.parse(Buffer.concat(out).toString('utf8')) as unknown;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  bit_rate?: string;
  sample_rate?: string;
}
interface FfprobeOutput {
  format?: { format_name?: string; duration?: string; size?: string; bit_rate?: string };
  streams?: FfprobeStream[];
}

/** ffprobe's codec names in Tencent's words, the ones event 100's `video_codec` uses (`hevc` is `h265`). */
export function codecName(ffprobeName: string): string {
  return ffprobeName === 'hevc' ? 'h265' : ffprobeName;
}

/** Turns ffprobe's JSON into a MediaProbe (pure). */
export function parseProbeOutput(json: unknown): MediaProbe {
  const { format = {}, streams = [] } = (json ?? {}) as FfprobeOutput;
  const videoStreams = streams
    .filter((s) => s.codec_type === 'video')
    .map((s) => ({
      codec: codecName(s.codec_name ?? ''),
      bitrate: int(s.bit_rate),
      width: s.width ?? 0,
      height: s.height ?? 0,
      fps: fpsOf(s),
    }));
  const audioStreams = streams
    .filter((s) => s.codec_type === 'audio')
    .map((s) => ({ codec: s.codec_name ?? '', bitrate: int(s.bit_rate), samplingRate: int(s.sample_rate) }));
  return {
    size: int(format.size),
    duration: Math.round(num(format.duration) * 1000) / 1000,
    container: format.format_name ?? '',
    bitrate: int(format.bit_rate),
    width: Math.max(0, ...videoStreams.map((s) => s.width)),
    height: Math.max(0, ...videoStreams.map((s) => s.height)),
    videoStreams,
    audioStreams,
  };
}

function num(text: string | undefined): number {
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}

function int(text: string | undefined): number {
  return Math.round(num(text));
}

/** The nominal rate (r_frame_rate), unless it is a timebase rather than a rate; then the average. */
function fpsOf(s: FfprobeStream): number {
  const nominal = rate(s.r_frame_rate);
  return nominal > 0 && nominal <= 240 ? nominal : rate(s.avg_frame_rate);
}

/** `25/1` → 25; `0/0` → 0. */
function rate(text: string | undefined): number {
  const [n, d] = (text ?? '').split('/').map(Number);
  if (!n || !d || !Number.isFinite(n / d)) return 0;
  return Math.round((n / d) * 1000) / 1000;
}
