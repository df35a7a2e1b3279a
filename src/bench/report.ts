import type { StreamLoadStats } from '../load/generator.js';
import type { FrameCount } from './frames.js';
import type { TreeSummary } from './proc-sampler.js';
import { isRecorder, type TargetName } from './targets/target.js';

export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentiles; zeros when there is nothing. */
export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { count: 0, p50: 0, p95: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { count: sorted.length, p50: rank(0.5), p95: rank(0.95), max: sorted[sorted.length - 1]! };
}

/** Frames of one output (e.g. the HLS segments) against what was pushed, over every stream. */
export interface OutputLoss {
  output: string;
  found: FrameCount;
  /** Frames pushed and not found, summed over streams (a stream with more than it was sent adds nothing). */
  lost: FrameCount;
  /** Streams with at least one frame lost. */
  streamsWithLoss: number;
}

/** One target under one load (N slots for the duration). */
export interface StepResult {
  target: TargetName;
  slots: number;
  durationSeconds: number;
  segmentSeconds: number;
  /** Streams that published, and that failed to publish or were cut. */
  published: number;
  publishErrors: number;
  /** The target's whole process tree, mean over the measuring window. */
  cpuPercent: number;
  cpuPercentPerSlot: number;
  rssMiB: number;
  rssMiBPerSlot: number;
  peakRssMiB: number;
  /** PSS: shared pages (the code every ffmpeg maps) counted once, split among the processes that map them. */
  pssMiB: number;
  pssMiBPerSlot: number;
  /** The root process alone (the recorder's Node process, nginx's master, MediaMTX). */
  rootCpuPercent: number;
  rootRssMiB: number;
  /** Its descendants (the recorder's ffmpegs, nginx's worker). */
  childrenCpuPercent: number;
  childrenRssMiB: number;
  processes: number;
  /** The load generator's process, for reference: it shares the cores. */
  loadCpuPercent: number;
  /** Seconds of samples the figures above are the mean of. */
  measuredSeconds: number;
  pushed: FrameCount;
  outputs: OutputLoss[];
  /** Video and audio frames lost, summed over outputs. */
  lostFrames: number;
  segmentLagMs: Distribution;
  /** Unpublish to event-100 callback, per format (recorder only). */
  callbackMs: Record<string, Distribution>;
  /** Event-100 callbacks expected and not received (recorder only). */
  callbacksMissing: number;
  /** 1-minute load average of the box before and after the step (other work on it shows here). */
  loadAverage: [number, number];
  /** 0 lost frames, every publish went through, and every segment closed within one segment duration. */
  pass: boolean;
}

/** Loss of one output: per stream, pushed minus found (never below 0). */
export function outputLoss(
  output: string,
  pushed: ReadonlyMap<string, FrameCount>,
  found: ReadonlyMap<string, FrameCount>,
): OutputLoss {
  const total: OutputLoss = {
    output,
    found: { video: 0, audio: 0 },
    lost: { video: 0, audio: 0 },
    streamsWithLoss: 0,
  };
  for (const [stream, sent] of pushed) {
    const got = found.get(stream) ?? { video: 0, audio: 0 };
    total.found.video += got.video;
    total.found.audio += got.audio;
    const lostVideo = Math.max(0, sent.video - got.video);
    const lostAudio = Math.max(0, sent.audio - got.audio);
    total.lost.video += lostVideo;
    total.lost.audio += lostAudio;
    if (lostVideo + lostAudio > 0) total.streamsWithLoss++;
  }
  return total;
}

