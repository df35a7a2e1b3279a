import { describe, expect, it } from 'vitest';
import { signTc3, verifyTc3, type Tc3Request } from './tc3.js';

// The worked example of Tencent's "Signature v3" document (CVM DescribeInstances), with its demo key pair.
const DOC = {
  secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE',
  secretKey: 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE',
  timestamp: 1551113065,
  body: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
  contentType: 'application/json; charset=utf-8',
  host: 'cvm.tencentcloudapi.com',
  signature: '72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168',
};
const DOC_AUTHORIZATION = `TC3-HMAC-SHA256 Credential=${DOC.secretId}/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=${DOC.signature}`;

const KEYS = [
  { secretId: 'AKIDother', secretKey: 'other-key' },
  { secretId: DOC.secretId, secretKey: DOC.secretKey },
];

function docRequest(
  overrides: Partial<Tc3Request> = {},
  headers: Record<string, string | undefined> = {},
): Tc3Request {
  return {
    method: 'POST',
    query: '',
    body: DOC.body,
    ...overrides,
    headers: {
      authorization: DOC_AUTHORIZATION,
      'content-type': DOC.contentType,
      host: DOC.host,
      'x-tc-action': 'DescribeInstances',
      'x-tc-timestamp': String(DOC.timestamp),
      'x-tc-version': '2017-03-12',
      'x-tc-region': 'ap-guangzhou',
      ...headers,
    },
  };
}

/** A request signed now by `signTc3` for the live service, as the recorder's clients send it. */
function liveRequest(
  options: { secretKey?: string; timestamp?: number; date?: string; body?: string; host?: string } = {},
): Tc3Request {
  const timestamp = options.timestamp ?? 1_700_000_000;
  const body = options.body ?? '{"StreamName":"s1"}';
  const authorization = signTc3({
    secretId: 'AKIDlive',
    secretKey: options.secretKey ?? 'live-key',
    service: 'live',
    timestamp,
    headers: { 'content-type': 'application/json', host: options.host ?? 'recorder.example:8080' },
    body,
    ...(options.date ? { date: options.date } : {}),
  });
  return {
    method: 'POST',
    query: '',
    body,
    headers: {
      authorization,
      'content-type': 'application/json',
      host: 'recorder.example:8080',
      'x-tc-timestamp': String(timestamp),
    },
  };
}
const LIVE_KEYS = [{ secretId: 'AKIDlive', secretKey: 'live-key' }];

describe('signTc3', () => {
  it("reproduces the signature of Tencent's worked example", () => {
    const authorization = signTc3({
      secretId: DOC.secretId,
      secretKey: DOC.secretKey,
      service: 'cvm',
      timestamp: DOC.timestamp,
      headers: { 'Content-Type': DOC.contentType, Host: DOC.host },
      body: DOC.body,
    });
    expect(authorization).toBe(DOC_AUTHORIZATION);
  });
});

