// Type declarations for the parts of node-media-server 4.4.3 the ingest uses (the package ships none).
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS `export =` modules need import = require() in declarations. */

declare module 'node-media-server/src/core/avpacket.js' {
  class AVPacket {
    codec_id: number;
    /** 8 audio, 9 video, 18 script */
    codec_type: number;
    /** 0 audio seq header, 1 audio frame, 2 video seq header, 3 keyframe, 4 inter frame, 5 metadata, 6 video metadata */
    flags: number;
    pts: number;
    dts: number;
    size: number;
    data: Buffer;
  }
  export = AVPacket;
}

declare module 'node-media-server/src/protocol/rtmp.js' {
  import AVPacket = require('node-media-server/src/core/avpacket.js');
  interface ConnectRequest {
    app: string;
    name: string;
    host: string;
    query: Record<string, string | string[] | undefined>;
  }
  interface AmfCommand {
    cmd: string;
    streamName?: string;
    cmdObj?: Record<string, unknown> | null;
  }
  class RtmpPacket {
    header: { fmt: number; cid: number; timestamp: number; length: number; type: number; stream_id: number };
    payload: Buffer;
    bytes: number;
    /** The message's timestamp in ms: a type-0 header's absolute value, or the sum of delta headers. */
    clock: number;
  }
  class Rtmp {
    /** An FLV parser NMS allocates per connection and RTMP never uses. */
    flv: unknown;
    /** The message being parsed; its header is read by packetParse. */
    parserPacket: RtmpPacket;
    /** Chunk stream id → its message being assembled. */
    inPackets: Map<number, RtmpPacket>;
    streamApp?: string;
    streamName?: string;
    streamHost?: string;
    connectCmdObj?: Record<string, unknown>;
    onConnectCallback: (req: ConnectRequest) => void;
    onPlayCallback: () => void;
    onPushCallback: () => void;
    onPacketCallback: (packet: AVPacket) => void;
    onOutputCallback: (buffer: Buffer) => void;
    /** Feeds socket bytes; returns an error string or null. May throw on malformed input. */
    parserData(buffer: Buffer): string | null;
    /** Reads a chunk's basic and message header into parserPacket. */
    packetParse(): void;
    /** Called once a message's header and clock are read, before its payload. */
    packetAlloc(): void;
    /** Decodes an AMF0 (type 20) or AMF3-wrapped (type 17) command and dispatches it. */
    invokeHandler(): void;
    /** Handles a protocol control message (Set Chunk Size, Window Ack Size, ...). */
    controlHandler(): void;
    onPublish(invokeMessage: AmfCommand): void;
    onDeleteStream(invokeMessage: AmfCommand): void;
  }
  export = Rtmp;
}

declare module 'node-media-server/src/protocol/flv.js' {
  import AVPacket = require('node-media-server/src/core/avpacket.js');
  class Flv {
    static createHeader(hasAudio: boolean, hasVideo: boolean): Buffer;
    /** A complete FLV tag (11-byte header, payload, 4-byte previous tag size), copied out of the packet. */
    static createMessage(packet: AVPacket): Buffer;
  }
  export = Flv;
}

declare module 'node-media-server/src/protocol/amf.js' {
  export function decodeAmf0Data(data: Buffer): { cmd?: string; dataObj?: Record<string, unknown> | null };
}

declare module 'node-media-server/src/core/logger.js' {
  const logger: { level: string; log(message: string, level?: string): void };
  export = logger;
}
