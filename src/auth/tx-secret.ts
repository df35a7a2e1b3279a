import { createHash, timingSafeEqual } from 'node:crypto';

/** Why a push was refused: no usable signature, a genuine but expired one, or one no key made. */
export type PushAuthFailure = 'no-signature' | 'expired' | 'mismatch';

export type PushAuthResult = { ok: true } | { ok: false; reason: PushAuthFailure; detail: string };

export interface PushAuthInput {
  /** The stream part of the RTMP path, without the query. */
  streamName: string;
  /** The raw push query string, verbatim (a leading '?' is allowed). */
  query: string;
  /** Primary and backup keys; empty ones are ignored. */
  keys: readonly string[];
  nowMs: number;
}

// txTime rule: 1–8 hex digits (either case) is hex, Tencent's form; 9–12 decimal digits is decimal seconds.
const HEX_TX_TIME = /^[0-9A-Fa-f]{1,8}$/;
const DECIMAL_TX_TIME = /^[0-9]{9,12}$/;
const MD5_HEX = /^[0-9A-Fa-f]{32}$/;

/**
 * The Unix seconds a txTime stands for, or undefined when it is neither form.
 * Each length has one plausible reading: as decimal, 8 digits lie before 1974; as hex, 9+ lie after 2106.
 */
export function parseTxTime(txTime: string): number | undefined {
  if (HEX_TX_TIME.test(txTime)) return Number.parseInt(txTime, 16);
  if (DECIMAL_TX_TIME.test(txTime)) return Number.parseInt(txTime, 10);
  return undefined;
}

/** Tencent's push signature: lowercase hex md5(key + streamName + txTime), txTime exactly as in the URL. */
export function txSecretFor(key: string, streamName: string, txTime: string): string {
  return createHash('md5')
    .update(key + streamName + txTime, 'utf8')
    .digest('hex');
}

/** A txTime in Tencent's form: the Unix seconds as 8 upper-case hex digits. */
export function txTimeFor(expiresAtSeconds: number): string {
  return Math.floor(expiresAtSeconds).toString(16).toUpperCase().padStart(8, '0');
}

/** The first value of `name` in a raw query, percent-decoded; undefined when absent or empty. */
function queryValue(query: string, name: string): string | undefined {
  for (const pair of query.replace(/^\?/, '').split('&')) {
    const eq = pair.indexOf('=');
    if ((eq < 0 ? pair : pair.slice(0, eq)) !== name) continue;
    const raw = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      return decodeURIComponent(raw) || undefined;
    } catch {
      return raw || undefined;
    }
  }
  return undefined;
}

/** Checks a push against Tencent's anti-leech rule: txSecret = md5(KEY + STREAM + txTime), valid while now <= txTime. */
export function checkPushAuth(input: PushAuthInput): PushAuthResult {
  const txSecret = queryValue(input.query, 'txSecret');
  const txTime = queryValue(input.query, 'txTime');
  if (txSecret === undefined || txTime === undefined) {
    const missing = [txSecret === undefined && 'txSecret', txTime === undefined && 'txTime'].filter(Boolean);
    return { ok: false, reason: 'no-signature', detail: `the push URL has no ${missing.join(' or ')}` };
  }
  const expiresAt = parseTxTime(txTime);
  if (expiresAt === undefined) {
    return {
      ok: false,
      reason: 'no-signature',
      detail: 'txTime must be 1-8 hex digits (Tencent) or 9-12 decimal digits (Unix seconds)',
    };
  }
  if (!MD5_HEX.test(txSecret)) {
    return { ok: false, reason: 'mismatch', detail: 'txSecret is not 32 hex digits' };
  }
  const given = Buffer.from(txSecret.toLowerCase(), 'utf8');
  let matched = false;
  for (const key of input.keys) {
    if (!key) continue;
    const expected = Buffer.from(txSecretFor(key, input.streamName, txTime), 'utf8');
    // Every key is compared, in constant time, so timing tells nothing about which one is close.
    matched = timingSafeEqual(given, expected) || matched;
  }
  if (!matched) {
    return {
      ok: false,
      reason: 'mismatch',
      detail: 'txSecret was made with neither key for this stream and txTime',
    };
  }
  // Checked after the signature, so 'expired' only ever describes a genuine URL.
  const nowSeconds = Math.floor(input.nowMs / 1000);
  if (nowSeconds > expiresAt) {
    return {
      ok: false,
      reason: 'expired',
      detail: `txTime ${txTime} (${new Date(expiresAt * 1000).toISOString()}) has passed`,
    };
  }
  return { ok: true };
}
