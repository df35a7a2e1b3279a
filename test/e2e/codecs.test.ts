import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFlvTags, toCodecId12, writeFlv, type FlvTag } from '../../src/load/flv.js';
import { LoadGenerator } from '../../src/load/generator.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { FFPROBE, FIXTURES_DIR, capableFfmpeg } from '../helpers/fixtures.js';
import { frameAt, liveClient, near } from '../helpers/mix.js';
import { startRecorder, type TestRecorder } from '../helpers/recorder.js';

const run = promisify(execFile);
const FORMATS = ['hls', 'flv', 'mp4', 'aac'] as const;
const SECONDS = 6;
const FFMPEG9 = capableFfmpeg();

/** A 6 s, 1 s-GOP fixture encoded by the capable ffmpeg in (enhanced) FLV: HEVC or AV1 with AAC, or H.264 with Opus. */
async function fixture(codec: 'hevc' | 'av1' | 'opus'): Promise<string> {
  const path = join(FIXTURES_DIR, `codec-${codec}.flv`);
  if (existsSync(path)) return path;
  await mkdir(FIXTURES_DIR, { recursive: true });
  const video =
    codec === 'hevc'
      ? ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=none:bframes=0']
      : codec === 'av1'
        ? ['-c:v', 'libsvtav1', '-preset', '12', '-svtav1-params', 'lp=1']
        : ['-c:v', 'libx264', '-preset', 'veryfast'];
  const audio = codec === 'opus' ? ['-c:a', 'libopus'] : ['-c:a', 'aac'];
  const temp = `${path}.${process.pid}.tmp.flv`;
  await run(FFMPEG9, [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', String(SECONDS), ...video, '-g', '25', ...audio, '-f', 'flv', temp],
  ]);
  await rename(temp, path);
  return path;
}

/** 8 s of solid red in HEVC with a tone, 1 s GOP, in enhanced FLV: an input of a mix. */
async function hevcRedFixture(): Promise<string> {
  const path = join(FIXTURES_DIR, 'codec-hevc-red.flv');
  if (existsSync(path)) return path;
  const temp = `${path}.${process.pid}.tmp.flv`;
  await run(FFMPEG9, [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:s=320x240:r=25'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '8'],
    ...['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=none:bframes=0', '-g', '25'],
    ...['-c:a', 'aac', '-f', 'flv', temp],
  ]);
  await rename(temp, path);
  return path;
}

/** The HEVC fixture with its video as FLV codec id 12, for the recorder's own publisher to send. */
async function codecId12Fixture(hevc: string): Promise<string> {
  const path = join(FIXTURES_DIR, 'codec-hevc-id12.flv');
  const tags = parseFlvTags(await readFile(hevc))
    .map(toCodecId12)
    .filter((t): t is FlvTag => t !== undefined);
  await writeFile(path, writeFlv(tags));
  return path;
}

/** Pushes an FLV in real time with the capable ffmpeg (which sends HEVC and AV1 over enhanced RTMP). */
function pushFile(file: string, url: string): Promise<number | null> {
  const child = spawn(
    FFMPEG9,
    ['-hide_banner', '-loglevel', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url],
    {
      stdio: 'ignore',
    },
  );
  return new Promise((done) => child.on('close', (code) => done(code)));
}

function pushCodecId12(file: string, rec: TestRecorder, stream: string): Promise<unknown> {
  const generator = new LoadGenerator({
    url: `rtmp://127.0.0.1:${rec.recorder.rtmpPort}/live`,
    streams: [stream],
    fixture: file,
    durationSeconds: SECONDS,
  });
  return generator.start().then(() => generator.done);
}

/** Decodes a file with the capable ffmpeg: its errors and how much it decoded. */
async function decode(file: string): Promise<{ errors: string; seconds: number }> {
  const { stderr } = await run(
    FFMPEG9,
    ['-hide_banner', '-nostdin', '-v', 'error', '-stats', '-i', file, '-f', 'null', '-'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const times = [...stderr.matchAll(/time=(\d+):(\d+):([\d.]+)/g)];
  const last = times.at(-1);
  const seconds = last ? Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]) : 0;
  const errors = stderr
    .split(/\r|\n/)
    .filter((l) => l.trim() && !/^(frame=|size=)/.test(l.trim()))
    .join('\n');
  return { errors, seconds };
}

const KEY = { secretId: 'AKIDrecorderCodecs01', secretKey: 'recorder-codecs-secret-key-01' };
// An explicit agent: the SDK would otherwise route even 127.0.0.1 through an `http_proxy` from the environment.
const agent = new Agent();

