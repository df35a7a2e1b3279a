// A burst of Tencent IM webhooks at a recording node: --rate events a second for --seconds, spread over the IM
// groups of --streams recordings (two streams a group), while the node records them. It reports the frames the
// recordings lost (goal 0), the webhook answers' latency (goal p99 under 100 ms), the node's memory against its
// baseline before the burst, and whether every event reached the sidecars. Run:
//   npm run burst:im -- [--rate 2000] [--seconds 60] [--streams 20] [--out docs/im-burst.json]
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { Agent, request } from 'node:http';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL, URLSearchParams } from 'node:url';
import { CallbackReceiver } from '../src/bench/callbacks.ts';
import { countOutputFrames } from '../src/bench/frames.ts';
import { LoadProcess } from '../src/bench/load-process.ts';
import { ProcSampler, summarizeSamples } from '../src/bench/proc-sampler.ts';
import { freePorts, startService, stdoutLine } from '../src/bench/service.ts';
import { listFiles } from '../src/bench/targets/target.ts';
import { ensureLoadFixture } from '../src/load/fixture.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '60' },
    streams: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '10' },
    out: { type: 'string' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const streams = Number(values.streams);
const warmup = Number(values.warmup);
for (const [name, value, max] of [
  ['rate', rate, 20_000],
  ['seconds', seconds, 3600],
  ['streams', streams, 200],
  ['warmup', warmup, 600],
]) {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    console.error(`im-burst: --${name} must be a whole number 1..${max}`);
    process.exit(2);
  }
}
if (streams % 2 !== 0) {
  console.error('im-burst: --streams must be even (two streams a group)');
  process.exit(2);
}

const SDKAPPID = 1400000123;
const TOKEN = 'im-burst-token';
const groups = streams / 2;
const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

const root = await mkdtemp(join(os.tmpdir(), 'recorder-im-burst-'));
const dataDir = join(root, 'data');
const fixture = await ensureLoadFixture({
  ffmpegPath: 'ffmpeg',
  dir: join(os.homedir(), '.cache', 'recorder', 'fixtures'),
  bitrateKbps: 1000,
  seconds: 60,
});
const receiver = await CallbackReceiver.start();
const [rtmpPort, httpPort] = await freePorts(2);
const configFile = join(root, 'recorder.json');
// Streams s1..sN; s(2k+1) and s(2k+2) are the two cameras of room k.
const imGroups = Object.fromEntries(
  Array.from({ length: groups }, (_, k) => [`room${k}`, [`s${2 * k + 1}`, `s${2 * k + 2}`]]),
);
await writeFile(
  configFile,
  JSON.stringify({
    rtmp: { host: '127.0.0.1', port: rtmpPort },
    http: { host: '127.0.0.1', port: httpPort },
    dataDir,
    record: { formats: ['hls'], hlsSegmentSeconds: 2, hlsResumeTimeoutSeconds: 0 },
    callback: { url: receiver.url, key: 'bench', retryIntervalSeconds: 1 },
    im: { sdkAppId: SDKAPPID, callbackToken: TOKEN, roomGroups: false, groups: imGroups },
  }),
);
const service = await startService({
  command: process.execPath,
  args: [fileURLToPath(new URL('../dist/src/cli.js', import.meta.url)), 'serve', '--config', configFile],
  env: { ...process.env, LOG_LEVEL: 'info' },
  logFile: join(root, 'recorder.log'),
  ready: stdoutLine('recorder ready'),
});

const pushSeconds = warmup + seconds + 10;
const load = new LoadProcess({
  url: `rtmp://127.0.0.1:${rtmpPort}/live`,
  streams,
  prefix: 's',
  fixture,
  durationSeconds: pushSeconds,
  rampMs: 2000,
});
const sampler = new ProcSampler(new Map([['recorder', service.pid]]), 500);
await sampler.start();
console.error(
  `${streams} streams publishing; ${warmup} s of warm-up, then ${rate} events/s for ${seconds} s`,
);
await sleep(2000 + warmup * 1000);

