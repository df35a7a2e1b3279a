// Pictures of the mix presets (MixStreamTemplateId), drawn by the recorder's own layout and filter graph from
// solid test colours (layer 1 red, then lime, blue, yellow, magenta, cyan; 390's canvas grey), for the README.
//   node --import tsx scripts/preset-pictures.mjs [--out docs/presets]
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { resolveFfmpegPath } from '../src/ffmpeg/locate.ts';
import { buildMixGraph } from '../src/mix/filter-graph.ts';
import { isRefusal, layoutMix } from '../src/mix/layout.ts';
import { CANVAS_PRESETS, PRESET_INPUTS } from '../src/mix/presets.ts';

const run = promisify(execFile);
const { values: args } = parseArgs({ options: { out: { type: 'string', default: 'docs/presets' } } });
const COLOURS = ['red', 'lime', 'blue', 'yellow', 'magenta', 'cyan'];
const ffmpeg = resolveFfmpegPath(undefined);
await mkdir(args.out, { recursive: true });

for (const [id, count] of Object.entries(PRESET_INPUTS).map(([id, n]) => [Number(id), n])) {
  const canvas = CANVAS_PRESETS.has(id);
  const names = Array.from({ length: canvas ? count - 1 : count }, (_, i) => `u${i}`);
  const layout = layoutMix({
    MixStreamSessionId: `preset${id}`,
    MixStreamTemplateId: id,
    InputStreamList: [
      ...(canvas
        ? [
            {
              InputStreamName: 'canvas',
              LayoutParams: {
                ImageLayer: 1,
                InputType: 3,
                ImageWidth: 640,
                ImageHeight: 360,
                Color: '0x808080',
              },
            },
          ]
        : []),
      ...names.map((name, i) => ({
        InputStreamName: name,
        LayoutParams: {
          ImageLayer: i + (canvas ? 2 : 1),
          ...(!canvas && i === 0 ? { ImageWidth: 640, ImageHeight: 360 } : {}),
        },
      })),
    ],
    OutputParams: { OutputStreamName: 'out', OutputStreamType: 1 },
  });
  if (isRefusal(layout)) throw new Error(`${id}: ${layout.message}`);
  const graph = buildMixGraph(layout, (name) => names.indexOf(name) + 1);
  const sources = [
    `color=c=${layout.color}:s=640x360:r=25,format=yuv420p[out0];aevalsrc=0|0:s=48000[out1]`,
    ...names.map((_, i) => `color=c=${COLOURS[i]}:s=320x240:r=25[out0];aevalsrc=0|0:s=48000[out1]`),
  ];
  const file = join(args.out, `${id}.png`);
  await run(ffmpeg, [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...sources.flatMap((s) => ['-f', 'lavfi', '-i', s]),
    ...[
      '-filter_complex',
      `${graph.filter};[${graph.video}]scale=320:180[pic];[${graph.audio}]anullsink`,
      '-map',
      '[pic]',
    ],
    ...['-frames:v', '1', file],
  ]);
  console.log(file);
}
