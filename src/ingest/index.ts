export { RtmpIngest, flvFileHeader, type AdmitDecision, type RtmpIngestOptions } from './rtmp-ingest.js';
export type { IngestEndReason, MediaPacket, PublishRequest, PublishSink } from './types.js';
