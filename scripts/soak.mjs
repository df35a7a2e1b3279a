// Soak: runs the recorder as its own process (`node dist/src/cli.js serve`), drives N publishers from ONE load
// process (workers/load.ts) in shifts, and reports the recorder's memory drift, lost frames and callback
// completeness. Run with tsx (it imports TypeScript):
//   npm run soak -- --slots 50 --minutes 30 [--shift-minutes 10] [--bitrate 500] [--formats hls,mp4] [--out DIR]
// A shift is one load process pushing every slot under fresh stream names; the next starts as it ends, so each
// shift boundary unpublishes and publishes every slot at once (session churn).
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ensureLoadFixture } from '../src/load/fixture.ts';
import { startCallbackReceiver } from '../test/helpers/callback-receiver.ts';
import { countPackets } from '../src/ffmpeg/probe.ts';

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    slots: { type: 'string', default: '3' },
    minutes: { type: 'string', default: '1' },
    'shift-minutes': { type: 'string', default: '10' },
    bitrate: { type: 'string', default: '500' },
    formats: { type: 'string', default: 'hls,mp4' },
    'segment-seconds': { type: 'string', default: '4' },
    'sample-seconds': { type: 'string', default: '5' },
    'ramp-ms': { type: 'string' },
    'settle-seconds': { type: 'string', default: '180' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

const slots = Number(args.slots);
const totalSeconds = Math.round(Number(args.minutes) * 60);
const shiftSeconds = Math.min(totalSeconds, Math.round(Number(args['shift-minutes']) * 60));
const formats = args.formats.split(',').filter(Boolean);
const sampleMs = Number(args['sample-seconds']) * 1000;
const rampMs = args['ramp-ms'] !== undefined ? Number(args['ramp-ms']) : Math.min(5000, slots * 100);
if (!(slots >= 1) || !(totalSeconds >= 5) || !(shiftSeconds >= 5)) {
  console.error('soak: --slots must be >= 1, --minutes and --shift-minutes at least 5 s');
  process.exit(2);
}
const shifts = [];
for (let at = 0, k = 1; at < totalSeconds; at += shiftSeconds, k++) {
  shifts.push({ prefix: `k${k}s`, seconds: Math.min(shiftSeconds, totalSeconds - at) });
}

const ffmpeg = process.env.PUBLISHER_FFMPEG ?? 'ffmpeg';
const ffprobe = process.env.FFPROBE ?? 'ffprobe';
const out = args.out ?? (await mkdtemp(join(tmpdir(), 'recorder-soak-')));
await mkdir(out, { recursive: true });
const dataDir = join(out, 'data');
const log = (message) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}`);

await run(process.execPath, ['scripts/build-if-needed.mjs']);
const fixture = await ensureLoadFixture({
  ffmpegPath: ffmpeg,
  dir: join(tmpdir(), 'recorder-load-fixtures'),
  bitrateKbps: Number(args.bitrate),
  seconds: 60,
});

// ---- callbacks: received in this process, with their arrival time ----
const receiver = await startCallbackReceiver();
const arrivals = [];
const seen = new Set();
const arrivalTimer = setInterval(() => {
  for (const body of receiver.bodies) {
    if (seen.has(body)) continue;
    seen.add(body);
    arrivals.push({ at: Date.now(), body });
  }
}, 20);

// ---- the recorder, as its own process ----
async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
const rtmpPort = await freePort();
const httpPort = await freePort();
const configFile = join(out, 'recorder.json');
await writeFile(
  configFile,
  JSON.stringify(
    {
      rtmp: { host: '127.0.0.1', port: rtmpPort },
      http: { host: '127.0.0.1', port: httpPort },
      dataDir,
      record: { formats, hlsSegmentSeconds: Number(args['segment-seconds']), hlsResumeTimeoutSeconds: 0 },
      callback: { url: receiver.url, retryIntervalSeconds: 1 },
    },
    null,
    2,
  ),
);
const recorderLog = createWriteStream(join(out, 'recorder.log'));
const recorder = spawn(process.execPath, ['dist/src/cli.js', 'serve', '--config', configFile], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
// Two sources into one file: neither may end it; it is ended once the recorder has closed both.
recorder.stdout.pipe(recorderLog, { end: false });
recorder.stderr.pipe(recorderLog, { end: false });
const recorderExit = new Promise((resolve) =>
  recorder.on('close', (code, signal) => recorderLog.end(() => resolve({ code, signal }))),
);
await waitForPort(rtmpPort, 30_000);
log(`recorder pid ${recorder.pid} on rtmp ${rtmpPort}, http ${httpPort}; out ${out}`);

async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`recorder did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---- RSS of the recorder's process tree, from /proc ----
async function treeRss(root) {
  const parents = new Map();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // The command name may hold spaces and parentheses; the fields after its last ')' are fixed.
    const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(name), ppid);
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let rss = 0;
  let recorderRss = 0;
  for (const pid of tree) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    rss += kb * 1024;
    if (pid === root) recorderRss = kb * 1024;
  }
  return { rss, recorderRss, processes: tree.size };
}
const samples = [];
const t0 = Date.now();
const sampler = setInterval(async () => {
  const s = await treeRss(recorder.pid);
  samples.push({ t: (Date.now() - t0) / 1000, ...s });
}, sampleMs);

