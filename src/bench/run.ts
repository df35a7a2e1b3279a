import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { ensureLoadFixture } from '../load/fixture.js';
import type { StreamLoadStats } from '../load/generator.js';
import { CallbackReceiver } from './callbacks.js';
import { slotsChart } from './chart.js';
import { countOutputFrames, mapLimit, type FrameCount } from './frames.js';
import { LoadProcess } from './load-process.js';
import type { BenchOptions } from './options.js';
import { ProcSampler, summarizeSamples } from './proc-sampler.js';
import { ProgressBar } from './progress.js';
import {
  callbackDelays,
  outputLoss,
  overloaded,
  rampLevels,
  ratios,
  renderTable,
  stepResult,
  sustainedSlots,
  type Ratio,
  type StepResult,
} from './report.js';
import { FileWatcher, segmentLags } from './segments.js';
import { startMediamtxTarget, MEDIAMTX_VERSION } from './targets/mediamtx.js';
import { startNginxRtmpTarget } from './targets/nginx-rtmp.js';
import { startRecorderTarget } from './targets/recorder.js';
import {
  isRecorder,
  type TargetInstance,
  type TargetName,
  type TargetStartOptions,
} from './targets/target.js';

/** Seconds of fixture the load loops over. */
const FIXTURE_SECONDS = 30;
/** ffprobes run at once while counting frames (after the target has stopped, so they do not skew its figures). */
const PROBES_AT_ONCE = 2;

