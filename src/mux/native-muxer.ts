import { closeSync, openSync, writeSync, writevSync } from 'node:fs';
import type { MediaPacket } from '../ingest/index.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { ByteSink } from './byte-sink.js';
import {
  adtsContainer,
  flvContainer,
  tsContainer,
  type Container,
  type NativeFormat,
  type StreamState,
} from './containers.js';
import { fmp4Container } from './fmp4.js';
import { parseAacConfig, parseVideoConfig, readAudioBody, readVideoBody } from './elementary.js';

/** Where one format's files go: the same work files and segment list as ffmpeg's segment muxer writes. */
export interface NativeOutput {
  format: NativeFormat;
  /** Path of file `n` in the work dir. */
  filePath: (n: number) => string;
  /** Name of file `n` as the segment list names it. */
  fileName: (n: number) => string;
  listPath: string;
  segmentSeconds: number;
  startNumber: number;
  /** Told of each file once it is closed and listed, with its span as the list line gives it. */
  onListed?: (file: { file: string; startSeconds: number; endSeconds: number }) => void;
}

export interface NativeMuxerOptions {
  outputs: readonly NativeOutput[];
  video?: StreamState['videoCodec'];
  audio?: StreamState['audioCodec'];
  /** How long muxed bytes are gathered before they are written (media lost if the recorder dies). */
  writeBatchMs: number;
  logger: Logger;
}

/** How the muxer ended, in the shape of an ffmpeg exit: code 0 when stopped and every file closed. */
export interface MuxerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  requested: boolean;
  stderrTail: string[];
}

interface OpenFile {
  fd: number;
  number: number;
  startMs: number;
}

interface Writer {
  output: NativeOutput;
  container: Container;
  /** What the open file has not written yet; one buffer, reused from batch to batch and file to file. */
  sink: ByteSink;
  /** Files closed in this run: the next cut is at (closed + 1) × segmentSeconds, as ffmpeg's segment muxer. */
  closed: number;
  file: OpenFile | undefined;
  /** The segment list, open for the run. */
  listFd: number | undefined;
}

const CONTAINERS: Record<NativeFormat, (stream: StreamState) => Container> = {
  hls: tsContainer,
  flv: flvContainer,
  aac: adtsContainer,
  mp4: fmp4Container,
};

/**
 * The stream-copy path in process: FLV tags in, the work files of every format out, with no ffmpeg per slot. It
 * writes what ffmpeg's segment muxer would (files cut at the first keyframe past each split, a `file,start,end`
 * line per closed file), so the run, its salvage and crash recovery read its work as they read ffmpeg's.
 */
export class NativeMuxer {
  readonly exited: Promise<MuxerExit>;
  readonly #o: NativeMuxerOptions;
  readonly #log: Logger;
  readonly #stream: StreamState;
  readonly #writers: Writer[];
  #resolveExit!: (exit: MuxerExit) => void;
  #ended = false;
  #timer: NodeJS.Timeout | undefined;
  #firstDts: number | undefined;
  #lastMs = 0;
  /** The last frame's length, by the gap before it: the last file ends that long after its last frame. */
  #lastGapMs = 0;

