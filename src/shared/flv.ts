// FLV tags: reading a whole file or a stream of them, and writing them back.

/** One FLV tag: type 8 audio, 9 video, 18 script data. */
export interface FlvTag {
  type: 8 | 9 | 18;
  /** Milliseconds. */
  timestamp: number;
  data: Buffer;
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

/**
 * The bytes of one tag as it sits in a file: 11-byte header, payload, 4-byte previous-tag size. Every byte is
 * written, so the buffer is not zeroed first (the ingest builds one per packet).
 */
export function encodeTag(tag: FlvTag): Buffer {
  const out = Buffer.allocUnsafe(11 + tag.data.length + 4);
  out[0] = tag.type;
  out.writeUIntBE(tag.data.length, 1, 3);
  out.writeUIntBE(tag.timestamp & 0xffffff, 4, 3);
  out[7] = (tag.timestamp >>> 24) & 0xff;
  out.writeUIntBE(0, 8, 3); // stream id
  tag.data.copy(out, 11);
  out.writeUInt32BE(11 + tag.data.length, 11 + tag.data.length);
  return out;
}

/** An FLV file header announcing the given tracks. */
export function flvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  return Buffer.from([0x46, 0x4c, 0x56, 1, (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
}

/** An FLV file of `tags` (audio and video flags set from what they hold). */
export function writeFlv(tags: readonly FlvTag[]): Buffer {
  const header = flvHeader(
    tags.some((t) => t.type === 8),
    tags.some((t) => t.type === 9),
  );
  return Buffer.concat([header, ...tags.map(encodeTag)]);
}

/** Reads FLV tags from a byte stream as they complete (the file header first). */
export class FlvTagReader {
  #buffer: Buffer = Buffer.alloc(0);
  #headerDone = false;

  /** Takes the next chunk; returns the tags it completed. Throws if the stream is not FLV. */
  push(chunk: Buffer): FlvTag[] {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const tags: FlvTag[] = [];
    let at = 0;
    if (!this.#headerDone) {
      if (this.#buffer.length < 13) return tags;
      if (this.#buffer.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream');
      at = this.#buffer.readUInt32BE(5) + 4;
      this.#headerDone = true;
    }
    while (at + 11 <= this.#buffer.length) {
      const size = this.#buffer.readUIntBE(at + 1, 3);
      const end = at + 11 + size;
      if (end + 4 > this.#buffer.length) break;
      const type = this.#buffer[at]! & 0x1f;
      const timestamp = (this.#buffer.readUIntBE(at + 4, 3) | (this.#buffer[at + 7]! << 24)) >>> 0;
      // Copied out: the buffer is reused for what follows.
      if (type === 8 || type === 9 || type === 18)
        tags.push({ type, timestamp, data: Buffer.from(this.#buffer.subarray(at + 11, end)) });
      at = end + 4;
    }
    this.#buffer = this.#buffer.subarray(at);
    return tags;
  }
}
