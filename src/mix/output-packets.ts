import type { MediaPacket } from '../ingest/index.js';
import { SCRIPT_FLAGS, audioFlags, videoFlags } from '../ingest/index.js';
import { encodeTag, type FlvTag } from '../shared/flv.js';

/** One tag of the mixer's FLV output as the recording path takes packets: as if the ingest had read it (pure). */
export function packetOfTag(tag: FlvTag, dts: number, metadata?: Record<string, unknown>): MediaPacket {
  const bytes = encodeTag({ type: tag.type, timestamp: dts, data: tag.data });
  if (tag.type === 9) return { ...videoFlags(tag.data), dts, tag: bytes };
  if (tag.type === 8) return { ...audioFlags(tag.data), dts, tag: bytes };
  return { ...SCRIPT_FLAGS, dts, tag: bytes, ...(metadata ? { metadata } : {}) };
}
