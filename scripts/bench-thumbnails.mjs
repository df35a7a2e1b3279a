// What thumbnails cost: CPU seconds of the recorder's ffmpeg per hour of media, for the cover and for the sprite
// (keyframes only, as the recorder makes them) against decoding every frame. The source is a 10-minute 720p H.264
// recording at 2 Mbit/s with a 2 s GOP, made once. Needs /usr/bin/time (Debian's `time`). Run with tsx:
//   node --import tsx scripts/bench-thumbnails.mjs [--runs 3] [--out docs/thumbnails.json]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { coverArgs, spriteArgs } from '../src/ffmpeg/thumbnails.ts';
import { resolveFfmpegPath } from '../src/ffmpeg/locate.ts';
import { spriteGrid } from '../src/thumbnails/plan.ts';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, out: { type: 'string' } },
});
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  console.error('bench-thumbnails: --runs must be 1..20');
  process.exit(2);
}
if (!existsSync('/usr/bin/time')) {
  console.error('bench-thumbnails: needs /usr/bin/time (apt-get install time)');
  process.exit(1);
}
const SECONDS = 600;
const source = join(tmpdir(), 'recorder-bench-thumbnails-720p-600s.mp4');
if (!existsSync(source)) {
  console.error('making the 10-minute source…');
  execFileSync(process.env.PUBLISHER_FFMPEG ?? 'ffmpeg', [
    ...[
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=s=1280x720:r=25:d=${SECONDS}`,
    ],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-b:v', '2M', '-pix_fmt', 'yuv420p', source],
  ]);
}
const ffmpeg = resolveFfmpegPath(undefined);
const grid = spriteGrid(SECONDS, 10, { width: 1280, height: 720 });
const out = (name) => join(tmpdir(), `recorder-bench-${name}.jpg`);
// The sprite's own arguments without -skip_frame nokey: what decoding every frame would cost.
const everyFrame = spriteArgs(source, out('every'), grid).filter(
  (a, i, all) => a !== '-skip_frame' && all[i - 1] !== '-skip_frame',
);
const cases = {
  cover: coverArgs(source, out('cover'), 640),
  sprite: spriteArgs(source, out('sprite'), grid),
  'sprite, every frame decoded': everyFrame,
};

/** CPU seconds (user + system) of one ffmpeg run. */
function cpuSeconds(argv) {
  const run = spawnSync('/usr/bin/time', ['-f', '%U %S', ffmpeg, ...argv], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  const [user, system] = run.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return user + system;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = Object.entries(cases).map(([name, argv]) => {
  const samples = Array.from({ length: runs }, () => cpuSeconds(argv));
  const perHour = (median(samples) * 3600) / SECONDS;
  return {
    case: name,
    cpuSecondsPer10Min: median(samples),
    cpuSecondsPerHourOfMedia: Math.round(perHour * 10) / 10,
  };
});
const report = {
  date: new Date().toISOString(),
  ffmpeg: relative(process.cwd(), ffmpeg),
  source: '1280x720 H.264, 2 Mbit/s, 2 s GOP, 600 s',
  runs,
  results,
};
console.log(JSON.stringify(report, null, 2));
if (args.out) await writeFile(args.out, `${JSON.stringify(report, null, 2)}\n`);
