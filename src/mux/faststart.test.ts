import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, truncate, copyFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFPROBE, PUBLISHER_FFMPEG, ensureFixtures, fixturePath } from '../../test/helpers/fixtures.js';
import { SCRIPT_FLAGS, audioFlags, videoFlags } from '../ingest/index.js';
import { encodeTag, parseFlvTags } from '../shared/flv.js';
import { createLogger } from '../shared/logger.js';
import { edits, faststartMp4 } from './faststart.js';
import { boxHeader } from './mp4-box.js';
import { NativeMuxer } from './native-muxer.js';

const run = promisify(execFile);
/** The recording ffmpeg's MP4 work file flags (outputs/mp4.ts). */
const FRAGMENTED = [
  '-f',
  'mp4',
  '-movflags',
  '+frag_keyframe+empty_moov+delay_moov+default_base_moof',
  '-frag_duration',
  '1000000',
];

/** Every packet ffprobe reads: stream, pts, dts, size and whether it is a keyframe. */
async function packets(file: string): Promise<string[]> {
  const { stdout } = await run(
    FFPROBE,
    ['-v', 'error', '-show_entries', 'packet=stream_index,pts,dts,size,flags', '-of', 'csv=p=0', file],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((line) => /^\d/.test(line))
    .map((line) => {
      const [stream, pts, dts, size, flags] = line.split(',');
      return [stream, pts, dts, size, flags!.startsWith('K') ? 'key' : ''].join(',');
    });
}

/** The md5 of each decoded picture, in order. */
async function pictures(file: string): Promise<string[]> {
  const { stdout } = await run(
    PUBLISHER_FFMPEG,
    ['-v', 'error', '-i', file, '-map', '0:v', '-f', 'framemd5', '-'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(',').at(-1)!.trim());
}

async function topLevel(file: string): Promise<string[]> {
  const buf = await readFile(file);
  const types: string[] = [];
  for (let at = 0, header = boxHeader(buf, 0); header; header = boxHeader(buf, at)) {
    types.push(header.type);
    at += header.size;
  }
  return types;
}

async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run(PUBLISHER_FFMPEG, ['-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr.trim();
}

describe('edits: the work file’s presentation, its times moved to start at 0', () => {
  it.each([
    // first sample's time, where the work file's edits began (undefined: none), presented end → entries
    { first: 0, shift: undefined, end: 900, want: [] },
    { first: 0, shift: 1024, end: 77824, want: [[76800, 1024]] },
    {
      first: 1800,
      shift: undefined,
      end: 90000,
      want: [
        [1800, -1],
        [90000, 0],
      ],
    },
    { first: 1800, shift: 3600, end: 90000, want: [[88200, 1800]] },
    {
      first: 3600,
      shift: 1800,
      end: 90000,
      want: [
        [1800, -1],
        [90000, 0],
      ],
    },
    // an empty edit of 10 ms before media 0: media 0 was shown at 900
    {
      first: 0,
      shift: -900,
      end: 90000,
      want: [
        [900, -1],
        [90000, 0],
      ],
    },
  ])('first $first, shown from $shift', ({ first, shift, end, want }) => {
    expect(edits(first, shift, end)).toEqual(want);
  });
});

describe('faststartMp4', () => {
  let dir: string;
  beforeAll(async () => {
    ensureFixtures();
    dir = await mkdtemp(join(tmpdir(), 'faststart-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The faststart file holds the work file's packets and pictures, its moov before its data. */
  async function expectSameMedia(work: string, final: string): Promise<void> {
    expect(await topLevel(final)).toEqual(['ftyp', 'moov', 'mdat']);
    const [had, has] = await Promise.all([packets(work), packets(final)]);
    expect(has.length).toBeGreaterThan(100);
    expect(has).toEqual(had);
    expect(await pictures(final)).toEqual(await pictures(work));
    expect(await decodeErrors(final)).toBe('');
  }

  it('of ffmpeg’s work file with B-frames and AAC priming keeps every packet, time and picture', async () => {
    const work = join(dir, 'bframes.work.mp4');
    await run(PUBLISHER_FFMPEG, [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '7'],
      ...['-c:v', 'libx264', '-bf', '2', '-g', '50', '-c:a', 'aac', ...FRAGMENTED, work],
    ]);
    const final = join(dir, 'bframes.mp4');
    await faststartMp4(work, final);
    await expectSameMedia(work, final);
  });

  it('of ffmpeg’s work file copied from a push keeps every packet, time and picture', async () => {
    const work = join(dir, 'copy.work.mp4');
    await run(PUBLISHER_FFMPEG, [
      '-v',
      'error',
      '-i',
      fixturePath('av.flv'),
      '-c',
      'copy',
      ...FRAGMENTED,
      work,
    ]);
    const final = join(dir, 'copy.mp4');
    await faststartMp4(work, final);
    await expectSameMedia(work, final);
    // Read through a window smaller than a fragment, and than the moov: the same file, byte for byte.
    const small = join(dir, 'copy.small-window.mp4');
    await faststartMp4(work, small, { windowBytes: 512 });
    expect((await readFile(small)).equals(await readFile(final))).toBe(true);
  });

  it('of the native muxer’s work file keeps every packet, time and picture', async () => {
    const out = join(dir, 'native');
    await mkdir(out);
    const muxer = new NativeMuxer({
      outputs: [
        {
          format: 'mp4',
          filePath: () => join(out, 'work.mp4'),
          fileName: () => 'work.mp4',
          listPath: join(out, 'mp4.csv'),
          segmentSeconds: 600,
          startNumber: 0,
        },
      ],
      video: 'h264',
      audio: 'aac',
      writeBatchMs: 20,
      logger: createLogger({ level: 'silent' }),
    });
    for (const tag of parseFlvTags(await readFile(fixturePath('av.flv')))) {
      const flags =
        tag.type === 9 ? videoFlags(tag.data) : tag.type === 8 ? audioFlags(tag.data) : SCRIPT_FLAGS;
      muxer.write({ ...flags, dts: tag.timestamp, tag: encodeTag(tag) });
    }
    await muxer.stop();
    const final = join(dir, 'native.mp4');
    await faststartMp4(join(out, 'work.mp4'), final);
    await expectSameMedia(join(out, 'work.mp4'), final);
  });

  it('refuses a file that is not fragmented, and one cut inside a fragment', async () => {
    const plain = join(dir, 'plain.mp4');
    await run(PUBLISHER_FFMPEG, ['-v', 'error', '-i', fixturePath('av.flv'), '-c', 'copy', '-t', '3', plain]);
    await expect(faststartMp4(plain, join(dir, 'plain.out.mp4'))).rejects.toThrow(/not fragmented/);
    const cut = join(dir, 'cut.mp4');
    await copyFile(join(dir, 'copy.work.mp4'), cut);
    await truncate(cut, Math.floor((await stat(cut)).size / 2));
    await expect(faststartMp4(cut, join(dir, 'cut.out.mp4'))).rejects.toThrow(/is cut/);
  });
});