/** Unpublish → callback delays per format, and how many of the expected callbacks never came. */
export function callbackDelays(
  stats: readonly StreamLoadStats[],
  events: readonly { stream: string; format: string; receivedAtMs: number }[],
  formats: readonly string[],
): { byFormat: Record<string, Distribution>; missing: number } {
  const ended = new Map(stats.map((s) => [s.stream, s.endedAtMs]));
  const byFormat: Record<string, Distribution> = {};
  let missing = 0;
  for (const format of formats) {
    const delays: number[] = [];
    const seen = new Set<string>();
    for (const e of events) {
      if (e.format !== format || seen.has(e.stream)) continue;
      seen.add(e.stream);
      const end = ended.get(e.stream);
      if (end !== undefined) delays.push(e.receivedAtMs - end);
    }
    missing += stats.filter((s) => s.startedAtMs !== undefined && !seen.has(s.stream)).length;
    byFormat[format] = distribution(delays);
  }
  return { byFormat, missing };
}

/** Combines a process tree's figures and the checks into one step result. */
export function stepResult(o: {
  target: TargetName;
  slots: number;
  durationSeconds: number;
  segmentSeconds: number;
  tree: TreeSummary;
  load: TreeSummary;
  stats: readonly StreamLoadStats[];
  outputs: OutputLoss[];
  segmentLagsMs: readonly number[];
  callbacks?: { byFormat: Record<string, Distribution>; missing: number };
  loadAverage: [number, number];
}): StepResult {
  const published = o.stats.filter((s) => s.startedAtMs !== undefined).length;
  const publishErrors = o.stats.filter((s) => s.error !== undefined || s.startedAtMs === undefined).length;
  const pushed = o.stats.reduce(
    (sum, s) => ({ video: sum.video + s.videoFrames, audio: sum.audio + s.audioFrames }),
    { video: 0, audio: 0 },
  );
  const lostFrames = o.outputs.reduce((n, out) => n + out.lost.video + out.lost.audio, 0);
  const segmentLagMs = distribution(o.segmentLagsMs);
  const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
  const result: StepResult = {
    target: o.target,
    slots: o.slots,
    durationSeconds: o.durationSeconds,
    segmentSeconds: o.segmentSeconds,
    published,
    publishErrors,
    cpuPercent: round(o.tree.cpuPercent, 1),
    cpuPercentPerSlot: round(o.tree.cpuPercent / o.slots, 3),
    rssMiB: round(o.tree.rssMiB, 1),
    rssMiBPerSlot: round(o.tree.rssMiB / o.slots, 2),
    peakRssMiB: round(o.tree.peakRssMiB, 1),
    pssMiB: round(o.tree.pssMiB, 1),
    pssMiBPerSlot: round(o.tree.pssMiB / o.slots, 2),
    rootCpuPercent: round(o.tree.rootCpuPercent, 1),
    rootRssMiB: round(o.tree.rootRssMiB, 1),
    childrenCpuPercent: round(o.tree.cpuPercent - o.tree.rootCpuPercent, 1),
    childrenRssMiB: round(o.tree.rssMiB - o.tree.rootRssMiB, 1),
    processes: o.tree.processes,
    loadCpuPercent: round(o.load.cpuPercent, 1),
    measuredSeconds: o.tree.samples,
    pushed,
    outputs: o.outputs,
    lostFrames,
    segmentLagMs,
    callbackMs: o.callbacks?.byFormat ?? {},
    callbacksMissing: o.callbacks?.missing ?? 0,
    loadAverage: o.loadAverage,
    pass: false,
  };
  result.pass = pushed.video > 0 && lostFrames === 0 && timelyAndComplete(result);
  return result;
}

/**
 * The largest N a target passed at, with every N below it passed too. With `beyondBaseline`, frames lost count only
 * above the loss per stream of the target's smallest N: a fixed loss of the target (e.g. frames it drops at every
 * unpublish) is then not mistaken for a limit of load.
 */
