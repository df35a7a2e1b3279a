// FLV file parsing for the load generator: the tags of a pre-encoded fixture, split into what is sent once
// (metadata, sequence headers) and the frames that are replayed and counted.

/** One FLV tag: type 8 audio, 9 video, 18 script data. */
export interface FlvTag {
  type: 8 | 9 | 18;
  /** Milliseconds. */
  timestamp: number;
  data: Buffer;
}

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

/** Parses every tag of an FLV file. */
export function parseFlvTags(file: Buffer): FlvTag[] {
  if (file.length < 13 || file.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV file');
  const tags: FlvTag[] = [];
  let at = file.readUInt32BE(5) + 4;
  while (at + 11 <= file.length) {
    const type = file[at]! & 0x1f;
    const size = file.readUIntBE(at + 1, 3);
    const timestamp = (file.readUIntBE(at + 4, 3) | (file[at + 7]! << 24)) >>> 0;
    const end = at + 11 + size;
    if (end > file.length) break; // a truncated last tag
    if (type === 8 || type === 9 || type === 18)
      tags.push({ type, timestamp, data: file.subarray(at + 11, end) });
    at = end + 4;
  }
  return tags;
}

/** Whether a tag is a codec configuration (AVC or AAC sequence header) rather than a frame. */
export function isSequenceHeader(tag: FlvTag): boolean {
  if (tag.type === 9) {
    const first = tag.data[0]!;
    // Enhanced RTMP: packet type 0 is the sequence start.
    if (first & 0x80) return (first & 0x0f) === 0;
    return ((first & 0x0f) === 7 || (first & 0x0f) === 12) && tag.data[1] === 0;
  }
  if (tag.type === 8) return tag.data[0]! >> 4 === 10 && tag.data[1] === 0;
  return false;
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

/** An FLV file of `tags` (audio and video flags set from what they hold). */
export function writeFlv(tags: readonly FlvTag[]): Buffer {
  const flags = (tags.some((t) => t.type === 8) ? 4 : 0) | (tags.some((t) => t.type === 9) ? 1 : 0);
  const parts: Buffer[] = [Buffer.from([0x46, 0x4c, 0x56, 1, flags, 0, 0, 0, 9, 0, 0, 0, 0])];
  for (const tag of tags) {
    const header = Buffer.alloc(11);
    header[0] = tag.type;
    header.writeUIntBE(tag.data.length, 1, 3);
    header.writeUIntBE(tag.timestamp & 0xffffff, 4, 3);
    header[7] = (tag.timestamp >>> 24) & 0xff;
    const previous = Buffer.alloc(4);
    previous.writeUInt32BE(11 + tag.data.length);
    parts.push(header, tag.data, previous);
  }
  return Buffer.concat(parts);
}
