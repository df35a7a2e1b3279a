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
