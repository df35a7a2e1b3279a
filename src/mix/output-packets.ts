import type { MediaPacket } from '../ingest/index.js';
import { videoFlags } from '../ingest/index.js';
import { encodeTag, type FlvTag } from '../shared/flv.js';

/** One tag of the mixer's FLV output as the recording path takes packets: as if the ingest had read it (pure). */
export function packetOfTag(tag: FlvTag, dts: number, metadata?: Record<string, unknown>): MediaPacket {
  const bytes = encodeTag({ type: tag.type, timestamp: dts, data: tag.data });
  if (tag.type === 9) return { ...videoFlags(tag.data), dts, tag: bytes };
  if (tag.type === 8) {
    const codecId = (tag.data[0] ?? 0) >> 4;
    return {
      kind: 'audio',
      codecId,
      isSequenceHeader: codecId === 10 && tag.data[1] === 0,
      isKeyFrame: true,
      enhanced: false,
      dts,
      tag: bytes,
    };
  }
  return {
    kind: 'script',
    codecId: 0,
    isSequenceHeader: false,
    isKeyFrame: false,
    enhanced: false,
    dts,
    tag: bytes,
    ...(metadata ? { metadata } : {}),
  };
}
