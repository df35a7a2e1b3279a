// Measures CPU % and RSS per recording slot: N real-time 1 Mbps pushes recording HLS+MP4,
// sampled from /proc for the recorder process and its ffmpeg children. Usage:
//   node scripts/measure-slots.mjs [--slots 10] [--seconds 40] [--formats hls,mp4]
//     [--config-json '{"storage":{...}}']  merged (deeply) over the recorder config it writes
//     [--watch-pid PID]   also samples another process tree (e.g. a MinIO server) in the same window,
//                         reported apart as "watched" (not added to the recorder's figures)
//     [--means]           adds the mean CPU % over the window (finer than the median of 1-tick samples
//                         when the load is low)
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout } from 'node:timers';

const { values } = parseArgs({
  options: {
    slots: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '40' },
    formats: { type: 'string', default: 'hls,mp4' },
    'config-json': { type: 'string', default: '{}' },
    'watch-pid': { type: 'string' },
    means: { type: 'boolean', default: false },
  },
});
const slots = Number(values.slots);
const seconds = Number(values.seconds);
const watchPid = values['watch-pid'] === undefined ? undefined : Number(values['watch-pid']);
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const fixtureDir = join(tmpdir(), 'recorder-test-fixtures', 'v1');
const fixture = join(fixtureDir, 'bench-1mbps.flv');
if (!existsSync(fixture)) {
  mkdirSync(fixtureDir, { recursive: true });
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=25',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=44100',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '900k',
    '-maxrate',
    '900k',
    '-bufsize',
    '1800k',
    '-g',
    '50',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '96k',
    '-t',
    '120',
    '-f',
    'flv',
    fixture,
  ]);
}

const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** pid → {ppid, cpuTicks, rssKiB} for every process. */
function processTable() {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      table.set(Number(name), { ppid: Number(fields[1]), cpu: Number(fields[11]) + Number(fields[12]), rss });
    } catch {
      // The process ended while we read it.
    }
  }
  return table;
}

function treeOf(root, table) {
  const pids = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of table) {
      if (!pids.has(pid) && pids.has(p.ppid)) {
        pids.add(pid);
        grew = true;
      }
    }
  }
  return [...pids].map((pid) => table.get(pid)).filter(Boolean);
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
/** base with extra over it; plain objects merge key by key, anything else replaces. */
function merge(base, extra) {
  const out = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? merge(out[key], value) : value;
  }
  return out;
}

const dataDir = mkdtempSync(join(tmpdir(), 'recorder-measure-'));
const rtmpPort = await freePort();
const httpPort = await freePort();
const configPath = join(dataDir, 'config.json');
writeFileSync(
  configPath,
  JSON.stringify(
    merge(
      {
        rtmp: { host: '127.0.0.1', port: rtmpPort },
        http: { host: '127.0.0.1', port: httpPort },
        dataDir: join(dataDir, 'data'),
        record: { formats: values.formats.split(','), hlsSegmentSeconds: 4 },
      },
      JSON.parse(values['config-json']),
    ),
  ),
);
const recorder = spawn(process.execPath, ['dist/src/cli.js', 'serve', '--config', configPath], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve) => recorder.stdout.on('data', (d) => d.includes('recorder ready') && resolve()));
recorder.stdout.resume();

const publishers = [];
for (let i = 0; i < slots; i++) {
  publishers.push(
    spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-re',
        '-i',
        fixture,
        '-t',
        String(seconds),
        '-c',
        'copy',
        '-f',
        'flv',
        `rtmp://127.0.0.1:${rtmpPort}/live/slot${i}`,
      ],
      { stdio: 'ignore' },
    ),
  );
}

// Skip the first 10 s (probing, first segments), then sample once a second.
await new Promise((r) => setTimeout(r, 10_000));
const samples = [];
const watchedSamples = [];
let table = processTable();
let previous = treeOf(recorder.pid, table);
let previousWatched = watchPid === undefined ? [] : treeOf(watchPid, table);
let previousAt = Date.now();
for (let i = 0; i < seconds - 15; i++) {
  await new Promise((r) => setTimeout(r, 1000));
  const now = Date.now();
  table = processTable();
  const tree = treeOf(recorder.pid, table);
  const cpu = tree.reduce((s, p) => s + p.cpu, 0) - previous.reduce((s, p) => s + p.cpu, 0);
  samples.push({
    cpuPercent: (cpu / TICKS / ((now - previousAt) / 1000)) * 100,
    rssMiB: tree.reduce((s, p) => s + p.rss, 0) / 1024,
    processes: tree.length,
  });
  if (watchPid !== undefined) {
    const watched = treeOf(watchPid, table);
    const watchedCpu =
      watched.reduce((s, p) => s + p.cpu, 0) - previousWatched.reduce((s, p) => s + p.cpu, 0);
    watchedSamples.push({
      cpuPercent: (watchedCpu / TICKS / ((now - previousAt) / 1000)) * 100,
      rssMiB: watched.reduce((s, p) => s + p.rss, 0) / 1024,
    });
    previousWatched = watched;
  }
  previous = tree;
  previousAt = now;
}
await Promise.all(publishers.map((p) => new Promise((r) => p.on('close', r))));
recorder.kill('SIGTERM');
await new Promise((r) => recorder.on('close', r));
rmSync(dataDir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const cpu = median(samples.map((s) => s.cpuPercent).filter((x) => x >= 0));
const rss = median(samples.map((s) => s.rssMiB));
const result = {
  slots,
  formats: values.formats,
  seconds,
  processes: median(samples.map((s) => s.processes)),
  cpuPercentTotal: +cpu.toFixed(1),
  cpuPercentPerSlot: +(cpu / slots).toFixed(2),
  rssMiBTotal: +rss.toFixed(1),
  rssMiBPerSlot: +(rss / slots).toFixed(1),
};
if (values.means)
  result.cpuPercentMeanTotal = +mean(samples.map((s) => s.cpuPercent).filter((x) => x >= 0)).toFixed(2);
if (watchPid !== undefined && watchedSamples.length > 0) {
  result.watched = {
    pid: watchPid,
    cpuPercent: +median(watchedSamples.map((s) => s.cpuPercent).filter((x) => x >= 0)).toFixed(1),
    rssMiB: +median(watchedSamples.map((s) => s.rssMiB)).toFixed(1),
  };
  if (values.means)
    result.watched.cpuPercentMean = +mean(
      watchedSamples.map((s) => s.cpuPercent).filter((x) => x >= 0),
    ).toFixed(2);
}
console.log(JSON.stringify(result, null, 2));
