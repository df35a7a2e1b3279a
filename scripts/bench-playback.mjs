// Playback from MinIO: what proxying through the recorder's /play/ route costs against a presigned GET of the
// bucket itself. A real MinIO (scripts/minio.sh) and an in-process recorder; curl is the player, one process per
// request, so the recorder's CPU (process.cpuUsage) is its own. Run with tsx:
//   node --import tsx scripts/bench-playback.mjs [--runs 9] [--out docs/playback]
// Figures: medians of `runs` for a 64 MiB file (an MP4 download) and for 300 KB objects (HLS segments).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startMinio } from '../test/helpers/minio.ts';
import { startRecorder } from '../test/helpers/recorder.ts';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '9' }, out: { type: 'string' } },
});
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 99) {
  console.error('bench-playback: --runs must be 1..99');
  process.exit(2);
}
const log = (m) => console.error(`[bench-playback ${new Date().toISOString().slice(11, 19)}] ${m}`);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const MIB = 1024 * 1024;

/** One GET by curl: seconds to the first byte and in all, and bytes read. */
async function curl(url) {
  const { stdout } = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{time_starttransfer} %{time_total} %{size_download}',
    url,
  ]);
  const [status, first, total, size] = stdout.trim().split(' ');
  if (status !== '200') throw new Error(`GET ${url}: ${status}`);
  return { firstByte: Number(first), total: Number(total), bytes: Number(size) };
}

async function measure(url) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    const got = await curl(url);
    const cpu = process.cpuUsage(before);
    samples.push({ ...got, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
  return {
    firstByteMs: Math.round(median(samples.map((s) => s.firstByte * 1000)) * 10) / 10,
    totalMs: Math.round(median(samples.map((s) => s.total * 1000)) * 10) / 10,
    mibPerSecond: Math.round(median(samples.map((s) => s.bytes / MIB / s.total)) * 10) / 10,
    recorderCpuMs: Math.round(median(samples.map((s) => s.cpuMs)) * 10) / 10,
  };
}

const minio = await startMinio();
const rec = await startRecorder({
  storage: minio.storage('playback', { videoUrl: 'playback' }),
});
try {
  await rec.recorder.store.init();
  const objects = [
    { name: 'a 64 MiB MP4', key: 'live/big.mp4', size: 64 * MIB },
    { name: 'a 300 KB HLS segment', key: 'live/seg_000001.ts', size: 300 * 1000 },
  ];
  const results = [];
  for (const object of objects) {
    await rec.recorder.store.putBuffer(randomBytes(object.size), object.key);
    const play = `http://127.0.0.1:${rec.recorder.httpPort}/play/${object.key}`;
    const presigned = await rec.recorder.store.urlFor(object.key);
    log(`${object.name}: ${runs} GETs each way`);
    const direct = await measure(presigned);
    const proxied = await measure(play);
    results.push({
      object: object.name,
      bytes: object.size,
      presigned: direct,
      proxied,
      recorderCpuMsPerGiB: Math.round((proxied.recorderCpuMs / object.size) * 1024 * MIB),
    });
  }
  const report = { date: new Date().toISOString(), runs, results };
  console.log(JSON.stringify(report, null, 2));
  if (args.out) {
    await mkdir(args.out, { recursive: true });
    await writeFile(join(args.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  }
} finally {
  await rec.stop();
  await minio.destroy();
}
