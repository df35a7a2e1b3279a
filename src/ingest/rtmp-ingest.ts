import { randomBytes } from 'node:crypto';
import net from 'node:net';
import Rtmp from 'node-media-server/src/protocol/rtmp.js';
import Flv from 'node-media-server/src/protocol/flv.js';
import nmsLogger from 'node-media-server/src/core/logger.js';
import { decodeAmf0Data } from 'node-media-server/src/protocol/amf.js';
import type AVPacket from 'node-media-server/src/core/avpacket.js';
import { ListenError, errorMessage } from '../shared/errors.js';
import { encodeTag } from '../shared/flv.js';
import { isWellFormedAmf0 } from './amf0-check.js';
import {
  DEFAULT_TIMESTAMP_POLICY,
  TimestampRepairer,
  type TimestampPolicy,
  type TimestampRepair,
} from './timestamps.js';
import type { Logger } from '../shared/logger.js';
import type { IngestEndReason, MediaPacket, PublishRequest, PublishSink } from './types.js';

/** What the recorder answers to a publish: a sink for its media, or a refusal with the reason. */
export type AdmitDecision = { accept: PublishSink } | { refuse: string };

/**
 * Runs `done` once the admitted publish is over: at once when it was refused, else after its sink's end. For
 * an admission layer that holds something per publish (a claim, a slot).
 */
export function afterPublish(decision: AdmitDecision, done: () => void): AdmitDecision {
  if ('refuse' in decision) {
    done();
    return decision;
  }
  const sink = decision.accept;
  return {
    accept: {
      onPacket: (packet) => sink.onPacket(packet),
      onEnd: (reason) => {
        sink.onEnd(reason);
        done();
      },
    },
  };
}

export interface RtmpIngestOptions {
  host: string;
  port: number;
  logger: Logger;
  /**
   * Decides whether a publish is recorded: at once, or later (a claim on the stream across a cluster); media that
   * comes meanwhile is held, up to MAX_PENDING_BYTES.
   */
  admit: (request: PublishRequest) => AdmitDecision | Promise<AdmitDecision>;
  /** A connection that sends nothing for this long is closed; a stalled publisher ends within it. */
  idleTimeoutMs?: number;
  /** A connection that has not published this long after connecting is closed, however slowly it sends. */
  publishDeadlineMs?: number;
  /** How each publish's timestamps are repaired (record.timestamps). */
  timestamps?: TimestampPolicy;
  /** Told of every timestamp repair, after it is logged. */
  onTimestampRepair?: (request: PublishRequest, repair: TimestampRepair) => void;
}

// Limits on what NMS's chunk parser allocates for a peer, which it does up front from the declared length.
/** Distinct chunk streams per connection; encoders use fewer than ten. */
const MAX_CHUNK_STREAMS = 32;
/** Message size before a publish is admitted: commands are small, and no media is taken yet. */
const MAX_UNADMITTED_MESSAGE_BYTES = 64 * 1024;
/** Media held while a publish waits for its decision (a second or two of a high-bitrate push). */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
/** The largest Set Chunk Size the spec allows (31 bits). */
const MAX_CHUNK_SIZE = 0x7fffffff;

// "@setDataFrame" as an AMF0 string: RTMP publishers wrap onMetaData in it, FLV readers expect it bare.
const SET_DATA_FRAME = Buffer.from([0x02, 0x00, 0x0d, ...Buffer.from('@setDataFrame')]);

let nmsLoggerRouted = false;

/** node-media-server prints through console.log; route its lines into our structured log instead. */
function routeNmsLogger(logger: Logger): void {
  if (nmsLoggerRouted) return;
  nmsLoggerRouted = true;
  const child = logger.child({ component: 'nms' });
  nmsLogger.log = (message: string, level = 'info') => {
    if (level === 'error' || level === 'warn') child.warn(message);
    else child.trace(message);
  };
}

/** NMS's RTMP protocol engine, extended to keep the publish name verbatim, see deleteStream and bound input. */
class RecorderRtmp extends Rtmp {
  rawStreamName = '';
  onUnpublish: () => void = () => {};
  /** Set once the publish is admitted; until then messages are capped at MAX_UNADMITTED_MESSAGE_BYTES. */
  admitted = false;

  constructor() {
    super();
    // NMS allocates a 1 MiB FLV parser per connection that RTMP never uses; a connect flood would hold them all.
    this.flv = undefined;
  }

