// FLV fixtures for the load generator: the tags of a pre-encoded file, split into what is sent once
// (metadata, sequence headers) and the frames that are replayed and counted.

import { isSequenceHeader, type FlvTag } from '../shared/flv.js';

export { isSequenceHeader, parseFlvTags, writeFlv, type FlvTag } from '../shared/flv.js';

/** A fixture ready to replay. */
export interface LoadFixtureTags {
  /** The onMetaData script tag's body (AMF0 `onMetaData` + object), if the file has one. */
  metadata: Buffer | undefined;
  /** AVC and AAC sequence headers, sent once after publish. */
  headers: FlvTag[];
  /** Coded frames in file order (audio and video interleaved); each counts as one frame. */
  frames: FlvTag[];
  /** Time added to each loop's timestamps so they keep increasing: the media span plus one frame. */
  loopMs: number;
  videoFrames: number;
  audioFrames: number;
}

/** Whether a video tag is an AVC end-of-sequence marker, which is not replayed. */
function isEndOfSequence(tag: FlvTag): boolean {
  return tag.type === 9 && (tag.data[0]! & 0x0f) === 7 && tag.data[1] === 2;
}

/** The typical spacing of a track's timestamps (median delta), for the loop length. */
function medianDelta(times: number[]): number {
  const deltas = times
    .slice(1)
    .map((t, i) => t - times[i]!)
    .filter((d) => d > 0)
    .sort((a, b) => a - b);
  return deltas[Math.floor(deltas.length / 2)] ?? 0;
}

/** Splits an FLV's tags for replay; rejects a file with no frames. */
export function prepareFixture(tags: FlvTag[]): LoadFixtureTags {
  const script = tags.find((t) => t.type === 18);
  const headers = tags.filter(isSequenceHeader);
  const frames = tags.filter(
    (t) => t.type !== 18 && !isSequenceHeader(t) && !isEndOfSequence(t) && t.data.length > 0,
  );
  if (frames.length === 0) throw new Error('the fixture has no audio or video frames');
  const video = frames.filter((t) => t.type === 9).map((t) => t.timestamp);
  const audio = frames.filter((t) => t.type === 8).map((t) => t.timestamp);
  const first = Math.min(...frames.map((t) => t.timestamp));
  const ends = [video, audio]
    .filter((times) => times.length > 0)
    .map((times) => times.at(-1)! + Math.max(1, medianDelta(times)));
  return {
    metadata: script?.data,
    headers,
    frames,
    loopMs: Math.max(...ends) - first,
    videoFrames: video.length,
    audioFrames: audio.length,
  };
}

/**
 * An enhanced-RTMP HEVC video tag (FourCC `hvc1`) rewritten as FLV codec id 12, the form Chinese CDNs and encoders
 * send HEVC in: the AVC-style packet type and composition time, then the same payload. Other tags pass unchanged;
 * undefined for a packet type codec id 12 has no form for (sequence end, metadata).
 */
export function toCodecId12(tag: FlvTag): FlvTag | undefined {
  const first = tag.data[0]!;
  if (tag.type !== 9 || !(first & 0x80) || tag.data.toString('latin1', 1, 5) !== 'hvc1') return tag;
  const frameType = (first >> 4) & 0x07;
  const packetType = first & 0x0f;
  const head = Buffer.from([(frameType << 4) | 12]);
  let data: Buffer;
  if (packetType === 0) data = Buffer.concat([head, Buffer.from([0, 0, 0, 0]), tag.data.subarray(5)]);
  else if (packetType === 1) data = Buffer.concat([head, Buffer.from([1]), tag.data.subarray(5)]);
  else if (packetType === 3) data = Buffer.concat([head, Buffer.from([1, 0, 0, 0]), tag.data.subarray(5)]);
  else return undefined;
  return { ...tag, data };
}
