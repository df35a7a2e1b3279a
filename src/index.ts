// The recorder's helpers for the systems around it: signing push URLs and naming TRTC streams.
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