  // NMS allocates a message's whole declared length (up to 16 MiB) per chunk stream before any payload arrives.
  override packetParse(): void {
    super.packetParse();
    if (this.inPackets.size > MAX_CHUNK_STREAMS) {
      throw new Error(`more than ${MAX_CHUNK_STREAMS} chunk streams`);
    }
    const length = this.parserPacket.header.length;
    if (!this.admitted && length > MAX_UNADMITTED_MESSAGE_BYTES) {
      throw new Error(`message of ${length} bytes before publish`);
    }
  }

  // RTMP timestamps are 32-bit and wrap after 49.7 days. NMS adds delta headers (fmt 1/2) without wrapping and
  // then drops every message whose clock passed 0xffffffff; wrapped here, the timestamp repairer sees the wrap.
  override packetAlloc(): void {
    this.parserPacket.clock = this.parserPacket.clock % 2 ** 32;
    super.packetAlloc();
  }

  // NMS decodes an overrunning string as the bytes present, so a corrupt publish could name a stream.
  override invokeHandler(): void {
    const { type, length } = this.parserPacket.header;
    const amf = this.parserPacket.payload.subarray(type === 17 ? 1 : 0, length);
    if (!isWellFormedAmf0(amf)) throw new Error('malformed AMF0 command');
    super.invokeHandler();
  }

  // Chunk size 0 makes NMS's parser compute NaN offsets and swallow the connection's bytes forever.
  override controlHandler(): void {
    if (this.parserPacket.header.type === 1) {
      const size = this.parserPacket.header.length >= 4 ? this.parserPacket.payload.readUInt32BE(0) : 0;
      if (size < 1 || size > MAX_CHUNK_SIZE) throw new Error(`invalid chunk size ${size}`);
    }
    super.controlHandler();
  }

  override onPublish(invokeMessage: { cmd: string; streamName?: string }): void {
    this.rawStreamName = String(invokeMessage.streamName ?? '');
    super.onPublish(invokeMessage);
  }

  override onDeleteStream(invokeMessage: { cmd: string }): void {
    super.onDeleteStream(invokeMessage);
    this.onUnpublish();
  }
}

function queryOf(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const at = text.indexOf('?');
  return at >= 0 ? text.slice(at + 1) : undefined;
}

/**
 * What a video tag body is: its codec (an FLV codec id, or the FourCC of enhanced RTMP), and whether it is a
 * sequence header or a keyframe. Read here, not from NMS's flags, which know codec 12 (HEVC) only as inter frames.
 */
export function videoFlags(
  data: Buffer,
): Pick<MediaPacket, 'kind' | 'codecId' | 'fourcc' | 'isSequenceHeader' | 'isKeyFrame' | 'enhanced'> {
  const first = data[0] ?? 0;
  const frameType = (first >> 4) & 0x07;
  if (first & 0x80) {
    // Enhanced RTMP: the low nibble is the packet type (0 sequence start, 1 and 3 coded frames), then a FourCC.
    const packetType = first & 0x0f;
    return {
      kind: 'video',
      codecId: -1,
      fourcc: data.subarray(1, 5).toString('latin1'),
      isSequenceHeader: packetType === 0,
      isKeyFrame: frameType === 1 && (packetType === 1 || packetType === 3),
      enhanced: true,
    };
  }
  const codecId = first & 0x0f;
  // H.264 (7) and HEVC (12) share the AVC packet type byte: 0 is the sequence header, 1 a NAL unit.
  const avcLike = codecId === 7 || codecId === 12;
  return {
    kind: 'video',
    codecId,
    isSequenceHeader: avcLike && data[1] === 0,
    isKeyFrame: frameType === 1 && (!avcLike || data[1] === 1),
    enhanced: false,
  };
}

/**
 * What an audio tag body is: its FLV sound format (9 is enhanced RTMP, with a FourCC), and whether it is a
 * sequence header (AAC's packet type 0, or enhanced RTMP's sequence start), as NMS's flags say it.
 */
