import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** A file ffmpeg's segment muxer has closed, with its span in the run's output timeline. */
export interface ClosedFile {
  file: string;
  startSeconds: number;
  endSeconds: number;
}

/** Parses one `file,start,end` line of a segment list (CSV); null if it is not one. */
export function parseSegmentListLine(line: string): ClosedFile | null {
  const match = /^"?([^",]+)"?,(-?[\d.]+),(-?[\d.]+)$/.exec(line.trim());
  if (!match) return null;
  const startSeconds = Number(match[2]);
  const endSeconds = Number(match[3]);
  if (!Number.isFinite(startSeconds) || !Number.isFinite(endSeconds)) return null;
  return { file: match[1]!, startSeconds, endSeconds };
}

/** Where a run learns which of a format's files are closed: ffmpeg's segment list, or the native muxer itself. */
export interface ClosedFileSource {
  /** Calls `onChange` when files are closed; false when it cannot (yet), so the run polls `readNew`. */
  watch(onChange: () => void): boolean;
  unwatch(): void;
  /** The files closed since the last call. */
  readNew(): Promise<ClosedFile[]>;
}

/**
 * Files the native muxer reports as it closes them. It still writes the segment list, for crash recovery; the run
 * is told directly, with no watch, stat or read of that file.
 */
export class ReportedFiles implements ClosedFileSource {
  #pending: ClosedFile[] = [];
  #onChange: (() => void) | undefined;

  report(file: ClosedFile): void {
    this.#pending.push(file);
    this.#onChange?.();
  }

  watch(onChange: () => void): boolean {
    this.#onChange = onChange;
    return true;
  }

  unwatch(): void {
    this.#onChange = undefined;
  }

  readNew(): Promise<ClosedFile[]> {
    const files = this.#pending;
    this.#pending = [];
    return Promise.resolve(files);
  }
}

/** Reads a growing segment list, returning only lines that are complete (ffmpeg may be mid-write). */
export class SegmentListReader implements ClosedFileSource {
  readonly #path: string;
  #offset = 0;
  #partial = '';
  #watcher: FSWatcher | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  /**
   * Calls `onChange` when the list is written (inotify on Linux), so it need not be polled often. False while the
   * list does not exist yet, or where the file system cannot be watched; true once watched.
   */
  watch(onChange: () => void): boolean {
    if (this.#watcher) return true;
    try {
      this.#watcher = watch(this.#path, { persistent: false }, () => onChange());
    } catch {
      return false;
    }
    // A watch that fails later (the work dir removed) falls back to polling.
    this.#watcher.on('error', () => this.unwatch());
    return true;
  }

  unwatch(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  async readNew(): Promise<ClosedFile[]> {
    // Most polls find nothing new: one stat answers that, without the open, fstat and close of a read.
    let handle;
    try {
      if ((await stat(this.#path)).size <= this.#offset) return [];
      handle = await open(this.#path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      const { size } = await handle.stat();
      if (size <= this.#offset) return [];
      const buffer = Buffer.alloc(size - this.#offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.#offset);
      this.#offset += bytesRead;
      const lines = (this.#partial + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
      this.#partial = lines.pop() ?? '';
      return lines.map(parseSegmentListLine).filter((f): f is ClosedFile => f !== null);
    } finally {
      await handle.close();
    }
  }
}
