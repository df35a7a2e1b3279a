import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpegPath } from '../ffmpeg/locate.js';
import { backgroundInput, buildMixGraph } from './filter-graph.js';
import { isRefusal, layoutMix, type MixLayout } from './layout.js';

const run = promisify(execFile);
const FFMPEG = resolveFfmpegPath(undefined);

function mixOf(): MixLayout {
  const layout = layoutMix({
    MixStreamSessionId: 'graph_test',
    InputStreamList: [
      {
        InputStreamName: 'canvas',
        LayoutParams: { ImageLayer: 1, InputType: 3, ImageWidth: 640, ImageHeight: 360, Color: '0x0000FF' },
      },
      {
        InputStreamName: 'red',
        LayoutParams: { ImageLayer: 2, ImageWidth: 320, ImageHeight: 180, LocationX: 0, LocationY: 0 },
      },
      {
        InputStreamName: 'green',
        LayoutParams: { ImageLayer: 3, ImageWidth: 0.25, ImageHeight: 0.25, LocationX: 0.5, LocationY: 0.5 },
        CropParams: { CropWidth: 100, CropHeight: 100, CropStartLocationX: 10, CropStartLocationY: 10 },
      },
      {
        InputStreamName: 'silent',
        LayoutParams: {
          ImageLayer: 4,
          InputType: 5,
          ImageWidth: 100,
          ImageHeight: 100,
          LocationX: 500,
          LocationY: 0,
        },
      },
      { InputStreamName: 'voice', LayoutParams: { ImageLayer: 5, InputType: 4 } },
    ],
    OutputParams: {
      OutputStreamName: 'mixed',
      OutputStreamType: 1,
      OutputStreamFrameRate: 25,
      OutputAudioSampleRate: 44100,
    },
  });
  if (isRefusal(layout)) throw new Error(layout.message);
  return layout;
}

