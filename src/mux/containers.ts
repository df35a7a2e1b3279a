import type { MediaPacket } from '../ingest/index.js';
import { flvHeader } from '../shared/flv.js';
import {
  adtsHeader,
  readAudioBody,
  readVideoBody,
  toAnnexB,
  type AacConfig,
  type VideoConfig,
} from './elementary.js';
import { TsMuxer } from './mpegts.js';

/** The formats the native engine writes; the rest (MP4, fMP4 HLS) need ffmpeg. */
export const NATIVE_FORMATS = ['hls', 'flv', 'aac'] as const;
export type NativeFormat = (typeof NATIVE_FORMATS)[number];

/** The codecs it carries. */
export const NATIVE_VIDEO = ['h264', 'h265'] as const;
export const NATIVE_AUDIO = ['aac', 'mp3'] as const;

/** What a publish has told the muxer so far: its codec configurations and the tags to lead each FLV file with. */
export interface StreamState {
  videoCodec?: (typeof NATIVE_VIDEO)[number];
  audioCodec?: (typeof NATIVE_AUDIO)[number];
  video?: VideoConfig;
  aac?: AacConfig;
  metadataTag?: Buffer;
  videoHeaderTag?: Buffer;
  audioHeaderTag?: Buffer;
}

/** One format's bytes: what a file starts with, and what one packet adds (times relative to the file's start). */
export interface Container {
  begin(stream: StreamState): Buffer[];
  /** `runMs`: the packet's time since the run's first media; `fileMs`: since its file's first. */
  packet(packet: MediaPacket, body: Buffer, stream: StreamState, runMs: number, fileMs: number): Buffer[];
  /** Whether a file of this format may start at this packet. */
  cutsAt(packet: MediaPacket, stream: StreamState): boolean;
  /** Whether this format holds the packet's frames at all. */
  takes(packet: MediaPacket): boolean;
}

/** Any frame (not a sequence header or metadata). */
function isFrame(packet: MediaPacket): boolean {
  return packet.kind !== 'script' && !packet.isSequenceHeader;
}

/** Where a TS timeline starts: as ffmpeg's muxer, 1.4 s in, so the clock reference can run 0.7 s ahead of it. */
const TS_OFFSET = 126_000;
const PCR_LEAD = 63_000;

/** A video keyframe, or any audio frame when the stream has no video. */
function avCut(packet: MediaPacket, stream: StreamState): boolean {
  if (packet.isSequenceHeader || packet.kind === 'script') return false;
  return stream.videoCodec ? packet.kind === 'video' && packet.isKeyFrame : packet.kind === 'audio';
}

/** HLS segments as MPEG-TS; timestamps run on across the run's segments, as the playlist's timeline needs. */
export function tsContainer(stream: StreamState): Container {
  const ts = new TsMuxer({
    ...(stream.videoCodec ? { video: stream.videoCodec } : {}),
    ...(stream.audioCodec ? { audio: stream.audioCodec } : {}),
  });
  // Audio that comes before a run's first video frame is written after it, as ffmpeg's muxer does: readers that
  // mend a timestamp jump between runs (ffmpeg's) mend it once when video leads, twice when audio does.
  let held: Buffer[] | undefined = stream.videoCodec ? [] : undefined;
  const audio = (body: Buffer, state: StreamState, dts: number): Buffer[] => {
    const frame = readAudioBody(body);
    if (frame.kind !== 'frame') return [];
    const parts =
      frame.codec === 'mp3'
        ? [frame.data]
        : state.aac
          ? [adtsHeader(state.aac, frame.data.length), frame.data]
          : [];
    return parts.length ? [ts.audio(parts, dts, dts - PCR_LEAD)] : [];
  };
  return {
    begin: () => [ts.tables()],
    cutsAt: avCut,
    takes: isFrame,
    packet(packet, body, state, runMs) {
      const dts = Math.round(runMs * 90) + TS_OFFSET;
      if (packet.kind === 'video') {
        const frame = readVideoBody(body);
        if (frame.kind !== 'frame' || !state.video) return [];
        const parts = toAnnexB(state.video, frame.data, frame.key);
        const out = [ts.video(parts, dts + frame.cts * 90, dts, frame.key, dts - PCR_LEAD)];
        if (held) out.push(...held);
        held = undefined;
        return out;
      }
      if (packet.kind !== 'audio') return [];
      if (!held) return audio(body, state, dts);
      held.push(...audio(body, state, dts));
      return [];
    },
  };
}

/** An FLV tag with its timestamp moved to `ms`. */
function restamped(tag: Buffer, ms: number): Buffer {
  const out = Buffer.from(tag);
  out[4] = (ms >> 16) & 0xff;
  out[5] = (ms >> 8) & 0xff;
  out[6] = ms & 0xff;
  out[7] = (ms >>> 24) & 0xff;
  return out;
}

/**
 * FLV: each file starts at 0 with the publish's metadata and sequence headers, then its tags as they came. The
 * finalize remux (ffmpeg) writes its keyframe index once it is closed.
 */
export function flvContainer(): Container {
  return {
    begin(stream) {
      const lead = [stream.metadataTag, stream.videoHeaderTag, stream.audioHeaderTag];
      return [
        flvHeader(Boolean(stream.audioCodec), Boolean(stream.videoCodec)),
        ...lead.filter((tag): tag is Buffer => tag !== undefined).map((tag) => restamped(tag, 0)),
      ];
    },
    cutsAt: avCut,
    takes: isFrame,
    packet(packet, _body, _stream, _runMs, fileMs) {
      // Metadata leads each file; a sequence header mid-file (a new configuration) goes through.
      if (packet.kind === 'script') return [];
      return [restamped(packet.tag, Math.max(0, Math.round(fileMs)))];
    },
  };
}

/** AAC: the audio track alone, as ADTS frames. */
export function adtsContainer(): Container {
  return {
    begin: () => [],
    cutsAt: (packet) => packet.kind === 'audio' && !packet.isSequenceHeader,
    takes: (packet) => packet.kind === 'audio' && !packet.isSequenceHeader,
    packet(packet, body, stream) {
      if (packet.kind !== 'audio' || !stream.aac) return [];
      const frame = readAudioBody(body);
      if (frame.kind !== 'frame' || frame.codec !== 'aac') return [];
      return [adtsHeader(stream.aac, frame.data.length), frame.data];
    },
  };
}
