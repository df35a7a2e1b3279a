import { open } from 'node:fs/promises';
import { boxHeader } from '../../mux/mp4-box.js';

/** How far into a segment its init section (ftyp + moov) may reach; a moov of a few tracks is a few hundred bytes. */
const HEAD_BYTES = 64 * 1024;

/**
 * Length of the init section of a fragmented MP4 (its top-level boxes up to and including `moov`), or
 * undefined when `head` does not hold a whole `moov` (pure).
 */
export function initSectionLength(head: Uint8Array): number | undefined {
  let offset = 0;
  for (let box = boxHeader(head, 0); box; box = boxHeader(head, offset)) {
    const { type, size } = box;
    // size 0 runs to the end of the file; a box shorter than its header is not MP4.
    if (size < 8) return undefined;
    if (type === 'moof' || type === 'mdat') return undefined;
    offset += size;
    if (type === 'moov') return offset <= head.byteLength ? offset : undefined;
  }
  return undefined;
}

/** The init section length of a fragmented MP4 file on disk; undefined when it has none. */
export async function readInitSectionLength(path: string): Promise<number | undefined> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0);
    return initSectionLength(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
