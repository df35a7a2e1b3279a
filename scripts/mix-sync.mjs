// Mix sync and latency: two inputs that flash and beep on the same wall-clock seconds (the second starting 3 s
// later) are mixed side by side for `--minutes`, and the recordings read back: how far input B's offset against
// input A strays from where it started (picture and sound), and how far the mix trails input A's own recording
// on the program date-time clock. Run with tsx:
//   node --import tsx scripts/mix-sync.mjs [--minutes 10] [--out docs/mix-sync.json]
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runMixSync } from '../test/helpers/mix-sync.ts';

const { values: args } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, out: { type: 'string' } },
});
const seconds = Math.round(Number(args.minutes) * 60);
if (!(seconds >= 20)) {
  console.error('mix-sync: --minutes must be at least 1/3');
  process.exit(2);
}
const started = new Date().toISOString();
const figures = await runMixSync(seconds);
const report = { started, ...figures };
console.log(JSON.stringify(report, null, 2));
if (args.out) await writeFile(args.out, `${JSON.stringify(report, null, 2)}\n`);
