/** One MP4 box header: its type, its size as declared (0 runs to the end of the file), and its own length. */
export interface BoxHeader {
  type: string;
  size: number;
  headerBytes: number;
}

/**
 * The header of the box at `at` in buf[0, end), reading a 64-bit size where the 32-bit one is 1 (pure).
 * Undefined when the header does not fit.
 */
export function boxHeader(buf: Uint8Array, at: number, end = buf.length): BoxHeader | undefined {
  if (at + 8 > end) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = String.fromCharCode(buf[at + 4]!, buf[at + 5]!, buf[at + 6]!, buf[at + 7]!);
  const size = view.getUint32(at);
  if (size !== 1) return { type, size, headerBytes: 8 };
  if (at + 16 > end) return undefined;
  return { type, size: Number(view.getBigUint64(at + 8)), headerBytes: 16 };
}

/** A box found in a buffer: its type, where it begins (`at`), and its body [start, end). */
export interface Mp4Box {
  type: string;
  at: number;
  start: number;
  end: number;
}

/** The boxes in buf[from, to), in order (pure); stops at the first that does not fit. */
export function mp4Boxes(buf: Buffer, from: number, to: number): Mp4Box[] {
  const out: Mp4Box[] = [];
  let at = from;
  for (let header = boxHeader(buf, at, to); header; header = boxHeader(buf, at, to)) {
    const size = header.size === 0 ? to - at : header.size;
    if (size < header.headerBytes || at + size > to) break;
    out.push({ type: header.type, at, start: at + header.headerBytes, end: at + size });
    at += size;
  }
  return out;
}

/** Timescale and duration of an mvhd or mdhd (full boxes: version 1 has 64-bit times). */
export function mp4Timing(buf: Buffer, box: Mp4Box): { timescale: number; duration: number } {
  const v1 = buf[box.start] === 1;
  const at = box.start + 4 + (v1 ? 16 : 8);
  const timescale = buf.readUInt32BE(at);
  const duration = v1 ? Number(buf.readBigUInt64BE(at + 4)) : buf.readUInt32BE(at + 4);
  return { timescale, duration };
}
