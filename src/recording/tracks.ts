import { H264_ONLY, type FfmpegCapabilities } from '../ffmpeg/capabilities.js';
import type { MediaPacket } from '../ingest/index.js';

/** The video codecs recorded: H.264 with any ffmpeg, HEVC and AV1 with one that reads them. */
export type VideoCodec = 'h264' | 'h265' | 'av1';

export interface VideoTrack {
  codec: VideoCodec;
  width?: number;
  height?: number;
}
export interface AudioTrack {
  codec: 'aac' | 'mp3' | 'opus';
}
/** The tracks a publish carries, as ffmpeg will see them. */
export interface Tracks {
  video?: VideoTrack;
  audio?: AudioTrack;
}

/** What has been seen of a publish so far, while deciding its tracks. */
export interface TrackObservation {
  metadata?: Record<string, unknown>;
  /** FLV codec ids seen, -1 for enhanced-RTMP video. */
  videoCodecId?: number;
  /** Enhanced-RTMP video's FourCC. */
  videoFourcc?: string;
  audioCodecId?: number;
  /** Enhanced-RTMP audio's FourCC (`Opus`). */
  audioFourcc?: string;
  videoConfigured: boolean;
  audioConfigured: boolean;
  firstDts?: number;
  lastDts?: number;
  /** Dts of the first video frame (not its sequence header). */
  firstVideoFrameDts?: number;
}

export function emptyObservation(): TrackObservation {
  return { videoConfigured: false, audioConfigured: false };
}

/** Folds one packet into an observation (pure: returns a new one). */
export function observe(seen: TrackObservation, packet: MediaPacket): TrackObservation {
  const next = { ...seen };
  if (packet.kind === 'script') {
    if (packet.metadata) next.metadata = packet.metadata;
    return next;
  }
  next.firstDts ??= packet.dts;
  next.lastDts = packet.dts;
  if (packet.kind === 'video') {
    next.videoCodecId ??= packet.codecId;
    if (packet.fourcc) next.videoFourcc ??= packet.fourcc;
    if (!packet.isSequenceHeader) next.firstVideoFrameDts ??= packet.dts;
    // MP3 and other non-AVC video carry no sequence header: their first frame configures them.
    if (packet.isSequenceHeader || packet.codecId !== 7) next.videoConfigured = true;
  } else {
    next.audioCodecId ??= packet.codecId;
    if (packet.fourcc) next.audioFourcc ??= packet.fourcc;
    if (packet.isSequenceHeader || packet.codecId !== 10) next.audioConfigured = true;
  }
  return next;
}

/** Media span after which tracks not yet seen are taken as absent. */
export const TRACK_WAIT_MS = 1000;
/**
 * How long audio may lead the first video frame of a configured video track before the run starts without
 * waiting: ffmpeg needs that frame to learn the picture size, and a run started before it dies.
 */
export const LATE_VIDEO_WAIT_MS = 10_000;

/** How far the first video frame trails the first media (ms): what ffmpeg must read before its first output. */
export function videoLeadMs(seen: TrackObservation): number {
  if (seen.firstVideoFrameDts === undefined || seen.firstDts === undefined) return 0;
  return Math.max(0, seen.firstVideoFrameDts - seen.firstDts);
}

/** Decides the tracks once enough is seen: `wait`, the tracks, or a reason the media cannot be recorded. */
export function decideTracks(
  seen: TrackObservation,
  capabilities: FfmpegCapabilities = H264_ONLY,
): 'wait' | Tracks | { unsupported: string } {
  const meta = seen.metadata;
  const expectVideo = meta ? meta.videocodecid !== undefined && meta.videocodecid !== 0 : undefined;
  const expectAudio = meta ? meta.audiocodecid !== undefined && meta.audiocodecid !== 0 : undefined;
  const span = seen.firstDts === undefined ? 0 : (seen.lastDts ?? seen.firstDts) - seen.firstDts;
  const videoReady = expectVideo === false || seen.videoConfigured;
  const audioReady = expectAudio === false || seen.audioConfigured;
  const allSeen = meta ? videoReady && audioReady : seen.videoConfigured && seen.audioConfigured;
  if (!allSeen && span < TRACK_WAIT_MS) return 'wait';

  const tracks: Tracks = {};
  if (seen.videoConfigured) {
    const codec = videoCodecOf(seen, capabilities);
    if (typeof codec !== 'string') return codec;
    const width = Number(meta?.width) || undefined;
    const height = Number(meta?.height) || undefined;
    tracks.video = { codec, ...(width ? { width } : {}), ...(height ? { height } : {}) };
  }
  if (seen.audioConfigured) {
    if (seen.audioCodecId === 10) tracks.audio = { codec: 'aac' };
    else if (seen.audioCodecId === 2) tracks.audio = { codec: 'mp3' };
    else if (seen.audioCodecId === 9 && seen.audioFourcc === 'Opus') {
      if (!capabilities.opusEnhanced) {
        return {
          unsupported: `Opus over enhanced RTMP needs ${needs('7.1')}; ${capabilities.version} cannot`,
        };
      }
      tracks.audio = { codec: 'opus' };
    } else if (seen.audioCodecId === 9) {
      return {
        unsupported: `enhanced-RTMP audio ${JSON.stringify(seen.audioFourcc ?? '')} is not recorded (AAC, MP3, Opus)`,
      };
    } else return { unsupported: `audio codec id ${seen.audioCodecId} is not AAC or MP3` };
  }
  if (!tracks.video && !tracks.audio)
    return span < TRACK_WAIT_MS ? 'wait' : { unsupported: 'no audio or video' };
  // Video that starts after audio: wait for its first frame, so ffmpeg can read the size and keep the sound before.
  if (tracks.video && seen.firstVideoFrameDts === undefined && span < LATE_VIDEO_WAIT_MS) return 'wait';
  return tracks;
}

/** What a refusal asks for: an ffmpeg from `version` on (enhanced-RTMP video came in 6.1, its audio in 7.1). */
const needs = (version: string) =>
  `an ffmpeg that reads it (FFmpeg ${version} or later, e.g. Debian 13's 7.1): point ffmpegPath at one`;

/** The video codec of a push, or why this ffmpeg cannot record it (naming the codec and the version needed). */
export function videoCodecOf(
  seen: TrackObservation,
  capabilities: FfmpegCapabilities,
): VideoCodec | { unsupported: string } {
  const refuse = (what: string) => ({
    unsupported: `${what} needs ${needs('6.1')}; ${capabilities.version} cannot`,
  });
  if (seen.videoCodecId === 7) return 'h264';
  if (seen.videoCodecId === 12) {
    return capabilities.hevcCodecId12 ? 'h265' : refuse('HEVC as FLV codec id 12');
  }
  if (seen.videoCodecId === -1) {
    if (seen.videoFourcc === 'hvc1') {
      return capabilities.hevcEnhanced ? 'h265' : refuse('HEVC over enhanced RTMP');
    }
    if (seen.videoFourcc === 'av01')
      return capabilities.av1Enhanced ? 'av1' : refuse('AV1 over enhanced RTMP');
    return {
      unsupported: `enhanced-RTMP video ${JSON.stringify(seen.videoFourcc ?? '')} is not recorded (H.264, HEVC, AV1)`,
    };
  }
  return { unsupported: `video codec id ${seen.videoCodecId} is not H.264 or HEVC` };
}