export function audioFlags(
  data: Buffer,
): Pick<MediaPacket, 'kind' | 'codecId' | 'fourcc' | 'isSequenceHeader' | 'isKeyFrame' | 'enhanced'> {
  const codecId = (data[0] ?? 0) >> 4;
  const enhanced = codecId === 9;
  return {
    kind: 'audio',
    codecId,
    isSequenceHeader: enhanced ? ((data[0] ?? 0) & 0x0f) === 0 : codecId === 10 && data[1] === 0,
    isKeyFrame: true,
    enhanced,
    ...(enhanced && data.length >= 5 ? { fourcc: data.subarray(1, 5).toString('latin1') } : {}),
  };
}

/** The flags of a script (metadata) packet. */
export const SCRIPT_FLAGS = Object.freeze({
  kind: 'script',
  codecId: 0,
  isSequenceHeader: false,
  isKeyFrame: false,
  enhanced: false,
} as const);

/** Converts one parsed NMS packet into our media packet, copying it out of the parser's reused buffer. */
function toMediaPacket(packet: AVPacket): MediaPacket | null {
  switch (packet.codec_type) {
    case 8:
    case 9: {
      const type = packet.codec_type === 8 ? 8 : 9;
      const data = packet.data.subarray(0, packet.size);
      return {
        ...(type === 8 ? audioFlags(data) : videoFlags(data)),
        dts: packet.dts,
        // Not node-media-server's createMessage: it zeroes each tag before writing every byte of it.
        tag: encodeTag({ type, timestamp: packet.dts, data }),
      };
    }
    case 18: {
      let bare = packet;
      const data = packet.data.subarray(0, packet.size);
      if (data.subarray(0, SET_DATA_FRAME.length).equals(SET_DATA_FRAME)) {
        bare = Object.assign(Object.create(Object.getPrototypeOf(packet)) as AVPacket, packet, {
          data: data.subarray(SET_DATA_FRAME.length),
          size: packet.size - SET_DATA_FRAME.length,
        });
      }
      let metadata: Record<string, unknown> | undefined;
      try {
        const decoded = decodeAmf0Data(bare.data.subarray(0, bare.size));
        if (decoded.cmd === 'onMetaData' && decoded.dataObj) metadata = decoded.dataObj;
      } catch {
        // Malformed script data is passed through unparsed; ffmpeg ignores what it cannot read.
      }
      return {
        ...SCRIPT_FLAGS,
        dts: packet.dts,
        tag: encodeTag({ type: 18, timestamp: bare.dts, data: bare.data.subarray(0, bare.size) }),
        ...(metadata ? { metadata } : {}),
      };
    }
    default:
      return null;
  }
}

/** Writes the 32-bit timestamp of the FLV tag at `at`: 24 low bits, then the extended high byte. */
export function writeTagTimestamp(tag: Buffer, dts: number, at = 0): void {
  tag[at + 4] = (dts >> 16) & 0xff;
  tag[at + 5] = (dts >> 8) & 0xff;
  tag[at + 6] = dts & 0xff;
  tag[at + 7] = (dts >>> 24) & 0xff;
}

/** One TCP connection speaking RTMP. At most one publish per connection is recorded. */
class RtmpConnection {
  readonly id = randomBytes(6).toString('hex');
  readonly #socket: net.Socket;
  readonly #rtmp = new RecorderRtmp();
  readonly #ingest: RtmpIngest;
  readonly #log: Logger;
  #request: PublishRequest | undefined;
  #sink: PublishSink | undefined;
  #ended = false;
  #timestamps: TimestampRepairer | undefined;
  /** The largest A/V offset told downstream so far, whole ms. */
  #avOffsetMs = -1;
  /** Media that came while the decision was pending (copied: NMS reuses its payload buffers), and its size. */
  #held: MediaPacket[] | undefined;
  #heldBytes = 0;