// ---- load, in shifts, each one load process ----
const loadAvgBefore = loadavg();
const pushed = [];
const loadErrors = [];
let maxQueuedBytes = 0;
for (const shift of shifts) {
  log(`shift ${shift.prefix}: ${slots} publishers for ${shift.seconds} s`);
  const worker = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'workers/load.ts',
      '--url',
      `rtmp://127.0.0.1:${rtmpPort}/live`,
      '--streams',
      String(slots),
      '--prefix',
      shift.prefix,
      '--fixture',
      fixture,
      '--duration',
      String(shift.seconds),
      '--ramp-ms',
      String(rampMs),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let final;
  let lastProgress = 0;
  let buffered = '';
  worker.stdout.setEncoding('utf8');
  worker.stdout.on('data', (chunk) => {
    const lines = (buffered + chunk).split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const msg = JSON.parse(line);
      if (msg.final) final = msg.final;
      else {
        maxQueuedBytes = Math.max(maxQueuedBytes, msg.maxQueuedBytes);
        if (msg.t - lastProgress >= 60) {
          lastProgress = msg.t;
          const rss = samples.at(-1);
          log(
            `  t=${msg.t}s publishing ${msg.publishing}, errors ${msg.errors}, video frames ${msg.videoFrames}` +
              (rss
                ? `, recorder tree RSS ${(rss.rss / 2 ** 20).toFixed(0)} MiB in ${rss.processes} processes`
                : ''),
          );
        }
      }
    }
  });
  worker.stderr.setEncoding('utf8');
  worker.stderr.on('data', (text) => loadErrors.push(...text.split('\n').filter(Boolean)));
  const code = await new Promise((resolve) => worker.on('close', resolve));
  if (!final) throw new Error(`load process exited ${code} without its final counts`);
  pushed.push(...final);
}
const loadEndedAt = Date.now();
clearInterval(sampler);

// ---- wait for every recording's callbacks ----
const streams = pushed.map((s) => s.stream);
const expected100 = streams.length * formats.length;
const settleDeadline = Date.now() + Number(args['settle-seconds']) * 1000;
const count = (type) => arrivals.filter((a) => a.body.event_type === type).length;
const ended332 = () =>
  arrivals.filter((a) => a.body.event_type === 332 && a.body.record_event === 'record_ended');
while (
  Date.now() < settleDeadline &&
  (count(100) < expected100 || ended332().length < streams.length || count(0) < streams.length)
) {
  await new Promise((r) => setTimeout(r, 500));
}
// Late extras (duplicates, a split file) would show here.
await new Promise((r) => setTimeout(r, 2000));
const loadAvgAfter = loadavg();
recorder.kill('SIGTERM');
const exit = await recorderExit;
clearInterval(arrivalTimer);
for (const body of receiver.bodies) if (!seen.has(body)) arrivals.push({ at: Date.now(), body });
await receiver.close();
log(`recorder exited ${JSON.stringify(exit)}; counting frames in the recorded files`);