export function sustainedSlots(
  steps: readonly StepResult[],
  target: TargetName,
  beyondBaseline = false,
): number | null {
  const mine = [...steps].filter((s) => s.target === target).sort((a, b) => a.slots - b.slots);
  const baseline = beyondBaseline && mine[0] ? mine[0].lostFrames / mine[0].slots : 0;
  let best: number | null = null;
  for (const step of mine) {
    const lossOk = beyondBaseline ? step.lostFrames / step.slots <= baseline : step.lostFrames === 0;
    if (!(step.pass || (beyondBaseline && lossOk && timelyAndComplete(step)))) break;
    best = step.slots;
  }
  return best;
}

/** Every publish went through and every segment closed within one segment duration. */
function timelyAndComplete(step: StepResult): boolean {
  return (
    step.publishErrors === 0 &&
    step.segmentLagMs.count > 0 &&
    step.segmentLagMs.max < step.segmentSeconds * 1000
  );
}

/** Past the point worth stepping further: publishes failed, or segments lag three segments behind. */
export function overloaded(step: StepResult): boolean {
  return step.publishErrors > 0 || step.segmentLagMs.max >= 3 * step.segmentSeconds * 1000;
}

/** Ours divided by theirs, at one N both ran. */
export interface Ratio {
  ours: TargetName;
  peer: TargetName;
  slots: number;
  cpuPerSlot: number | null;
  rssPerSlot: number | null;
}

/**
 * The recorder ÷ each peer, per slot, at every N both ran, for either engine; and the native engine ÷ ffmpeg's.
 */
export function ratios(steps: readonly StepResult[]): Ratio[] {
  const out: Ratio[] = [];
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : null);
  for (const mine of steps) {
    if (!isRecorder(mine.target)) continue;
    for (const theirs of steps) {
      if (theirs.slots !== mine.slots || theirs.target === mine.target) continue;
      if (isRecorder(theirs.target) && !(mine.target === 'recorder-native' && theirs.target === 'recorder'))
        continue;
      out.push({
        ours: mine.target,
        peer: theirs.target,
        slots: theirs.slots,
        cpuPerSlot: ratio(mine.cpuPercentPerSlot, theirs.cpuPercentPerSlot),
        rssPerSlot: ratio(mine.rssMiBPerSlot, theirs.rssMiBPerSlot),
      });
    }
  }
  return out.sort(
    (a, b) => a.ours.localeCompare(b.ours) || a.peer.localeCompare(b.peer) || a.slots - b.slots,
  );
}

/** The N of each step of a ramp up to `max`: doubling from `from`, and `max` itself last. */
export function rampLevels(max: number, from: number): number[] {
  const levels: number[] = [];
  for (let n = Math.max(1, Math.min(from, max)); n < max; n *= 2) levels.push(n);
  levels.push(max);
  return levels;
}

const pad = (text: string, width: number) =>
  text.length >= width ? text : ' '.repeat(width - text.length) + text;

/** The summary table for the terminal. */
export function renderTable(steps: readonly StepResult[]): string {
  const header = [
    'target',
    'slots',
    'CPU %',
    'CPU %/slot',
    'RSS MiB',
    'RSS/slot',
    'PSS/slot',
    'children RSS',
    'lost frames',
    'seg lag p95/max s',
    'callback p50/max s',
    'load CPU %',
    'pass',
  ];
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  const rows = steps.map((s) => {
    const callback = Object.entries(s.callbackMs)
      .map(([format, d]) => `${format} ${seconds(d.p50)}/${seconds(d.max)}`)
      .join(', ');
    return [
      s.target,
      String(s.slots),
      s.cpuPercent.toFixed(1),
      s.cpuPercentPerSlot.toFixed(3),
      s.rssMiB.toFixed(0),
      s.rssMiBPerSlot.toFixed(2),
      s.pssMiBPerSlot.toFixed(2),
      s.childrenRssMiB.toFixed(0),
      String(s.lostFrames),
      `${seconds(s.segmentLagMs.p95)}/${seconds(s.segmentLagMs.max)}`,
      callback || '-',
      s.loadCpuPercent.toFixed(1),
      s.pass ? 'yes' : 'NO',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : pad(c, widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