describe('buildMixGraph', () => {
  it('overlays the seen inputs in layer order on the canvas and mixes the heard ones', () => {
    const index = { red: 1, green: 2, silent: 3, voice: 4 } as Record<string, number>;
    const graph = buildMixGraph(mixOf(), (n) => index[n]!);
    expect(graph.video).toBe('vout');
    expect(graph.audio).toBe('aout');
    expect(graph.filter).toContain('[0:v]scale=640:360,setsar=1,fps=25[bg0]');
    expect(graph.filter).toContain('[2:v]crop=100:100:10:10,scale=160:90,setsar=1[v2]');
    expect(graph.filter).toContain('[bg1][v2]overlay=x=320:y=180');
    // The video-only input is not heard, the audio-only one not seen.
    expect(graph.filter).not.toContain('[3:a]');
    expect(graph.filter).not.toContain('[4:v]');
    expect(graph.filter).toContain('[a1][a2][a4]amix=inputs=3');
  });

  it('a mix where no input is heard has the background’s silence for sound', () => {
    const layout = layoutMix({
      MixStreamSessionId: 'v',
      InputStreamList: [{ InputStreamName: 'x', LayoutParams: { ImageLayer: 1, InputType: 5 } }],
      OutputParams: { OutputStreamName: 'y', OutputStreamType: 1 },
    });
    expect(buildMixGraph(layout as MixLayout, () => 1).filter).toContain('[0:a]aresample=48000');
  });

  it('an audio-only mix has no picture', () => {
    const layout = layoutMix({
      MixStreamSessionId: 'a',
      InputStreamList: [{ InputStreamName: 'x', LayoutParams: { ImageLayer: 1, InputType: 4 } }],
      OutputParams: { OutputStreamName: 'y', OutputStreamType: 1 },
    });
    const graph = buildMixGraph(layout as MixLayout, () => 1);
    expect(graph.video).toBeUndefined();
    expect(graph.filter).toBe(
      '[1:a]aresample=48000,aformat=sample_rates=48000:channel_layouts=stereo[a1];[a1]anull[aout]',
    );
  });

  it('the background is the canvas colour at the output size and rate, with silence, made by lavfi', () => {
    expect(backgroundInput(mixOf())).toEqual([
      ...['-f', 'lavfi', '-i'],
      'color=c=0x0000FF:s=640x360:r=25[out0];anullsrc=r=44100:cl=stereo[out1]',
    ]);
    const audioOnly = layoutMix({
      MixStreamSessionId: 'a',
      InputStreamList: [{ InputStreamName: 'x', LayoutParams: { ImageLayer: 1, InputType: 4 } }],
      OutputParams: { OutputStreamName: 'y', OutputStreamType: 1 },
    });
    expect(backgroundInput(audioOnly as MixLayout)).toEqual([
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=48000:cl=stereo',
    ]);
  });

  describe('run by the bundled ffmpeg', () => {
    let dir: string;
    let rgb: Buffer;
    const W = 640;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'recorder-mix-graph-'));
      const sources = [
        'color=c=red:s=320x240:r=25:d=3[out0];sine=frequency=440:sample_rate=48000:d=3[out1]',
        'color=c=lime:s=320x240:r=25:d=3[out0];sine=frequency=1000:sample_rate=48000:d=3[out1]',
        'color=c=white:s=320x240:r=25:d=3[out0];sine=frequency=2500:sample_rate=48000:d=3[out1]',
        'sine=frequency=4000:sample_rate=48000:d=3',
      ];
      const index = { red: 1, green: 2, silent: 3, voice: 4 } as Record<string, number>;
      const graph = buildMixGraph(mixOf(), (n) => index[n]!);
      const out = join(dir, 'mix.mp4');
      await run(FFMPEG, [
        ...['-hide_banner', '-loglevel', 'error', '-y'],
        // Input 0 as the mixer gives it: the canvas colour, with silence.
        ...backgroundInput(mixOf()),
        ...sources.flatMap((s) => ['-f', 'lavfi', '-i', s]),
        ...['-filter_complex', graph.filter, '-map', `[${graph.video}]`, '-map', `[${graph.audio}]`],
        ...['-t', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '10', '-c:a', 'aac', out],
      ]);
      const { stdout } = await run(
        FFMPEG,
        ['-v', 'error', '-ss', '1', '-i', out, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
        {
          encoding: 'buffer',
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      rgb = stdout as unknown as Buffer;
    }, 60_000);
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /** Mean colour of a rectangle of the decoded frame, inset so edges do not blur it. */
    const mean = (x: number, y: number, w: number, h: number) => {
      const sum = [0, 0, 0];
      for (let row = y + 4; row < y + h - 4; row++)
        for (let col = x + 4; col < x + w - 4; col++)
          for (let c = 0; c < 3; c++) sum[c]! += rgb[(row * W + col) * 3 + c]!;
      const n = (w - 8) * (h - 8);
      return sum.map((s) => Math.round(s / n));
    };
    const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]!) < 30);

    it('each region shows its input and the rest the canvas', () => {
      expect(rgb.length).toBe(640 * 360 * 3);
      expect(near(mean(0, 0, 320, 180), [255, 0, 0]), `red: ${mean(0, 0, 320, 180)}`).toBe(true);
      expect(near(mean(320, 180, 160, 90), [0, 255, 0]), `green: ${mean(320, 180, 160, 90)}`).toBe(true);
      expect(near(mean(500, 0, 100, 100), [255, 255, 255]), `white: ${mean(500, 0, 100, 100)}`).toBe(true);
      expect(near(mean(0, 200, 300, 150), [0, 0, 255]), `canvas: ${mean(0, 200, 300, 150)}`).toBe(true);
    });

    it('the mixed sound holds the tone of each heard input and not the video-only one', async () => {
      const level = async (hz: number) => {
        const { stderr } = await run(FFMPEG, [
          ...['-hide_banner', '-nostats', '-i', join(dir, 'mix.mp4'), '-vn'],
          // Three passes of a narrow band-pass: the other tones fall far below the one measured.
          ...['-af', `${`bandpass=f=${hz}:width_type=q:w=8,`.repeat(3)}astats=metadata=0`, '-f', 'null', '-'],
        ]);
        return Number(/Overall[\s\S]*?RMS level dB: (-?[\d.]+|-inf)/.exec(stderr)?.[1] ?? '-200');
      };
      const [a, b, silent, voice] = [
        await level(440),
        await level(1000),
        await level(2500),
        await level(4000),
      ];
      for (const [hz, db] of [
        [440, a],
        [1000, b],
        [4000, voice],
      ])
        expect(db, `${hz} Hz`).toBeGreaterThan(-35);
      expect(silent, '2500 Hz (video only)').toBeLessThan(Math.min(a, b, voice) - 20);
    });
  });
});
