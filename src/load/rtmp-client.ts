// A minimal RTMP publisher: simple handshake, connect, createStream, publish, then audio/video/data messages as
// type-0 chunks at a large chunk size. Just enough protocol to push a fixture; it reads only the server's
// control messages and command answers.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { decodeAmf0, encodeAmf0, type Amf0 } from './amf0.js';

/** Where to publish, split from an `rtmp://host:port/app` URL and a stream name (which may carry a query). */
export interface RtmpTarget {
  host: string;
  port: number;
  app: string;
  tcUrl: string;
  name: string;
}

/** Splits `rtmp://host[:port]/app[/...]` and a stream name into a publish target. */
export function rtmpTarget(url: string, name: string): RtmpTarget {
  const u = new URL(url);
  if (u.protocol !== 'rtmp:') throw new Error(`not an rtmp:// URL: ${url}`);
  const app = u.pathname.replace(/^\/+|\/+$/g, '');
  if (!app) throw new Error(`no app in ${url}`);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 1935,
    app,
    tcUrl: `rtmp://${u.host}/${app}`,
    name,
  };
}

/**
 * One message as chunks: a type-0 chunk (absolute timestamp), or with `delta` a type-1 chunk carrying the
 * timestamp delta from the chunk stream's previous message, as encoders send them; then type-3 chunks (with the
 * extended timestamp repeated, as NMS does).
 */