export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  command: string;
  host: { cpus: number; cpuModel: string; memoryGiB: number; node: string; loadAverageAtStart: number[] };
  options: Omit<BenchOptions, 'out'>;
  peers: { mediamtx: string };
  steps: StepResult[];
  /** Largest N with 0 lost frames and segment lag under one segment, per target (null: not even the first N). */
  sustainedSlots: Partial<Record<TargetName, number | null>>;
  /** The same, with frames lost counted only above the loss per stream at the target's smallest N. */
  sustainedSlotsBeyondBaseline: Partial<Record<TargetName, number | null>>;
  /** Recorder ÷ peer, per slot. */
  ratios: Ratio[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startTarget(
  name: TargetName,
  o: BenchOptions,
  base: TargetStartOptions,
  receiver: CallbackReceiver,
): Promise<TargetInstance> {
  switch (name) {
    case 'recorder':
    case 'recorder-native':
      return startRecorderTarget({
        ...base,
        callbackUrl: receiver.url,
        engine: name === 'recorder-native' ? 'native' : 'ffmpeg',
        extraConfig: o.recorderConfig,
        nodeArgs: o.recorderNodeArgs,
      });
    case 'nginx-rtmp':
      return startNginxRtmpTarget({ ...base, nginx: o.nginx, module: o.nginxModule });
    case 'mediamtx':
      return startMediamtxTarget({ ...base, mediamtx: o.mediamtx });
  }
}

/** One target under N publishers for the duration: start it, load it, sample it, stop it, check its files. */
async function runStep(
  name: TargetName,
  slots: number,
  o: BenchOptions,
  fixture: string,
  workDir: string,
  receiver: CallbackReceiver,
  progress: ProgressBar,
): Promise<StepResult> {
  const dir = join(workDir, `${name}-${slots}`);
  await mkdir(dir, { recursive: true });
  const loadAverageBefore = os.loadavg()[0]!;
  receiver.clear();
  const target = await startTarget(
    name,
    o,
    { dir, formats: o.formats, segmentSeconds: o.segmentSeconds, streams: slots },
    receiver,
  );
  const label = `${name} ×${slots}`;
  let stats: StreamLoadStats[];
  let sampler: ProcSampler | undefined;
  const watcher = new FileWatcher(target.segmentDirs);
  let windowFrom: number;
  let windowTo: number;
  try {
    watcher.start();
    // Connects are spread a little: a burst of hundreds of handshakes at once measures the accept queue, not recording.
    const rampMs = Math.min(5000, slots * 10);
    const startedAt = Date.now();
    const load = new LoadProcess({
      url: target.publishUrl,
      streams: slots,
      prefix: 's',
      fixture,
      durationSeconds: o.durationSeconds,
      rampMs,
    });
    sampler = new ProcSampler(
      new Map([
        ['target', target.pid],
        ['load', load.pid],
      ]),
    );
    await sampler.start();
    windowFrom = startedAt + rampMs + o.warmupSeconds * 1000;
    // The first publisher ends at startedAt + duration; the window closes a little before.
    windowTo = startedAt + o.durationSeconds * 1000 - 500;
    const ticker = setInterval(() => {
      const p = load.latest;
      const elapsed = (Date.now() - startedAt) / 1000;
      progress.update(
        label,
        elapsed,
        o.durationSeconds + rampMs / 1000,
        p
          ? `${Math.round(elapsed)} s, ${p.publishing}/${slots} publishing, ${p.errors} errors, ${p.videoFrames} frames`
          : '',
      );
    }, 1000);
    try {
      stats = await load.final;
    } finally {
      clearInterval(ticker);
      sampler.stop();
    }
    const errors = load.stderr().trim();
    if (errors) progress.note(`${label}: load worker said: ${errors.split('\n').slice(-3).join(' | ')}`);
    if (isRecorder(name)) {
      progress.note(`${label}: waiting for the callbacks`);
      await receiver.waitFor(slots * o.formats.length, 20_000 + slots * 100);
    }
  } finally {
    progress.note(`${label}: stopping`);
    await target.stop();
    await watcher.stop();
  }

  // Segment lag per stream, from when each segment file was first seen.
  const started = new Map(stats.map((s) => [s.stream, s.startedAtMs]));
  const byStream = new Map<string, { path: string; seenAtMs: number }[]>();
  for (const [path, seenAtMs] of watcher.firstSeen()) {
    const stream = target.segmentStream(path);
    if (stream === undefined) continue;
    const list = byStream.get(stream);
    if (list) list.push({ path, seenAtMs });
    else byStream.set(stream, [{ path, seenAtMs }]);
  }
  const lags: number[] = [];
  for (const [stream, files] of byStream) {
    const publishStartedAtMs = started.get(stream);
    if (publishStartedAtMs === undefined) continue;
    files.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
    lags.push(
      ...segmentLags({
        files,
        closing: target.segmentClosing,
        publishStartedAtMs,
        segmentSeconds: o.segmentSeconds,
      }),
    );
  }

  // Frames pushed against frames found, per output.
  const pushed = new Map<string, FrameCount>(
    stats.map((s) => [s.stream, { video: s.videoFrames, audio: s.audioFrames }]),
  );
  const found = new Map<string, Map<string, FrameCount>>();
  let probed = 0;
  await mapLimit(stats, PROBES_AT_ONCE, async (s) => {
    for (const output of await target.outputs(s.stream)) {
      const count = await countOutputFrames(o.ffprobe, output);
      const perStream = found.get(output.output) ?? new Map<string, FrameCount>();
      perStream.set(s.stream, count);
      found.set(output.output, perStream);
    }
    progress.update(`${label} counting frames`, ++probed, stats.length, `${probed}/${stats.length} streams`);
  });
  const outputs = [...found].map(([output, perStream]) => outputLoss(output, pushed, perStream));

  const result = stepResult({
    target: name,
    slots,
    durationSeconds: o.durationSeconds,
    segmentSeconds: o.segmentSeconds,
    tree: summarizeSamples(sampler!.samples('target'), windowFrom, windowTo),
    load: summarizeSamples(sampler!.samples('load'), windowFrom, windowTo),
    stats,
    outputs,
    segmentLagsMs: lags,
    callbacks: isRecorder(name) ? callbackDelays(stats, receiver.events, o.formats) : undefined,
    loadAverage: [loadAverageBefore, os.loadavg()[0]!],
  });
  if (!o.keep) await rm(dir, { recursive: true, force: true });
  return result;
}

/** Runs every target at every N (a ramp stops a target at its first failing N); writes the JSON and the chart. */
export async function runBench(o: BenchOptions, command: string): Promise<BenchReport> {
  const progress = new ProgressBar();
  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg();
  progress.note(
    `fixture: ${o.bitrateKbps} kbit/s, ${FIXTURE_SECONDS} s (made once, then cached in ${o.fixtureDir})`,
  );
  const fixture = await ensureLoadFixture({
    ffmpegPath: o.ffmpeg,
    dir: o.fixtureDir,
    bitrateKbps: o.bitrateKbps,
    seconds: FIXTURE_SECONDS,
  });
  const workDir = await mkdtemp(join(os.tmpdir(), 'recorder-bench-'));
  const receiver = await CallbackReceiver.start();
  const levels = o.ramp ? rampLevels(o.slots, o.rampFrom) : [o.slots];
  const steps: StepResult[] = [];
  try {
    for (const name of o.targets) {
      for (const slots of levels) {
        const step = await runStep(name, slots, o, fixture, workDir, receiver, progress);
        steps.push(step);
        progress.note(
          `${name} ×${slots}: CPU ${step.cpuPercent.toFixed(1)} % (${step.cpuPercentPerSlot.toFixed(3)}/slot), ` +
            `RSS ${step.rssMiB.toFixed(0)} MiB (${step.rssMiBPerSlot.toFixed(2)}/slot), lost ${step.lostFrames}, ` +
            `lag max ${(step.segmentLagMs.max / 1000).toFixed(1)} s: ${step.pass ? 'pass' : 'FAIL'}`,
        );
        // A failed N does not end a ramp (a peer may lose a few frames at every N); an overloaded one does.
        if (o.ramp && overloaded(step)) break;
        // Let the box settle (page cache writeback, exited processes) before the next step.
        await sleep(2000);
      }
    }
  } finally {
    await receiver.close();
    if (!o.keep) await rm(workDir, { recursive: true, force: true });
  }
  const { out: outDir, ...options } = o;
  const report: BenchReport = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command,
    host: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      loadAverageAtStart,
    },
    options,
    peers: { mediamtx: MEDIAMTX_VERSION },
    steps,
    sustainedSlots: Object.fromEntries(o.targets.map((t) => [t, sustainedSlots(steps, t)])),
    sustainedSlotsBeyondBaseline: Object.fromEntries(
      o.targets.map((t) => [t, sustainedSlots(steps, t, true)]),
    ),
    ratios: ratios(steps),
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const subtitle = `${o.bitrateKbps} kbit/s, ${o.formats.join('+')}, ${o.durationSeconds} s per step, ${report.host.cpus} cores`;
  await writeFile(join(outDir, 'slots.svg'), slotsChart(steps, subtitle));
  return report;
}

/** The terminal summary: the table, the sustained slots and the ratios. */
export function renderSummary(report: BenchReport): string {
  const lines = [renderTable(report.steps), ''];
  for (const [target, n] of Object.entries(report.sustainedSlots)) {
    const relative = report.sustainedSlotsBeyondBaseline[target as TargetName];
    lines.push(
      `${target}: ${n === null ? 'no N passed' : `${n} slots passed`}` +
        (relative !== n ? `; ${relative ?? 'none'} counting only loss above its smallest N's` : ''),
    );
  }
  for (const r of report.ratios) {
    lines.push(
      `${r.ours} ÷ ${r.peer} at ${r.slots} slots: CPU/slot ${r.cpuPerSlot ?? '-'}, RSS/slot ${r.rssPerSlot ?? '-'}`,
    );
  }
  return lines.join('\n');
}
