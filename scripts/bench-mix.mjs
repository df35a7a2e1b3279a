// The cost of a mix: concurrent automatic room mixes of N inputs (from the load generator, in processes of
// their own) at a size and frame rate, and the same mix as a bare ffmpeg command on the same inputs (the
// fixture file read at real-time pace), side by side. Reports CPU % of one core per mix (the mix's ffmpeg
// tree), the recorder process's own CPU, RSS and PSS per mix, output frames per second and frames lost,
// and whether every mix kept real time. No speed is asserted anywhere: the figures go to docs/.
//   node --import tsx scripts/bench-mix.mjs [--inputs 2,4,9] [--sizes 640x360,1280x720] [--mixes 1,2]
//     [--fps 15] [--duration 30] [--warmup 8] [--preset veryfast] [--out docs/bench-mix] [--smoke]
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { LoadProcess } from '../src/bench/load-process.ts';
import { ProcSampler, summarizeSamples } from '../src/bench/proc-sampler.ts';
import { resolveFfmpegPath } from '../src/ffmpeg/locate.ts';
import { countPackets } from '../src/ffmpeg/probe.ts';
import { ensureLoadFixture } from '../src/load/fixture.ts';
import { buildMixGraph, mixEncodeArgs } from '../src/mix/filter-graph.ts';
import { isRefusal, layoutMix } from '../src/mix/layout.ts';
import { roomMixRequest } from '../src/mix/room-mix.ts';
import { startCallbackReceiver } from '../test/helpers/callback-receiver.ts';
import { startRecorder } from '../test/helpers/recorder.ts';

