import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFPROBE, PUBLISHER_FFMPEG, ensureFixtures, fixturePath } from '../../test/helpers/fixtures.js';
import { decode } from '../../test/helpers/media.js';
import { SCRIPT_FLAGS, audioFlags, videoFlags, type MediaPacket } from '../ingest/index.js';
import { encodeTag, parseFlvTags } from '../shared/flv.js';
import { createLogger } from '../shared/logger.js';
import type { NativeFormat } from './containers.js';
import { remuxArgs } from '../recording/outputs/format.js';
import { NativeMuxer, type NativeMuxerOptions, type NativeOutput } from './native-muxer.js';

const run = promisify(execFile);

/** An FLV file's tags as the ingest hands them on. */
async function packetsOf(file: string): Promise<MediaPacket[]> {
  return parseFlvTags(await readFile(file)).map((tag) => {
    const flags =
      tag.type === 9 ? videoFlags(tag.data) : tag.type === 8 ? audioFlags(tag.data) : SCRIPT_FLAGS;
    return { ...flags, dts: tag.timestamp, tag: encodeTag(tag) };
  });
}

/** Frames of each stream ffprobe counts by decoding (`-count_frames`), and the stream's start time. */
async function frames(file: string): Promise<Record<string, { frames: number; start: number }>> {
  const { stdout } = await run(FFPROBE, [
    '-v',
    'error',
    '-count_frames',
    '-show_entries',
    'stream=codec_type,nb_read_frames,start_time',
    '-of',
    'json',
    file,
  ]);
  const streams = (
    JSON.parse(stdout) as {
      streams: { codec_type: string; nb_read_frames: string; start_time: string }[];
    }
  ).streams;
  return Object.fromEntries(
    streams.map((s) => [s.codec_type, { frames: Number(s.nb_read_frames), start: Number(s.start_time) }]),
  );
}

async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run(PUBLISHER_FFMPEG, ['-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr.trim();
}

/** Where ffmpeg's segment muxer would cut: at the first cut point at or past each multiple of the split. */
function expectedStarts(packets: readonly MediaPacket[], seconds: number, video: boolean): number[] {
  const media = packets.filter((p) => p.kind !== 'script');
  const t0 = media[0]!.dts;
  const starts = [0];
  for (const p of media) {
    const cut = video ? p.kind === 'video' && p.isKeyFrame && !p.isSequenceHeader : p.kind === 'audio';
    if (cut && p.dts - t0 >= starts.length * seconds * 1000) starts.push((p.dts - t0) / 1000);
  }
  return starts;
}

type Listed = { file: string; start: number; end: number }[];

function outputs(
  dir: string,
  seconds: number,
  formats: NativeFormat[],
  reported?: Partial<Record<NativeFormat, Listed>>,
): NativeOutput[] {
  const ext: Record<NativeFormat, string> = { hls: 'seg', flv: 'flv', aac: 'aac', mp4: 'mp4' };
  return formats.map((format) => {
    const name = (n: number) => `${format}_${String(n).padStart(5, '0')}.${ext[format]}`;
    return {
      format,
      filePath: (n) => join(dir, name(n)),
      fileName: name,
      listPath: join(dir, `${format}.csv`),
      segmentSeconds: seconds,
      startNumber: format === 'hls' ? 7 : 0,
      onListed: ({ file, startSeconds, endSeconds }) =>
        (reported?.[format] ?? []).push({ file, start: startSeconds, end: endSeconds }),
    };
  });
}

async function listed(dir: string, format: NativeFormat) {
  const text = await readFile(join(dir, `${format}.csv`), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [file, start, end] = line.split(',');
      return { file: file!, start: Number(start), end: Number(end) };
    });
}

const log = createLogger({ level: 'silent' });

/** A muxer of H.264 + AAC into `formats` under `out`, split every `seconds`. */
function avMuxer(
  out: string,
  seconds: number,
  formats: NativeFormat[],
  writeBatchMs = 20,
  reported?: Partial<Record<NativeFormat, Listed>>,
): NativeMuxer {
  const options: NativeMuxerOptions = {
    outputs: outputs(out, seconds, formats, reported),
    video: 'h264',
    audio: 'aac',
    writeBatchMs,
    logger: log,
  };
  return new NativeMuxer(options);
}

