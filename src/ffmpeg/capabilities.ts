import { spawn } from 'node:child_process';

/** What an ffmpeg binary can read of the video a push may carry, learned by trying it once at start. */
export interface FfmpegCapabilities {
  /** The first line of `-version`, e.g. `ffmpeg version 7.1.1`. */
  version: string;
  /** HEVC over enhanced RTMP (FourCC `hvc1`, FFmpeg ≥ 6.1). */
  hevcEnhanced: boolean;
  /** HEVC as FLV codec id 12, as Chinese CDNs and encoders send it. */
  hevcCodecId12: boolean;
  /** AV1 over enhanced RTMP (FourCC `av01`, FFmpeg ≥ 6.1). */
  av1Enhanced: boolean;
  /** Opus over enhanced RTMP audio (FourCC `Opus`, FFmpeg ≥ 7.1). */
  opusEnhanced: boolean;
}

/** The capabilities assumed when nothing was probed: H.264 only, as every ffmpeg reads it. */
export const H264_ONLY: Readonly<FfmpegCapabilities> = Object.freeze({
  version: 'unknown',
  hevcEnhanced: false,
  hevcCodecId12: false,
  av1Enhanced: false,
  opusEnhanced: false,
});

/** The three samples the probe feeds: a sequence-start tag each, with an empty decoder configuration. */
export type ProbeSample = 'hevcEnhanced' | 'hevcCodecId12' | 'av1Enhanced' | 'opusEnhanced';

/** A one-tag FLV: the sequence start of `sample`, enough for ffmpeg's demuxer to name the codec. Pure. */
export function probeFlv(sample: ProbeSample): Buffer {
  // HEVCDecoderConfigurationRecord: version 1, zeroed fields, no parameter-set arrays.
  const hvcC = Buffer.from([1, ...Array<number>(21).fill(0), 0]);
  if (sample === 'opusEnhanced') {
    // OpusHead: magic, version 1, mono, no pre-skip, 48 kHz, no gain, mapping family 0.
    const opusHead = Buffer.from([...Buffer.from('OpusHead'), 1, 1, 0, 0, 0x80, 0xbb, 0, 0, 0, 0, 0]);
    return oneTagFlv(8, Buffer.concat([Buffer.from([0x90]), Buffer.from('Opus'), opusHead]));
  }
  const body =
    sample === 'hevcCodecId12'
      ? Buffer.concat([Buffer.from([0x1c, 0, 0, 0, 0]), hvcC])
      : sample === 'hevcEnhanced'
        ? Buffer.concat([Buffer.from([0x90]), Buffer.from('hvc1'), hvcC])
        : Buffer.concat([Buffer.from([0x90]), Buffer.from('av01'), Buffer.from([0x81, 0, 0, 0])]);
  return oneTagFlv(9, body);
}

function oneTagFlv(type: 8 | 9, body: Buffer): Buffer {
  const tag = Buffer.alloc(11);
  tag[0] = type;
  tag.writeUIntBE(body.length, 1, 3);
  const previous = Buffer.alloc(4);
  previous.writeUInt32BE(11 + body.length);
  const header = Buffer.from([0x46, 0x4c, 0x56, 1, type === 8 ? 4 : 1, 0, 0, 0, 9, 0, 0, 0, 0]);
  return Buffer.concat([header, tag, body, previous]);
}

/** Runs ffmpeg with `args`, stdin fed `input`; resolves with its stderr (and stdout), whatever its exit. */
function run(
  ffmpegPath: string,
  args: string[],
  input: Buffer | undefined,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', () => undefined);
    child.stdin.on('error', () => undefined);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    child.stdin.end(input);
  });
}

/**
 * Learns what `ffmpegPath` can read: `-version`, then each sample through its FLV demuxer, checking that it names
 * the codec. A binary that cannot run is reported as H.264 only, with its error as the version.
 */
export async function probeCapabilities(ffmpegPath: string, timeoutMs = 10_000): Promise<FfmpegCapabilities> {
  const version = (await run(ffmpegPath, ['-hide_banner', '-version'], undefined, timeoutMs))
    .split('\n')[0]!
    .trim();
  const reads = async (sample: ProbeSample, stream: string) => {
    const text = await run(
      ffmpegPath,
      ['-hide_banner', '-f', 'flv', '-i', 'pipe:0'],
      probeFlv(sample),
      timeoutMs,
    );
    return new RegExp(`Stream #0:0: ${stream}\\b`).test(text);
  };
  const [hevcEnhanced, hevcCodecId12, av1Enhanced, opusEnhanced] = await Promise.all([
    reads('hevcEnhanced', 'Video: hevc'),
    reads('hevcCodecId12', 'Video: hevc'),
    reads('av1Enhanced', 'Video: av1'),
    reads('opusEnhanced', 'Audio: opus'),
  ]);
  return { version: version || 'unknown', hevcEnhanced, hevcCodecId12, av1Enhanced, opusEnhanced };
}
