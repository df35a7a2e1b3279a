// Sustained recording slots of one recorder node against two nodes behind HAProxy, on one box, in one run:
// both layouts in cluster mode (Redis and MinIO on the same box, files stored in MinIO), every publish through
// HAProxy, N doubled until a step is not sustained. CPU is sampled per process tree: the nodes (with their
// ffmpegs), Redis, MinIO, HAProxy and the load generator.
//
//   npm run bench:cluster -- [--nodes 1,2] [--from 10] [--max 160] [--duration 40] [--bitrate 1000]
//                            [--formats hls,mp4] [--out docs/bench-cluster]
//
// A step is sustained when every push ran whole (no load error), every file of every push was announced by
// its event 100 within 30 s of the push's end, and each announced file holds the push's media (its
// `duration` at least the pushed span less one segment). Needs a built dist/, redis-server, haproxy, ffmpeg
// and the MinIO build (scripts/minio.sh install).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { LoadProcess } from '../src/bench/load-process.ts';
import { ProcSampler, summarizeSamples } from '../src/bench/proc-sampler.ts';
import { ensureLoadFixture } from '../src/load/fixture.ts';
import { startCallbackReceiver } from '../test/helpers/callback-receiver.ts';
import { freePort, startRecorderProcess } from '../test/helpers/chaos.ts';
import { startHaproxy } from '../test/helpers/haproxy.ts';
import { startMinio } from '../test/helpers/minio.ts';
import { startRedis } from '../test/helpers/redis.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1,2' },
    from: { type: 'string', default: '10' },
    max: { type: 'string', default: '160' },
    duration: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '10' },
    bitrate: { type: 'string', default: '1000' },
    formats: { type: 'string', default: 'hls,mp4' },
    segment: { type: 'string', default: '4' },
    out: { type: 'string', default: 'docs/bench-cluster' },
  },
});
const layouts = values.nodes.split(',').map(Number);
const formats = values.formats.split(',');
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const segmentSeconds = Number(values.segment);
const fixture = await ensureLoadFixture({
  ffmpegPath: 'ffmpeg',
  dir: join(os.homedir(), '.cache', 'recorder', 'fixtures'),
  bitrateKbps: Number(values.bitrate),
  seconds: 60,
});

/** The pid of the process whose command line names `dir` (Redis and MinIO are started by their scripts). */
const pidOf = (pattern) => Number(execFileSync('pgrep', ['-o', '-f', pattern]).toString().trim());

