// Kills the recorder with SIGKILL at random moments of live pushes, N times, and reports what each kill left.
// Usage: npm run chaos -- [--points 20] [--streams 3] [--seed N] [--kill alternate|recorder|tree]
//                         [--min-ms 1500] [--max-ms 12000] [--out DIR] [--keep]
// Needs a built dist/ (npm run build) and ffmpeg/ffprobe on PATH (the publisher and the checks).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos } from '../test/helpers/chaos.ts';
import { ensureFixtures } from '../test/helpers/fixtures.ts';

const { values } = parseArgs({
  options: {
    points: { type: 'string', default: '20' },
    streams: { type: 'string', default: '3' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    kill: { type: 'string', default: 'alternate' },
    'min-ms': { type: 'string', default: '1500' },
    'max-ms': { type: 'string', default: '12000' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

ensureFixtures();
const root = await mkdtemp(join(tmpdir(), 'recorder-chaos-'));
const out = values.out ?? root;
await mkdir(out, { recursive: true });
const points = Number(values.points);
console.log(`chaos: ${points} kills (${values.kill}), ${values.streams} streams each, seed ${values.seed}`);
const results = await runChaos({
  points,
  streams: Number(values.streams),
  seed: Number(values.seed),
  dataDir: join(root, 'data'),
  killAfterMs: [Number(values['min-ms']), Number(values['max-ms'])],
  kill: values.kill,
  onPoint: (p) => {
    const gaps = p.files.map((f) => f.gapSeconds);
    console.log(
      `  #${String(p.point).padStart(2)} ${p.kill.padEnd(8)} kill at ${(p.killAfterMs / 1000).toFixed(1)} s: ` +
        `${p.files.length} files, max gap ${Math.max(...gaps).toFixed(2)} s, ` +
        `recovered in ${(p.recoveryMs / 1000).toFixed(1)} s` +
        (p.unrecorded.length ? `, ${p.unrecorded.length} streams killed before any file` : '') +
        (p.missing.length ? `, MISSING ${p.missing}` : ''),
    );
  },
});

const files = results.flatMap((p) => p.files.map((f) => ({ ...f, kill: p.kill })));
const quantile = (list, q) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const summarize = (subset) => {
  const gaps = subset.map((f) => f.gapSeconds);
  return {
    files: subset.length,
    playable: subset.filter((f) => f.playable && f.decodeErrors.length === 0).length,
    hlsEnded: subset.filter((f) => f.format === 'hls' && f.ended).length,
    hls: subset.filter((f) => f.format === 'hls').length,
    announcedOnce: subset.filter((f) => f.callbacks === 1).length,
    gapP50: quantile(gaps, 0.5),
    gapP95: quantile(gaps, 0.95),
    gapMax: Math.max(...gaps),
    over2s: gaps.filter((g) => g > 2).length,
  };
};
const summary = {
  seed: Number(values.seed),
  points: results.length,
  streamsPerPoint: Number(values.streams),
  missingStreams: results.flatMap((p) => p.missing),
  unrecordedStreams: results.flatMap((p) => p.unrecorded),
  recoveryMsP50: quantile(
    results.map((p) => p.recoveryMs),
    0.5,
  ),
  all: summarize(files),
  recorderKilled: summarize(files.filter((f) => f.kill === 'recorder')),
  treeKilled: summarize(files.filter((f) => f.kill === 'tree')),
};
await writeFile(join(out, 'chaos-report.json'), JSON.stringify({ summary, results }, null, 2));
console.log('\nsummary');
console.table({
  all: summary.all,
  'recorder killed': summary.recorderKilled,
  'tree killed': summary.treeKilled,
});
console.log(
  `missing streams: ${summary.missingStreams.length}; killed before any file (< 2 s pushed): ` +
    `${summary.unrecordedStreams.length}; recovery p50 ${summary.recoveryMsP50} ms`,
);
console.log(`report: ${join(out, 'chaos-report.json')}`);
if (!values.keep) await rm(join(root, 'data'), { recursive: true, force: true });
const failed =
  summary.missingStreams.length > 0 ||
  summary.all.playable < summary.all.files ||
  summary.all.hlsEnded < summary.all.hls ||
  summary.all.announcedOnce < summary.all.files ||
  summary.all.over2s > 0;
process.exit(failed ? 1 : 0);
