// RTMP fuzzer: sends seeded malformed RTMP (random bytes, truncated handshakes, garbage chunks, absurd chunk
// sizes and message lengths, bad AMF0 in connect/createStream/publish, absurd publish names, connect floods,
// slowloris) at a recorder's RTMP port, then checks that the recorder still answers a valid connect.
// Without --port it starts an in-process recorder and also reports its RSS, uncaught errors and open connections.
// The cases come from test/helpers/rtmp-fuzz.ts (shared with test/e2e/fuzz.test.ts); runs through tsx.
//
//   npm run fuzz:rtmp -- [--cases 10000] [--seed 1] [--concurrency 20] [--port P] [--slow-gap-ms 1000]
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRecorder } from '../test/helpers/recorder.ts';
import { connect, handshake, runFuzz } from '../test/helpers/rtmp-fuzz.ts';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const CASES = arg('cases', 10_000);
const SEED = arg('seed', 1);
const CONCURRENCY = arg('concurrency', 20);
const SLOW_GAP_MS = arg('slow-gap-ms', 1000);
const externalPort = arg('port', 0);

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await sleep(200);
  }
  return process.memoryUsage();
};

/** A valid handshake and connect; resolves true if the server answers with a _result. */
function answersConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let got = Buffer.alloc(0);
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(5000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(Buffer.concat([handshake(), connect('live', port)])));
    socket.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.includes('NetConnection.Connect.Success')) done(true);
    });
  });
}

const uncaught = [];
process.on('uncaughtException', (err) => uncaught.push(String(err?.stack ?? err)));

const rec = externalPort ? undefined : await startRecorder();
const port = externalPort || rec.recorder.rtmpPort;
const before = await settle();

const kinds = new Map();
let closedByServer = 0;
const started = performance.now();
const result = await runFuzz(port, CASES, {
  seed: SEED,
  concurrency: CONCURRENCY,
  slowGapMs: SLOW_GAP_MS,
  onCase: (c, outcomes) => {
    kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
    closedByServer += outcomes.filter((o) => o.closedByServer).length;
  },
});
const seconds = (performance.now() - started) / 1000;
const alive = await answersConnect(port);
const after = await settle();

console.log(`seed ${SEED}: ${result.cases} cases, ${result.sockets} sockets in ${seconds.toFixed(1)} s`);
console.log(
  `  ${(result.cases / seconds).toFixed(0)} cases/s; sockets closed by the server: ${closedByServer}`,
);
console.log(`  kinds: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
console.log(`  client errors (refused/unreachable): ${result.errors.length}`);
for (const e of result.errors.slice(0, 10)) console.log(`    case ${e.index} ${e.kind}: ${e.error}`);
console.log(`  valid connect afterwards: ${alive ? 'answered' : 'NOT ANSWERED'}`);
if (rec) {
  // Connections of the last cases may still be closing.
  let open = rec.recorder.ingest.connectionCount;
  for (let i = 0; i < 50 && open > 0; i++) {
    await sleep(100);
    open = rec.recorder.ingest.connectionCount;
  }
  console.log(
    `  open RTMP connections afterwards: ${open}; sessions: ${rec.recorder.manager.sessions.length}`,
  );
  console.log(
    `  RSS ${mib(before.rss)} -> ${mib(after.rss)}, heapUsed ${mib(before.heapUsed)} -> ${mib(after.heapUsed)}` +
      (globalThis.gc ? ' (after gc)' : ' (no --expose-gc)'),
  );
  console.log(`  uncaught exceptions: ${uncaught.length}`);
  for (const u of uncaught.slice(0, 5)) console.log(`    ${u}`);
  await rec.stop();
}
process.exitCode = alive && result.errors.length === 0 && uncaught.length === 0 ? 0 : 1;