describe('verifyTc3', () => {
  it("accepts Tencent's worked example at its own time", () => {
    expect(verifyTc3(docRequest(), KEYS, DOC.timestamp)).toEqual({
      ok: true,
      secretId: DOC.secretId,
      service: 'cvm',
    });
  });

  it('accepts the example body as bytes', () => {
    const result = verifyTc3(docRequest({ body: Buffer.from(DOC.body) }), KEYS, DOC.timestamp + 299);
    expect(result.ok).toBe(true);
  });

  it('takes the service from the Credential scope', () => {
    expect(verifyTc3(liveRequest(), LIVE_KEYS, 1_700_000_000)).toEqual({
      ok: true,
      secretId: 'AKIDlive',
      service: 'live',
    });
  });

  it('accepts a host signed without the port the client sends, as the Node SDK does', () => {
    expect(verifyTc3(liveRequest({ host: 'recorder.example' }), LIVE_KEYS, 1_700_000_000).ok).toBe(true);
  });

  it('refuses a signature made with a wrong key', () => {
    const result = verifyTc3(liveRequest({ secretKey: 'wrong-key' }), LIVE_KEYS, 1_700_000_000);
    expect(result).toMatchObject({ ok: false, code: 'AuthFailure.SignatureFailure' });
  });

  it('refuses an unknown SecretId', () => {
    const result = verifyTc3(docRequest(), LIVE_KEYS, DOC.timestamp);
    expect(result).toMatchObject({ ok: false, code: 'AuthFailure.SecretIdNotFound' });
  });

  it('refuses a scope date that is not the UTC date of the timestamp', () => {
    // 1551113065 is 2019-02-26 00:44 in UTC+8: a local date must not pass.
    const result = verifyTc3(
      liveRequest({ timestamp: DOC.timestamp, date: '2019-02-26' }),
      LIVE_KEYS,
      DOC.timestamp,
    );
    expect(result).toMatchObject({ ok: false, code: 'AuthFailure.SignatureFailure' });
    expect(!result.ok && result.message).toContain('2019-02-25');
  });

  it.each([
    ['stale', -301],
    ['future', 301],
  ])('refuses a %s timestamp more than 300 s off', (_kind, offset) => {
    const result = verifyTc3(liveRequest({ timestamp: 1_700_000_000 + offset }), LIVE_KEYS, 1_700_000_000);
    expect(result).toMatchObject({ ok: false, code: 'AuthFailure.SignatureExpire' });
  });

  it('accepts a timestamp exactly 300 s off', () => {
    expect(verifyTc3(liveRequest({ timestamp: 1_700_000_300 }), LIVE_KEYS, 1_700_000_000).ok).toBe(true);
  });

  it('refuses a tampered body', () => {
    const request = { ...liveRequest(), body: '{"StreamName":"s2"}' };
    expect(verifyTc3(request, LIVE_KEYS, 1_700_000_000)).toMatchObject({
      ok: false,
      code: 'AuthFailure.SignatureFailure',
    });
  });

  it('refuses a tampered signed header', () => {
    const request = docRequest({}, { 'content-type': 'application/json' });
    expect(verifyTc3(request, KEYS, DOC.timestamp)).toMatchObject({
      ok: false,
      code: 'AuthFailure.SignatureFailure',
    });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['another algorithm', DOC_AUTHORIZATION.replace('TC3-HMAC-SHA256', 'HmacSHA256')],
    ['without tc3_request', DOC_AUTHORIZATION.replace('/tc3_request', '/request')],
    ['a short signature', DOC_AUTHORIZATION.slice(0, -2)],
    ['signed headers without host', DOC_AUTHORIZATION.replace('content-type;host', 'content-type')],
    [
      'a signed header the request lacks',
      DOC_AUTHORIZATION.replace('content-type;host', 'content-type;host;x-tc-token'),
    ],
  ])('refuses an Authorization header that is %s', (_kind, authorization) => {
    const result = verifyTc3(docRequest({}, { authorization }), KEYS, DOC.timestamp);
    expect(result).toMatchObject({ ok: false, code: 'AuthFailure.InvalidAuthorization' });
  });

  it('asks for a missing X-TC-Timestamp', () => {
    const result = verifyTc3(docRequest({}, { 'x-tc-timestamp': undefined }), KEYS, DOC.timestamp);
    expect(result).toMatchObject({ ok: false, code: 'MissingParameter' });
  });

  it('refuses a timestamp that is not Unix seconds', () => {
    const result = verifyTc3(
      docRequest({}, { 'x-tc-timestamp': '2019-02-25T16:44:25Z' }),
      KEYS,
      DOC.timestamp,
    );
    expect(result).toMatchObject({ ok: false, code: 'InvalidParameter' });
  });

  it('covers the query string in the signature', () => {
    const request = docRequest({ query: 'Limit=10' });
    expect(verifyTc3(request, KEYS, DOC.timestamp)).toMatchObject({ code: 'AuthFailure.SignatureFailure' });
  });
});