const base = `http://127.0.0.1:${httpPort}`;
// Kept-alive connections, as IM's sender keeps its own; plain node:http costs the sender less CPU than fetch.
const agent = new Agent({ keepAlive: true, maxSockets: 128 });
function post(path, json) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify(json));
    const headers = { 'content-type': 'application/json', 'content-length': body.length };
    const req = request(
      { host: '127.0.0.1', port: httpPort, path, method: 'POST', agent, headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, answer: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const sent = new Map();
const latencies = [];
const failures = [];
let inFlight = 0;
let maxInFlight = 0;
async function send(n) {
  const groupId = `room${n % groups}`;
  const atMs = Date.now();
  const body = {
    CallbackCommand: 'Group.CallbackAfterSendMsg',
    GroupId: groupId,
    Type: 'AVChatRoom',
    From_Account: `viewer${n % 997}`,
    Operator_Account: '',
    Random: n * 7919,
    MsgSeq: n + 1,
    MsgTime: Math.floor(atMs / 1000),
    OnlineOnlyFlag: 0,
    CloudCustomData: '',
    EventTime: atMs,
    MsgBody:
      n % 10 === 0
        ? [
            {
              MsgType: 'TIMCustomElem',
              MsgContent: { Data: '{"gift":"rose","count":20}', Desc: '', Ext: '' },
            },
          ]
        : [{ MsgType: 'TIMTextElem', MsgContent: { Text: `danmaku ${n}` } }],
  };
  const time = String(Math.floor(atMs / 1000));
  const query = new URLSearchParams({
    SdkAppid: String(SDKAPPID),
    CallbackCommand: body.CallbackCommand,
    contenttype: 'json',
    ClientIP: '203.0.113.7',
    OptPlatform: 'Android',
    RequestTime: time,
    Sign: createHash('sha256')
      .update(TOKEN + time)
      .digest('hex'),
  });
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  const started = performance.now();
  try {
    const { status, answer } = await post(`/im/callback?${query}`, body);
    latencies.push(performance.now() - started);
    if (status !== 200 || answer.ActionStatus !== 'OK') failures.push(`${status} ${answer.ErrorInfo}`);
    else sent.set(groupId, (sent.get(groupId) ?? 0) + 1);
  } catch (err) {
    failures.push(String(err));
  } finally {
    inFlight--;
  }
}

const burstFrom = Date.now();
const pending = [];
const total = rate * seconds;
// Each 5 ms, the events due by then: the pace holds even while answers are slow.
for (let n = 0; n < total;) {
  const due = Math.min(total, Math.floor(((Date.now() - burstFrom) / 1000) * rate));
  for (; n < due; n++) pending.push(send(n));
  if (pending.length > 50_000) pending.splice(0, pending.length, Promise.all(pending));
  await sleep(5);
}
const sentFor = (Date.now() - burstFrom) / 1000;
await Promise.all(pending);
const burstTo = Date.now();
await sleep(5000);
const settledAt = Date.now();

// The node's own view of its answers: from each webhook's arrival to its answer (the sender's queue left out).
const metrics = await (await globalThis.fetch(`${base}/metrics`)).text();
const buckets = [...metrics.matchAll(/^recorder_im_webhook_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map(
  (m) => ({
    le: m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000,
    count: Number(m[2]),
  }),
);
const answered = buckets.at(-1)?.count ?? 0;
/** The smallest bucket bound under which p % of the answers fell. */
const bucketPercentile = (p) => buckets.find((b) => b.count >= (p / 100) * answered)?.le ?? NaN;
const stats = await load.final;
sampler.stop();
await service.stop('SIGTERM', 120_000);
await receiver.close();

// Frames: what each publisher sent against what its recording holds.
const filesDir = join(dataDir, 'live');
let pushedFrames = 0;
let lostFrames = 0;
for (const s of stats) {
  const files = await listFiles(filesDir, (name) => name.startsWith(`${s.stream}_`) && name.endsWith('.ts'));
  const found = await countOutputFrames('ffprobe', { output: 'hls', files, concat: true });
  pushedFrames += s.videoFrames + s.audioFrames;
  lostFrames += Math.max(0, s.videoFrames - found.video) + Math.max(0, s.audioFrames - found.audio);
}
// Events: each recording's sidecar holds every event its group was answered OK for.
const missingEvents = [];
for (let i = 1; i <= streams; i++) {
  const [playlist] = await listFiles(filesDir, (name) => name.startsWith(`s${i}_`) && name.endsWith('.m3u8'));
  const groupId = `room${Math.floor((i - 1) / 2)}`;
  let held = 0;
  if (playlist) {
    const sidecar = JSON.parse(
      await readFile(`${playlist}.events.json`, 'utf8').catch(() => '{"events":[]}'),
    );
    held = sidecar.events.length;
  }
  if (held !== (sent.get(groupId) ?? 0))
    missingEvents.push({ stream: `s${i}`, held, answered: sent.get(groupId) ?? 0 });
}

const samples = sampler.samples('recorder');
const before = summarizeSamples(samples, burstFrom - 5000, burstFrom);
const during = summarizeSamples(samples, burstFrom + 1000, burstTo);
const after = summarizeSamples(samples, burstTo + 1000, settledAt);
const report = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
  rate,
  seconds,
  streams,
  events: { sent: total, answeredOk: latencies.length - failures.length, failures: failures.length },
  achievedRate: round(total / sentFor),
  // As the sender saw them, its own queue included (it shares the box's two cores with the node and the pushes).
  answerMs: {
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    max: round(Math.max(...latencies)),
  },
  // As the node measured them (recorder_im_webhook_seconds): at most this bucket bound.
  nodeAnswerMs: { p50AtMost: bucketPercentile(50), p99AtMost: bucketPercentile(99), answered },
  maxInFlight,
  frames: { pushed: pushedFrames, lost: lostFrames },
  eventsMissingFromSidecars: missingEvents,
  recorderNode: {
    rssMiB: {
      before: round(before.rootRssMiB),
      during: round(during.rootRssMiB),
      after: round(after.rootRssMiB),
    },
    peakTreeRssMiB: round(during.peakRssMiB),
    // The node alone, each tenth of the burst: a rise that levels off is the heap settling, a steady one a leak.
    rssMiBThroughBurst: Array.from({ length: 10 }, (_, i) => {
      const from = burstFrom + ((burstTo - burstFrom) * i) / 10;
      return round(summarizeSamples(samples, from, from + (burstTo - burstFrom) / 10).rootRssMiB);
    }),
    cpuPercent: { before: round(before.rootCpuPercent), during: round(during.rootCpuPercent) },
    treeCpuPercent: { before: round(before.cpuPercent), during: round(during.cpuPercent) },
  },
};
console.log(JSON.stringify(report, null, 2));
if (failures.length) console.error(`first failures: ${failures.slice(0, 5).join(' | ')}`);
if (values.out) await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
await rm(root, { recursive: true, force: true });
