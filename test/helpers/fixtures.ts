import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Publisher-side ffmpeg (Debian's): encodes fixtures and pushes them. */
export const PUBLISHER_FFMPEG = process.env.PUBLISHER_FFMPEG ?? 'ffmpeg';
export const FFPROBE = process.env.FFPROBE ?? 'ffprobe';

/** Fixtures are made once per machine and reused; the version in the path changes when their recipe does. */
export const FIXTURES_DIR = join(tmpdir(), 'recorder-test-fixtures', 'v1');

export const GOP_SECONDS = 2;

const lavfiVideo = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'];
const lavfiAudio = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];
const h264 = [
  '-c:v',
  'libx264',
  '-preset',
  'ultrafast',
  '-g',
  '50',
  '-keyint_min',
  '50',
  '-sc_threshold',
  '0',
  '-pix_fmt',
  'yuv420p',
  '-b:v',
  '400k',
];
const aac = ['-c:a', 'aac', '-b:a', '64k'];

const RECIPES: Record<string, string[]> = {
  // 40 s of H.264 + AAC, keyframe every 2 s.
  'av.flv': [...lavfiVideo, ...lavfiAudio, ...h264, ...aac, '-t', '40'],
  'audio.flv': [...lavfiAudio, ...aac, '-t', '20'],
  'video.flv': [...lavfiVideo, ...h264, '-t', '20'],
};

export type Fixture = keyof typeof RECIPES & string;

export function fixturePath(name: 'av.flv' | 'audio.flv' | 'video.flv'): string {
  return join(FIXTURES_DIR, name);
}

/** Encodes any missing fixture with ffmpeg's lavfi sources. */
export function ensureFixtures(): void {
  mkdirSync(FIXTURES_DIR, { recursive: true });
  for (const [name, recipe] of Object.entries(RECIPES)) {
    const target = join(FIXTURES_DIR, name);
    if (existsSync(target)) continue;
    const temp = `${target}.${process.pid}.tmp`;
    execFileSync(PUBLISHER_FFMPEG, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      ...recipe,
      '-f',
      'flv',
      temp,
    ]);
    renameSync(temp, target);
  }
}

/**
 * A current ffmpeg (9.0.2) that reads HEVC and AV1 over enhanced RTMP and FLV codec id 12: `scripts/ffmpeg.sh
 * install` fetches it once from PyPI's imageio-ffmpeg wheel and caches it; later calls only print its path.
 */
export function capableFfmpeg(): string {
  return execFileSync(resolve(import.meta.dirname, '../../scripts/ffmpeg.sh'), ['install'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}
