import { spawn } from 'node:child_process';
import { PUBLISHER_FFMPEG } from './fixtures.js';
import type { Publisher } from './recorder.js';

/**
 * A test pattern whose colour says the time: a flat field whose hue steps 60° every second (red, yellow, green,
 * cyan, blue, magenta, red again), a keyframe every second, and a 440 Hz tone. Pushed live for `seconds`.
 */
export function pushColourClock(url: string, seconds: number): Publisher {
  const child = spawn(
    PUBLISHER_FFMPEG,
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      `color=c=red:s=320x180:r=25:d=${seconds},hue=H=PI*floor(t)/3`,
      '-f',
      'lavfi',
      '-i',
      `sine=f=440:r=44100:d=${seconds}`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-g',
      '25',
      '-c:a',
      'aac',
      '-f',
      'flv',
      url,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0) console.error(`colour clock publisher exited ${code}: ${stderr}`);
      resolve(code);
    }),
  );
  return { child, exited };
}

/** The hue (degrees) of an RGB colour; undefined for a grey (no hue to speak of). */
export function hueOf([r, g, b]: readonly number[]): number | undefined {
  const max = Math.max(r!, g!, b!);
  const min = Math.min(r!, g!, b!);
  if (max - min < 40) return undefined;
  const d = max - min;
  const h = max === r ? ((g! - b!) / d) % 6 : max === g ? (b! - r!) / d + 2 : (r! - g!) / d + 4;
  return (h * 60 + 360) % 360;
}

/** The hue the colour clock shows at `seconds` into its push. */
export function clockHue(seconds: number): number {
  return (Math.floor(seconds) * 60) % 360;
}

/** How far apart two hues are, degrees (0..180). */
export function hueDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
}
