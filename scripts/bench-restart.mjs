// ffmpeg restart latency: SIGKILLs the recording ffmpeg of a live push, over and over, and measures the time from
// the kill to the new ffmpeg (its 'started': spawned, fed its headers and the first keyframe) and to the new pid.
// A recorder runs in-process with the default timings (restartDelayMs 200); the publisher encodes a test pattern
// with a GOP of `--gop` seconds. Each kill is on a push of its own (a publish gets at most 3 restarts), at a
// random point of a GOP (a restart that waited for the next keyframe would depend on it; one that replays the GOP
// kept since the last keyframe does not).
//
//   npm run bench:restart -- [--kills 10] [--gop 2]   (node --import tsx scripts/bench-restart.mjs)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.ts';
import { Recorder } from '../src/main.ts';
import { createLogger } from '../src/shared/logger.ts';

const { values } = parseArgs({
  options: { kills: { type: 'string', default: '10' }, gop: { type: 'string', default: '2' } },
});
const kills = Number(values.kills);
const gop = Number(values.gop);

async function until(check, timeoutMs, what) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'bench-restart-'));
const config = parseConfig({
  rtmp: { host: '127.0.0.1', port: 0 },
  http: { host: '127.0.0.1', port: 0 },
  dataDir,
  record: { formats: ['hls', 'mp4'] },
});
const recorder = await Recorder.start(config, {
  logger: createLogger({ level: process.env.LOG_LEVEL ?? 'silent' }),
});
// The publisher encodes, so it needs an ffmpeg with libx264 (the system one, as the tests' publishers).
const ffmpeg = process.env.PUBLISHER_FFMPEG ?? 'ffmpeg';
const results = [];
try {
  for (let i = 0; i < kills; i++) {
    const stream = `restart${i}`;
    const fps = 25;
    const pusher = spawn(
      ffmpeg,
      [
        ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-re'],
        ...[
          '-f',
          'lavfi',
          '-i',
          `testsrc2=size=320x240:rate=${fps}`,
          '-f',
          'lavfi',
          '-i',
          'sine=frequency=440',
        ],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(gop * fps), '-c:a', 'aac', '-t', '12'],
        ...['-f', 'flv', `rtmp://127.0.0.1:${recorder.rtmpPort}/live/${stream}`],
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const exited = new Promise((resolve) => pusher.on('close', resolve));
    const session = await until(
      () => {
        const s = recorder.manager.sessionOf('live', stream);
        return s?.state === 'recording' && s.currentRun?.pid !== undefined ? s : undefined;
      },
      30_000,
      'recording',
    );
    const first = session.currentRun;
    await sleep(3000 + Math.random() * gop * 1000);
    if (session.currentRun !== first || first.pid === undefined) {
      console.log(`kill ${i + 1}: skipped, the ffmpeg had already ended (${first.state})`);
      await exited;
      continue;
    }
    const killedAt = performance.now();
    process.kill(first.pid, 'SIGKILL');
    const second = await until(
      () => (session.currentRun !== first ? session.currentRun : undefined),
      30_000,
      'run',
    );
    const runAt = performance.now();
    if (second.state !== 'running') await new Promise((resolve) => second.once('started', resolve));
    const startedMs = performance.now() - killedAt;
    results.push({ kill: i + 1, newRunMs: Math.round(runAt - killedAt), startedMs: Math.round(startedMs) });
    console.log(
      `kill ${i + 1}: new run after ${Math.round(runAt - killedAt)} ms, new ffmpeg started after ${Math.round(startedMs)} ms`,
    );
    await exited;
    await session.done;
  }
} finally {
  await recorder.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
const sorted = results.map((r) => r.startedMs).sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
console.log(
  `kill → new ffmpeg started, ${sorted.length} kills, GOP ${gop} s: min ${sorted[0]} ms, median ${pct(0.5)} ms, ` +
    `max ${sorted.at(-1)} ms; within 1 s: ${sorted.filter((ms) => ms <= 1000).length}/${sorted.length}`,
);
