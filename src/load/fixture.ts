// The load generator's input: one pre-encoded H.264 + AAC FLV, made once with ffmpeg's test sources and reused.
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runFfmpeg } from '../ffmpeg/process.js';
import { silentLogger } from '../shared/logger.js';

/** Bumped when the recipe changes, so a cached file made by an older one is not reused. */
const RECIPE_VERSION = 1;

/** The picture size for a video bitrate: enough pixels that the bitrate is spent, as an encoder would choose. */
export function loadFixtureSize(bitrateKbps: number): string {
  if (bitrateKbps <= 800) return '640x360';
  if (bitrateKbps <= 2500) return '1280x720';
  return '1920x1080';
}

/** ffmpeg arguments for the fixture: 25 fps, a keyframe every second, near-constant bitrate, 48 kHz AAC. */
export function loadFixtureArgs(o: { bitrateKbps: number; seconds: number; output: string }): string[] {
  const kbps = `${o.bitrateKbps}k`;
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${loadFixtureSize(o.bitrateKbps)}:rate=25`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(o.seconds),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '25',
    '-keyint_min',
    '25',
    '-sc_threshold',
    '0',
    '-b:v',
    kbps,
    '-maxrate',
    kbps,
    '-bufsize',
    `${o.bitrateKbps * 2}k`,
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-ac',
    '2',
    '-f',
    'flv',
    o.output,
  ];
}

/**
 * Generates (once, cached by parameters in `dir`) an H.264+AAC FLV of `seconds` at `bitrateKbps` (video), 1 s GOP,
 * 25 fps, 48 kHz AAC, with ffmpeg; returns its path.
 */
export async function ensureLoadFixture(o: {
  ffmpegPath: string;
  dir: string;
  bitrateKbps: number;
  seconds: number;
}): Promise<string> {
  const target = join(o.dir, `load-v${RECIPE_VERSION}-${o.bitrateKbps}k-${o.seconds}s.flv`);
  const existing = await stat(target).catch(() => undefined);
  if (existing && existing.size > 0) return target;
  await mkdir(o.dir, { recursive: true });
  // Written aside and renamed, so a concurrent or interrupted run never leaves a half file under the cached name.
  const temp = `${target}.${process.pid}.${Date.now()}.tmp.flv`;
  await runFfmpeg(o.ffmpegPath, loadFixtureArgs({ ...o, output: temp }), {
    logger: silentLogger(),
    timeoutMs: Math.max(60_000, o.seconds * 5_000),
  });
  await rename(temp, target);
  return target;
}
