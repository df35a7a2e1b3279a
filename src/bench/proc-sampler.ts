import { readFile, readdir } from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ; 100 on every Linux port in use). */
const TICKS_PER_SECOND = 100;
const PAGE_KIB = 4;

/** One process as /proc shows it at one moment. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssKiB: number;
  comm: string;
}

/** Parses /proc/<pid>/stat (comm may hold spaces and parentheses, so fields count from the last `)`). */
export function parseStat(pid: number, stat: string): ProcEntry | undefined {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, rss (pages) 24.
  const ppid = Number(fields[1]);
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  const rssKiB = Number(fields[21]) * PAGE_KIB;
  if (![ppid, cpuTicks, rssKiB].every(Number.isFinite)) return undefined;
  return { pid, ppid, cpuTicks, rssKiB, comm: stat.slice(open + 1, close) };
}

/** The root and every descendant of it, from one snapshot of the process table. */
export function processTree(rootPid: number, table: ReadonlyMap<number, ProcEntry>): ProcEntry[] {
  const children = new Map<number, number[]>();
  for (const entry of table.values()) {
    const list = children.get(entry.ppid);
    if (list) list.push(entry.pid);
    else children.set(entry.ppid, [entry.pid]);
  }
  const out: ProcEntry[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    const entry = table.get(pid);
    if (!entry) continue;
    out.push(entry);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Every process of the machine (a process that ends while it is read is left out). */
export async function readProcessTable(): Promise<Map<number, ProcEntry>> {
  const table = new Map<number, ProcEntry>();
  const names = await readdir('/proc');
  await Promise.all(
    names
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        const pid = Number(name);
        try {
          const entry = parseStat(pid, await readFile(`/proc/${name}/stat`, 'utf8'));
          if (entry) table.set(pid, entry);
        } catch {
          // The process ended while the table was read.
        }
      }),
  );
  return table;
}

/** One sample of a process tree: CPU over the interval since the previous sample, memory now. */
export interface TreeSample {
  atMs: number;
  /** CPU % of one core, root and descendants (200 = two cores busy). */
  cpuPercent: number;
  /** The root process alone. */
  rootCpuPercent: number;
  rssMiB: number;
  rootRssMiB: number;
  /** Proportional set size: shared pages (ffmpeg's code, read by every ffmpeg) divided among their users. */
  pssMiB: number;
  processes: number;
}

/** What the samples of a window add up to. */
export interface TreeSummary {
  samples: number;
  /** Mean CPU % over the window (ticks spent / time), root and descendants. */
  cpuPercent: number;
  rootCpuPercent: number;
  /** Mean and peak RSS, root and descendants (shared pages are counted in each process, as `ps` does). */
  rssMiB: number;
  peakRssMiB: number;
  rootRssMiB: number;
  /** Mean PSS: what the tree really holds; RSS counts the shared code of N ffmpegs N times. */
  pssMiB: number;
  processes: number;
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);

/** Summary of the samples taken in [fromMs, toMs] (the warm-up before and the wind-down after are left out). */
export function summarizeSamples(samples: readonly TreeSample[], fromMs = 0, toMs = Infinity): TreeSummary {
  const window = samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
  return {
    samples: window.length,
    cpuPercent: mean(window.map((s) => s.cpuPercent)),
    rootCpuPercent: mean(window.map((s) => s.rootCpuPercent)),
    rssMiB: mean(window.map((s) => s.rssMiB)),
    peakRssMiB: Math.max(0, ...window.map((s) => s.rssMiB)),
    rootRssMiB: mean(window.map((s) => s.rootRssMiB)),
    pssMiB: mean(window.map((s) => s.pssMiB)),
    processes: Math.round(mean(window.map((s) => s.processes))),
  };
}

/** PSS of one process in KiB (0 when it ended or is not readable). */
async function readPssKiB(pid: number): Promise<number> {
  try {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** PSS is read every this many samples: smaps_rollup walks page tables, dearer than stat. */
const PSS_EVERY = 5;

/**
 * Samples process trees from /proc at a fixed interval. CPU counts the ticks of processes alive at both ends of an
 * interval, plus those of children that appeared within it; the last ticks of a child that ended within it are lost.
 */
export class ProcSampler {
  readonly #roots: ReadonlyMap<string, number>;
  readonly #intervalMs: number;
  readonly #samples = new Map<string, TreeSample[]>();
  #previous = new Map<string, Map<number, number>>();
  #previousAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #count = 0;
  readonly #pssKiB = new Map<string, number>();

  /** roots: a name for each tree to watch, and its root pid. */
  constructor(roots: ReadonlyMap<string, number>, intervalMs = 1000) {
    this.#roots = roots;
    this.#intervalMs = intervalMs;
    for (const name of roots.keys()) this.#samples.set(name, []);
  }

  async start(): Promise<void> {
    await this.#sample(true);
    this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  samples(name: string): readonly TreeSample[] {
    return this.#samples.get(name) ?? [];
  }

  async #tick(): Promise<void> {
    // A slow /proc read (a loaded box) skips a tick rather than piling reads up.
    if (this.#busy) return;
    this.#busy = true;
    try {
      await this.#sample(false);
    } finally {
      this.#busy = false;
    }
  }

  async #sample(first: boolean): Promise<void> {
    const table = await readProcessTable();
    const now = Date.now();
    const seconds = (now - this.#previousAt) / 1000;
    const next = new Map<string, Map<number, number>>();
    const readPss = this.#count++ % PSS_EVERY === 0;
    for (const [name, root] of this.#roots) {
      const tree = processTree(root, table);
      if (readPss) {
        const pss = await Promise.all(tree.map((p) => readPssKiB(p.pid)));
        this.#pssKiB.set(
          name,
          pss.reduce((a, b) => a + b, 0),
        );
      }
      const ticks = new Map(tree.map((p) => [p.pid, p.cpuTicks]));
      next.set(name, ticks);
      if (first || tree.length === 0) continue;
      const before = this.#previous.get(name) ?? new Map<number, number>();
      let spent = 0;
      let rootSpent = 0;
      for (const p of tree) {
        const delta = p.cpuTicks - (before.get(p.pid) ?? 0);
        spent += delta;
        if (p.pid === root) rootSpent = delta;
      }
      const toPercent = (t: number) => (t / TICKS_PER_SECOND / seconds) * 100;
      const rootEntry = table.get(root);
      this.#samples.get(name)!.push({
        atMs: now,
        cpuPercent: toPercent(spent),
        rootCpuPercent: toPercent(rootSpent),
        rssMiB: tree.reduce((s, p) => s + p.rssKiB, 0) / 1024,
        rootRssMiB: (rootEntry?.rssKiB ?? 0) / 1024,
        pssMiB: (this.#pssKiB.get(name) ?? 0) / 1024,
        processes: tree.length,
      });
    }
    this.#previous = next;
    this.#previousAt = now;
  }
}