// ---- files on disk vs frames pushed ----
const liveDir = join(dataDir, 'live');
const names = (await readdir(liveDir).catch(() => [])).sort();
const streamOf = (name) => name.split('_')[0];
const events100 = arrivals.filter((a) => a.body.event_type === 100);
const event100ByFile = new Map(events100.map((a) => [basename(new URL(a.body.video_url).pathname), a]));
const fileExt = { hls: '.m3u8', mp4: '.mp4', flv: '.flv', aac: '.aac' };

async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

const recorded = []; // { stream, format, file, video, audio, bytes, segments? }
const orphanSegments = [];
const listed = new Set();
for (const format of formats) {
  const files = names.filter((n) => n.endsWith(fileExt[format]));
  const counts = await pool(files, 2, async (file) => {
    const path = join(liveDir, file);
    let bytes = (await stat(path)).size;
    if (format !== 'hls') return { ...(await countPackets(ffprobe, path)), bytes };
    // One ffprobe over the playlist's segments joined byte for byte (MPEG-TS concatenates cleanly).
    const segments = (await readFile(path, 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
    for (const s of segments) {
      listed.add(s);
      bytes += (await stat(join(liveDir, s))).size;
    }
    const n = await countPackets(ffprobe, `concat:${segments.map((s) => join(liveDir, s)).join('|')}`);
    return { ...n, bytes, segments: segments.length };
  });
  files.forEach((file, i) => recorded.push({ stream: streamOf(file), format, file, ...counts[i] }));
}
if (formats.includes('hls'))
  for (const n of names) if (n.endsWith('.ts') && !listed.has(n)) orphanSegments.push(n);

const perStream = pushed.map((p) => {
  const row = { stream: p.stream, pushedVideo: p.videoFrames, pushedAudio: p.audioFrames, error: p.error };
  for (const format of formats) {
    const files = recorded.filter((r) => r.stream === p.stream && r.format === format);
    const video = files.reduce((n, r) => n + r.video, 0);
    const audio = files.reduce((n, r) => n + r.audio, 0);
    row[format] = {
      files: files.length,
      video,
      audio,
      lostVideo: p.videoFrames - video,
      lostAudio: p.audioFrames - audio,
    };
  }
  return row;
});
const lost = Object.fromEntries(
  formats.map((f) => [
    f,
    {
      video: perStream.reduce((n, r) => n + r[f].lostVideo, 0),
      audio: perStream.reduce((n, r) => n + r[f].lostAudio, 0),
    },
  ]),
);
const totalPushed = {
  video: pushed.reduce((n, p) => n + p.videoFrames, 0),
  audio: pushed.reduce((n, p) => n + p.audioFrames, 0),
};

// ---- callback completeness ----
const filesWithoutEvent = recorded.filter((r) => !event100ByFile.has(r.file)).map((r) => r.file);
const eventsWithoutFile = [...event100ByFile.keys()].filter((f) => !names.includes(f));
const byStream = (type, stream) =>
  arrivals.filter((a) => a.body.event_type === type && a.body.stream_id === stream);
const pairing = streams.map((stream) => {
  const begins = byStream(1, stream);
  const ends = byStream(0, stream);
  const sameSequence =
    begins.length === 1 && ends.length === 1 && begins[0].body.sequence === ends[0].body.sequence;
  const endedRecordings = byStream(332, stream).filter((a) => a.body.record_event === 'record_ended');
  return {
    stream,
    begins: begins.length,
    ends: ends.length,
    sameSequence,
    recordEnded: endedRecordings.length,
  };
});
const badPairs = pairing.filter((p) => !(p.begins === 1 && p.ends === 1 && p.sameSequence));
const badEnded = pairing.filter((p) => p.recordEnded !== 1);
// Each recording (event 100's task_id) must have its one record_ended (332's session_id).
const endedSessions = new Set(ended332().map((a) => a.body.session_id));
const tasksWithoutEnd = [...new Set(events100.map((a) => a.body.task_id))].filter(
  (t) => !endedSessions.has(t),
);

// ---- unpublish → last event 100 of the stream's files ----
const latencies = pushed
  .filter((p) => p.endedAtMs !== undefined)
  .map((p) => {
    const last = Math.max(...events100.filter((a) => a.body.stream_id === p.stream).map((a) => a.at));
    return Number.isFinite(last) ? (last - p.endedAtMs) / 1000 : undefined;
  })
  .filter((x) => x !== undefined)
  .sort((a, b) => a - b);
const quantile = (sorted, q) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : undefined;

// ---- RSS drift ----
const MiB = 2 ** 20;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length
    ? s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
    : undefined;
};
const spanS = samples.length ? samples.at(-1).t : 0;
const windowS = Math.min(300, spanS / 3);
const firstWindow = samples.filter((s) => s.t <= samples[0].t + windowS).map((s) => s.rss);
const lastWindow = samples.filter((s) => s.t >= spanS - windowS).map((s) => s.rss);
function slopeMiBPerHour(points) {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.rss, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.t - mx) * (p.rss - my), 0);
  const sxx = points.reduce((a, p) => a + (p.t - mx) ** 2, 0);
  return sxx ? ((sxy / sxx) * 3600) / MiB : undefined;
}
const round = (x, d = 1) => (x === undefined ? undefined : Math.round(x * 10 ** d) / 10 ** d);
const rss = {
  sampleSeconds: sampleMs / 1000,
  samples: samples.length,
  windowSeconds: round(windowS, 0),
  firstWindowMedianMiB: round(median(firstWindow) / MiB),
  lastWindowMedianMiB: round(median(lastWindow) / MiB),
  slopeMiBPerHour: round(slopeMiBPerHour(samples)),
  maxMiB: round(Math.max(...samples.map((s) => s.rss)) / MiB),
  recorderOnlyMaxMiB: round(Math.max(...samples.map((s) => s.recorderRss)) / MiB),
  maxProcesses: Math.max(...samples.map((s) => s.processes)),
};

