import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLISHER_FFMPEG, capableFfmpeg } from '../../test/helpers/fixtures.js';
import { parseFlvTags } from '../shared/flv.js';
import { parseVideoConfig, readVideoBody } from './elementary.js';
import { pictureSize } from './sps.js';

const run = promisify(execFile);

/** The decoder configuration of a short clip encoded at `size` with `codecArgs`, as its FLV carries it. */
async function configOf(ffmpeg: string, file: string, size: string, codecArgs: string[]) {
  await run(ffmpeg, [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`],
    ...['-frames:v', '3', ...codecArgs, '-f', 'flv', file],
  ]);
  for (const tag of parseFlvTags(await readFile(file))) {
    if (tag.type !== 9) continue;
    const body = readVideoBody(tag.data);
    if (body.kind === 'config') return parseVideoConfig(body.codec, body.record);
  }
  throw new Error(`${file} has no video configuration`);
}

describe('pictureSize', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'sps-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt'];
  it.each([
    ['320x240', [...x264, 'yuv420p']],
    // 1080 is not a whole number of macroblocks: the SPS crops 8 rows.
    ['1920x1080', [...x264, 'yuv420p']],
    ['642x362', [...x264, 'yuv420p', '-profile:v', 'high']],
    // High 4:4:4 with custom scaling matrices, which the parser must step over.
    ['400x300', [...x264, 'yuv444p', '-x264-params', 'cqm=jvt']],
    ['1280x720', [...x264, 'yuv422p', '-profile:v', 'high422']],
  ])('reads %s from an H.264 SPS (%j)', async (size, args) => {
    const config = await configOf(PUBLISHER_FFMPEG, join(dir, `${size}.flv`), size, args);
    const [width, height] = size.split('x').map(Number);
    expect(pictureSize(config)).toEqual({ width, height });
  });

  it.each(['1920x1080', '640x360', '426x240'])('reads %s from an HEVC SPS', async (size) => {
    const args = ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error'];
    const config = await configOf(capableFfmpeg(), join(dir, `${size}.hevc.flv`), size, args);
    expect(config.codec).toBe('h265');
    const [width, height] = size.split('x').map(Number);
    expect(pictureSize(config)).toEqual({ width, height });
  });

  it('gives undefined for a configuration without an SPS, or one cut short', () => {
    const pps = Buffer.from([0x68, 0xce, 0x38, 0x80]);
    expect(pictureSize({ codec: 'h264', lengthSize: 4, parameterSets: [pps], record: Buffer.alloc(0) })).toBe(
      undefined,
    );
    const cut = Buffer.from([0x67, 0x64, 0x00]);
    expect(pictureSize({ codec: 'h264', lengthSize: 4, parameterSets: [cut], record: Buffer.alloc(0) })).toBe(
      undefined,
    );
  });
});
