/**
 * Tencent VOD's key hotlink protection, for playback URLs: `?t=&exper=&rlimit=&us=&sign=` with
 * `sign = md5(KEY + Dir + t + exper + rlimit + us)`, Dir being the path up to and including its last `/`, so one
 * signature covers a playlist and the segments beside it. Pure: the clock is passed in.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Tencent accepts a signed URL this long past its `t`. */
export const SIGNED_URL_SKEW_SECONDS = 300;

/** The query parameters of a signed URL, in Tencent's order. */
export const SIGNED_URL_PARAMS = ['t', 'exper', 'rlimit', 'us', 'sign'] as const;

export interface UrlSignature {
  /** Expiry, Unix seconds. */
  expiresAt: number;
  /** Preview seconds; 0 or unset: the whole file. */
  exper?: number;
  /** The most distinct client IPs (accepted, not enforced). */
  rlimit?: number;
  /** A random id of this link; one is made when unset. */
  us?: string;
}

/** The directory a signature covers: the path up to and including its last `/`. */
export function signedDir(path: string): string {
  return path.slice(0, path.lastIndexOf('/') + 1);
}

function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** The query string (no `?`) that signs `path` with `key`; empty optional parameters are left out. */
export function signQuery(key: string, path: string, signature: UrlSignature): string {
  const t = Math.floor(signature.expiresAt).toString(16);
  const exper = signature.exper ? String(signature.exper) : '';
  const rlimit = signature.rlimit ? String(signature.rlimit) : '';
  const us = signature.us ?? randomBytes(5).toString('hex');
  const sign = md5Hex(key + signedDir(path) + t + exper + rlimit + us);
  const parts: [string, string][] = [
    ['t', t],
    ['exper', exper],
    ['rlimit', rlimit],
    ['us', us],
    ['sign', sign],
  ];
  return parts
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
}

/** `url` (absolute, or a path) with its path signed; any query it had is replaced. */
export function signUrl(key: string, url: string, signature: UrlSignature): string {
  const parsed = new URL(url, 'http://relative.invalid');
  const query = signQuery(key, parsed.pathname, signature);
  const base = url.split(/[?#]/, 1)[0]!;
  return `${base}?${query}`;
}

export type SignatureCheck =
  | { ok: true; /** Preview seconds asked for; 0: the whole file. */ exper: number }
  | { ok: false; reason: string };

/** Whether `query` signs `path` with `key` and has not expired at `nowSeconds` (with Tencent's skew). */
export function checkSignature(
  key: string,
  path: string,
  query: URLSearchParams,
  nowSeconds: number,
): SignatureCheck {
  const t = query.get('t');
  const sign = query.get('sign');
  if (!t || !sign) return { ok: false, reason: 'the URL is not signed (t and sign are required)' };
  if (!/^[0-9a-fA-F]{1,12}$/.test(t)) return { ok: false, reason: 't must be the expiry in hex seconds' };
  const exper = query.get('exper') ?? '';
  const rlimit = query.get('rlimit') ?? '';
  if (!/^\d*$/.test(exper)) return { ok: false, reason: 'exper must be whole seconds' };
  if (!/^\d*$/.test(rlimit)) return { ok: false, reason: 'rlimit must be a whole number' };
  const us = query.get('us') ?? '';
  const expected = Buffer.from(md5Hex(key + signedDir(path) + t + exper + rlimit + us), 'utf8');
  const given = Buffer.from(sign.toLowerCase(), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'the signature does not match' };
  }
  if (nowSeconds > parseInt(t, 16) + SIGNED_URL_SKEW_SECONDS) {
    return { ok: false, reason: 'the URL has expired' };
  }
  return { ok: true, exper: exper ? Number(exper) : 0 };
}
