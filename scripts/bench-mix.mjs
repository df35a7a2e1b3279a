// The cost of a mix: concurrent automatic room mixes of N inputs (pushed by the load generator, in a process of
// its own) in a recorder started as its own process, and the same mixes as bare ffmpeg commands taking the same
// pushes on their own RTMP inputs (`-listen 1`) and writing the same MP4, side by side. For each case it reports
// CPU % of one core per mix (the whole recorder tree above its idle cost, and the mix's ffmpeg alone), RSS and
// PSS, output frames per second, frames lost and duplicated on the output's time line, how the lag of the
// output behind the wall clock grew, and whether every mix kept real time. `--search` looks for the most
// concurrent mixes that keep real time, for the recorder and for the bare command apart. No speed is asserted
// anywhere: the figures go to docs/.
//   node --import tsx scripts/bench-mix.mjs [--inputs 2,4,9] [--sizes 640x360,1280x720] [--mixes 1,2 | --search]
//     [--max 24] [--fps 15] [--duration 20] [--warmup 8] [--preset veryfast] [--out docs/bench-mix] [--smoke]
//     [--sides recorder,bare] [--profile DIR]
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { LoadProcess } from '../src/bench/load-process.ts';
import { mixChart } from '../src/bench/mix-chart.ts';
import { frameTimeline, keepsRealTime, nextConcurrency } from '../src/bench/mix-frames.ts';
import { ProcSampler, summarizeSamples } from '../src/bench/proc-sampler.ts';
import { freePorts, startService, stdoutLine } from '../src/bench/service.ts';
import { recorderBenchConfig } from '../src/bench/targets/recorder.ts';
import { resolveFfmpegPath } from '../src/ffmpeg/locate.ts';
import { videoPacketTimes } from '../src/ffmpeg/probe.ts';
import { ensureLoadFixture } from '../src/load/fixture.ts';
import { backgroundInput, buildMixGraph, mixEncodeArgs } from '../src/mix/filter-graph.ts';
import { isRefusal, layoutMix } from '../src/mix/layout.ts';
import { roomMixRequest } from '../src/mix/room-mix.ts';
import { startCallbackReceiver } from '../test/helpers/callback-receiver.ts';
import { liveClient } from '../test/helpers/mix.ts';

