import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// Tencent Cloud API v3 signing (TC3-HMAC-SHA256): verification for the server, signing for clients and tests.

/** The only algorithm signature v3 defines. */
export const TC3_ALGORITHM = 'TC3-HMAC-SHA256';
/** Tencent refuses a request whose X-TC-Timestamp is more than five minutes off. */
export const TC3_MAX_SKEW_SECONDS = 300;

/** One accepted API key pair. */
export interface Tc3Credential {
  readonly secretId: string;
  readonly secretKey: string;
}

/** What verification reads from an HTTP request. */
export interface Tc3Request {
  method: string;
  /** The query string after `?`, exactly as sent; `''` when there is none. */
  query: string;
  /** Request headers with lower-case names, as node:http gives them. */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The raw body bytes: the signature covers them, not their parsed JSON. */
  body: Uint8Array | string;
}

/** Tencent's common error codes a verification can end with. */
export type Tc3ErrorCode =
  | 'AuthFailure.InvalidAuthorization'
  | 'AuthFailure.SecretIdNotFound'
  | 'AuthFailure.SignatureExpire'
  | 'AuthFailure.SignatureFailure'
  | 'MissingParameter'
  | 'InvalidParameter';

/** Who signed, and for which service; or why the request is refused. */
export type Tc3Result =
  { ok: true; secretId: string; service: string } | { ok: false; code: Tc3ErrorCode; message: string };

const AUTHORIZATION =
  /^TC3-HMAC-SHA256 +Credential=([^/\s,]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s,]+)\/tc3_request, *SignedHeaders=([^,\s]+), *Signature=([0-9A-Fa-f]{64})$/;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * Checks a TC3-HMAC-SHA256 request against the configured keys, as Tencent's signature v3 document describes.
 * SERVICE is whatever the Credential scope names: the official SDKs derive it from the endpoint's first label.
 */
export function verifyTc3(
  request: Tc3Request,
  credentials: readonly Tc3Credential[],
  nowSeconds: number,
): Tc3Result {
  const authorization = header(request.headers, 'authorization');
  if (authorization === undefined) {
    return fail('AuthFailure.InvalidAuthorization', 'the request has no `Authorization` header');
  }
  const match = AUTHORIZATION.exec(authorization.trim());
  if (!match) {
    return fail(
      'AuthFailure.InvalidAuthorization',
      'the `Authorization` header does not follow the TC3-HMAC-SHA256 format',
    );
  }
  const [, secretId = '', date = '', service = '', signedHeaderList = '', signature = ''] = match;
  const signedHeaders = signedHeaderList.split(';');
  if (
    !signedHeaders.every((name) => HEADER_NAME.test(name)) ||
    !signedHeaders.includes('content-type') ||
    !signedHeaders.includes('host')
  ) {
    return fail(
      'AuthFailure.InvalidAuthorization',
      '`SignedHeaders` must be lower-case header names separated by `;` and include content-type and host',
    );
  }
  const missing = signedHeaders.find((name) => header(request.headers, name) === undefined);
  if (missing !== undefined) {
    return fail('AuthFailure.InvalidAuthorization', `the signed header \`${missing}\` is not in the request`);
  }

  const timestampText = header(request.headers, 'x-tc-timestamp')?.trim();
  if (!timestampText) return fail('MissingParameter', 'the request is missing the header `X-TC-Timestamp`');
  if (!/^\d{1,12}$/.test(timestampText)) {
    return fail('InvalidParameter', '`X-TC-Timestamp` must be a Unix time in seconds');
  }
  const timestamp = Number(timestampText);
  if (Math.abs(nowSeconds - timestamp) > TC3_MAX_SKEW_SECONDS) {
    return fail(
      'AuthFailure.SignatureExpire',
      `the signature has expired: X-TC-Timestamp ${timestamp} is more than ${TC3_MAX_SKEW_SECONDS} s from the server time ${Math.floor(nowSeconds)}`,
    );
  }

  const credential = credentials.find((c) => c.secretId === secretId);
  if (!credential) return fail('AuthFailure.SecretIdNotFound', `the SecretId ${secretId} is not known`);

  if (date !== utcDate(timestamp)) {
    return fail(
      'AuthFailure.SignatureFailure',
      `the Credential date ${date} is not the UTC date of X-TC-Timestamp (${utcDate(timestamp)})`,
    );
  }

  const bodyHash = sha256Hex(request.body);
  const given = Buffer.from(signature.toLowerCase(), 'latin1');
  // The Node SDK signs `host` without the port it sends, so try the Host header with and without it.
  for (const headerValues of headerVariants(request.headers, signedHeaders)) {
    const canonical = canonicalRequest(request.method, request.query, signedHeaders, headerValues, bodyHash);
    const expected = Buffer.from(
      hmacHex(
        signingKey(credential.secretKey, date, service),
        stringToSign(timestamp, date, service, canonical),
      ),
      'latin1',
    );
    if (timingSafeEqual(given, expected)) return { ok: true, secretId, service };
  }
  return fail(
    'AuthFailure.SignatureFailure',
    'the signature does not match: check the SecretKey and the signing steps',
  );
}