describe('HEVC, AV1 and Opus', () => {
  let capable: TestRecorder;
  let bundled: TestRecorder;
  let received: CallbackReceiver;
  let refused: CallbackReceiver;
  const fileOf = (rec: TestRecorder, body: Record<string, unknown>) =>
    join(rec.dataDir, decodeURIComponent(new URL(String(body.video_url)).pathname));
  const filesOf = (stream: string) =>
    received.bodies.filter((b) => b.event_type === 100 && b.stream_id === stream);
  /** DescribeMediaInfos, with the official SDK, of the files of these callbacks. */
  const mediaInfos = async (bodies: Record<string, unknown>[]) => {
    const client = new vod.v20180717.Client({
      credential: KEY,
      region: 'ap-guangzhou',
      profile: {
        httpProfile: { endpoint: `127.0.0.1:${capable.recorder.httpPort}`, protocol: 'http://', agent },
      },
    });
    const answer = await client.DescribeMediaInfos({ FileIds: bodies.map((b) => String(b.file_id)) });
    const infos = answer.MediaInfoSet ?? [];
    expect(infos.map((i) => i.FileId).sort()).toEqual(bodies.map((b) => String(b.file_id)).sort());
    // The AAC file has no video to name.
    return infos.filter((i) => !String(i.BasicInfo?.MediaUrl).endsWith('.aac'));
  };

  beforeAll(async () => {
    const [hevc, av1, opus] = [await fixture('hevc'), await fixture('av1'), await fixture('opus')];
    const id12 = await codecId12Fixture(hevc);
    received = await startCallbackReceiver();
    refused = await startCallbackReceiver();
    capable = await startRecorder({
      ffmpegPath: FFMPEG9,
      record: { formats: [...FORMATS], hlsSegmentSeconds: 2 },
      callback: { url: received.url },
      api: { credentials: [KEY] },
    });
    // The bundled ffmpeg 4.1 reads none of them.
    bundled = await startRecorder({ record: { formats: ['hls', 'mp4'] }, callback: { url: refused.url } });
    await Promise.all([
      pushFile(hevc, capable.rtmpUrl('hevc')),
      pushCodecId12(id12, capable, 'hevc12'),
      pushFile(av1, capable.rtmpUrl('av1')),
      pushFile(opus, capable.rtmpUrl('opus')),
      pushFile(opus, bundled.rtmpUrl('opus')),
      pushFile(hevc, bundled.rtmpUrl('hevc')),
      pushCodecId12(id12, bundled, 'hevc12'),
      pushFile(av1, bundled.rtmpUrl('av1')),
    ]);
    // HEVC and AV1: every format; Opus: all but AAC.
    await received.waitFor((b) => b.event_type === 100, 4 + 4 + 4 + 3, 120_000);
    await refused.waitFor((b) => b.event_type === 332 && b.record_event === 'record_start_failed', 4, 60_000);
  }, 300_000);

  afterAll(async () => {
    await capable?.stop();
    await bundled?.stop();
    await received?.close();
    await refused?.close();
    agent.destroy();
  });

  it('the capability probe found what each ffmpeg reads', () => {
    expect(capable.recorder.ffmpegCapabilities).toMatchObject({
      hevcEnhanced: true,
      hevcCodecId12: true,
      av1Enhanced: true,
      opusEnhanced: true,
    });
    expect(capable.recorder.ffmpegCapabilities.version).toMatch(/^ffmpeg version n9\./);
    expect(bundled.recorder.ffmpegCapabilities).toMatchObject({
      hevcEnhanced: false,
      hevcCodecId12: false,
      av1Enhanced: false,
      opusEnhanced: false,
    });
  });

  it.each(['hevc', 'hevc12'])(
    '%s: recorded in every format, each file decodes, event 100 says h265',
    async (stream) => {
      const bodies = filesOf(stream);
      expect(bodies.map((b) => b.file_format).sort()).toEqual([...FORMATS].sort());
      for (const body of bodies) {
        const file = fileOf(capable, body);
        const { errors, seconds } = await decode(file);
        expect(errors, `${stream} ${String(body.file_format)}`).toBe('');
        expect(seconds, `${stream} ${String(body.file_format)}`).toBeGreaterThan(SECONDS - 1);
        const ext = JSON.parse(String(body.callback_ext)) as { video_codec: string };
        // The recording's video codec, on every file of it (the AAC one too), as for H.264.
        expect(ext.video_codec).toBe('h265');
      }
      // SearchMedia's MetaData says the same codec, for the FLV too (which this ffprobe cannot read).
      for (const info of await mediaInfos(bodies))
        expect(info.MetaData?.VideoStreamSet?.[0]?.Codec).toBe('h265');
      const mp4 = bodies.find((b) => b.file_format === 'mp4')!;
      const { stdout } = await run(FFPROBE, [
        ...['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=codec_name,codec_tag_string'],
        ...['-of', 'csv=p=0', fileOf(capable, mp4)],
      ]);
      expect(stdout.trim()).toBe('hevc,hvc1');
    },
  );

  it('AV1: recorded to MP4, fMP4 HLS, FLV and AAC; the MP4 decodes, the HLS decodes as served over HTTP', async () => {
    const bodies = filesOf('av1');
    expect(bodies.map((b) => b.file_format).sort()).toEqual([...FORMATS].sort());
    for (const body of bodies) {
      expect((JSON.parse(String(body.callback_ext)) as { video_codec: string }).video_codec).toBe('av1');
    }
    for (const info of await mediaInfos(bodies))
      expect(info.MetaData?.VideoStreamSet?.[0]?.Codec).toBe('av1');
    const mp4 = bodies.find((b) => b.file_format === 'mp4')!;
    const { errors, seconds } = await decode(fileOf(capable, mp4));
    expect(errors).toBe('');
    expect(seconds).toBeGreaterThan(SECONDS - 1);
    // The playlist maps each .m4s segment's init section and plays the rest by byte range (HTTP Range).
    const hls = bodies.find((b) => b.file_format === 'hls')!;
    const playlist = await (await fetch(String(hls.video_url))).text();
    expect(playlist).toMatch(/#EXT-X-MAP:URI="[^"]+\.m4s",BYTERANGE="\d+@0"/);
    expect(playlist).toMatch(/#EXT-X-BYTERANGE:\d+@\d+/);
    const served = await decode(String(hls.video_url));
    expect(served.errors).toBe('');
    expect(served.seconds).toBeGreaterThan(SECONDS - 1);
  });

  it('Opus: recorded to HLS, FLV and MP4 (an AAC file cannot hold it); each decodes with its sound', async () => {
    const bodies = filesOf('opus');
    expect(bodies.map((b) => b.file_format).sort()).toEqual(['flv', 'hls', 'mp4']);
    for (const body of bodies) {
      const file = fileOf(capable, body);
      const { errors, seconds } = await decode(file);
      expect(errors, String(body.file_format)).toBe('');
      expect(seconds, String(body.file_format)).toBeGreaterThan(SECONDS - 1);
    }
    const mp4 = bodies.find((b) => b.file_format === 'mp4')!;
    const { stdout } = await run(FFPROBE, [
      ...['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=codec_name'],
      ...['-of', 'csv=p=0', fileOf(capable, mp4)],
    ]);
    expect(stdout.trim()).toBe('opus');
  });

  it.each([
    ['opus', /Opus over enhanced RTMP needs an ffmpeg that reads it \(FFmpeg 7\.1 or later/],
    ['hevc', /HEVC over enhanced RTMP needs an ffmpeg that reads it \(FFmpeg 6\.1 or later/],
    ['hevc12', /HEVC as FLV codec id 12 needs an ffmpeg that reads it \(FFmpeg 6\.1 or later/],
    ['av1', /AV1 over enhanced RTMP needs an ffmpeg that reads it \(FFmpeg 6\.1 or later/],
  ])('with the bundled ffmpeg, %s is refused with the codec and the version needed', (stream, reason) => {
    const failed = refused.bodies.filter(
      (b) => b.event_type === 332 && b.stream_id === stream && b.record_event === 'record_start_failed',
    );
    expect(failed).toHaveLength(1);
    const detail = JSON.parse(String(failed[0]!.record_detail)) as { reason: string };
    expect(detail.reason).toMatch(reason);
    expect(detail.reason).toContain('point ffmpegPath at one');
    expect(refused.bodies.filter((b) => b.event_type === 100 && b.stream_id === stream)).toEqual([]);
  });

  it('a mix decodes an HEVC input with this ffmpeg: its region shows its picture', async () => {
    const live = liveClient(capable.recorder.httpPort, KEY, agent);
    await live.CreateCommonMixStream({
      MixStreamSessionId: 'hevcmix',
      InputStreamList: [
        {
          InputStreamName: 'canvas',
          LayoutParams: { ImageLayer: 1, InputType: 3, ImageWidth: 640, ImageHeight: 360, Color: '0x808080' },
        },
        {
          InputStreamName: 'hevcred',
          LayoutParams: { ImageLayer: 2, ImageWidth: 320, ImageHeight: 180, LocationX: 0, LocationY: 0 },
        },
      ],
      OutputParams: { OutputStreamName: 'hevcmixout', OutputStreamType: 1 },
    });
    await pushFile(await hevcRedFixture(), capable.rtmpUrl('hevcred'));
    await live.CancelCommonMixStream({ MixStreamSessionId: 'hevcmix' });
    const mp4 = (
      await received.waitFor(
        (b) => b.event_type === 100 && b.stream_id === 'hevcmixout' && b.file_format === 'mp4',
        1,
        60_000,
      )
    ).find((b) => b.stream_id === 'hevcmixout' && b.file_format === 'mp4')!;
    const frame = await frameAt(fileOf(capable, mp4), Number(mp4.duration) - 3, 640, 360);
    expect(near(frame.mean(0, 0, 320, 180), [255, 0, 0]), `${frame.mean(0, 0, 320, 180)}`).toBe(true);
    expect(near(frame.mean(320, 180, 320, 180), [128, 128, 128])).toBe(true);
  }, 90_000);
});