const { values: args } = parseArgs({
  options: {
    inputs: { type: 'string', default: '2,4,9' },
    sizes: { type: 'string', default: '640x360,1280x720' },
    mixes: { type: 'string', default: '1,2' },
    search: { type: 'boolean', default: false },
    sides: { type: 'string', default: 'recorder,bare' },
    max: { type: 'string', default: '24' },
    fps: { type: 'string', default: '15' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '8' },
    preset: { type: 'string', default: 'veryfast' },
    out: { type: 'string', default: 'docs/bench-mix' },
    smoke: { type: 'boolean', default: false },
    // Writes the recorder's CPU profile (node --cpu-prof) of each run into this directory.
    profile: { type: 'string' },
  },
});
const list = (s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
const smoke = args.smoke;
const search = args.search && !smoke;
const inputsList = (smoke ? ['2'] : list(args.inputs)).map(Number);
const sizes = (smoke ? ['640x360'] : list(args.sizes)).map((s) => s.split('x').map(Number));
const mixesList = (smoke ? ['2'] : list(args.mixes)).map(Number);
const maxMixes = Number(args.max);
const sides = list(args.sides);
const fps = Number(args.fps);
const duration = smoke ? 10 : Number(args.duration);
const warmup = smoke ? 4 : Number(args.warmup);
for (const [what, ok] of [
  ['--inputs (1..16)', inputsList.every((n) => Number.isInteger(n) && n >= 1 && n <= 16)],
  ['--sizes (WxH)', sizes.every(([w, h]) => w >= 16 && h >= 16)],
  ['--mixes (1..64)', mixesList.every((n) => Number.isInteger(n) && n >= 1 && n <= 64)],
  ['--max (1..64)', Number.isInteger(maxMixes) && maxMixes >= 1 && maxMixes <= 64],
  ['--fps (1..60)', fps >= 1 && fps <= 60],
  ['--sides (recorder, bare)', sides.length > 0 && sides.every((s) => s === 'recorder' || s === 'bare')],
  ['--duration (≥ 5)', duration >= 5],
]) {
  if (!ok) {
    console.error(`bench-mix: ${what} is out of range`);
    process.exit(2);
  }
}
const ffmpeg = resolveFfmpegPath(undefined);
const ffprobe = process.env.FFPROBE ?? 'ffprobe';
// The recorder runs from its build, as `npm start` runs it (built first when the sources are newer).
const ROOT = fileURLToPath(new URL('..', import.meta.url));
execFileSync(process.execPath, ['scripts/build-if-needed.mjs'], { cwd: ROOT, stdio: 'inherit' });
const CLI = join(ROOT, 'dist/src/cli.js');
const fixture = await ensureLoadFixture({
  ffmpegPath: process.env.PUBLISHER_FFMPEG ?? 'ffmpeg',
  dir: join(tmpdir(), 'recorder-bench-fixtures'),
  bitrateKbps: 800,
  seconds: 30,
});
const PATTERN = '^(?<app>\\d+)_(?<room>\\d+)_u(?<user>\\d+)$';
const DOMAIN = 'bench.local';
const KEY = { secretId: 'AKIDbenchmix', secretKey: 'bench-mix-secret' };
const agent = new Agent({ keepAlive: false });
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** What every mix's output MP4 says: the worst rate, and the frames lost and duplicated in all. */
async function outputFrames(files) {
  const timelines = await Promise.all(
    files.map(async (file) => frameTimeline(await videoPacketTimes(ffprobe, file), fps)),
  );
  return {
    outputFps: Math.min(...timelines.map((t) => t.fps)),
    lostFrames: timelines.reduce((n, t) => n + t.lost, 0),
    duplicatedFrames: timelines.reduce((n, t) => n + t.duplicated, 0),
    // The first gaps of each output (seconds from its first frame: frames missing), to tell a join from a stall.
    gaps: timelines.map((t) =>
      t.gaps
        .slice(0, 8)
        .map((g) => `${g.at}:${g.frames}`)
        .join(' '),
    ),
  };
}

/** c room mixes of n inputs in a recorder of its own, measured over `duration` after `warmup`. */
async function recorderCase(n, [width, height], c) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-mix-recorder-'));
  const receiver = await startCallbackReceiver();
  const [rtmpPort, httpPort] = await freePorts(2);
  const config = recorderBenchConfig({
    dir,
    rtmpPort,
    httpPort,
    formats: ['mp4'],
    segmentSeconds: 4,
    callbackUrl: receiver.url,
    extra: {
      record: { auto: false },
      callback: { domain: DOMAIN },
      api: { credentials: [KEY] },
      mix: {
        x264Preset: args.preset,
        auto: {
          enabled: true,
          pattern: PATTERN,
          minInputs: n,
          idleSeconds: 1,
          width,
          height,
          frameRate: fps,
        },
      },
    },
  });
  await writeFile(join(dir, 'recorder.json'), JSON.stringify(config, null, 2));
  const service = await startService({
    command: process.execPath,
    args: [
      ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : []),
      CLI,
      ...['serve', '--config', join(dir, 'recorder.json')],
    ],
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
    },
    logFile: join(dir, 'recorder.log'),
    ready: stdoutLine('recorder ready'),
  });
  const base = `http://127.0.0.1:${httpPort}`;
  const sessionsNow = async () => (await (await globalThis.fetch(`${base}/api/mixes`)).json()).mixes;
  const loads = [];
  try {
    // Only the mixes' outputs are recorded: a task per output (StreamType 1), so the inputs cost no ffmpeg.
    const client = liveClient(httpPort, KEY, agent);
    for (let room = 1; room <= c; room++) {
      await client.CreateRecordTask({
        StreamName: `1400000001_${room}_mix`,
        AppName: 'live',
        DomainName: DOMAIN,
        EndTime: Math.floor(Date.now() / 1000) + 3600,
        StreamType: 1,
      });
    }
    // The recorder's idle cost, measured before any push once its start has settled: a fixed cost of the
    // service, not of a mix.
    await sleep(3000);
    const idleSampler = new ProcSampler(new Map([['recorder', service.pid]]), 1000);
    await idleSampler.start();
    await sleep(8000);
    idleSampler.stop();
    const idle = summarizeSamples(idleSampler.samples('recorder'));

    for (let i = 0; i < c; i++) {
      loads.push(
        new LoadProcess({
          url: `rtmp://127.0.0.1:${rtmpPort}/live`,
          streams: n,
          prefix: `1400000001_${i + 1}_u`,
          fixture,
          durationSeconds: warmup + duration + 10 + c,
          rampMs: 500,
        }),
      );
    }
    const deadline = Date.now() + 60_000 + c * 2000;
    while ((await sessionsNow()).filter((m) => m.publishing).length < c) {
      if (Date.now() > deadline) throw new Error(`the ${c} mixes did not start within the deadline`);
      await sleep(200);
    }
    await sleep(warmup * 1000);
    const first = await sessionsNow();
    const roots = new Map(first.map((m) => [m.sessionId, m.pid]));
    roots.set('recorder', service.pid);
    const sampler = new ProcSampler(roots, 1000);
    const from = Date.now();
    await sampler.start();
    await sleep(duration * 1000);
    sampler.stop();
    const to = Date.now();
    const last = await sessionsNow();
    const lagGrowth = first.map(
      (m) => (last.find((l) => l.sessionId === m.sessionId)?.lagMs ?? Infinity) - m.lagMs,
    );
    const restarted = first.filter(
      (m) => last.find((l) => l.sessionId === m.sessionId)?.pid !== m.pid,
    ).length;
    const tree = summarizeSamples(sampler.samples('recorder'), from, to);
    const mixes = first.map((m) => summarizeSamples(sampler.samples(m.sessionId), from, to));
    await Promise.all(loads.map((l) => l.final.catch(() => [])));
    const files = await receiver.waitFor((b) => b.event_type === 100, c, 60_000 + c * 5000);
    const frames = await outputFrames(
      files.map((body) =>
        join(String(config.dataDir), decodeURIComponent(new URL(String(body.video_url)).pathname)),
      ),
    );
    const mixCpu = mixes.reduce((a, m) => a + m.cpuPercent, 0);
    const result = {
      // The whole tree above its idle cost, per mix: ingest, feeds, mix ffmpeg, the output's recording.
      cpuPerMix: (tree.cpuPercent - idle.cpuPercent) / c,
      mixFfmpegCpuPerMix: mixCpu / c,
      recorderProcessCpu: tree.rootCpuPercent,
      idleCpu: idle.cpuPercent,
      recordingFfmpegCpu: Math.max(0, tree.cpuPercent - tree.rootCpuPercent - mixCpu),
      rssPerMixMiB: mean(mixes.map((m) => m.rssMiB)),
      pssPerMixMiB: mean(mixes.map((m) => m.pssMiB)),
      treePssMiB: tree.pssMiB,
      ...frames,
      lagGrowthMs: Math.max(...lagGrowth),
      restarts: restarted,
    };
    return {
      ...result,
      realTime:
        keepsRealTime({ fps: result.outputFps, lagGrowthMs: result.lagGrowthMs }, fps) && restarted === 0,
    };
  } finally {
    for (const load of loads) load.child.kill('SIGTERM');
    await service.stop('SIGTERM', 60_000);
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The same c mixes as bare ffmpeg commands taking the pushes on their own RTMP inputs and writing MP4. */
async function bareCase(n, [width, height], c) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-mix-bare-'));
  const config = { template: 'grid', width, height, frameRate: fps, audioBitrateKbps: 64 };
  const members = Array.from({ length: n }, (_, i) => `u${i}`);
  const layout = layoutMix(roomMixRequest('bare', 'live', members, 'out', config), () => undefined, {
    fit: 'contain',
  });
  if (isRefusal(layout)) throw new Error(layout.message);
  const graph = buildMixGraph(layout, (name) => members.indexOf(name.split('/')[1]) + 1);
  const ports = await freePorts(n * c);
  const outputs = Array.from({ length: c }, (_, k) => join(dir, `bare${k}.mp4`));
  const children = outputs.map((out, k) =>
    spawn(
      ffmpeg,
      [
        ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-stats'],
        ...backgroundInput(layout),
        ...ports
          .slice(k * n, (k + 1) * n)
          .flatMap((port) => [
            ...['-thread_queue_size', '512', '-analyzeduration', '1000000', '-listen', '1'],
            ...['-i', `rtmp://127.0.0.1:${port}/live/in`],
          ]),
        ...mixEncodeArgs(layout, graph, args.preset),
        ...['-f', 'mp4', '-y', out],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  // ffmpeg's progress: the last frame count and output time it printed.
  const progress = children.map(() => ({ frames: 0, seconds: 0 }));
  children.forEach((child, i) =>
    child.stderr.setEncoding('utf8').on('data', (d) => {
      const frame = [...d.matchAll(/frame=\s*(\d+)/g)].at(-1);
      const time = [...d.matchAll(/time=(\d+):(\d+):([\d.]+)/g)].at(-1);
      if (frame) progress[i].frames = Number(frame[1]);
      if (time) progress[i].seconds = Number(time[1]) * 3600 + Number(time[2]) * 60 + Number(time[3]);
    }),
  );
  const exited = Promise.all(children.map((child) => new Promise((done) => child.on('close', done))));
  // Its inputs open one after another: each push waits (connection refused) until its port listens.
  const loads = Array.from(
    { length: c },
    (_, k) =>
      new LoadProcess({
        url: ports
          .slice(k * n, (k + 1) * n)
          .map((port) => `rtmp://127.0.0.1:${port}/live`)
          .join(','),
        streams: n,
        prefix: `bare${k}_u`,
        fixture,
        durationSeconds: warmup + duration + 30 + 2 * n,
        rampMs: 0,
        connectWaitMs: 60_000,
      }),
  );
  try {
    const deadline = Date.now() + 60_000 + n * 3000;
    while (!progress.every((p) => p.frames > 0)) {
      if (Date.now() > deadline) throw new Error('the bare commands did not start within the deadline');
      await sleep(200);
    }
    await sleep(warmup * 1000);
    const roots = new Map(children.map((child, i) => [`bare${i}`, child.pid]));
    const sampler = new ProcSampler(roots, 1000);
    const from = Date.now();
    const start = progress.map((p) => ({ ...p }));
    await sampler.start();
    await sleep(duration * 1000);
    sampler.stop();
    const to = Date.now();
    const wall = (to - from) / 1000;
    const lagGrowth = progress.map((p, i) => (wall - (p.seconds - start[i].seconds)) * 1000);
    // SIGINT: ffmpeg ends its MP4 properly.
    for (const child of children) child.kill('SIGINT');
    await exited;
    const sums = children.map((_, i) => summarizeSamples(sampler.samples(`bare${i}`), from, to));
    const result = {
      cpuPerMix: mean(sums.map((s) => s.cpuPercent)),
      rssPerMixMiB: mean(sums.map((s) => s.rssMiB)),
      pssPerMixMiB: mean(sums.map((s) => s.pssMiB)),
      ...(await outputFrames(outputs)),
      lagGrowthMs: Math.max(...lagGrowth),
    };
    return {
      ...result,
      realTime: keepsRealTime({ fps: result.outputFps, lagGrowthMs: result.lagGrowthMs }, fps),
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    for (const load of loads) load.child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

const rounded = (o) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v]));

/** Runs one side at c mixes; a run that fails to start counts as not keeping real time. */
async function measure(side, n, size, c) {
  try {
    return rounded(await (side === 'recorder' ? recorderCase : bareCase)(n, size, c));
  } catch (err) {
    console.error(`bench-mix: ${side}, ${n} inputs, ${size.join('x')}, ${c} mixes: ${err.message}`);
    return { realTime: false, error: err.message };
  }
}

const rows = [];
const cases = [];
for (const n of inputsList) {
  for (const size of sizes) {
    const runs = { recorder: new Map(), bare: new Map() };
    if (search) {
      for (const side of sides) {
        const held = [];
        const failed = [];
        for (
          let c = nextConcurrency(held, failed, maxMixes);
          c !== undefined;
          c = nextConcurrency(held, failed, maxMixes)
        ) {
          const result = await measure(side, n, size, c);
          runs[side].set(c, result);
          (result.realTime ? held : failed).push(c);
          console.log(JSON.stringify({ side, inputs: n, size: size.join('x'), mixes: c, ...result }));
        }
      }
    } else {
      for (const c of mixesList) {
        for (const side of sides) runs[side].set(c, await measure(side, n, size, c));
      }
    }
    const levels = [...new Set([...runs.recorder.keys(), ...runs.bare.keys()])].sort((a, b) => a - b);
    for (const c of levels) {
      const recorder = runs.recorder.get(c);
      const bare = runs.bare.get(c);
      const row = { inputs: n, size: size.join('x'), fps, mixes: c, preset: args.preset, recorder, bare };
      if (recorder?.cpuPerMix && bare?.cpuPerMix) {
        // The recorder's whole cost of a mix against the bare command's, and its mix ffmpeg's alone.
        row.cpuRatio = round(recorder.cpuPerMix / bare.cpuPerMix, 2);
        row.mixFfmpegRatio = round(recorder.mixFfmpegCpuPerMix / bare.cpuPerMix, 2);
      }
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    const most = (side) => Math.max(0, ...[...runs[side]].filter(([, r]) => r.realTime).map(([c]) => c));
    cases.push({
      label: `${n} in, ${size.join('x')}`,
      maxRecorder: most('recorder'),
      maxBare: most('bare'),
      cpuRecorder: runs.recorder.get(levels[0])?.cpuPerMix ?? 0,
      cpuBare: runs.bare.get(levels[0])?.cpuPerMix ?? 0,
      searched: search,
    });
  }
}
const cell = (v) => (v === undefined ? '–' : v);
const yes = (r) => (r === undefined ? '–' : r.realTime ? 'yes' : 'no');
const table = [
  '| inputs | output | mixes | recorder: CPU % per mix (whole) | its mix ffmpeg | bare ffmpeg: CPU % per mix | ratio (whole) | ratio (mix ffmpeg) | output fps (recorder / bare) | frames lost (recorder / bare) | lag growth ms (recorder / bare) | real time (recorder / bare) | PSS MiB per mix ffmpeg (recorder / bare) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => {
    const a = r.recorder ?? {};
    const b = r.bare ?? {};
    return `| ${r.inputs} | ${r.size}@${r.fps} | ${r.mixes} | ${cell(a.cpuPerMix)} | ${cell(a.mixFfmpegCpuPerMix)} | ${cell(b.cpuPerMix)} | ${cell(r.cpuRatio)} | ${cell(r.mixFfmpegRatio)} | ${cell(a.outputFps)} / ${cell(b.outputFps)} | ${cell(a.lostFrames)} / ${cell(b.lostFrames)} | ${cell(a.lagGrowthMs)} / ${cell(b.lagGrowthMs)} | ${yes(r.recorder)} / ${yes(r.bare)} | ${cell(a.pssPerMixMiB)} / ${cell(b.pssPerMixMiB)} |`;
  }),
].join('\n');
const most = [
  '| inputs | output | most concurrent real-time mixes: recorder | bare ffmpeg |',
  '| --- | --- | --- | --- |',
  ...cases.map(
    (c) =>
      `| ${c.label.split(',')[0]} | ${c.label.split(', ')[1]}@${fps} | ${c.maxRecorder} | ${c.maxBare} |`,
  ),
].join('\n');
const report = {
  started: new Date().toISOString(),
  preset: args.preset,
  duration,
  warmup,
  search,
  rows,
  cases,
};
await mkdir(args.out, { recursive: true });
await writeFile(join(args.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(args.out, 'table.md'), `${search ? `${most}\n\n` : ''}${table}\n`);
await writeFile(
  join(args.out, 'chart.svg'),
  mixChart(
    cases,
    `libx264 ${args.preset}, ${fps} fps, ${duration} s windows; ${search ? 'searched' : 'fixed'} concurrency`,
  ),
);
console.log(table);