async function runLayout(nodeCount) {
  const root = await mkdtemp(join(tmpdir(), `recorder-bench-cluster-${nodeCount}-`));
  const [redis, minio, receiver] = await Promise.all([startRedis(), startMinio(), startCallbackReceiver()]);
  const nodes = [];
  for (let i = 0; i < nodeCount; i++) {
    const [rtmp, http] = [await freePort(), await freePort()];
    const file = join(root, `node-${i}.json`);
    await writeFile(
      file,
      JSON.stringify({
        rtmp: { host: '127.0.0.1', port: rtmp },
        http: { host: '127.0.0.1', port: http },
        dataDir: join(root, `data-${i}`),
        storage: {
          type: 'minio',
          endPoint: minio.endPoint,
          port: minio.port,
          accessKey: minio.accessKey,
          secretKey: minio.secretKey,
          bucket: 'bench',
        },
        cluster: { redis: redis.url, nodeId: `node-${i}`, advertise: `node-${i}:${rtmp}` },
        callback: { url: receiver.url, retryIntervalSeconds: 1 },
        record: { formats, hlsSegmentSeconds: segmentSeconds, hlsResumeTimeoutSeconds: 0 },
      }),
    );
    const service = await startRecorderProcess(file, join(root, `node-${i}.log`), http);
    nodes.push({ name: `node-${i}`, rtmpPort: rtmp, httpPort: http, service });
  }
  const haproxy = await startHaproxy({ nodes, balance: 'leastconn', checkMs: 1000 });
  const roots = new Map(nodes.map((n) => [n.name, n.service.child.pid]));
  roots.set('redis', pidOf(`redis-server .*:${redis.port}`));
  roots.set('minio', pidOf(`minio server .*${minio.dir}`));
  roots.set('haproxy', pidOf(`haproxy .*recorder-haproxy`));

  const steps = [];
  for (let slots = Number(values.from); slots <= Number(values.max); slots *= 2) {
    const prefix = `n${nodeCount}s${slots}_`;
    const rampMs = Math.min(5000, slots * 10);
    const startedAt = Date.now();
    const load = new LoadProcess({
      url: `rtmp://127.0.0.1:${haproxy.port}/live`,
      streams: slots,
      prefix,
      fixture,
      durationSeconds: duration,
      rampMs,
    });
    const sampler = new ProcSampler(new Map([...roots, ['load', load.pid]]));
    await sampler.start();
    const stats = await load.final;
    sampler.stop();
    const from = startedAt + rampMs + warmup * 1000;
    const to = startedAt + duration * 1000 - 500;
    const endedAt = Math.max(...stats.map((s) => s.endedAtMs ?? 0));
    const want = slots * formats.length;
    const ofStep = () =>
      receiver.bodies.filter((b) => b.event_type === 100 && String(b.stream_id).startsWith(prefix));
    while (ofStep().length < want && Date.now() < endedAt + 30_000) await sleep(250);
    const files = ofStep();
    const pushedSeconds = new Map(stats.map((s) => [s.stream, s.lastTimestampMs / 1000]));
    const short = files.filter(
      (f) => Number(f.duration) < (pushedSeconds.get(String(f.stream_id)) ?? 0) - segmentSeconds,
    );
    const errors = stats.filter((s) => s.error).length;
    const cpu = Object.fromEntries(
      [...roots.keys(), 'load'].map((name) => [
        name,
        summarizeSamples(sampler.samples(name), from, to).cpuPercent,
      ]),
    );
    const nodesCpu = nodes.reduce((sum, n) => sum + cpu[n.name], 0);
    // Where HAProxy sent each push: events 1 name the node that took it.
    const begun = receiver.bodies.filter((b) => b.event_type === 1 && String(b.stream_id).startsWith(prefix));
    const perNode = Object.fromEntries(
      nodes.map((n) => [n.name, begun.filter((b) => b.node === n.name).length]),
    );
    const step = {
      slots,
      sustained: errors === 0 && files.length >= want && short.length === 0,
      announced: files.length,
      expected: want,
      shortFiles: short.length,
      loadErrors: errors,
      cpuPercent: { nodes: nodesCpu, ...cpu },
      cpuPercentPerSlot: nodesCpu / slots,
      pushesPerNode: perNode,
    };
    steps.push(step);
    console.log(
      `${nodeCount} node(s) × ${slots}: ${step.sustained ? 'sustained' : 'NOT sustained'}; ` +
        `files ${files.length}/${want}, short ${short.length}, errors ${errors}; CPU % nodes ${nodesCpu.toFixed(1)}, ` +
        `redis ${cpu.redis.toFixed(1)}, minio ${cpu.minio.toFixed(1)}, haproxy ${cpu.haproxy.toFixed(1)}, load ${cpu.load.toFixed(1)}`,
    );
    if (!step.sustained) break;
    await sleep(3000);
  }
  await haproxy.stop();
  for (const n of nodes) {
    n.service.child.kill('SIGTERM');
    await n.service.exited;
  }
  await receiver.close();
  await minio.destroy();
  await redis.destroy();
  await rm(root, { recursive: true, force: true });
  const sustained = steps.filter((s) => s.sustained).map((s) => s.slots);
  return { nodes: nodeCount, mostSustainedSlots: sustained.length ? Math.max(...sustained) : 0, steps };
}

const results = [];
for (const n of layouts) results.push(await runLayout(n));
const report = {
  when: new Date().toISOString(),
  host: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  },
  durationSeconds: duration,
  bitrateKbps: Number(values.bitrate),
  formats,
  segmentSeconds,
  results,
};
await mkdir(values.out, { recursive: true });
await writeFile(join(values.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
for (const r of results) console.log(`${r.nodes} node(s): most sustained slots ${r.mostSustainedSlots}`);
