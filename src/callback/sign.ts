import { createHash, timingSafeEqual } from 'node:crypto';

/** How long a callback signature stays valid after it is made (Tencent: 600 s). */
export const SIGN_VALIDITY_SECONDS = 600;

/** Tencent's callback signature: lowercase hex md5(key + t). */
export function tencentSign(key: string, t: number): string {
  return createHash('md5')
    .update(key + String(t), 'utf8')
    .digest('hex');
}

/** `body` plus `sign` and `t`, where `t` is the signature's expiry in Unix seconds. */
export function signed<T extends object>(
  body: T,
  key: string,
  nowMs: number,
): T & { sign: string; t: number } {
  const t = Math.floor(nowMs / 1000) + SIGN_VALIDITY_SECONDS;
  return { ...body, sign: tencentSign(key, t), t };
}

/** Whether `body.sign` is md5(key + t) and, when `nowMs` is given, `t` has not passed yet. */
export function verifyTencentSign(
  body: { sign?: unknown; t?: unknown },
  key: string,
  nowMs?: number,
): boolean {
  const { sign, t } = body;
  if (typeof sign !== 'string' || typeof t !== 'number' || !Number.isSafeInteger(t)) return false;
  if (nowMs !== undefined && Math.floor(nowMs / 1000) > t) return false;
  const expected = Buffer.from(tencentSign(key, t), 'utf8');
  const actual = Buffer.from(sign, 'utf8');
  // timingSafeEqual throws on a length mismatch, and a length says nothing secret.
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
