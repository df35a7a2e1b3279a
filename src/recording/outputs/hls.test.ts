import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFPROBE, PUBLISHER_FFMPEG } from '../../../test/helpers/fixtures.js';
import { parsePlaylist, renderPlaylist, type PlaylistSegment } from '../hls-playlist.js';
import { buildRunArgs } from '../run-args.js';
import { initSectionLength } from './fmp4.js';
import { hlsSegmentKind, segmentShape } from './hls.js';
import { OUTPUTS } from './index.js';

const AV1 = { video: { codec: 'av1' as const } };

const run = promisify(execFile);

function box(type: string, body: number, size = 8 + body): Buffer {
  const b = Buffer.alloc(8 + body);
  b.writeUInt32BE(size, 0);
  b.write(type, 4, 'latin1');
  return b;
}

describe('fMP4 init section', () => {
  it('ends after moov; undefined without a whole moov or with media first', () => {
    const head = Buffer.concat([box('ftyp', 12), box('moov', 100), box('moof', 20), box('mdat', 40)]);
    expect(initSectionLength(head)).toBe(20 + 108);
    expect(initSectionLength(head.subarray(0, 60))).toBeUndefined();
    expect(initSectionLength(Buffer.concat([box('ftyp', 12), box('moof', 20)]))).toBeUndefined();
    expect(initSectionLength(Buffer.concat([box('ftyp', 12, 4)]))).toBeUndefined();
  });

  it('a 64-bit box size is read', () => {
    const large = Buffer.alloc(16 + 4);
    large.writeUInt32BE(1, 0);
    large.write('free', 4, 'latin1');
    large.writeBigUInt64BE(20n, 8);
    expect(initSectionLength(Buffer.concat([large, box('moov', 10)]))).toBe(20 + 18);
  });
});

describe('HLS segment kinds', () => {
  const spec = { format: 'hls' as const, dir: '/w', segmentSeconds: 2, startNumber: 0 };

  it('AV1 goes to fMP4 segments, H.264 and HEVC to MPEG-TS', () => {
    expect(hlsSegmentKind(AV1)).toBe('fmp4');
    expect(hlsSegmentKind({ video: { codec: 'h265' } })).toBe('ts');
    expect(hlsSegmentKind({ audio: { codec: 'aac' } })).toBe('ts');
    const av1 = buildRunArgs({ video: { codec: 'av1' }, audio: { codec: 'aac' } }, [spec]).join(' ');
    expect(av1).toContain('-segment_format mp4');
    expect(av1).toContain('default_base_moof');
    expect(av1).not.toContain('-reset_timestamps');
    const hevc = buildRunArgs({ video: { codec: 'h265' } }, [spec]).join(' ');
    expect(hevc).toContain('-segment_format mpegts');
  });

  it('an fMP4 playlist maps each segment’s init section and plays the bytes after it; it parses back', () => {
    const segments: PlaylistSegment[] = [0, 1].map((seq) => ({
      uri: `s_00000${seq}.m4s`,
      seq,
      durationSeconds: 2,
      programDateTime: new Date(Date.UTC(2026, 0, 1, 0, 0, 2 * seq)),
      discontinuity: false,
      fmp4: { initLength: 700 + seq, size: 50_000 + seq },
    }));
    const text = renderPlaylist(segments, true, 2);
    expect(text).toContain('#EXT-X-VERSION:6');
    expect(text).toContain('#EXT-X-MAP:URI="s_000000.m4s",BYTERANGE="700@0"');
    expect(text).toContain('#EXT-X-BYTERANGE:49300@700');
    expect(text).toContain('#EXT-X-MAP:URI="s_000001.m4s",BYTERANGE="701@0"');
    expect(parsePlaylist(text).segments).toEqual(segments);
    expect(
      renderPlaylist(
        segments.map(({ fmp4: _, ...s }) => s),
        true,
        2,
      ),
    ).toContain('#EXT-X-VERSION:3');
  });
});

describe('an fMP4 segment as the segment muxer writes it', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmp4-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('has an init section that, with the bytes after it, decodes the whole segment', async () => {
    // The recorder's own fMP4 segment options, on an H.264 encode (what decides them is the codec's name).
    const muxer = OUTPUTS.hls.muxerArgs({ format: 'hls', dir, segmentSeconds: 2, startNumber: 0 }, AV1);
    await run(PUBLISHER_FFMPEG, [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25'],
      ...['-t', '4', '-map', '0:v', '-c:v', 'libx264', '-g', '25', ...muxer],
    ]);
    const path = join(dir, 'hls_000001.seg');
    const { size } = await stat(path);
    const shape = await segmentShape(path, size, AV1);
    expect(shape.extension).toBe('m4s');
    const bytes = await readFile(path);
    const initLength = shape.fmp4!.initLength;
    expect(bytes.subarray(initLength + 4, initLength + 8).toString('latin1')).toBe('moof');
    await expect(segmentShape(path, size, { video: { codec: 'h264' } })).resolves.toEqual({
      extension: 'ts',
    });
    // A playlist of both segments by byte range, as the recorder writes it, decodes to all 100 frames.
    const segments: PlaylistSegment[] = [];
    for (const seq of [0, 1]) {
      const file = join(dir, `hls_00000${seq}.seg`);
      // Stored under the name the recorder gives it (ffmpeg's HLS reader wants a media extension).
      await copyFile(file, join(dir, `s_00000${seq}.m4s`));
      const shaped = await segmentShape(file, (await stat(file)).size, AV1);
      segments.push({
        uri: `s_00000${seq}.m4s`,
        seq,
        durationSeconds: 2,
        programDateTime: new Date(),
        discontinuity: false,
        fmp4: shaped.fmp4!,
      });
    }
    await writeFile(join(dir, 'index.m3u8'), renderPlaylist(segments, true, 2));
    const { stdout } = await run(FFPROBE, [
      ...['-v', 'error', '-count_frames', '-select_streams', 'v'],
      ...['-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', join(dir, 'index.m3u8')],
    ]);
    expect(stdout.trim().split('\n').map(Number)).toContain(100);
  });
});
