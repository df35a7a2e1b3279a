import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { live } from 'tencentcloud-sdk-nodejs/tencentcloud/services/live/index.js';
import { FFPROBE, FIXTURES_DIR, PUBLISHER_FFMPEG } from './fixtures.js';
import { pushFile, type Publisher } from './recorder.js';

const run = promisify(execFile);

export type LiveClient = InstanceType<typeof live.v20180801.Client>;

/** The official SDK's Live client against a recorder's HTTP port (an explicit agent: no proxy from the env). */
export function liveClient(
  httpPort: number,
  credential: { secretId: string; secretKey: string },
  agent: Agent,
) {
  return new live.v20180801.Client({
    credential,
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: `127.0.0.1:${httpPort}`, protocol: 'http://', agent } },
  });
}

/**
 * A 40 s, 320x240, 25 fps fixture of one colour with a small white box moving along its top edge (the encoder
 * keeps making frames) and a tone, keyframe every second.
 */
export async function colourFixture(colour: string, hz: number): Promise<string> {
  const path = join(FIXTURES_DIR, `mix2-${colour}-${hz}.flv`);
  if (existsSync(path)) return path;
  await mkdir(FIXTURES_DIR, { recursive: true });
  const temp = `${path}.${process.pid}.tmp.flv`;
  await run(PUBLISHER_FFMPEG, [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...[
      '-f',
      'lavfi',
      '-i',
      `color=c=${colour}:s=320x240:r=25[bg];color=c=white:s=16x16:r=25[box];[bg][box]overlay=x='mod(n*4,300)':y=0:shortest=1`,
    ],
    ...['-f', 'lavfi', '-i', `sine=frequency=${hz}:sample_rate=44100`],
    ...[
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-t',
      '40',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-g',
      '25',
      '-keyint_min',
      '25',
      '-sc_threshold',
      '0',
    ],
    ...['-pix_fmt', 'yuv420p', '-b:v', '300k', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', temp],
  ]);
  await rename(temp, path);
  return path;
}

/** Pushes a fixture in real time for `seconds`, stream copy. */
export function push(file: string, url: string, seconds: number): Publisher {
  return pushFile(file, url, { seconds });
}

/** One decoded RGB frame of a file at a time (seconds), `width` pixels wide. */
export async function frameAt(
  file: string,
  seconds: number,
  width: number,
  height: number,
): Promise<RgbFrame> {
  const { stdout } = await run(
    PUBLISHER_FFMPEG,
    [
      '-v',
      'error',
      '-ss',
      String(seconds),
      '-i',
      file,
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  const data = stdout as unknown as Buffer;
  if (data.length !== width * height * 3)
    throw new Error(`frame at ${seconds}s of ${file}: ${data.length} bytes`);
  return new RgbFrame(data, width, height);
}

export class RgbFrame {
  constructor(
    readonly data: Buffer,
    readonly width: number,
    readonly height: number,
  ) {}

  /** Mean colour of the middle of a rectangle (a quarter inset on each side: edges and the moving box left out). */
  mean(x: number, y: number, w: number, h: number): [number, number, number] {
    const sum = [0, 0, 0];
    let n = 0;
    for (let row = y + Math.floor(h / 4); row < y + h - Math.floor(h / 4); row++)
      for (let col = x + Math.floor(w / 4); col < x + w - Math.floor(w / 4); col++, n++)
        for (let c = 0; c < 3; c++) sum[c]! += this.data[(row * this.width + col) * 3 + c]!;
    return sum.map((s) => Math.round(s / n)) as [number, number, number];
  }
}

/** Whether a colour is within 40 of another on each channel. */
export function near(got: readonly number[], want: readonly number[]): boolean {
  return got.every((v, i) => Math.abs(v - want[i]!) < 40);
}

/** RMS level (dB) of a tone in a file's audio over [from, from + seconds): three narrow band-passes, then astats. */
export async function toneLevel(file: string, hz: number, from = 0, seconds = 1e6): Promise<number> {
  const { stderr } = await run(PUBLISHER_FFMPEG, [
    ...['-hide_banner', '-nostats', '-ss', String(from), '-t', String(seconds), '-i', file, '-vn'],
    ...['-af', `${`bandpass=f=${hz}:width_type=q:w=8,`.repeat(3)}astats=metadata=0`, '-f', 'null', '-'],
  ]);
  return Number(
    /Overall[\s\S]*?RMS level dB: (-?[\d.]+|-inf)/.exec(stderr)?.[1]?.replace('-inf', '-200') ?? '-200',
  );
}

/** Presentation times (s) of a file's video packets. */
export async function videoTimes(file: string): Promise<number[]> {
  const { stdout } = await run(
    FFPROBE,
    ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((line) => line.trim())
    .map(Number)
    .filter((t) => Number.isFinite(t))
    .sort((a, b) => a - b);
}

/** The longest gap between consecutive times. */
export function longestGap(times: readonly number[]): number {
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}