const { values: args } = parseArgs({
  options: {
    inputs: { type: 'string', default: '2,4,9' },
    sizes: { type: 'string', default: '640x360,1280x720' },
    mixes: { type: 'string', default: '1,2' },
    fps: { type: 'string', default: '15' },
    duration: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '8' },
    preset: { type: 'string', default: 'veryfast' },
    out: { type: 'string', default: 'docs/bench-mix' },
    smoke: { type: 'boolean', default: false },
  },
});
const list = (s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
const smoke = args.smoke;
const inputsList = (smoke ? ['2'] : list(args.inputs)).map(Number);
const sizes = (smoke ? ['640x360'] : list(args.sizes)).map((s) => s.split('x').map(Number));
const mixesList = (smoke ? ['2'] : list(args.mixes)).map(Number);
const fps = Number(args.fps);
const duration = smoke ? 10 : Number(args.duration);
const warmup = smoke ? 4 : Number(args.warmup);
for (const [what, ok] of [
  ['--inputs (1..16)', inputsList.every((n) => Number.isInteger(n) && n >= 1 && n <= 16)],
  ['--sizes (WxH)', sizes.every(([w, h]) => w >= 16 && h >= 16)],
  ['--mixes (1..16)', mixesList.every((n) => Number.isInteger(n) && n >= 1 && n <= 16)],
  ['--fps (1..60)', fps >= 1 && fps <= 60],
  ['--duration (≥ 5)', duration >= 5],
]) {
  if (!ok) {
    console.error(`bench-mix: ${what} is out of range`);
    process.exit(2);
  }
}
const ffmpeg = resolveFfmpegPath(undefined);
const ffprobe = process.env.FFPROBE ?? 'ffprobe';
const sleep = (ms) => delay(ms);
const fixture = await ensureLoadFixture({
  ffmpegPath: process.env.PUBLISHER_FFMPEG ?? 'ffmpeg',
  dir: join(tmpdir(), 'recorder-bench-fixtures'),
  bitrateKbps: 800,
  seconds: 30,
});
const PATTERN = '^(?<app>\\d+)_(?<room>\\d+)_u(?<user>\\d+)$';
const DOMAIN = 'bench.local';

/** c room mixes of n inputs in the recorder, measured over `duration` after `warmup`. */
async function recorderCase(n, [width, height], c) {
  const receiver = await startCallbackReceiver();
  const rec = await startRecorder({
    record: { auto: false, formats: ['mp4'] },
    callback: { url: receiver.url, domain: DOMAIN },
    mix: {
      x264Preset: args.preset,
      auto: { enabled: true, pattern: PATTERN, minInputs: n, idleSeconds: 1, width, height, frameRate: fps },
    },
  });
  try {
    const now = Date.now();
    // Only the mixes' outputs are recorded: a task per output (StreamType 1), so the inputs cost no ffmpeg.
    for (let room = 1; room <= c; room++) {
      await rec.recorder.tasks.create(
        {
          domainName: DOMAIN,
          appName: 'live',
          streamName: `1400000001_${room}_mix`,
          endTime: Math.floor(now / 1000) + 3600,
          streamType: 1,
        },
        now,
      );
    }
    const loads = Array.from(
      { length: c },
      (_, i) =>
        new LoadProcess({
          url: `rtmp://127.0.0.1:${rec.recorder.rtmpPort}/live`,
          streams: n,
          prefix: `1400000001_${i + 1}_u`,
          fixture,
          durationSeconds: warmup + duration + 6,
          rampMs: 500,
        }),
    );
    const sessions = Array.from({ length: c }, (_, i) => `auto_live_1400000001_${i + 1}`);
    const deadline = Date.now() + 60_000;
    while (!sessions.every((s) => rec.recorder.mixes.mixerOf(s)?.publishing)) {
      if (Date.now() > deadline) throw new Error('the mixes did not start within 60 s');
      await sleep(200);
    }
    await sleep(warmup * 1000);
    const roots = new Map(sessions.map((s) => [s, rec.recorder.mixes.mixerOf(s).pid]));
    roots.set('recorder', process.pid);
    const sampler = new ProcSampler(roots, 1000);
    const from = Date.now();
    await sampler.start();
    await sleep(duration * 1000);
    sampler.stop();
    const to = Date.now();
    const mixes = sessions.map((s) => summarizeSamples(sampler.samples(s), from, to));
    const own = summarizeSamples(sampler.samples('recorder'), from, to);
    await Promise.all(loads.map((l) => l.final.catch(() => [])));
    const files = await receiver.waitFor((b) => b.event_type === 100, c, 60_000);
    const rates = [];
    for (const body of files) {
      const path = join(rec.dataDir, decodeURIComponent(new URL(String(body.video_url)).pathname));
      const { video } = await countPackets(ffprobe, path);
      rates.push({ frames: video, seconds: Number(body.duration) });
    }
    const outputFps = rates.map((r) => r.frames / r.seconds);
    const lost = rates.map((r) => Math.max(0, Math.round(r.seconds * fps) - r.frames));
    return {
      cpuPerMix: mean(mixes.map((m) => m.cpuPercent)),
      recorderProcessCpu: own.rootCpuPercent,
      rssPerMixMiB: mean(mixes.map((m) => m.rssMiB)),
      pssPerMixMiB: mean(mixes.map((m) => m.pssMiB)),
      outputFps: Math.min(...outputFps),
      lostFrames: lost.reduce((a, b) => a + b, 0),
      realTime: outputFps.every((f) => f >= fps * 0.95),
    };
  } finally {
    await rec.stop();
    await receiver.close();
  }
}

/** The same c mixes as bare ffmpeg commands reading the fixture at real-time pace, to /dev/null. */
async function bareCase(n, [width, height], c) {
  const config = { template: 'grid', width, height, frameRate: fps, audioBitrateKbps: 64 };
  const members = Array.from({ length: n }, (_, i) => `u${i}`);
  const layout = layoutMix(roomMixRequest('bare', 'live', members, 'out', config), () => undefined, {
    fit: 'contain',
  });
  if (isRefusal(layout)) throw new Error(layout.message);
  const graph = buildMixGraph(layout, (name) => members.indexOf(name.split('/')[1]) + 1);
  const seconds = warmup + duration + 2;
  const argv = [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-stats'],
    ...[
      '-f',
      'lavfi',
      '-i',
      `color=c=black:s=${width}x${height}:r=${fps}[out0];anullsrc=r=48000:cl=stereo[out1]`,
    ],
    ...members.flatMap(() => ['-re', '-stream_loop', '-1', '-i', fixture]),
    ...mixEncodeArgs(layout, graph, args.preset),
    ...['-t', String(seconds), '-f', 'flv', '-y', '/dev/null'],
  ];
  const children = Array.from({ length: c }, () =>
    spawn(ffmpeg, argv, { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  const frames = children.map(() => 0);
  children.forEach((child, i) =>
    child.stderr.setEncoding('utf8').on('data', (d) => {
      const all = [...d.matchAll(/frame=\s*(\d+)/g)];
      if (all.length) frames[i] = Number(all.at(-1)[1]);
    }),
  );
  const exited = Promise.all(children.map((child) => new Promise((done) => child.on('close', done))));
  await sleep(warmup * 1000);
  const roots = new Map(children.map((child, i) => [`bare${i}`, child.pid]));
  const sampler = new ProcSampler(roots, 1000);
  const from = Date.now();
  const startFrames = [...frames];
  await sampler.start();
  await sleep(duration * 1000);
  sampler.stop();
  const to = Date.now();
  const fpsOut = frames.map((f, i) => (f - startFrames[i]) / ((to - from) / 1000));
  await exited;
  const sums = children.map((_, i) => summarizeSamples(sampler.samples(`bare${i}`), from, to));
  return {
    cpuPerMix: mean(sums.map((s) => s.cpuPercent)),
    rssPerMixMiB: mean(sums.map((s) => s.rssMiB)),
    pssPerMixMiB: mean(sums.map((s) => s.pssMiB)),
    outputFps: Math.min(...fpsOut),
    realTime: fpsOut.every((f) => f >= fps * 0.95),
  };
}

function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

const rows = [];
for (const n of inputsList) {
  for (const size of sizes) {
    for (const c of mixesList) {
      const recorder = await recorderCase(n, size, c);
      const bare = await bareCase(n, size, c);
      const row = {
        inputs: n,
        size: size.join('x'),
        fps,
        mixes: c,
        preset: args.preset,
        recorder: Object.fromEntries(
          Object.entries(recorder).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v]),
        ),
        bare: Object.fromEntries(
          Object.entries(bare).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v]),
        ),
        // The mix's ffmpeg against the bare command: what the feeds and pipes cost ffmpeg.
        cpuRatio: round(recorder.cpuPerMix / bare.cpuPerMix, 2),
        // With the recorder process's share too (its ingest of the pushes and the feeds; the bare command
        // reads files and has no ingest): the whole cost of a mix on this box.
        totalRatio: round((recorder.cpuPerMix + recorder.recorderProcessCpu / c) / bare.cpuPerMix, 2),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
const table = [
  '| inputs | output | mixes | recorder: CPU % per mix | recorder process CPU % | bare ffmpeg: CPU % per mix | ratio (ffmpeg) | ratio (with the recorder process) | output fps (recorder / bare) | frames lost | real time | PSS MiB per mix (recorder / bare) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.inputs} | ${r.size}@${r.fps} | ${r.mixes} | ${r.recorder.cpuPerMix} | ${r.recorder.recorderProcessCpu} | ${r.bare.cpuPerMix} | ${r.cpuRatio} | ${r.totalRatio} | ${r.recorder.outputFps} / ${r.bare.outputFps} | ${r.recorder.lostFrames} | ${r.recorder.realTime ? 'yes' : 'no'} | ${r.recorder.pssPerMixMiB} / ${r.bare.pssPerMixMiB} |`,
  ),
].join('\n');
const report = { started: new Date().toISOString(), preset: args.preset, duration, warmup, rows };
await mkdir(args.out, { recursive: true });
await writeFile(join(args.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(args.out, 'table.md'), `${table}\n`);
console.log(table);