  constructor(options: NativeMuxerOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#stream = {
      ...(options.video ? { videoCodec: options.video } : {}),
      ...(options.audio ? { audioCodec: options.audio } : {}),
    };
    this.#writers = options.outputs.map((output) => ({
      output,
      container: CONTAINERS[output.format](this.#stream),
      sink: new ByteSink(),
      closed: 0,
      file: undefined,
      listFd: undefined,
    }));
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve));
    // Each list exists from the start, empty, as ffmpeg's segment muxer makes it: the run watches it from then on,
    // where a missing list would be polled every few hundred milliseconds until its first file closed.
    try {
      for (const writer of this.#writers) writer.listFd = openSync(writer.output.listPath, 'w');
    } catch (err) {
      this.#die(err);
    }
  }

  /** Bytes muxed and not yet written. */
  get pendingInputBytes(): number {
    let bytes = 0;
    for (const writer of this.#writers) bytes += writer.sink.length;
    return bytes;
  }

  write(packet: MediaPacket): void {
    if (this.#ended) return;
    try {
      this.#write(packet);
    } catch (err) {
      this.#die(err);
    }
  }

  #write(packet: MediaPacket): void {
    const body = packet.tag.subarray(11, packet.tag.length - 4);
    if (packet.kind === 'script') {
      this.#stream.metadataTag = packet.tag;
      return;
    }
    if (packet.isSequenceHeader) this.#configure(packet, body);
    else if (this.#unconfigured(packet)) return; // a decoder could not read it
    const first = this.#firstDts === undefined;
    this.#firstDts ??= packet.dts;
    const runMs = packet.dts - this.#firstDts;
    if (!first && runMs > this.#lastMs) this.#lastGapMs = runMs - this.#lastMs;
    this.#lastMs = Math.max(this.#lastMs, runMs);
    for (const writer of this.#writers) this.#feed(writer, packet, body, runMs);
    this.#timer ??= setTimeout(() => this.#flushAll(), this.#o.writeBatchMs);
  }

  #configure(packet: MediaPacket, body: Buffer): void {
    if (packet.kind === 'video') {
      const config = readVideoBody(body);
      if (config.kind === 'config') this.#stream.video = parseVideoConfig(config.codec, config.record);
      this.#stream.videoHeaderTag = packet.tag;
    } else {
      const config = readAudioBody(body);
      if (config.kind === 'config') this.#stream.aac = parseAacConfig(config.record);
      this.#stream.audioHeaderTag = packet.tag;
    }
  }

  #unconfigured(packet: MediaPacket): boolean {
    if (packet.kind === 'video') return !this.#stream.video;
    return this.#stream.audioCodec === 'aac' && !this.#stream.aac;
  }

  #feed(writer: Writer, packet: MediaPacket, body: Buffer, runMs: number): void {
    const { container, output } = writer;
    if (packet.isSequenceHeader && !writer.file) return; // it leads the file when the file begins
    if (writer.file && container.cutsAt(packet, this.#stream)) {
      const due = (writer.closed + 1) * output.segmentSeconds * 1000;
      if (runMs >= due) this.#close(writer, runMs);
    }
    if (!writer.file) {
      // A run's first file starts with its first frame (audio may lead the first keyframe); later ones at cuts.
      if (writer.closed > 0 ? !container.cutsAt(packet, this.#stream) : !container.takes(packet)) return;
      const number = output.startNumber + writer.closed;
      writer.file = { fd: openSync(output.filePath(number), 'w'), number, startMs: runMs };
      container.begin(writer.sink, this.#stream);
    }
    container.packet(writer.sink, packet, body, this.#stream, runMs, runMs - writer.file.startMs);
  }

  #flush(writer: Writer): void {
    if (!writer.file || writer.sink.length === 0) return;
    // A sync write of a batch to the page cache costs microseconds, and lets the sink's buffer be reused at once.
    writeAll(writer.file.fd, writer.sink.take());
  }

  #flushAll(): void {
    this.#timer = undefined;
    try {
      for (const writer of this.#writers) this.#flush(writer);
    } catch (err) {
      this.#die(err);
    }
  }

  /** Closes a writer's file and lists it: only then is it announced complete. */
  #close(writer: Writer, endMs: number): void {
    const file = writer.file!;
    writer.container.end?.(writer.sink);
    this.#flush(writer);
    closeSync(file.fd);
    writer.file = undefined;
    writer.closed++;
    const name = writer.output.fileName(file.number);
    const [start, end] = [seconds(file.startMs), seconds(endMs)];
    writeSync(writer.listFd!, `${name},${start},${end}\n`);
    writer.output.onListed?.({ file: name, startSeconds: Number(start), endSeconds: Number(end) });
  }

  /** Writes what is held, closes and lists every file, and ends as a clean exit. */
  stop(_graceMs?: number): Promise<MuxerExit> {
    if (this.#ended) return this.exited;
    clearTimeout(this.#timer);
    try {
      for (const writer of this.#writers)
        if (writer.file) this.#close(writer, this.#lastMs + this.#lastGapMs);
    } catch (err) {
      this.#die(err);
      return this.exited;
    }
    this.#end({ code: 0, signal: null, requested: true, stderrTail: [] });
    return this.exited;
  }

  /** Ends as a killed ffmpeg would: what is held is lost, open files stay unlisted for the run to salvage. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#ended) return;
    clearTimeout(this.#timer);
    this.#closeQuietly();
    this.#end({ code: null, signal, requested: true, stderrTail: [] });
  }

  #die(err: unknown): void {
    if (this.#ended) return;
    clearTimeout(this.#timer);
    const message = errorMessage(err);
    this.#log.error({ err: message }, 'native muxer failed');
    this.#closeQuietly();
    this.#end({ code: 1, signal: null, requested: false, stderrTail: [message] });
  }

  #closeQuietly(): void {
    for (const writer of this.#writers) {
      if (!writer.file) continue;
      try {
        closeSync(writer.file.fd);
      } catch {
        // Already failing: the file is salvaged as it is.
      }
      writer.sink.take();
      writer.file = undefined;
    }
  }

  #end(exit: MuxerExit): void {
    for (const writer of this.#writers) {
      if (writer.listFd === undefined) continue;
      try {
        closeSync(writer.listFd);
      } catch {
        // Its lines are written already; a failing close loses none of them.
      }
      writer.listFd = undefined;
    }
    this.#ended = true;
    this.#resolveExit(exit);
  }
}

/** Writes the chunks in order, one `writev` for them all unless the kernel takes less. */
function writeAll(fd: number, chunks: Buffer[]): void {
  let rest = chunks;
  while (rest.length > 0) {
    let written = rest.length === 1 ? writeSync(fd, rest[0]!) : writevSync(fd, rest);
    let i = 0;
    while (i < rest.length && written >= rest[i]!.length) written -= rest[i++]!.length;
    rest = rest.slice(i);
    if (written > 0) rest[0] = rest[0]!.subarray(written);
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(6);
}
