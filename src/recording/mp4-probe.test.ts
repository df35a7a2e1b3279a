import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFPROBE, PUBLISHER_FFMPEG } from '../../test/helpers/fixtures.js';
import { probeMedia, type MediaProbe } from '../ffmpeg/probe.js';
import { probeMp4 } from './mp4-probe.js';
import { OUTPUTS } from './outputs/index.js';

const run = promisify(execFile);
const VIDEO = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'];
const AUDIO = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];

/** What ffprobe says and what the moov reader says agree: names and sizes exactly, rates to a rounding. */
function expectSame(mine: MediaProbe | undefined, ffprobe: MediaProbe): void {
  expect(mine).toBeDefined();
  const { videoStreams, audioStreams, duration, bitrate, ...rest } = mine!;
  expect(rest).toEqual({
    size: ffprobe.size,
    container: ffprobe.container,
    width: ffprobe.width,
    height: ffprobe.height,
  });
  expect(Math.abs(duration - ffprobe.duration)).toBeLessThanOrEqual(0.05);
  expect(Math.abs(bitrate - ffprobe.bitrate)).toBeLessThanOrEqual(ffprobe.bitrate * 0.01);
  const near = (a: number, b: number) => Math.abs(a - b) <= Math.max(1, b * 0.01);
  expect(videoStreams.length).toBe(ffprobe.videoStreams.length);
  videoStreams.forEach((v, i) => {
    const f = ffprobe.videoStreams[i]!;
    expect({ codec: v.codec, width: v.width, height: v.height, fps: v.fps }).toEqual({
      codec: f.codec,
      width: f.width,
      height: f.height,
      fps: f.fps,
    });
    expect(near(v.bitrate, f.bitrate)).toBe(true);
  });
  expect(audioStreams.length).toBe(ffprobe.audioStreams.length);
  audioStreams.forEach((a, i) => {
    const f = ffprobe.audioStreams[i]!;
    expect({ codec: a.codec, samplingRate: a.samplingRate }).toEqual({
      codec: f.codec,
      samplingRate: f.samplingRate,
    });
    expect(near(a.bitrate, f.bitrate)).toBe(true);
  });
}

describe('MP4 MetaData from the moov, without ffprobe', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp4-probe-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Records like a run does (fragmented), finalizes like the finisher does (faststart); both files. */
  async function recordAndFinalize(name: string, inputs: string[], codecs: string[]) {
    const work = join(dir, `${name}.frag.mp4`);
    const final = join(dir, `${name}.mp4`);
    await run(PUBLISHER_FFMPEG, [
      ...['-hide_banner', '-loglevel', 'error', '-y', ...inputs, '-t', '3', ...codecs],
      ...['-movflags', '+frag_keyframe+empty_moov+delay_moov+default_base_moof', '-f', 'mp4', work],
    ]);
    await run(PUBLISHER_FFMPEG, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      ...OUTPUTS.mp4.finalizeArgs(work, final)!,
    ]);
    return { work, final };
  }

  it.each([
    ['h264-aac', [...VIDEO, ...AUDIO], ['-c:v', 'libx264', '-g', '25', '-c:a', 'aac', '-b:a', '96k']],
    ['h264-only', VIDEO, ['-c:v', 'libx264', '-g', '25', '-r', '30']],
    ['aac-only', AUDIO, ['-c:a', 'aac', '-b:a', '64k']],
    [
      'hevc-mp3',
      [...VIDEO, ...AUDIO],
      ['-c:v', 'libx265', '-tag:v', 'hvc1', '-x265-params', 'log-level=error', '-c:a', 'libmp3lame'],
    ],
    [
      'h264-opus',
      [...VIDEO, ...AUDIO],
      ['-c:v', 'libx264', '-c:a', 'libopus', '-ar', '48000', '-strict', '-2'],
    ],
  ])('%s: reads what ffprobe reads', async (name, inputs, codecs) => {
    const { work, final } = await recordAndFinalize(name, inputs, codecs);
    expectSame(await probeMp4(final), await probeMedia(FFPROBE, final));
    // A fragmented file's moov holds no samples: not read here (ffprobe is asked).
    await expect(probeMp4(work)).resolves.toBeUndefined();
  });

  it('is undefined for what is not an MP4 with its moov in front', async () => {
    /** A second of H.264 in whatever container the name says; a plain MP4 has its moov last. */
    const encode = async (name: string) => {
      const out = join(dir, name);
      await run(PUBLISHER_FFMPEG, [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        ...VIDEO,
        '-t',
        '1',
        '-c:v',
        'libx264',
        out,
      ]);
      return out;
    };
    await expect(probeMp4(await encode('x.flv'))).resolves.toBeUndefined();
    await expect(probeMp4(await encode('moov-last.mp4'))).resolves.toBeUndefined();
  });
});
