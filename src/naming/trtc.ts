/** What a TRTC stream carries: `main` is the camera, `aux` the screen share. */
export type TrtcStreamType = 'main' | 'aux';

const USER_ID = /^[a-zA-Z0-9_-]{1,32}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const MAX_ROOM_ID_BYTES = 64;

/** Whether a string is a valid TRTC userId: 1..32 characters of a-z A-Z 0-9 _ -. */
export function isTrtcUserId(userId: string): boolean {
  return typeof userId === 'string' && USER_ID.test(userId);
}

/** TRTC's default StreamId (apps created on or after 2020-01-09): urlencode(SDKAppID_roomId_userId_streamType). */
export function trtcStreamId(
  sdkAppId: number,
  roomId: number | string,
  userId: string,
  streamType: TrtcStreamType,
): string {
  if (!Number.isSafeInteger(sdkAppId) || sdkAppId <= 0) {
    throw new RangeError(`invalid SDKAppID ${String(sdkAppId)}: must be a positive integer`);
  }
  if (typeof roomId === 'number') {
    if (!Number.isSafeInteger(roomId) || roomId < 0) {
      throw new RangeError(
        `invalid roomId ${String(roomId)}: a numeric roomId must be a non-negative integer`,
      );
    }
  } else if (
    typeof roomId !== 'string' ||
    roomId.length === 0 ||
    Buffer.byteLength(roomId, 'utf8') > MAX_ROOM_ID_BYTES
  ) {
    throw new RangeError(`invalid roomId ${JSON.stringify(roomId)}: a string roomId must be 1..64 bytes`);
  }
  if (!isTrtcUserId(userId)) {
    throw new RangeError(
      `invalid userId ${JSON.stringify(userId)}: TRTC userIds are 1..32 characters of [a-zA-Z0-9_-]`,
    );
  }
  if (streamType !== 'main' && streamType !== 'aux') {
    throw new RangeError(`invalid streamType ${JSON.stringify(streamType)}: must be main or aux`);
  }
  return encodeURIComponent(`${sdkAppId}_${roomId}_${userId}_${streamType}`);
}

/** The `userid` of a push query (TRTC's stream_param), Base64-decoded; undefined when absent or not Base64 text. */
export function decodeTrtcUserId(streamParam: string): string | undefined {
  let raw: string | undefined;
  for (const pair of streamParam.replace(/^\?/, '').split('&')) {
    const eq = pair.indexOf('=');
    if (eq >= 0 && pair.slice(0, eq) === 'userid') {
      raw = pair.slice(eq + 1);
      break;
    }
  }
  if (!raw) return undefined;
  let encoded: string;
  try {
    // Not URLSearchParams: it would turn a Base64 '+' into a space.
    encoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (!BASE64.test(encoded)) return undefined;
  const bytes = Buffer.from(encoded, 'base64');
  // Buffer.from skips characters it cannot place; a round trip proves every character was Base64.
  const unpadded = encoded.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (bytes.length === 0 || bytes.toString('base64').replace(/=+$/, '') !== unpadded) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