  constructor(
    socket: net.Socket,
    ingest: RtmpIngest,
    logger: Logger,
    idleTimeoutMs: number,
    publishDeadlineMs: number,
  ) {
    this.#socket = socket;
    this.#ingest = ingest;
    this.#log = logger.child({ connection: this.id, remote: `${socket.remoteAddress}:${socket.remotePort}` });
    this.#rtmp.onOutputCallback = (buffer) => {
      if (!socket.destroyed) socket.write(buffer);
    };
    this.#rtmp.onConnectCallback = (req) => this.#onConnect(req);
    this.#rtmp.onPushCallback = () => this.#onPush();
    this.#rtmp.onPlayCallback = () => this.close('playback is not served over RTMP');
    this.#rtmp.onPacketCallback = (packet) => this.#onPacket(packet);
    this.#rtmp.onUnpublish = () => this.#end('unpublished');
    socket.setNoDelay(true);
    socket.setTimeout(idleTimeoutMs, () => {
      this.#log.warn({ idleTimeoutMs }, 'rtmp connection idle, closing');
      socket.destroy();
    });
    // The idle timeout restarts on every byte, so a peer sending a byte a second would be kept forever.
    const deadline = setTimeout(() => {
      if (this.#sink || socket.destroyed) return;
      this.#log.warn({ publishDeadlineMs }, 'rtmp connection did not publish in time, closing');
      socket.destroy();
    }, publishDeadlineMs).unref();
    socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('error', (err) => this.#log.debug({ err: errorMessage(err) }, 'rtmp socket error'));
    socket.on('close', () => {
      clearTimeout(deadline);
      this.#end('disconnected');
      ingest.forget(this);
    });
  }

  /** The publish this connection carries, once admitted. */
  get publishing(): PublishRequest | undefined {
    return this.#sink ? this.#request : undefined;
  }

  #onData(data: Buffer): void {
    let error: string | null;
    try {
      error = this.#rtmp.parserData(data);
    } catch (err) {
      error = errorMessage(err);
    }
    if (error !== null) {
      this.#log.warn({ reason: error }, 'rtmp protocol error, closing');
      this.#socket.destroy();
    }
  }

  #onConnect(req: { app: string; name: string; host: string }): void {
    const connectObj = this.#rtmp.connectCmdObj ?? {};
    const appRaw = String(connectObj.app ?? req.app ?? '');
    const query =
      queryOf(this.#rtmp.rawStreamName) ?? queryOf(appRaw) ?? queryOf(String(connectObj.tcUrl ?? '')) ?? '';
    this.#request = {
      connectionId: this.id,
      app: appRaw.split('?')[0]!.replace(/\/+$/, ''),
      stream: req.name,
      query,
      host: req.host ?? '',
      remoteAddress: this.#socket.remoteAddress ?? '',
    };
  }

  #onPush(): void {
    const request = this.#request;
    if (!request || this.#sink || this.#held || this.#ended) {
      this.close('a second publish on one connection is not supported');
      return;
    }
    let decision: AdmitDecision | Promise<AdmitDecision>;
    try {
      decision = this.#ingest.admit(request);
    } catch (err) {
      decision = { refuse: errorMessage(err) };
    }
    if (!(decision instanceof Promise)) {
      this.#decided(request, decision);
      return;
    }
    // Media may follow the publish command at once (NMS has answered Publish.Start): held until the decision.
    this.#held = [];
    this.#rtmp.admitted = true;
    decision.then(
      (d) => this.#decided(request, d),
      (err: unknown) => this.#decided(request, { refuse: errorMessage(err) }),
    );
  }

  #decided(request: PublishRequest, decision: AdmitDecision): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    if ('refuse' in decision) {
      this.#log.warn(
        { app: request.app, stream: request.stream, reason: decision.refuse },
        'publish refused',
      );
      this.close(decision.refuse);
      return;
    }
    this.#sink = decision.accept;
    this.#timestamps = new TimestampRepairer(this.#ingest.timestampPolicy);
    this.#rtmp.admitted = true;
    this.#log.info({ app: request.app, stream: request.stream }, 'publish accepted');
    // The connection went while the decision was pending: the publish ends as soon as it began.
    if (this.#ended) {
      this.#ended = false;
      this.#end('disconnected');
      return;
    }
    for (const media of held) this.#forward(media);
  }

  #onPacket(packet: AVPacket): void {
    if (this.#held) {
      const media = toMediaPacket(packet);
      if (!media) return;
      this.#held.push(media);
      this.#heldBytes += media.tag.length;
      if (this.#heldBytes > MAX_PENDING_BYTES) {
        this.#held = undefined;
        this.close(`more than ${MAX_PENDING_BYTES} bytes of media came before the publish was admitted`);
      }
      return;
    }
    if (!this.#sink || this.#ended) return;
    const media = toMediaPacket(packet);
    if (media) this.#forward(media);
  }

  #forward(media: MediaPacket): void {
    this.#sink!.onPacket(this.#retime(media));
  }

  /**
   * Gives the packet its repaired media time: in `dts` and in the FLV tag's timestamp bytes. The repair it
   * prompted, and a new largest A/V offset, go with it to the recording (file_health of event 100).
   */
  #retime(media: MediaPacket): MediaPacket {
    const timestamps = this.#timestamps!;
    const { dts, repair } = timestamps.map(media.kind, media.dts, performance.now(), media.isSequenceHeader);
    if (repair) {
      const request = this.#request!;
      this.#log.warn({ app: request.app, stream: request.stream, ...repair }, 'timestamps repaired');
      this.#ingest.timestampRepaired(request, repair);
    }
    const measured = timestamps.maxAvOffsetMs;
    const avOffsetMs = measured === undefined ? undefined : Math.round(measured);
    const grew = avOffsetMs !== undefined && avOffsetMs > this.#avOffsetMs;
    if (grew) this.#avOffsetMs = avOffsetMs;
    if (dts === media.dts && !repair && !grew) return media;
    if (dts !== media.dts) writeTagTimestamp(media.tag, dts);
    return { ...media, dts, ...(repair ? { repair } : {}), ...(grew ? { avOffsetMs } : {}) };
  }

  #end(reason: IngestEndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#sink) {
      this.#log.info({ reason }, 'publish ended');
      this.#sink.onEnd(reason);
    }
  }

  /** Closes the connection; a publish on it ends with `kicked`. */
  close(reason: string, endReason: IngestEndReason = 'kicked'): void {
    this.#log.debug({ reason }, 'closing rtmp connection');
    this.#end(endReason);
    this.#socket.end();
    // A peer that ignores the FIN is cut off.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }
}

