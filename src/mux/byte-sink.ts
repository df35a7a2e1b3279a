/**
 * Bytes bound for one file, gathered in one buffer that is reused after each write: the muxers write into it in
 * place, so a packet costs copies, not allocations (a Buffer per TS packet or tag made the collector the muxer's
 * largest cost).
 */
export class ByteSink {
  #buffer: Buffer;
  #length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#buffer = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.#length;
  }

  /** The buffer to write `n` reserved bytes into, valid until the next reserve or append. */
  get buffer(): Buffer {
    return this.#buffer;
  }

  /** Reserves `n` bytes at the end and returns their offset in `buffer`; the caller fills every one. */
  reserve(n: number): number {
    const at = this.#length;
    if (at + n > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, at + n));
      this.#buffer.copy(grown, 0, 0, at);
      this.#buffer = grown;
    }
    this.#length += n;
    return at;
  }

  append(data: Uint8Array): number {
    const at = this.reserve(data.length);
    this.#buffer.set(data, at);
    return at;
  }

  /** What is gathered, to be written at once (before the next append), and the sink emptied. */
  take(): Buffer {
    const out = this.#buffer.subarray(0, this.#length);
    this.#length = 0;
    return out;
  }
}