// A restarted ffmpeg starts a new MP4/FLV/AAC part, so a publish may leave more than one file per format: every
// file must have its event 100 and every (stream, format) at least one file.
const missingFormats = perStream.flatMap((r) =>
  formats.filter((f) => r[f].files === 0).map((f) => `${r.stream} ${f}`),
);
const completeness = {
  minimumEvent100: expected100,
  event100: events100.length,
  streamFormatsWithoutFile: missingFormats,
  filesOnDisk: recorded.length,
  filesWithoutEvent100: filesWithoutEvent,
  event100WithoutFile: eventsWithoutFile,
  orphanHlsSegments: orphanSegments.length,
  event1: count(1),
  event0: count(0),
  unpairedStreams: badPairs.map((p) => p.stream),
  recordEnded: ended332().length,
  streamsWithoutOneRecordEnded: badEnded.map((p) => p.stream),
  recordingsWithoutRecordEnded: tasksWithoutEnd,
};
const complete =
  missingFormats.length === 0 &&
  events100.length === recorded.length &&
  filesWithoutEvent.length === 0 &&
  eventsWithoutFile.length === 0 &&
  orphanSegments.length === 0 &&
  badPairs.length === 0 &&
  badEnded.length === 0 &&
  tasksWithoutEnd.length === 0;
const lostTotal = Object.values(lost).reduce((n, l) => n + Math.abs(l.video) + Math.abs(l.audio), 0);

// Per shift, so a disturbance in one (e.g. ffmpeg deaths) is told apart from the others.
const perShift = shifts.map(({ prefix }) => {
  const rows = perStream.filter(
    (r) => r.stream.startsWith(prefix) && /^\d+$/.test(r.stream.slice(prefix.length)),
  );
  return {
    prefix,
    publishes: rows.length,
    loadErrors: rows.filter((r) => r.error).length,
    lost: Object.fromEntries(
      formats.map((f) => [
        f,
        {
          video: rows.reduce((n, r) => n + r[f].lostVideo, 0),
          audio: rows.reduce((n, r) => n + r[f].lostAudio, 0),
        },
      ]),
    ),
  };
});