describe('the native muxer', () => {
  let dir: string;
  let source: MediaPacket[];

  beforeAll(async () => {
    ensureFixtures();
    dir = await mkdtemp(join(tmpdir(), 'native-mux-'));
    source = await packetsOf(fixturePath('av.flv'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Muxes the first 20 s of the source into `format` under `name`, lets a batch be written, and kills it. */
  async function killedHalfway(name: string, format: NativeFormat) {
    const out = join(dir, name);
    await mkdir(out);
    const muxer = avMuxer(out, 60, [format], 10);
    const half = source.filter((p) => p.dts < 20_000);
    for (const packet of half) muxer.write(packet);
    await new Promise((r) => setTimeout(r, 50));
    muxer.kill('SIGKILL');
    return { out, half, exit: await muxer.exited };
  }

  it('splits 40 s of H.264 + AAC at the first keyframe past each 10 s into TS, FLV, ADTS and fMP4 holding every frame', async () => {
    const out = join(dir, 'av');
    await mkdir(out);
    const reported = { hls: [], flv: [], aac: [], mp4: [] };
    const muxer = avMuxer(out, 10, ['hls', 'flv', 'aac', 'mp4'], 20, reported);
    for (const packet of source) muxer.write(packet);
    expect(await muxer.stop()).toMatchObject({ code: 0, requested: true });
    const whole = await frames(fixturePath('av.flv'));

    for (const format of ['hls', 'flv', 'aac', 'mp4'] as const) {
      const files = await listed(out, format);
      // The run is told of each file as its list line says it.
      expect(reported[format]).toEqual(files);
      // Keyframes every 2 s: cuts just past 10, 20 and 30 s, each file ending where the next starts.
      const starts = expectedStarts(source, 10, format !== 'aac');
      expect(starts.length).toBeGreaterThanOrEqual(4);
      expect(files.map((f) => f.start)).toEqual(starts);
      expect(files.slice(0, -1).map((f) => f.end)).toEqual(starts.slice(1));
      expect(Math.round(files.at(-1)!.end)).toBe(40);
      expect(files[0]!.file).toBe(format === 'hls' ? 'hls_00007.seg' : `${format}_00000.${format}`);
      let video = 0;
      let audio = 0;
      let lastStart = -1;
      for (const file of files) {
        const path = join(out, file.file);
        expect(await decodeErrors(path), `${file.file} decodes`).toBe('');
        const counted = await frames(path);
        video += counted.video?.frames ?? 0;
        audio += counted.audio?.frames ?? 0;
        if (format === 'hls') {
          // TS timestamps run on from segment to segment.
          expect(counted.video!.start).toBeGreaterThan(lastStart);
          expect(Math.abs(counted.video!.start - (1.4 + file.start))).toBeLessThan(0.1);
          lastStart = counted.video!.start;
        } else if (format === 'flv' || format === 'mp4') {
          // Each file's timestamps start again at 0.
          expect(Math.min(counted.video!.start, counted.audio!.start)).toBe(0);
        }
      }
      if (format !== 'aac') expect(video, `${format} video frames`).toBe(whole.video!.frames);
      else expect(video).toBe(0);
      expect(audio, `${format} audio frames`).toBe(whole.audio!.frames);
    }
  });

  it('muxes audio alone and video alone', async () => {
    for (const fixture of ['audio.flv', 'video.flv'] as const) {
      const out = join(dir, fixture);
      await mkdir(out);
      const hasVideo = fixture === 'video.flv';
      const muxer = new NativeMuxer({
        outputs: outputs(out, 4, hasVideo ? ['hls', 'flv', 'mp4'] : ['hls', 'flv', 'aac', 'mp4']),
        ...(hasVideo ? { video: 'h264' as const } : { audio: 'aac' as const }),
        writeBatchMs: 20,
        logger: log,
      });
      const packets = await packetsOf(fixturePath(fixture));
      for (const packet of packets) muxer.write(packet);
      await muxer.stop();
      const whole = await frames(fixturePath(fixture));
      const kind = hasVideo ? 'video' : 'audio';
      for (const format of hasVideo
        ? (['hls', 'flv', 'mp4'] as const)
        : (['hls', 'flv', 'aac', 'mp4'] as const)) {
        const files = await listed(out, format);
        expect(files.map((f) => f.start)).toEqual(expectedStarts(packets, 4, hasVideo));
        expect(files.length).toBeGreaterThanOrEqual(5);
        let total = 0;
        for (const file of files) {
          const counted = await frames(join(out, file.file));
          expect(Object.keys(counted)).toEqual([kind]);
          total += counted[kind]!.frames;
        }
        expect(total, `${fixture} ${format}`).toBe(whole[kind]!.frames);
      }
    }
  });

  it('two runs restart their TS timeline, and read back to back they play as long as both', async () => {
    const segments: string[] = [];
    for (const runNo of [1, 2]) {
      const out = join(dir, `run-${runNo}`);
      await mkdir(out);
      const muxer = avMuxer(out, 2, ['hls']);
      for (const packet of source.filter((p) => p.dts < 6000)) muxer.write(packet);
      await muxer.stop();
      segments.push(...(await listed(out, 'hls')).map((f) => join(out, f.file)));
    }
    const joined = join(dir, 'joined.ts');
    await writeFile(joined, Buffer.concat(await Promise.all(segments.map((f) => readFile(f)))));
    // ffmpeg mends the jump back between the runs once: the whole is 12 s, not 12 s plus the jump.
    const { seconds } = await decode(joined);
    expect(seconds).toBeGreaterThan(11);
    expect(seconds).toBeLessThan(13);
  });

  it('on kill leaves its open files unlisted (its list made at the start, empty), readable up to the last batch written', async () => {
    const { out, half, exit } = await killedHalfway('kill', 'hls');
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(await readFile(join(out, 'hls.csv'), 'utf8')).toBe('');
    const counted = await frames(join(out, 'hls_00007.seg'));
    expect(counted.video!.frames).toBe(half.filter((p) => p.kind === 'video' && !p.isSequenceHeader).length);
  });

  it('writes fMP4 that the finalize remux makes faststart with every frame, its sample entry sized by the SPS', async () => {
    const out = join(dir, 'mp4');
    await mkdir(out);
    const muxer = avMuxer(out, 60, ['mp4']);
    for (const packet of source) muxer.write(packet);
    await muxer.stop();
    const [file] = await listed(out, 'mp4');
    const work = await readFile(join(out, file!.file));
    // The avc1 sample entry (in stsd, past ftyp's brands) has its width and height 24 bytes into its payload.
    const avc1 = work.indexOf('avc1', work.indexOf('stsd', 0, 'latin1'), 'latin1');
    expect([work.readUInt16BE(avc1 + 4 + 24), work.readUInt16BE(avc1 + 4 + 26)]).toEqual([320, 240]);
    // One fragment a keyframe (every 2 s), none past 1 s: about 40 moofs for 40 s.
    const moofs = work.toString('latin1').split('moof').length - 1;
    expect(moofs).toBeGreaterThanOrEqual(40);
    expect(moofs).toBeLessThanOrEqual(42);
    const final = join(out, 'final.mp4');
    await run(PUBLISHER_FFMPEG, [
      '-v',
      'error',
      ...remuxArgs(join(out, file!.file), final, 'mp4', ['-movflags', '+faststart']),
    ]);
    const whole = await frames(fixturePath('av.flv'));
    const counted = await frames(final);
    expect(counted.video!.frames).toBe(whole.video!.frames);
    expect(counted.audio!.frames).toBe(whole.audio!.frames);
    expect(await decodeErrors(final)).toBe('');
    const { seconds } = await decode(final);
    expect(Math.abs(seconds - 40)).toBeLessThan(0.2);
  });

  it('on kill leaves an fMP4 file that plays up to its last whole fragment', async () => {
    const { out, half } = await killedHalfway('kill-mp4', 'mp4');
    const path = join(out, 'mp4_00000.mp4');
    expect(await decodeErrors(path)).toBe('');
    const counted = await frames(path);
    const pushed = half.filter((p) => p.kind === 'video' && !p.isSequenceHeader).length;
    // The fragment in progress (from 19 s, 1 s past the last keyframe) is lost, and no more.
    expect(counted.video!.frames).toBe(pushed - 25);
  });
});
