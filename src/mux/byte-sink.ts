/**
 * Bytes bound for one file, gathered in one buffer that is reused after each write: the muxers write into it in
 * place, so a packet costs copies, not allocations (a Buffer per TS packet or tag made the collector the muxer's
 * largest cost). Large payloads that go out as they are (MP4 samples) are referenced, not copied, and written
 * with the rest in one `writev`.
 */
export class ByteSink {
  #buffer: Buffer;
  #length = 0;
  /** Where the bytes not yet cut into `#chunks` start in `#buffer`. */
  #runStart = 0;
  #chunks: Buffer[] = [];
  #referenced = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#buffer = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes gathered, copied and referenced. */
  get length(): number {
    return this.#length + this.#referenced;
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

  /** Adds `data` after what is gathered without copying it; it must not change until it is taken. */
  appendReference(data: Buffer): void {
    // The run so far is cut off as it is: a later growth copies the buffer, the cut keeps the old one's bytes.
    if (this.#length > this.#runStart) this.#chunks.push(this.#buffer.subarray(this.#runStart, this.#length));
    this.#runStart = this.#length;
    this.#chunks.push(data);
    this.#referenced += data.length;
  }

  /** What is gathered, in order, to be written at once (before the next append), and the sink emptied. */
  take(): Buffer[] {
    const out = this.#chunks;
    if (this.#length > this.#runStart) out.push(this.#buffer.subarray(this.#runStart, this.#length));
    this.#chunks = [];
    this.#length = 0;
    this.#runStart = 0;
    this.#referenced = 0;
    return out;
  }
}