export function encodeMessage(
  csid: number,
  type: number,
  streamId: number,
  timestamp: number,
  payload: Buffer,
  chunkSize: number,
  delta = false,
): Buffer {
  const extended = timestamp >= 0xffffff;
  const basic = (fmt: number): Buffer =>
    csid < 64
      ? Buffer.from([(fmt << 6) | csid])
      : Buffer.from([(fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8]);
  const ext = Buffer.alloc(extended ? 4 : 0);
  if (extended) ext.writeUInt32BE(timestamp >>> 0, 0);
  const header = Buffer.alloc(delta ? 7 : 11);
  header.writeUIntBE(extended ? 0xffffff : timestamp, 0, 3);
  header.writeUIntBE(payload.length, 3, 3);
  header[6] = type;
  if (!delta) header.writeUInt32LE(streamId, 7);
  const parts: Buffer[] = [basic(delta ? 1 : 0), header, ext];
  for (let at = 0; at < payload.length; at += chunkSize) {
    if (at > 0) parts.push(basic(3), ext);
    parts.push(payload.subarray(at, at + chunkSize));
  }
  return Buffer.concat(parts);
}

const HANDSHAKE_SIZE = 1536;
const CSID_CONTROL = 2;
const CSID_COMMAND = 3;
const CSID_AUDIO = 4;
const CSID_DATA = 5;
const CSID_VIDEO = 6;
const CSID_STREAM_COMMAND = 8;

interface ChunkStreamState {
  timestamp: number;
  length: number;
  type: number;
  streamId: number;
  extended: boolean;
  parts: Buffer[];
  received: number;
}

interface Pending {
  resolve: (args: Amf0[]) => void;
  reject: (err: Error) => void;
}

export interface RtmpPublisherOptions {
  /** Outgoing chunk size; 4096 or more keeps a frame to a few chunks. */
  chunkSize?: number;
  /** Handshake through publish must finish within this. */
  timeoutMs?: number;
  /** Media after the first message of each chunk stream goes with type-1 (delta) headers, as encoders send it. */
  deltaHeaders?: boolean;
}

/** A live RTMP publish. Create with `RtmpPublisher.publish()`. */
export class RtmpPublisher {
  readonly #socket: net.Socket;
  readonly #target: RtmpTarget;
  readonly #chunkSize: number;
  #inChunkSize = 128;
  #in: Buffer = Buffer.alloc(0);
  #handshakeDone = false;
  readonly #chunkStreams = new Map<number, ChunkStreamState>();
  readonly #pending = new Map<number | string, Pending>();
  #streamId = 0;
  #closeError: Error | undefined;
  /** Resolves when the socket is closed, with the reason if it was not our own unpublish. */
  readonly closed: Promise<Error | undefined>;
  #unpublishing = false;
  readonly #deltaHeaders: boolean;
  /** The last media timestamp sent per chunk stream, for delta headers. */
  readonly #lastSent = new Map<number, number>();

  private constructor(target: RtmpTarget, options: RtmpPublisherOptions) {
    this.#target = target;
    this.#chunkSize = options.chunkSize ?? 4096;
    this.#deltaHeaders = options.deltaHeaders ?? false;
    this.#socket = net.connect({ host: target.host, port: target.port });
    this.#socket.setNoDelay(true);
    this.closed = new Promise((resolve) => {
      this.#socket.on('error', (err) => (this.#closeError ??= err));
      this.#socket.on('close', () => {
        const err = this.#unpublishing
          ? undefined
          : (this.#closeError ?? new Error('connection closed by the server'));
        for (const p of this.#pending.values()) p.reject(err ?? new Error('connection closed'));
        this.#pending.clear();
        resolve(err);
      });
    });
    this.#socket.on('data', (data) => this.#onData(data));
  }

  /** Connects, handshakes and publishes `target.name`; rejects if the server refuses or does not answer in time. */
  static async publish(target: RtmpTarget, options: RtmpPublisherOptions = {}): Promise<RtmpPublisher> {
    const client = new RtmpPublisher(target, options);
    const timeoutMs = options.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`publish not started within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([client.#start(), timeout]);
      return client;
    } catch (err) {
      client.#socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Message stream id the server gave to createStream. */
  get streamId(): number {
    return this.#streamId;
  }

  /** Bytes queued in the socket, not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.#socket.writableLength;
  }

  /** Total bytes written to the socket. */
  get bytesWritten(): number {
    return this.#socket.bytesWritten;
  }

  get writable(): boolean {
    return !this.#socket.destroyed && this.#socket.writable && !this.#unpublishing;
  }

  async #start(): Promise<void> {
    const handshake = new Promise<Amf0[]>((resolve, reject) =>
      this.#pending.set('handshake', { resolve, reject }),
    );
    const c1 = Buffer.concat([Buffer.alloc(8), randomBytes(HANDSHAKE_SIZE - 8)]);
    this.#socket.write(Buffer.concat([Buffer.from([3]), c1]));
    await handshake;
    const size = Buffer.alloc(4);
    size.writeUInt32BE(this.#chunkSize, 0);
    this.#socket.write(encodeMessage(CSID_CONTROL, 1, 0, 0, size, 128));
    await this.#command(CSID_COMMAND, 0, 'connect', 1, {
      app: this.#target.app,
      type: 'nonprivate',
      flashVer: 'FMLE/3.0 (compatible; recorder-load)',
      tcUrl: this.#target.tcUrl,
    });
    const created = await this.#command(CSID_COMMAND, 0, 'createStream', 2, null);
    const id = created[1];
    if (typeof id !== 'number') throw new Error('createStream gave no stream id');
    this.#streamId = id;
    const status = new Promise<Amf0[]>((resolve, reject) =>
      this.#pending.set('publish', { resolve, reject }),
    );
    this.#socket.write(
      encodeMessage(
        CSID_STREAM_COMMAND,
        20,
        id,
        0,
        encodeAmf0('publish', 3, null, this.#target.name, 'live'),
        this.#chunkSize,
      ),
    );
    await status;
  }

  #command(csid: number, streamId: number, name: string, transId: number, ...args: Amf0[]): Promise<Amf0[]> {
    const answer = new Promise<Amf0[]>((resolve, reject) => this.#pending.set(transId, { resolve, reject }));
    this.#socket.write(
      encodeMessage(csid, 20, streamId, 0, encodeAmf0(name, transId, ...args), this.#chunkSize),
    );
    return answer;
  }

  /** Sends the stream's metadata (an FLV script tag body) as `@setDataFrame`. */
  sendMetadata(scriptData: Buffer): void {
    const payload = Buffer.concat([encodeAmf0('@setDataFrame'), scriptData]);
    this.#socket.write(encodeMessage(CSID_DATA, 18, this.#streamId, 0, payload, this.#chunkSize));
  }

  /** Sends one audio (8) or video (9) message; false when the socket's buffer is full (the data is still queued). */
  /** Timestamps are RTMP's 32 bits: a larger one wraps, as an encoder's clock does after 49.7 days. */
  sendMedia(type: 8 | 9, timestamp: number, data: Buffer): boolean {
    const csid = type === 8 ? CSID_AUDIO : CSID_VIDEO;
    const ts = timestamp % 2 ** 32;
    const last = this.#lastSent.get(csid);
    this.#lastSent.set(csid, ts);
    const message =
      this.#deltaHeaders && last !== undefined
        ? encodeMessage(
            csid,
            type,
            this.#streamId,
            (ts - last + 2 ** 32) % 2 ** 32,
            data,
            this.#chunkSize,
            true,
          )
        : encodeMessage(csid, type, this.#streamId, ts, data, this.#chunkSize);
    return this.#socket.write(message);
  }

  /** FCUnpublish and deleteStream, as encoders send them, then closes; resolves once the socket is closed. */
  async unpublish(timeoutMs = 5000): Promise<void> {
    if (this.#socket.destroyed) return;
    if (!this.#unpublishing && this.#socket.writable) {
      this.#socket.write(
        encodeMessage(
          CSID_COMMAND,
          20,
          0,
          0,
          encodeAmf0('FCUnpublish', 5, null, this.#target.name),
          this.#chunkSize,
        ),
      );
      this.#socket.write(
        encodeMessage(
          CSID_COMMAND,
          20,
          0,
          0,
          encodeAmf0('deleteStream', 6, null, this.#streamId),
          this.#chunkSize,
        ),
      );
    }
    this.#unpublishing = true;
    this.#socket.end();
    const timer = setTimeout(() => this.#socket.destroy(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  /** Drops the connection without unpublishing. */
  destroy(): void {
    this.#socket.destroy();
  }

  #fail(err: Error): void {
    this.#closeError ??= err;
    this.#socket.destroy();
  }

  #onData(data: Buffer): void {
    this.#in = this.#in.length ? Buffer.concat([this.#in, data]) : data;
    try {
      if (!this.#handshakeDone) {
        if (this.#in.length < 1 + 2 * HANDSHAKE_SIZE) return;
        const s1 = this.#in.subarray(1, 1 + HANDSHAKE_SIZE);
        this.#socket.write(Buffer.from(s1)); // C2 echoes S1
        this.#in = this.#in.subarray(1 + 2 * HANDSHAKE_SIZE);
        this.#handshakeDone = true;
        this.#settle('handshake', []);
      }
      while (this.#readChunk());
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Reads one chunk from the input buffer; false if it is not all there yet. */
  #readChunk(): boolean {
    const buf = this.#in;
    if (buf.length < 1) return false;
    const fmt = buf[0]! >> 6;
    let csid = buf[0]! & 0x3f;
    let at = 1;
    if (csid === 0) {
      if (buf.length < 2) return false;
      csid = buf[1]! + 64;
      at = 2;
    } else if (csid === 1) {
      if (buf.length < 3) return false;
      csid = buf[1]! + buf[2]! * 256 + 64;
      at = 3;
    }
    const headerSize = [11, 7, 3, 0][fmt]!;
    if (buf.length < at + headerSize) return false;
    const prev = this.#chunkStreams.get(csid);
    if (fmt !== 0 && !prev) throw new Error(`chunk stream ${csid} starts without a full header`);
    const state: ChunkStreamState = prev ?? {
      timestamp: 0,
      length: 0,
      type: 0,
      streamId: 0,
      extended: false,
      parts: [],
      received: 0,
    };
    let field = fmt < 3 ? buf.readUIntBE(at, 3) : 0;
    const extended = fmt < 3 ? field === 0xffffff : state.extended;
    const extAt = at + headerSize;
    if (extended) {
      if (buf.length < extAt + 4) return false;
      field = buf.readUInt32BE(extAt);
    }
    const payloadAt = extAt + (extended ? 4 : 0);
    const starting = state.received === 0;
    const length = fmt <= 1 ? buf.readUIntBE(at + 3, 3) : state.length;
    const take = Math.min(this.#inChunkSize, length - (starting ? 0 : state.received));
    if (buf.length < payloadAt + take) return false;
    // The whole chunk is here: commit its header.
    if (fmt <= 1) {
      state.length = length;
      state.type = buf[at + 6]!;
    }
    if (fmt === 0) {
      state.streamId = buf.readUInt32LE(at + 7);
      state.timestamp = field;
    } else if (fmt < 3 && starting) state.timestamp += field;
    state.extended = extended;
    state.parts.push(buf.subarray(payloadAt, payloadAt + take));
    state.received += take;
    this.#chunkStreams.set(csid, state);
    this.#in = buf.subarray(payloadAt + take);
    if (state.received >= state.length) {
      const payload = Buffer.concat(state.parts);
      state.parts = [];
      state.received = 0;
      this.#onMessage(state.type, payload);
    }
    return true;
  }

  #onMessage(type: number, payload: Buffer): void {
    if (type === 1) {
      this.#inChunkSize = payload.readUInt32BE(0) & 0x7fffffff;
      return;
    }
    if (type !== 20) return; // acks, window sizes, user control: nothing a publisher must answer
    const [name, transId, , info] = decodeAmf0(payload);
    if (name === '_result' && typeof transId === 'number')
      this.#settle(transId, decodeAmf0(payload).slice(2));
    else if (name === '_error' && typeof transId === 'number') {
      this.#settle(transId, undefined, new Error(`${describe(info)}`));
    } else if (name === 'onStatus') {
      const code = statusCode(info);
      if (code === 'NetStream.Publish.Start') this.#settle('publish', [info]);
      else if (/error|fail|badname|rejected/i.test(code))
        this.#settle('publish', undefined, new Error(describe(info)));
    }
  }

  #settle(key: number | string, args: Amf0[] | undefined, err?: Error): void {
    const p = this.#pending.get(key);
    if (!p) return;
    this.#pending.delete(key);
    if (err) p.reject(err);
    else p.resolve(args ?? []);
  }
}

function statusCode(info: Amf0): string {
  const code = info && typeof info === 'object' && !Array.isArray(info) ? info.code : undefined;
  return typeof code === 'string' ? code : '';
}

function describe(info: Amf0): string {
  if (info && typeof info === 'object' && !Array.isArray(info)) {
    const { code, description } = info as { code?: Amf0; description?: Amf0 };
    return [code, description].filter((x) => typeof x === 'string').join(': ') || 'error';
  }
  return 'error';
}