/** What `signTc3` signs: the headers listed are the signed headers (content-type and host at least). */
export interface Tc3SignInput {
  secretId: string;
  secretKey: string;
  service: string;
  timestamp: number;
  /** Header name → value; names are lower-cased and sorted. */
  headers: Readonly<Record<string, string>>;
  body: Uint8Array | string;
  method?: string;
  query?: string;
  /** Overrides the Credential date (default: the UTC date of `timestamp`), for tests of a wrong scope. */
  date?: string;
}

/** Builds the `Authorization` header value for a request, as a TC3 client does. */
export function signTc3(input: Tc3SignInput): string {
  const values = new Map(Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v] as const));
  const signedHeaders = [...values.keys()].sort();
  const date = input.date ?? utcDate(input.timestamp);
  const canonical = canonicalRequest(
    input.method ?? 'POST',
    input.query ?? '',
    signedHeaders,
    values,
    sha256Hex(input.body),
  );
  const signature = hmacHex(
    signingKey(input.secretKey, date, input.service),
    stringToSign(input.timestamp, date, input.service, canonical),
  );
  return `${TC3_ALGORITHM} Credential=${input.secretId}/${date}/${input.service}/tc3_request, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
}

function canonicalRequest(
  method: string,
  query: string,
  signedHeaders: readonly string[],
  values: ReadonlyMap<string, string>,
  bodyHash: string,
): string {
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(values.get(name) ?? '').trim()}\n`)
    .join('');
  return [method.toUpperCase(), '/', query, canonicalHeaders, signedHeaders.join(';'), bodyHash].join('\n');
}

function stringToSign(timestamp: number, date: string, service: string, canonical: string): string {
  return [TC3_ALGORITHM, String(timestamp), `${date}/${service}/tc3_request`, sha256Hex(canonical)].join(
    '\n',
  );
}

function signingKey(secretKey: string, date: string, service: string): Buffer {
  const secretDate = hmac(`TC3${secretKey}`, date);
  return hmac(hmac(secretDate, service), 'tc3_request');
}

/** The signed header values to try: as sent, then with the port dropped from `host` if it has one. */
function headerVariants(
  headers: Tc3Request['headers'],
  signedHeaders: readonly string[],
): ReadonlyMap<string, string>[] {
  const values = new Map(signedHeaders.map((name) => [name, header(headers, name) ?? ''] as const));
  const host = values.get('host') ?? '';
  const hostname = host.replace(/:\d+$/, '');
  return hostname === host ? [values] : [values, new Map(values).set('host', hostname)];
}

function header(headers: Tc3Request['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : value === undefined ? undefined : value.join(',');
}

/** YYYY-MM-DD of a Unix time, in UTC as the Credential scope requires. */
function utcDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

function fail(code: Tc3ErrorCode, message: string): Tc3Result {
  return { ok: false, code, message };
}