/** RTMP listener built on node-media-server's protocol engine; hands each publish to `admit`. */
export class RtmpIngest {
  readonly #options: Required<RtmpIngestOptions>;
  readonly #server: net.Server;
  readonly #connections = new Set<RtmpConnection>();
  readonly #log: Logger;
  #closing: Promise<void> | undefined;

  constructor(options: RtmpIngestOptions) {
    this.#options = {
      idleTimeoutMs: 10_000,
      publishDeadlineMs: 10_000,
      timestamps: DEFAULT_TIMESTAMP_POLICY,
      onTimestampRepair: () => {},
      ...options,
    };
    this.#log = options.logger.child({ component: 'ingest' });
    routeNmsLogger(options.logger);
    this.#server = net.createServer((socket) => {
      const { idleTimeoutMs, publishDeadlineMs } = this.#options;
      this.#connections.add(new RtmpConnection(socket, this, this.#log, idleTimeoutMs, publishDeadlineMs));
    });
  }

  /** @internal the policy each publish's repairer follows */
  get timestampPolicy(): TimestampPolicy {
    return this.#options.timestamps;
  }

  /** @internal called by a connection for each repair */
  timestampRepaired(request: PublishRequest, repair: TimestampRepair): void {
    this.#options.onTimestampRepair(request, repair);
  }

  /** @internal called by a connection on publish */
  admit(request: PublishRequest): AdmitDecision | Promise<AdmitDecision> {
    if (this.#closing) return { refuse: 'the recorder is shutting down' };
    return this.#options.admit(request);
  }

  /** Open RTMP connections, publishing or not. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** @internal called by a connection when its socket closes */
  forget(connection: RtmpConnection): void {
    this.#connections.delete(connection);
  }

  /** Starts listening; rejects with ListenError when the port cannot be bound. */
  listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.#options;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const where = `${host}:${port}`;
        reject(
          new ListenError(
            err.code === 'EADDRINUSE'
              ? `RTMP port ${where} is already in use`
              : `cannot listen for RTMP on ${where}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const address = this.#server.address() as net.AddressInfo;
        this.#log.info({ host: address.address, port: address.port }, 'rtmp listening');
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /** Closes a publisher's connection by its connection id; returns false if none. */
  kick(connectionId: string, reason: string): boolean {
    for (const connection of this.#connections) {
      if (connection.id === connectionId) {
        connection.close(reason);
        return true;
      }
    }
    return false;
  }

  /** Stops accepting connections, ends every publish with `shutdown` and closes all connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const connection of this.#connections) connection.close('shutdown', 'shutdown');
      if (!this.#server.listening) resolve();
    });
    return this.#closing;
  }
}

/** An FLV file header announcing the given tracks. */
export function flvFileHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  return Flv.createHeader(hasAudio, hasVideo);
}
