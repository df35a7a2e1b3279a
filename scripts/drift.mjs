// Drift: how far audio ends up from video when the encoder's audio clock runs fast, with the recorder's drift
// correction (record.timestamps.maxDriftMs, default 40) and without it (0). Two in-process recorders each take an
// undisturbed push and a push whose audio timestamps run `--rate` fast, in real time, at once. Run with tsx:
//   node --import tsx scripts/drift.mjs [--minutes 10] [--rate 0.001] [--out docs/timestamps-drift.json]
// The A/V offset of a file is (end of its last audio) − (end of its last video), against the undisturbed push's.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { URL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ensureLoadFixture } from '../src/load/fixture.ts';
import { LoadGenerator } from '../src/load/generator.ts';
import { startCallbackReceiver } from '../test/helpers/callback-receiver.ts';
import { startRecorder } from '../test/helpers/recorder.ts';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '0.001' },
    out: { type: 'string' },
  },
});
const seconds = Math.round(Number(args.minutes) * 60);
const rate = Number(args.rate);
if (!(seconds >= 20) || !Number.isFinite(rate)) {
  console.error('drift: --minutes must be at least 1/3, --rate a number such as 0.001');
  process.exit(2);
}
const ffprobe = process.env.FFPROBE ?? 'ffprobe';
const log = (m) => console.error(`[drift ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function packets(file) {
  const { stdout } = await run(
    ffprobe,
    ['-v', 'error', '-show_entries', 'packet=codec_type,pts_time,duration_time', '-of', 'json', file],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  return JSON.parse(stdout).packets.map((p) => ({
    kind: p.codec_type,
    pts: Number(p.pts_time),
    duration: Number(p.duration_time ?? 0),
  }));
}

function endOffset(list) {
  const end = (kind) => Math.max(...list.filter((p) => p.kind === kind).map((p) => p.pts + p.duration));
  return end('audio') - end('video');
}

const fixture = await ensureLoadFixture({
  ffmpegPath: process.env.PUBLISHER_FFMPEG ?? 'ffmpeg',
  dir: join('fixtures', 'load'),
  bitrateKbps: 500,
  seconds: 5,
});
const receiver = await startCallbackReceiver();
const modes = [
  { name: 'corrected', maxDriftMs: 40 },
  { name: 'uncorrected', maxDriftMs: 0 },
];
const recorders = await Promise.all(
  modes.map((mode) =>
    startRecorder({
      record: { formats: ['mp4'], timestamps: { maxDriftMs: mode.maxDriftMs } },
      callback: { url: receiver.url },
    }),
  ),
);
log(`pushing ${seconds} s, audio clock ${rate * 100} % fast, to ${modes.length} recorders`);
const startedAt = Date.now();
await Promise.all(
  recorders.flatMap((rec, i) =>
    ['control', 'drift'].map(async (stream) => {
      const generator = new LoadGenerator({
        url: `rtmp://127.0.0.1:${rec.recorder.rtmpPort}/live`,
        streams: [`${modes[i].name}-${stream}`],
        fixture,
        durationSeconds: seconds,
        ...(stream === 'drift' ? { stamp: (t, ts) => (t === 8 ? Math.round(ts * (1 + rate)) : ts) } : {}),
      });
      await generator.start();
      const [stats] = await generator.done;
      if (stats.error) throw new Error(`${stats.stream}: ${stats.error}`);
    }),
  ),
);
const bodies = await receiver.waitFor((b) => b.event_type === 100, 4, 300_000);
const fileOf = (stream) => {
  const body = bodies.find((b) => b.stream_id === stream);
  const rec = recorders[modes.findIndex((m) => stream.startsWith(`${m.name}-`))];
  return join(rec.dataDir, decodeURIComponent(new URL(String(body.video_url)).pathname));
};
const results = [];
for (const mode of modes) {
  const control = endOffset(await packets(fileOf(`${mode.name}-control`)));
  const drifted = endOffset(await packets(fileOf(`${mode.name}-drift`)));
  results.push({
    mode: mode.name,
    maxDriftMs: mode.maxDriftMs,
    endOffsetMs: Math.round((drifted - control) * 1000),
  });
}
const report = {
  date: new Date(startedAt).toISOString(),
  seconds,
  rate,
  expectedDriftMs: Math.round(seconds * 1000 * rate),
  results,
};
console.log(JSON.stringify(report, null, 2));
if (args.out) await writeFile(args.out, `${JSON.stringify(report, null, 2)}\n`);
for (const rec of recorders) await rec.stop();
await receiver.close();
