import type { TimestampRepair } from './timestamps.js';

/** A publish as the RTMP ingest saw it. */
export interface PublishRequest {
  /** Id of the RTMP connection carrying the publish. */
  connectionId: string;
  app: string;
  stream: string;
  /** The push URL's query string, verbatim, without the leading '?'. */
  query: string;
  /** The host name the publisher used in its tcUrl. */
  host: string;
  remoteAddress: string;
  /** Set when the publish is a mix's output, not an RTMP push; `replaces`: it takes over an input's name. */
  mix?: { sessionId: string; replaces: boolean };
}

/** One audio, video or script message of a publish, as a complete FLV tag. */
export interface MediaPacket {
  kind: 'audio' | 'video' | 'script';
  /** FLV codec id: video 7 = H.264, 12 = HEVC; audio 10 = AAC, 2 = MP3; -1 for enhanced-RTMP video. */
  codecId: number;
  /** Enhanced-RTMP FourCC: video `hvc1` (HEVC), `av01` (AV1), `vp09` (VP9); audio `Opus`. */
  fourcc?: string;
  isSequenceHeader: boolean;
  isKeyFrame: boolean;
  /** Enhanced-RTMP (FourCC) signalling, which ffmpeg before 6.1 cannot read. */
  enhanced: boolean;
  /** Decoding timestamp in milliseconds. */
  dts: number;
  /** The FLV tag: 11-byte header, payload, 4-byte previous-tag size. */
  tag: Buffer;
  /** Parsed onMetaData object, for script packets that carry one. */
  metadata?: Record<string, unknown>;
  /**
   * The timestamp repair the ingest made at this packet. Facts of the publish travel on its packets, so every
   * wrapper between the ingest and a recording passes them on unchanged.
   */
  repair?: TimestampRepair;
  /** On the packet at which the publish's largest A/V offset (TimestampRepairer.maxAvOffsetMs) grew: it, whole ms. */
  avOffsetMs?: number;
}

export type IngestEndReason = 'unpublished' | 'disconnected' | 'kicked' | 'shutdown';

/** Receives the media of one admitted publish. */
export interface PublishSink {
  onPacket(packet: MediaPacket): void;
  /** Called once, when the publish ends for any reason. */
  onEnd(reason: IngestEndReason): void;
}
