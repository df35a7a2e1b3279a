import { writeTagTimestamp, type MediaPacket } from '../ingest/index.js';
import { flvHeader } from '../shared/flv.js';
import type { ByteSink } from './byte-sink.js';
import {
  readAudioBody,
  readVideoBody,
  toAnnexB,
  writeAdtsHeader,
  type AacConfig,
  type VideoConfig,
} from './elementary.js';
import { TsMuxer } from './mpegts.js';

/** The formats the native engine writes (HLS as MPEG-TS); fMP4 HLS (AV1) needs ffmpeg. */
export const NATIVE_FORMATS = ['hls', 'flv', 'aac', 'mp4'] as const;
export type NativeFormat = (typeof NATIVE_FORMATS)[number];

/** The codecs it carries. */
export const NATIVE_VIDEO = ['h264', 'h265'] as const;
export const NATIVE_AUDIO = ['aac', 'mp3'] as const;
export type NativeAudio = (typeof NATIVE_AUDIO)[number];

/** The audio each format carries natively: MP4 with MP3 is left to ffmpeg. */
export const NATIVE_AUDIO_IN: Record<NativeFormat, readonly NativeAudio[]> = {
  hls: NATIVE_AUDIO,
  flv: NATIVE_AUDIO,
  aac: ['aac'],
  mp4: ['aac'],
};

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

/** One format's bytes: what a file starts with, and what one packet adds, written into the file's sink. */
export interface Container {
  begin(sink: ByteSink, stream: StreamState): void;
  /** `runMs`: the packet's time since the run's first media; `fileMs`: since its file's first. */
  packet(
    sink: ByteSink,
    packet: MediaPacket,
    body: Buffer,
    stream: StreamState,
    runMs: number,
    fileMs: number,
  ): void;
  /** Whether a file of this format may start at this packet. */
  cutsAt(packet: MediaPacket, stream: StreamState): boolean;
  /** Whether this format holds the packet's frames at all. */
  takes(packet: MediaPacket): boolean;
  /** Writes what the format holds back for the file, before it is closed (not on a kill). */
  end?(sink: ByteSink): void;
}

/** Any frame (not a sequence header or metadata). */
export function isFrame(packet: MediaPacket): boolean {
  return packet.kind !== 'script' && !packet.isSequenceHeader;
}

/** Where a TS timeline starts: as ffmpeg's muxer, 1.4 s in, so the clock reference can run 0.7 s ahead of it. */
const TS_OFFSET = 126_000;
const PCR_LEAD = 63_000;

/** A video keyframe, or any audio frame when the stream has no video. */
export function avCut(packet: MediaPacket, stream: StreamState): boolean {
  if (!isFrame(packet)) return false;
  return stream.videoCodec ? packet.kind === 'video' && packet.isKeyFrame : packet.kind === 'audio';
}

/** HLS segments as MPEG-TS; timestamps run on across the run's segments, as the playlist's timeline needs. */
export function tsContainer(stream: StreamState): Container {
  const ts = new TsMuxer({
    ...(stream.videoCodec ? { video: stream.videoCodec } : {}),
    ...(stream.audioCodec ? { audio: stream.audioCodec } : {}),
  });
  const adts = Buffer.alloc(7);
  // Audio that comes before a run's first video frame is written after it, as ffmpeg's muxer does: readers that
  // mend a timestamp jump between runs (ffmpeg's) mend it once when video leads, twice when audio does.
  let held: { body: Buffer; dts: number }[] | undefined = stream.videoCodec ? [] : undefined;
  const audio = (sink: ByteSink, body: Buffer, state: StreamState, dts: number): void => {
    const frame = readAudioBody(body);
    if (frame.kind !== 'frame') return;
    if (frame.codec === 'mp3') return ts.audio(sink, [frame.data], dts, dts - PCR_LEAD);
    if (!state.aac) return;
    writeAdtsHeader(adts, 0, state.aac, frame.data.length);
    ts.audio(sink, [adts, frame.data], dts, dts - PCR_LEAD);
  };
  return {
    begin: (sink) => ts.tables(sink),
    cutsAt: avCut,
    takes: isFrame,
    packet(sink, packet, body, state, runMs) {
      const dts = Math.round(runMs * 90) + TS_OFFSET;
      if (packet.kind === 'video') {
        const frame = readVideoBody(body);
        if (frame.kind !== 'frame' || !state.video) return;
        const parts = toAnnexB(state.video, frame.data, frame.key);
        ts.video(sink, parts, dts + frame.cts * 90, dts, frame.key, dts - PCR_LEAD);
        for (const early of held ?? []) audio(sink, early.body, state, early.dts);
        held = undefined;
        return;
      }
      if (packet.kind !== 'audio') return;
      if (held) held.push({ body, dts });
      else audio(sink, body, state, dts);
    },
  };
}

/** Copies an FLV tag into the sink with its timestamp moved to `ms`. */
function appendRestamped(sink: ByteSink, tag: Buffer, ms: number): void {
  const at = sink.append(tag); // may grow the buffer: read it after
  writeTagTimestamp(sink.buffer, ms, at);
}

/**
 * FLV: each file starts at 0 with the publish's metadata and sequence headers, then its tags as they came. The
 * finalize remux (ffmpeg) writes its keyframe index once it is closed.
 */
export function flvContainer(): Container {
  return {
    begin(sink, stream) {
      sink.append(flvHeader(Boolean(stream.audioCodec), Boolean(stream.videoCodec)));
      for (const tag of [stream.metadataTag, stream.videoHeaderTag, stream.audioHeaderTag])
        if (tag) appendRestamped(sink, tag, 0);
    },
    cutsAt: avCut,
    takes: isFrame,
    packet(sink, packet, _body, _stream, _runMs, fileMs) {
      // Metadata leads each file; a sequence header mid-file (a new configuration) goes through.
      if (packet.kind === 'script') return;
      appendRestamped(sink, packet.tag, Math.max(0, Math.round(fileMs)));
    },
  };
}

/** AAC: the audio track alone, as ADTS frames. */
export function adtsContainer(): Container {
  const audioFrame = (packet: MediaPacket) => packet.kind === 'audio' && !packet.isSequenceHeader;
  return {
    begin: () => {},
    cutsAt: audioFrame,
    takes: audioFrame,
    packet(sink, packet, body, stream) {
      if (packet.kind !== 'audio' || !stream.aac) return;
      const frame = readAudioBody(body);
      if (frame.kind !== 'frame' || frame.codec !== 'aac') return;
      const at = sink.reserve(7 + frame.data.length);
      writeAdtsHeader(sink.buffer, at, stream.aac, frame.data.length);
      sink.buffer.set(frame.data, at + 7);
    },
  };
}