// The recorder's warnings and errors by message: the context for any loss (ffmpeg deaths, restarts, stalls).
const recorderLogIssues = {};
for (const line of (await readFile(join(out, 'recorder.log'), 'utf8')).split('\n')) {
  if (!line.startsWith('{')) continue;
  const entry = JSON.parse(line);
  if (entry.level >= 40) recorderLogIssues[entry.msg] = (recorderLogIssues[entry.msg] ?? 0) + 1;
}

const report = {
  command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
  startedAt: new Date(t0).toISOString(),
  slots,
  minutes: totalSeconds / 60,
  shifts: shifts.map((s) => ({ prefix: s.prefix, seconds: s.seconds })),
  formats,
  fixture: { path: fixture, videoKbps: Number(args.bitrate), gopSeconds: 1, fps: 25 },
  loadAverage: { before: loadAvgBefore.map((x) => round(x, 2)), after: loadAvgAfter.map((x) => round(x, 2)) },
  recorderExit: exit,
  load: {
    publishes: pushed.length,
    errors: pushed.filter((p) => p.error).map((p) => ({ stream: p.stream, error: p.error })),
    stderr: loadErrors.slice(0, 50),
    maxQueuedBytes,
    loadSeconds: round((loadEndedAt - t0) / 1000, 0),
  },
  rss,
  frames: { pushed: totalPushed, lost, lostTotal },
  completeness: { complete, ...completeness },
  unpublishToLastEvent100Seconds: {
    n: latencies.length,
    median: round(quantile(latencies, 0.5), 2),
    p95: round(quantile(latencies, 0.95), 2),
    max: round(latencies.at(-1), 2),
  },
  storedBytes: recorded.reduce((n, r) => n + r.bytes, 0),
  recorderLogIssues,
  perShift,
  rssSamples: samples.map((x) => [round(x.t, 0), round(x.rss / MiB), x.processes]),
  perStream,
};
const reportFile = join(out, 'soak-report.json');
await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);

const rows = [
  ['slots × shifts', `${slots} × ${shifts.length} (${shiftSeconds} s each), ${formats.join('+')}`],
  [
    'load average before → after',
    `${report.loadAverage.before.join(' ')} → ${report.loadAverage.after.join(' ')}`,
  ],
  ['publishes / load errors', `${pushed.length} / ${report.load.errors.length}`],
  ['frames pushed (video / audio)', `${totalPushed.video} / ${totalPushed.audio}`],
  ...formats.map((f) => [`lost frames ${f} (video / audio)`, `${lost[f].video} / ${lost[f].audio}`]),
  ['event 100 / files (min)', `${events100.length} / ${recorded.length} (${expected100})`],
  ['events 1 / 0 / 332 record_ended', `${count(1)} / ${count(0)} / ${ended332().length}`],
  ['callbacks complete', complete ? 'yes' : 'NO'],
  [
    'unpublish → last event 100 (median / p95)',
    `${report.unpublishToLastEvent100Seconds.median} s / ${report.unpublishToLastEvent100Seconds.p95} s`,
  ],
  [
    `RSS median first / last ${rss.windowSeconds} s`,
    `${rss.firstWindowMedianMiB} / ${rss.lastWindowMedianMiB} MiB`,
  ],
  [
    'RSS slope / max (recorder tree)',
    `${rss.slopeMiBPerHour} MiB/h / ${rss.maxMiB} MiB (${rss.maxProcesses} processes)`,
  ],
  ...perShift.map((p) => [
    `shift ${p.prefix}: load errors, lost`,
    `${p.loadErrors}; ${formats.map((f) => `${f} ${p.lost[f].video}/${p.lost[f].audio}`).join(', ')}`,
  ]),
  ['recorder warnings/errors', JSON.stringify(recorderLogIssues)],
  ['recorder exit', JSON.stringify(exit)],
  ['report', reportFile],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
if (!args.keep) await rm(dataDir, { recursive: true, force: true });
process.exit(lostTotal === 0 && complete && report.load.errors.length === 0 ? 0 : 1);
