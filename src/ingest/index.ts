export {
  RtmpIngest,
  afterPublish,
  flvFileHeader,
  videoFlags,
  audioFlags,
  SCRIPT_FLAGS,
  writeTagTimestamp,
  type AdmitDecision,
  type RtmpIngestOptions,
} from './rtmp-ingest.js';
export type { IngestEndReason, MediaPacket, PublishRequest, PublishSink } from './types.js';
export {
  DEFAULT_TIMESTAMP_POLICY,
  REPAIR_KINDS,
  TimestampRepairer,
  type RepairKind,
  type TimestampPolicy,
  type TimestampRepair,
} from './timestamps.js';
