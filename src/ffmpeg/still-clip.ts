import type { Logger } from '../shared/logger.js';
import { runFfmpegOutput } from './process.js';

/** The video codecs a still clip can be made in: a mix input's placeholder is in the codec of its input. */
export type StillClipCodec = 'h264' | 'h265' | 'av1';

const ENCODERS: Record<StillClipCodec, (preset: string) => string[]> = {
  h264: (preset) => ['-c:v', 'libx264', '-preset', preset, '-tune', 'zerolatency', '-bf', '0'],
  h265: () => ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=none:bframes=0'],
  av1: () => ['-c:v', 'libsvtav1', '-preset', '12'],
};

export interface StillClipSpec {
  /** Without a size the clip is silence only. */
  video?: {
    width: number;
    height: number;
    color: string;
    fps: number;
    gopSeconds: number;
    /** Default H.264; HEVC and AV1 need an ffmpeg built with libx265 and libsvtav1. */
    codec?: StillClipCodec;
  };
  sampleRate: number;
  channels: 1 | 2;
  seconds: number;
}

/**
 * An FLV clip of one colour and silence (H.264 and AAC), made once and looped by a mix for an input that is
 * not there: the mix's graph always has frames to take, and never waits on a missing input.
 */
export function renderStillClip(
  ffmpegPath: string,
  spec: StillClipSpec,
  options: { logger: Logger; x264Preset: string },
): Promise<Buffer> {
  const layout = spec.channels === 1 ? 'mono' : 'stereo';
  const video = spec.video
    ? [
        '-f',
        'lavfi',
        '-i',
        `color=c=${spec.video.color}:s=${spec.video.width}x${spec.video.height}:r=${spec.video.fps}`,
      ]
    : [];
  const encode = spec.video
    ? [
        ...ENCODERS[spec.video.codec ?? 'h264'](options.x264Preset),
        ...['-pix_fmt', 'yuv420p', '-g', String(Math.round(spec.video.fps * spec.video.gopSeconds))],
      ]
    : [];
  return runFfmpegOutput(
    ffmpegPath,
    [
      ...['-hide_banner', '-loglevel', 'error'],
      ...video,
      ...['-f', 'lavfi', '-i', `anullsrc=r=${spec.sampleRate}:cl=${layout}`],
      ...['-t', String(spec.seconds), ...encode, '-c:a', 'aac', '-b:a', '32k', '-f', 'flv', 'pipe:1'],
    ],
    { logger: options.logger, timeoutMs: 30_000 },
  );
}
