// The recorder's helpers for the systems around it: push URLs, TRTC stream ids, callback types and signatures.
export {
  checkPushAuth,
  parseTxTime,
  txSecretFor,
  txTimeFor,
  type PushAuthFailure,
  type PushAuthInput,
  type PushAuthResult,
} from './auth/tx-secret.js';
export { decodeTrtcUserId, isTrtcUserId, trtcStreamId, type TrtcStreamType } from './naming/trtc.js';
// Callback receivers: every event body the recorder sends, and the check of its signature.
export { verifyTencentSign } from './callback/sign.js';
export {
  RECORD_STATUSES,
  type RecordFileEvent,
  type RecordFileHealth,
  type RecordStatus,
  type RecordStatusEvent,
  type StreamBeginEvent,
  type StreamEndEvent,
} from './callback/events.js';
